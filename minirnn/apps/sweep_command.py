"""``minirnn sweep``: the command line's side of :mod:`minirnn.sweep`.

    minirnn sweep reproduce ibm --csv IBM.csv --seeds 0-29 --epochs 50 --out ibm_seeds.csv
    minirnn sweep reproduce ko-changes --csv KO.csv,IBM.csv,AAPL.csv --seeds 0-9
    minirnn sweep task adding --length 100,200 --cell rnn,lstm,gru --seeds 0-4 [--scheduler tcp://host:8786]

:func:`grid` turns the options into a sweep grid (every value checked and every price file found
before anything starts); :func:`run` runs it, prints the spread per group and plots it.
"""
import itertools
import os
from pathlib import Path

import numpy as np

from . import longrange


def name(args):
    """What the results file is called by default: sweep_<name>.csv."""
    return args.experiment if args.kind == "reproduce" else args.name


def seeds(text):
    """'0-29' or '0,3,7' -> [0, .., 29] or [0, 3, 7]."""
    try:
        if "-" in text.strip("-"):
            first, last = text.split("-")
            values = list(range(int(first), int(last) + 1))
        else:
            values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise ValueError(f"--seeds must look like 0-29 or 0,3,7 (seeds >= 0), got {text!r}")
    return values


def _values(option, text, kind):
    """A comma-separated option as a list of ``kind``; a ValueError naming the option if not."""
    try:
        values = [kind(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        values = []
    if not values:
        raise ValueError(f"{option} must be one or more {kind.__name__} values separated by commas, got {text!r}")
    return values


def grid(args):
    """The sweep grid of the command's options, checked."""
    if args.out is not None and Path(args.out).suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--out must be a .csv (or, with pyarrow, .parquet) file, got {args.out!r}")
    seed_values = seeds(args.seeds)
    if args.kind == "reproduce":
        files = _values("--csv", args.csv, str)
        for path in files:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"price file not found: {path}")
        if args.epochs < 1:
            raise ValueError("--epochs must be at least 1")
        common = {"csv": files, "seed": seed_values, "epochs": [args.epochs], "column": [args.column]}
        if args.experiment == "ibm":
            cells = _values("--cell", args.cell, str)
            if not set(cells) <= {"lstm", "gru"}:
                raise ValueError(f"--cell must be lstm, gru or lstm,gru, got {args.cell!r}")
            return {**common, "cell": cells}
        return {**common, "split": [args.experiment.split("-")[0]]}
    settings = {"task": [args.name], "length": _values("--length", args.length, int),
                "cell": _values("--cell", args.cell, str), "units": _values("--units", args.units, int),
                "steps": _values("--steps", args.steps, int), "lr": _values("--lr", args.lr, float),
                "batch_size": _values("--batch-size", args.batch_size, int),
                "optimizer": _values("--optimizer", args.optimizer, str),
                "clipnorm": _values("--clipnorm", args.clipnorm, float), "seed": seed_values}
    for length in settings["length"]:
        longrange.Task(args.name, length)
    names = ("cell", "units", "steps", "batch_size", "optimizer", "lr", "clipnorm")
    for cell, units, steps, batch_size, optimizer, lr, clipnorm in itertools.product(*(settings[n] for n in names)):
        longrange.check_run_options(cell, units, steps, batch_size, optimizer, lr, clipnorm or None, longrange.N_TEST,
                                     longrange.EVALUATIONS)
    return settings


def run(args, echo=print):
    """Run the sweep of ``args.grid``; print the spread per group; plot it beside the results file."""
    from .. import sweep
    from . import plotting

    experiment = "ibm" if args.kind == "reproduce" and args.experiment == "ibm" else \
        "changes" if args.kind == "reproduce" else "task"
    echo(f"sweep {name(args)}: {len(sweep.grid_points(args.grid))} runs, results in {args.out}")
    df = sweep.run(experiment, args.grid, scheduler=args.scheduler, out=args.out, retries=args.retries,
                   workers=args.workers)
    by = [key for key, values in args.grid.items() if len(values) > 1 and key != "seed"]
    if "csv" in df.columns:
        df["series"] = [Path(path).name.split(".")[0].split("_")[0] for path in df.csv]
        by = ["series" if key == "csv" else key for key in by]
    metric, label = {"ibm": ("rmse", "test RMSE"), "changes": ("rmse / naive", "RMSE / persistence's RMSE"),
                     "task": ("loss_ratio", "held-out loss / no-memory baseline")}[experiment]
    ok = df[df.status == "ok"].copy()
    failed = df[df.status != "ok"]
    if failed.size:
        echo(f"{len(failed)} of {len(df)} runs failed; the first: {failed.error.iloc[0]}")
    if ok.empty:
        raise ValueError("no run finished: nothing to summarise")
    if experiment == "changes":
        ok["rmse / naive"] = ok.rmse / ok.naive_rmse
    groups = by or ["all"]
    if not by:
        ok["all"] = "all runs"
    summary = sweep.summarize(ok, by=groups, metric=metric)
    echo(f"\n{label} per group (mean with its bootstrap 95% interval):")
    echo(summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if experiment == "changes":
        _persistence_verdict(ok, groups, echo)
    figure = plotting.plot_sweep(ok, groups, metric, Path(args.out).with_suffix(".png"),
                                 f"minirnn sweep {name(args)}: {label}, {len(ok)} runs",
                                 reference=1.0 if experiment != "ibm" else None)
    echo(f"figure: {figure}")
    return df


def _persistence_verdict(ok, groups, echo):
    """Per group: in how many runs the Diebold-Mariano test finds the model better, or worse, than persistence."""
    echo("\nDiebold-Mariano against persistence, same days (p < 0.05, two-sided):")
    for group, part in ok.groupby(groups, sort=False):
        better = int(((part.dm_naive < 0) & (part.p_naive < 0.05)).sum())
        worse = int(((part.dm_naive > 0) & (part.p_naive < 0.05)).sum())
        label = group if isinstance(group, str) else ", ".join(map(str, np.atleast_1d(group)))
        echo(f"  {label}: better in {better}, worse in {worse}, no difference in {len(part) - better - worse} "
             f"of {len(part)} runs (median p {part.p_naive.median():.2g})")
