"""The ``minirnn`` command.

    minirnn demo [--epochs N] [--seed S] [--out DIR]
    minirnn reproduce ko|ibm|nikkei|ko-changes|ibm-changes [--csv PATH] [--epochs N] [--seed S] [--out DIR]
    minirnn probe [--cell rnn|rnn-relu|lstm|gru|all] [--length T] [--units H] [--epochs N] [--out DIR]

``demo`` needs no download: GOOG's daily prices 2004-2008 ship with matplotlib.
``reproduce`` runs one of the Keras stock tutorials (see :mod:`minirnn.tutorials`), or
the ``*-changes`` variant that predicts daily changes instead of prices.
"""
import argparse
import sys
import warnings

from . import tutorials

EXPERIMENTS = {"ko": (tutorials.ko, 50), "ibm": (tutorials.ibm, 50), "nikkei": (tutorials.nikkei, 200),
               "ko-changes": (lambda **kw: tutorials.differences("ko", **kw), 50),
               "ibm-changes": (lambda **kw: tutorials.differences("ibm", **kw), 50)}


def _common_options(parser, epochs):
    parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and dropout (default 0)")
    parser.add_argument("--out", default="minirnn-output", help="folder for the figures (default ./minirnn-output)")


def build_parser():
    parser = argparse.ArgumentParser(prog="minirnn", description="Recurrent networks from scratch: demos and the "
                                     "Keras stock-price tutorials.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train SimpleRNN, LSTM and GRU on GOOG prices (bundled with matplotlib)")
    _common_options(demo, 50)
    reproduce = commands.add_parser("reproduce", help="run one of the stock-price tutorials")
    reproduce.add_argument("experiment", choices=sorted(EXPERIMENTS))
    reproduce.add_argument("--csv", help="price file (without it: a synthetic series, announced)")
    _common_options(reproduce, None)
    probe = commands.add_parser("probe", help="measure how dL/dh_t vanishes or explodes with the distance from the "
                                "loss (remember-the-first-input task)")
    probe.add_argument("--cell", default="all", choices=["all", "rnn", "rnn-relu", "lstm", "gru"])
    probe.add_argument("--length", type=int, default=50, help="sequence length T (default 50)")
    probe.add_argument("--units", type=int, default=32, help="hidden units (default 32)")
    _common_options(probe, 0)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.epochs is not None and args.epochs < (0 if args.command == "probe" else 1):
        print("minirnn: --epochs must be at least 1 (probe: 0 for 'at initialisation')", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, *rest: print(f"warning: {message}")
            if args.command == "demo":
                tutorials.demo(epochs=args.epochs, seed=args.seed, out=args.out)
            elif args.command == "probe":
                from . import probe
                if args.length < 2 or args.units < 1:
                    raise ValueError("--length must be at least 2 and --units at least 1")
                cells = tuple(probe.CELLS) if args.cell == "all" else (args.cell,)
                probe.probe(cells, args.length, args.units, args.epochs, args.seed, args.out)
            else:
                run, default_epochs = EXPERIMENTS[args.experiment]
                run(csv=args.csv, epochs=args.epochs or default_epochs, seed=args.seed, out=args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"minirnn: {error}", file=sys.stderr)
        return 1
    return 0


def example(experiment, argv=None):
    """What ``examples/<experiment>.py`` runs: ``minirnn reproduce <experiment>`` with the script's arguments."""
    return main(["reproduce", experiment, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
