"""Same random draws, same result: Keras and minirnn train the IBM tutorial's LSTM with identical dice.

    python benchmarks/keras_replay_ibm.py ../shared/data/djia/IBM_2006-01-01_to_2018-01-01.csv --seeds 0 1

Keras 3 (on its torch backend) builds the 4 x (LSTM(50) + Dropout(0.2)) + Dense(1) model from
``seed`` and trains it for 50 epochs with rmsprop, batch 32, on a shuffling order drawn here,
recording every dropout mask it draws. minirnn then starts from Keras' initial weights and
replays the same order and masks. If the two implementations agree, so do the training losses
and the test RMSE; whatever differs between the two libraries' RMSE over seeds is then down
to the dice (initial weights, order, masks), not to the arithmetic. Needs keras and torch.
Takes about 8 minutes a seed on one thread (Keras' part).
"""
import argparse
import os
import time

os.environ["KERAS_BACKEND"] = "torch"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()

    import keras
    import numpy as np
    import torch

    from minirnn import callbacks, data
    from minirnn.apps import tutorials

    torch.set_num_threads(1)
    _, test, scaler, X, y, X_test = tutorials.ibm_windows(data.load_prices(args.csv, column="High"))
    X, y, X_test = X.astype(np.float32), y.astype(np.float32), X_test.astype(np.float32)

    for seed in args.seeds:
        masks = {k: [] for k in range(4)}

        class RecordingDropout(keras.layers.Dropout):
            def __init__(self, rate, index):
                super().__init__(rate)
                self.index = index

            def call(self, inputs, training=False):
                out = super().call(inputs, training=training)
                if training:  # LSTM outputs are never exactly 0: a 0 out is a dropped entry
                    masks[self.index].append(keras.ops.convert_to_numpy(out != 0))
                return out

        keras.utils.set_random_seed(seed)
        stack = [keras.Input((60, 1))]
        for k in range(4):
            stack += [keras.layers.LSTM(50, return_sequences=k < 3), RecordingDropout(0.2, k)]
        theirs = keras.Sequential(stack + [keras.layers.Dense(1)])
        theirs.compile(optimizer="rmsprop", loss="mean_squared_error")
        initial_weights = [w.copy() for w in theirs.get_weights()]
        order_rng = np.random.default_rng(1000 + seed)
        orders = [order_rng.permutation(len(X)) for _ in range(args.epochs)]

        start = time.perf_counter()
        keras_losses = [theirs.fit(X[order], y[order], batch_size=32, shuffle=False, verbose=0).history["loss"][0]
                        for order in orders]
        keras_seconds = time.perf_counter() - start
        keras_predicted = scaler.inverse_transform(theirs.predict(X_test, verbose=0).astype(float).ravel())

        class Replay:
            """Stands in for a Dropout layer's numpy Generator and hands out Keras' masks instead."""
            def __init__(self, masks):
                self.masks = iter(masks)

            def random(self, shape):
                keep = next(self.masks)
                assert keep.shape == shape, (keep.shape, shape)
                return keep.astype(float)  # 1.0 >= rate: kept; 0.0 < rate: dropped

        class UseKerasMasks(callbacks.Callback):
            def on_train_begin(self, logs=None):
                dropouts = [layer for layer in self.model.layers if type(layer).__name__ == "Dropout"]
                for k, layer in enumerate(dropouts):
                    layer.rng = replays[k]

        replays = [Replay(masks[k]) for k in range(4)]
        ours = tutorials.stacked("LSTM", 50, 4, 60, 0.2, seed)
        ours.compile("rmsprop", "mean_squared_error")
        ours.set_weights(initial_weights)
        start = time.perf_counter()
        our_losses = [ours.fit(X[order], y[order], batch_size=32, shuffle=False, verbose=0,
                               callbacks=[UseKerasMasks()]).history["loss"][0] for order in orders]
        our_seconds = time.perf_counter() - start
        our_predicted = scaler.inverse_transform(ours.predict(X_test).astype(float).ravel())

        ratio = np.array(our_losses) / np.array(keras_losses)
        print(f"seed {seed}: test RMSE Keras {data.rmse(test.values, keras_predicted):.3f} "
              f"({keras_seconds:.0f} s), minirnn {data.rmse(test.values, our_predicted):.3f} ({our_seconds:.0f} s); "
              f"largest gap between the two predictions {np.max(np.abs(our_predicted - keras_predicted)):.4f}; "
              f"epoch losses minirnn/Keras {ratio.min():.5f}-{ratio.max():.5f}", flush=True)


if __name__ == "__main__":
    main()
