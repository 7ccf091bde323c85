"""The IBM tutorial's stacked LSTM (or GRU) over many seeds: minirnn's side of the seed-spread comparison.

    python benchmarks/ibm_seeds.py ../shared/data/djia/IBM_2006-01-01_to_2018-01-01.csv --seeds 0 1 2 [--cell gru]

Same set-up as ``minirnn reproduce ibm`` (minirnn.tutorials.ibm), without the other model and the
generated year, so that many seeds fit in a session. Prints the test RMSE per seed and the mean;
``benchmarks/keras_reference_ibm.py`` prints the same for Keras on TensorFlow.
"""
import argparse
import time

import numpy as np

from minirnn import data, optim, tutorials


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    _, test, scaler, X_train, y_train, X_test = tutorials.ibm_windows(data.load_prices(args.csv, column="High"))
    cell, optimizer, batch_size = {"lstm": ("LSTM", lambda: "rmsprop", 32),
                                   "gru": ("GRU", lambda: optim.SGD(0.01, momentum=0.9), 150)}[args.cell]
    results = []
    for seed in args.seeds:
        model = tutorials.stacked(cell, 50, 4, 60, 0.2, seed)
        start = time.perf_counter()
        _, history, _, predicted = tutorials.train_and_predict(cell, model, optimizer(), X_train, y_train, X_test,
                                                               scaler, args.epochs, batch_size, seed)
        results.append(data.rmse(test.values, predicted))
        print(f"minirnn, {args.cell}, seed {seed}: RMSE {results[-1]:.3f}, final training loss "
              f"{history['loss'][-1]:.3g}, {time.perf_counter() - start:.0f} s", flush=True)
    spread = f" (sd {np.std(results, ddof=1):.3f})" if len(results) > 1 else ""
    print(f"mean RMSE over {len(results)} seeds: {np.mean(results):.3f}{spread}")


if __name__ == "__main__":
    main()
