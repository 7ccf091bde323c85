"""Same weights, same outputs as Keras 3 SimpleRNN / LSTM / GRU (Keras runs float32: <= 1e-6)."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras' NumPy backend would import jax
pytest.importorskip("torch", reason="PyTorch not installed: Keras runs on its torch backend here")
keras = pytest.importorskip("keras", reason="Keras not installed: parity with Keras not checked")

from conftest import make_layer  # noqa: E402

TOL = 1e-6


def keras_layer(variant, units):
    return {
        "rnn-tanh": lambda: keras.layers.SimpleRNN(units, return_sequences=True),
        "rnn-relu": lambda: keras.layers.SimpleRNN(units, activation="relu", return_sequences=True),
        "rnn-linear": lambda: keras.layers.SimpleRNN(units, activation="linear", return_sequences=True),
        "lstm": lambda: keras.layers.LSTM(units, return_sequences=True),
        "lstm-go_backwards": lambda: keras.layers.LSTM(units, return_sequences=True, go_backwards=True),
        "gru-reset_after": lambda: keras.layers.GRU(units, reset_after=True, return_sequences=True),
        "gru-reset_before": lambda: keras.layers.GRU(units, reset_after=False, return_sequences=True),
    }[variant]()


@pytest.mark.parametrize("variant", ["rnn-tanh", "rnn-relu", "rnn-linear", "lstm", "lstm-go_backwards",
                                     "gru-reset_after", "gru-reset_before"])
def test_outputs_match_keras(variant, rng):
    ours = make_layer(variant, units=6, input_dim=3, rng=rng, return_sequences=True)
    for value in ours.params.values():  # round to float32 so both start from identical weights
        value[...] = value.astype(np.float32)
    x = rng.normal(size=(4, 9, 3)).astype(np.float32)
    theirs = keras_layer(variant, 6)
    theirs.build((None, 9, 3))
    theirs.set_weights([ours.params[k].astype(np.float32) for k in ("kernel", "recurrent_kernel", "bias")])
    expected = keras.ops.convert_to_numpy(theirs(x))
    got = ours.forward(x.astype(np.float64))
    assert got.shape == expected.shape
    # Relative to the output scale: a linear RNN with random weights grows past 1, and
    # float32 carries 7 significant digits, not 7 decimals.
    assert np.max(np.abs(got - expected)) <= TOL * max(1.0, np.max(np.abs(expected)))


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_training_matches_keras_step_for_step(optimizer, rng):
    """Same initial weights, no dropout, no shuffling: Keras' fit and minirnn's fit walk the same path
    (forward, backward, optimizer update, batching), to float32 precision."""
    import minirnn as mr
    from minirnn import layers
    x = rng.normal(size=(40, 12, 2)).astype(np.float32)
    y = rng.normal(size=(40, 1)).astype(np.float32)
    theirs = keras.Sequential([keras.Input((12, 2)), keras.layers.LSTM(6, return_sequences=True),
                               keras.layers.GRU(5), keras.layers.Dense(1)])
    theirs.compile(optimizer=optimizer, loss="mean_squared_error")
    ours = mr.Sequential([layers.LSTM(6, return_sequences=True, input_shape=(12, 2)), layers.GRU(5),
                          layers.Dense(1)], dtype="float32")
    ours.set_weights(theirs.get_weights())
    ours.compile(optimizer, "mse")
    expected = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
    got = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_training_with_dropout_matches_keras(rng):
    """Dropout too: minirnn's Dropout layers are handed the masks Keras drew (same initial weights, no
    shuffling), and both fits still walk the same path."""
    import minirnn as mr
    from minirnn import callbacks, layers

    masks = {"first": [], "second": []}

    class RecordingDropout(keras.layers.Dropout):
        def call(self, inputs, training=False):
            out = super().call(inputs, training=training)
            if training:  # the inputs are LSTM/GRU outputs, never exactly 0: a 0 out is a dropped entry
                masks[self.name].append(keras.ops.convert_to_numpy(out != 0))
            return out

    class Replay:
        """Stands in for a Dropout layer's numpy Generator and hands out Keras' masks instead."""
        def __init__(self, masks):
            self.masks = iter(masks)

        def random(self, shape):
            keep = next(self.masks)
            assert keep.shape == shape
            return keep.astype(float)  # 1.0 >= rate: kept; 0.0 < rate: dropped

    class UseKerasMasks(callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.layers[1].rng, self.model.layers[3].rng = Replay(masks["first"]), Replay(masks["second"])

    x = rng.normal(size=(40, 12, 2)).astype(np.float32)
    y = rng.normal(size=(40, 1)).astype(np.float32)
    theirs = keras.Sequential([keras.Input((12, 2)), keras.layers.LSTM(6, return_sequences=True),
                               RecordingDropout(0.3, name="first"), keras.layers.GRU(5),
                               RecordingDropout(0.3, name="second"), keras.layers.Dense(1)])
    theirs.compile(optimizer="rmsprop", loss="mean_squared_error")
    ours = mr.Sequential([layers.LSTM(6, return_sequences=True, input_shape=(12, 2)), layers.Dropout(0.3),
                          layers.GRU(5), layers.Dropout(0.3), layers.Dense(1)], dtype="float32")
    ours.set_weights(theirs.get_weights())
    ours.compile("rmsprop", "mse")
    expected = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
    assert len(masks["first"]) == len(masks["second"]) == 9  # 3 epochs x 3 batches
    assert 0.5 < np.mean(np.concatenate([m.ravel() for m in masks["first"]])) < 0.9  # about 70% kept
    got = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
                   callbacks=[UseKerasMasks()]).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
