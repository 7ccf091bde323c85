"""The IBM tutorial's models in Keras on TensorFlow, on exactly the windows minirnn uses: the reference.

Run it in a separate environment (TensorFlow is no dependency of minirnn, not even for tests):

    python3 -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow-cpu==2.21.0 pandas
    /tmp/tf/bin/python benchmarks/keras_reference_ibm.py ../shared/data/djia/IBM_2006-01-01_to_2018-01-01.csv \
        --seeds 0 1 2 [--cell lstm|gru]

Prints test RMSE and training time per seed (one thread). Compare with
``minirnn reproduce ibm --csv ... --seed S``.
"""
import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    import keras

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    frame = pd.read_csv(args.csv, index_col="Date", parse_dates=["Date"])
    train, test = frame["High"][:"2016"].to_numpy(), frame["High"]["2017"].to_numpy()
    lo, hi = train.min(), train.max()  # MinMaxScaler fitted on the training part

    def scale(v):
        return (v - lo) / (hi - lo)

    X = np.stack([scale(train)[i:i + 60] for i in range(len(train) - 60)])[:, :, None].astype("float32")
    y = scale(train)[60:].astype("float32")
    inputs = scale(np.concatenate([train[-60:], test]))
    X_test = np.stack([inputs[i:i + 60] for i in range(len(test))])[:, :, None].astype("float32")
    Cell = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[args.cell]
    results = []
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        stack = [keras.Input((60, 1))]
        for k in range(4):
            stack += [Cell(50, return_sequences=k < 3), keras.layers.Dropout(0.2)]
        model = keras.Sequential(stack + [keras.layers.Dense(1)])
        optimizer = "rmsprop" if args.cell == "lstm" else keras.optimizers.SGD(0.01, momentum=0.9)
        model.compile(optimizer=optimizer, loss="mean_squared_error")
        start = time.perf_counter()
        model.fit(X, y, epochs=50, batch_size=32 if args.cell == "lstm" else 150, verbose=0)
        seconds = time.perf_counter() - start
        predicted = model.predict(X_test, verbose=0).ravel() * (hi - lo) + lo
        rmse = float(np.sqrt(np.mean((predicted - test) ** 2)))
        results.append(rmse)
        print(f"Keras {keras.__version__} / TF {tf.__version__}, {args.cell}, seed {seed}: RMSE {rmse:.3f}, "
              f"{seconds:.0f} s for 50 epochs ({seconds / 50:.2f} s an epoch)", flush=True)
    spread = f" (sd {np.std(results, ddof=1):.3f})" if len(results) > 1 else ""
    print(f"mean RMSE over {len(results)} seeds: {np.mean(results):.3f}{spread}")


if __name__ == "__main__":
    main()
