"""The IBM tutorial's stacked LSTM (or GRU) over many seeds: minirnn's side of the seed-spread comparison.

    python benchmarks/ibm_seeds.py ../shared/data/djia/IBM_2006-01-01_to_2018-01-01.csv --seeds 0-29
        [--cell gru] [--epochs 50] [--out ibm_seeds.csv] [--scheduler tcp://host:8786]

A sweep (:mod:`minirnn.sweep`) of :func:`minirnn.apps.experiments.ibm`, the set-up of ``minirnn reproduce
ibm`` without the other model and the generated year: one seed per task, on all cores (one
single-threaded worker process each) or on a Dask cluster, the rows kept in ``--out`` so that an
interrupted run resumes. The same as ``minirnn sweep reproduce ibm --csv FILE --seeds 0-29``.
Prints the test RMSE per seed and the spread; ``benchmarks/keras_reference_ibm.py`` prints the
same for Keras on TensorFlow.
"""
import argparse

from minirnn import sweep
from minirnn.apps.sweep_command import seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--seeds", default="0-2", help="0-29 or 0,3,7 (default 0-2)")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", default="ibm_seeds.csv", help="results file (default ./ibm_seeds.csv)")
    parser.add_argument("--scheduler", help="a Dask scheduler's address (default: all cores here)")
    args = parser.parse_args()

    df = sweep.run("ibm", {"csv": [args.csv], "seed": seeds(args.seeds), "epochs": [args.epochs],
                           "cell": [args.cell]}, out=args.out, scheduler=args.scheduler)
    for row in df.itertuples():
        print(f"minirnn, {args.cell}, seed {row.seed}: " + (f"RMSE {row.rmse:.3f}, final training loss "
              f"{row.final_loss:.3g}, {row.train_seconds:.0f} s" if row.status == "ok" else f"failed: {row.error}"))
    print(sweep.summarize(df, by="cell", metric="rmse").to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
