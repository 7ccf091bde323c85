"""The ``minirnn`` command.

    minirnn demo [--epochs N] [--seed S] [--out DIR]
    minirnn reproduce ko|ibm|nikkei|ko-changes|ibm-changes [--csv PATH] [--column NAME] [--name LABEL]
                      [--epochs N] [--seed S] [--out DIR]
    minirnn reproduce arjovsky [--steps N] [--seed S] [--out DIR]
    minirnn probe [--cell rnn|rnn-relu|lstm|gru|all] [--length T] [--units H] [--epochs N] [--out DIR]
    minirnn task adding|copy|temporal-order [--length T] [--cell rnn|irnn|lstm|gru] [--units H]
                 [--steps N] [--batch-size B] [--optimizer adam|rmsprop|sgd] [--lr LR] [--clipnorm C]
                 [--seed S] [--out DIR]
    minirnn sweep reproduce|task ...      (see minirnn.apps.sweep_command)
    minirnn cache [--clear]

``demo`` needs no download: GOOG's daily prices 2004-2008 ship with matplotlib.
``reproduce`` runs one of the Keras stock tutorials (see :mod:`minirnn.apps.tutorials`), or
the ``*-changes`` variant that predicts daily changes instead of prices, or Arjovsky et al.'s
comparison of cells on the long-range tasks; ``task`` trains one cell on one of those tasks
(see :mod:`minirnn.apps.longrange`).

Every path is checked before any training starts; a user's mistake (a missing or
malformed file, an unwritable folder, a bad option) is one line on stderr and exit
status 1 (2 for a usage error), never a traceback. File names carry the seed, and a
run never replaces an earlier run's files unless given ``--overwrite``.
"""
import argparse
import hashlib
import os
import sys
import warnings

from .. import outputs
from . import tutorials

# name: (function, default epochs, what it is)
EXPERIMENTS = {
    "ko": (tutorials.ko, 50, "Coca-Cola High, test 2016-2017: SimpleRNN/LSTM/GRU(50) on 10-day windows"),
    "ibm": (tutorials.ibm, 50, "IBM High, test 2017: 4 stacked LSTM(50) and GRU(50) on 60-day windows, "
            "then 2017 generated"),
    "nikkei": (tutorials.nikkei, 200, "Nikkei 225 close: 4 stacked layers of 32 on 5-day windows, "
               "early stopping"),
    "ko-changes": (lambda **kw: tutorials.differences("ko", **kw), 50,
                   "KO's split, a GRU(16) predicting the next daily change instead of the price"),
    "ibm-changes": (lambda **kw: tutorials.differences("ibm", **kw), 50, "the same on IBM's split"),
}
LONG_RANGE = {"arjovsky": "tanh RNN, IRNN, LSTM and GRU on the adding problem (T = 100, 200, 400) and the copy "
                          "task (delay 100, 200), as Arjovsky, Shah & Bengio 2016, at CPU scale"}
PROBE_CELLS = ("rnn", "rnn-relu", "lstm", "gru")  # what `minirnn probe` measures (apps.longrange.CELLS' names)
COMPILE_TIME = "10-30 s"  # a first demo run on the 2-core machines it was measured on (README)


class Parser(argparse.ArgumentParser):
    """argparse with a usage error as one line on stderr (exit status 2), not the usage and then the error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")


def count(minimum):
    """An argparse type: an int >= ``minimum``, or the option's error saying so."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an int >= {minimum}, got {text!r}")
        return value
    return parse


def number(minimum, strict=True):
    """An argparse type: a finite number > ``minimum`` (``strict=False``: >=)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > minimum if strict else value >= minimum) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number {'>' if strict else '>='} {minimum:g}, "
                                             f"got {text!r}")
        return value
    return parse


def _common_options(parser, epochs, epochs_help=None, minimum_epochs=1):
    parser.add_argument("--epochs", type=count(minimum_epochs), default=epochs,
                        help=epochs_help or f"training epochs (default {epochs})")
    _seed_and_out(parser, "seed for weights, shuffling and dropout (default 0)", "figures")


def _seed_and_out(parser, seed_help, what):
    parser.add_argument("--seed", type=count(0), default=0, help=seed_help)
    parser.add_argument("--out", default="minirnn-output", help=f"folder for the {what} (default ./minirnn-output)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the files of an earlier run with the same seed (without it, the run stops "
                             "before it starts)")


def build_parser():
    parser = Parser(prog="minirnn", description="Recurrent networks from scratch: demos, the "
                    "Keras stock-price tutorials, gradient flow and long-range memory tasks.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train SimpleRNN, LSTM and GRU on GOOG prices (bundled with matplotlib)")
    _common_options(demo, 50)
    listing = "\n".join([*(f"  {name:<12} {text} (default {epochs} epochs)"
                           for name, (_, epochs, text) in EXPERIMENTS.items()),
                         *(f"  {name:<12} {text} (--steps, default {arjovsky_steps()} per run)"
                           for name, text in LONG_RANGE.items())])
    reproduce = commands.add_parser("reproduce", help="run one of the stock-price tutorials, or Arjovsky et al.'s "
                                    "comparison of cells on the long-range tasks",
                                    description=f"Run one of the stock-price tutorials or a paper's comparison."
                                    f"\n\nexperiments:\n{listing}",
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    reproduce.add_argument("experiment", choices=[*EXPERIMENTS, *LONG_RANGE], help="which experiment (listed above)")
    reproduce.add_argument("--csv", help="price file (without it: a synthetic series, marked as such everywhere)")
    reproduce.add_argument("--column", help="price column to use (default: High; nikkei: closed_price or Close)")
    reproduce.add_argument("--name", help="what to call the series in titles and file names "
                           "(default: the file name up to its first '_')")
    reproduce.add_argument("--steps", type=count(1), help="arjovsky: training iterations per run")
    _common_options(reproduce, None, "training epochs (default: the experiment's, listed above)")
    probe = commands.add_parser("probe", help="measure how dL/dh_t vanishes or explodes with the distance from the "
                                "loss (remember-the-first-input task)")
    probe.add_argument("--cell", default="all", choices=["all", *PROBE_CELLS],
                       help="which cell to measure: rnn (tanh), rnn-relu, lstm, gru, or all of them (default)")
    probe.add_argument("--length", type=count(2), default=50, help="sequence length T (default 50)")
    probe.add_argument("--units", type=count(1), default=32, help="hidden units (default 32)")
    _common_options(probe, 0, "training epochs before measuring (default 0: at initialisation)", minimum_epochs=0)
    _task_parser(commands)
    _sweep_parser(commands)
    cache = commands.add_parser("cache", help="where minirnn's compiled kernels are cached, what that holds per "
                                "CPU target and its size; --clear empties it")
    cache.add_argument("--clear", action="store_true", help="remove every cached kernel (the next run compiles)")
    return parser


def _task_parser(commands):
    from . import longrange
    task = commands.add_parser("task", help="train one cell on a long-range memory task (adding, copy, "
                               "temporal-order) and plot its learning curve and gradient flow")
    task.add_argument("name", choices=longrange.TASKS, help="which task")
    task.add_argument("--length", type=count(1), default=100,
                      help="sequence length T; the copy task's delay (default 100)")
    task.add_argument("--cell", default="lstm", choices=list(longrange.CELLS),
                      help="rnn (tanh), irnn (relu, identity recurrent kernel), lstm (default), gru, indrnn")
    task.add_argument("--units", type=count(1), default=32, help="hidden units (default 32)")
    task.add_argument("--steps", type=count(1), default=2000, help="training iterations (default 2000)")
    task.add_argument("--batch-size", type=count(1), default=32, help="sequences per iteration (default 32)")
    task.add_argument("--optimizer", default="adam", choices=list(longrange.OPTIMIZERS), help="default adam")
    task.add_argument("--lr", type=number(0), default=1e-3, help="learning rate (default 0.001)")
    task.add_argument("--clipnorm", type=number(0, strict=False), default=1.0,
                      help="gradient norm clip (default 1; 0: none)")
    _seed_and_out(task, "seed for weights and data (default 0)", "figure")


SWEEP_REPRODUCE = {"ibm": "the IBM tutorial's 4 stacked LSTM(50) (--cell lstm,gru: and the GRU variant)",
                   "ko-changes": "the daily-changes GRU(16), KO's split (test 2016-2017), against persistence",
                   "ibm-changes": "the same with IBM's split (test 2017)"}


def _sweep_parser(commands):
    from . import longrange
    sweep = commands.add_parser(
        "sweep", help="run an experiment over seeds and settings on all cores, or on a Dask cluster",
        description="Run an experiment over seeds and settings, one task per point, on all cores of this machine "
                    "(or a Dask cluster with --scheduler); print the spread per group and plot it. Rows are "
                    "appended to --out as they finish: rerun the same command to resume.")
    kinds = sweep.add_subparsers(dest="kind", required=True)
    listing = "\n".join(f"  {name:<12} {text}" for name, text in SWEEP_REPRODUCE.items())
    reproduce = kinds.add_parser("reproduce", help="a stock-price experiment over seeds (and price files)",
                                 description=f"experiments:\n{listing}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    reproduce.add_argument("experiment", choices=list(SWEEP_REPRODUCE))
    reproduce.add_argument("--csv", required=True, help="price file, or several separated by commas")
    reproduce.add_argument("--column", default="High", help="price column (default High)")
    reproduce.add_argument("--cell", default="lstm", help="ibm: lstm, gru, or lstm,gru (default lstm)")
    reproduce.add_argument("--epochs", type=count(1), default=50, help="training epochs (default 50)")
    _sweep_options(reproduce, "reproduce")
    task = kinds.add_parser("task", help="a long-range memory task over seeds, cells, lengths ...",
                            description="Comma-separated values sweep that setting, e.g. --length 100,200 "
                                        "--cell rnn,lstm,gru.")
    task.add_argument("name", choices=longrange.TASKS)
    for option, default in (("--length", "100"), ("--cell", "lstm"), ("--units", "32"), ("--steps", "2000"),
                            ("--lr", "0.001"), ("--batch-size", "32"), ("--optimizer", "adam"),
                            ("--clipnorm", "1.0")):
        task.add_argument(option, default=default, help=f"(default {default})")
    _sweep_options(task, "task")


def _sweep_options(parser, kind):
    parser.add_argument("--seeds", default="0-4", help="seeds, as 0-29 or 0,3,7 (default 0-4)")
    parser.add_argument("--out", help="results file, .csv or .parquet "
                        "(default ./minirnn-output/sweep_<experiment>.csv); "
                        "the summary figure is written beside it as .png")
    parser.add_argument("--scheduler", help="address of a Dask scheduler, tcp://host:8786 (default: a local "
                        "cluster, one worker process per core)")
    parser.add_argument("--workers", type=count(1), help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--retries", type=count(0), default=1, help="times a task whose worker died is run again "
                        "(default 1)")


def arjovsky_steps():
    from . import longrange
    return longrange.ARJOVSKY_STEPS


def main(argv=None):
    """The ``minirnn`` command. Every mistake of the user's is one line on stderr: a usage error exit
    status 2 (argparse's), anything found later 1; never a traceback (an unexpected error says it is
    one; ``MINIRNN_DEBUG=1`` shows its traceback)."""
    args = build_parser().parse_args(argv)
    if args.command == "cache":
        return show_cache(args.clear)
    try:
        _check_options(args)
        if args.command == "sweep":
            from . import sweep_command
            args.grid = sweep_command.grid(args)  # the values checked, the price files found
            args.out = args.out or os.path.join("minirnn-output", f"sweep_{sweep_command.name(args)}.csv")
            outputs.check_folder(os.path.dirname(args.out) or ".")
        else:
            outputs.check_folder(args.out)
        if args.command != "sweep" and getattr(args, "csv", None) is not None and not os.path.isfile(args.csv):
            raise FileNotFoundError(f"price file not found: {args.csv}")
        _announce_compiling()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *rest: print(f"warning: {message}")
            _run(args)
    except BrokenPipeError:  # output piped into a command that stopped reading (| head): not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except (OSError, ValueError, TypeError, FloatingPointError) as error:  # files, folders, options; divergence
        print(f"minirnn: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("minirnn: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- a bug of minirnn's: still one line, saying so
        if os.environ.get("MINIRNN_DEBUG"):
            raise
        print(f"minirnn: internal error, please report it ({type(error).__name__}: {error}); MINIRNN_DEBUG=1 "
              "shows where", file=sys.stderr)
        return 1
    return 0


def _check_options(args):
    """Option values argparse cannot check by type, before anything is built or trained."""
    if args.command == "reproduce":
        long_range = args.experiment in LONG_RANGE
        wrong = (["--csv", "--column", "--name", "--epochs"] if long_range else ["--steps"])
        given = [option for option in wrong if getattr(args, option[2:]) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to "
                             f"reproduce {args.experiment}")
    if args.command == "task":
        from . import longrange
        longrange.Task(args.name, args.length)
        longrange.check_run_options(args.cell, args.units, args.steps, args.batch_size, args.optimizer, args.lr,
                                     args.clipnorm, longrange.N_TEST, longrange.EVALUATIONS)


def _run(args):
    if args.command == "sweep":
        from . import sweep_command
        sweep_command.run(args)
    elif args.command == "task":
        from . import longrange
        longrange.run(args.name, args.length, args.cell, args.units, args.steps, args.batch_size, args.optimizer,
                      args.lr, args.clipnorm or None, args.seed, args.out, overwrite=args.overwrite)
    elif args.command == "reproduce" and args.experiment in LONG_RANGE:
        from . import longrange
        longrange.arjovsky(steps=args.steps or longrange.ARJOVSKY_STEPS, seed=args.seed, out=args.out,
                           overwrite=args.overwrite)
    elif args.command == "demo":
        tutorials.demo(epochs=args.epochs, seed=args.seed, out=args.out, overwrite=args.overwrite)
    elif args.command == "probe":
        from . import probe
        cells = PROBE_CELLS if args.cell == "all" else (args.cell,)
        probe.probe(cells, args.length, args.units, args.epochs, args.seed, args.out, overwrite=args.overwrite)
    else:
        run, default_epochs, _ = EXPERIMENTS[args.experiment]
        run(csv=args.csv, epochs=args.epochs or default_epochs, seed=args.seed, out=args.out, column=args.column,
            name=args.name, overwrite=args.overwrite)


def show_cache(clear=False, echo=print):
    """``minirnn cache``: the cache's folders, its entries per CPU target and their size; ``--clear`` empties it."""
    import numba

    from .. import _cache, _jit
    if clear:
        files, size = _cache.clear()
        echo(f"removed {files} files ({_size(size)}) from {', '.join(map(str, _cache.folders()))}")
        return 0
    found = _cache.contents()
    echo(f"minirnn's compiled-kernel cache (Numba {numba.__version__}, Python {sys.version_info[0]}."
         f"{sys.version_info[1]}){'' if _jit.CACHE else ': not used by this process (MINIRNN_NUMBA_CACHE=0)'}")
    for folder, files, size in found["folders"]:
        echo(f"  {str(folder):<60} {files:>5} files {_size(size):>9}")
    here = _cache.this_target()[1:]
    names = [name for name, _ in found["targets"]]
    if found["targets"]:
        echo("kernels compiled from the current sources, per CPU target:")
    for (name, features), (entries, size) in sorted(found["targets"].items()):
        label = name if names.count(name) == 1 else f"{name} (features {hashlib.sha1(features.encode()).hexdigest()[:8]})"
        echo(f"  {label + ('  <- this CPU' if (name, features) == here else ''):<60} {entries:>5} kernels "
             f"{_size(size):>9}")
    if not found["targets"]:
        echo("no kernels compiled from the current sources: the next run compiles them (tens of seconds)")
    files, size = found["other"]
    if files:
        echo(f"other files (earlier sources, another Numba, damaged or left over): {files}, {_size(size)}")
    total = sum(size for _, _, size in found["folders"])
    echo(f"total {_size(total)}; `minirnn cache --clear` removes it all")
    return 0


def _size(n):
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def _announce_compiling():
    from .. import cells
    if not cells.compiled():
        print(f"Compiling minirnn's kernels with Numba (first run only, {COMPILE_TIME}) ...", flush=True)


def example(experiment, argv=None):
    """What ``examples/<experiment>.py`` runs: ``minirnn reproduce <experiment>`` with the script's arguments."""
    return main(["reproduce", experiment, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
