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


@pytest.fixture
def keras_in_float64():
    """Keras builds float64 layers under a float64 dtype policy, but on its torch backend
    ``keras.ops.matmul`` multiplies float64 arrays in float32 (its type promotion maps float64 to
    float32 on every backend but TensorFlow; Keras 3.15), which would cap agreement at ~1e-7.
    Here matmul is torch.matmul, as Keras' own LSTM fast path uses, for the length of a test."""
    import torch
    from keras.src.backend.torch import core, numpy as keras_numpy
    matmul, policy, floatx = keras_numpy.matmul, keras.config.dtype_policy(), keras.config.floatx()
    keras_numpy.matmul = lambda a, b: torch.matmul(core.convert_to_tensor(a), core.convert_to_tensor(b))
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras_numpy.matmul = matmul
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)


@pytest.fixture(params=["float32", "float64"])
def keras_dtype(request):
    if request.param == "float64":
        request.getfixturevalue("keras_in_float64")
    return request.param


def masked_batch(rng, dtype, steps=7, features=3):
    """x (6, steps, features) padded with zeros by conftest.mixed_mask's rows (after, before, holes,
    all padding), and the mask."""
    from conftest import mixed_mask
    mask = mixed_mask(steps)
    x = np.where(mask[..., None], rng.normal(size=(*mask.shape, features)), 0.0)
    return x.astype(dtype), mask


def test_masked_stacked_model_matches_keras(keras_dtype, rng):
    """Masking, LSTM, Bidirectional GRU, SimpleRNN, Dense per step: outputs and every weight's
    gradient as Keras' (torch autograd), on sequences of every length in one batch; 1e-6 of the
    scale in float32, 1e-12 in float64."""
    import torch

    import minirnn as mr
    from minirnn import layers
    x, mask = masked_batch(rng, keras_dtype)
    T, F = x.shape[1:]
    theirs = keras.Sequential([keras.Input((T, F)), keras.layers.Masking(0.0),
                               keras.layers.LSTM(5, return_sequences=True),
                               keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True)),
                               keras.layers.SimpleRNN(3, return_sequences=True), keras.layers.Dense(2)])
    theirs.set_weights([w + rng.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in theirs.get_weights()])
    ours = mr.Sequential([layers.Masking(0.0, input_shape=(T, F)), layers.LSTM(5, return_sequences=True),
                          layers.Bidirectional(layers.GRU(4, return_sequences=True)),
                          layers.SimpleRNN(3, return_sequences=True), layers.Dense(2)], dtype=keras_dtype)
    ours.set_weights(theirs.get_weights())
    expected = theirs(torch.tensor(x))
    G = rng.normal(size=tuple(expected.shape)).astype(keras_dtype)
    (expected * torch.tensor(G)).sum().backward()
    expected_grads = [v.value.grad.numpy() for v in theirs.trainable_weights]
    got = ours.forward(x, training=True)
    tol = TOL if keras_dtype == "float32" else 1e-12
    expected = expected.detach().numpy()
    assert np.max(np.abs(got - expected)) <= tol * max(1.0, np.max(np.abs(expected)))
    np.testing.assert_array_equal(ours.output_mask, mask)
    ours.backward(G)
    got_grads = [layer.grads[name] for layer in ours.layers for name in layer.params]
    assert len(got_grads) == len(expected_grads) == 14
    for a, b in zip(got_grads, expected_grads):
        assert np.max(np.abs(a - b)) <= tol * max(1.0, np.max(np.abs(b)))


def test_training_on_masked_sequences_matches_keras(rng):
    """The loss and the metrics of a sequence output leave the masked steps out, as Keras' do: the
    same batch losses, mae and weights after three epochs. The epoch's loss differs on purpose:
    Keras weights each batch's mean by its samples, minirnn by its real steps, so that it is the
    mean over all real steps whatever the batch size (the same number as the mse metric)."""
    import minirnn as mr
    from minirnn import layers
    x, mask = masked_batch(rng, "float32", steps=8, features=2)
    x, mask = np.concatenate([x, x[::-1] * 0.5]), np.concatenate([mask, mask[::-1]])
    y = rng.normal(size=(len(x), 8, 1)).astype(np.float32)
    theirs = keras.Sequential([keras.Input((8, 2)), keras.layers.Masking(0.0),
                               keras.layers.GRU(4, return_sequences=True), keras.layers.Dense(1)])
    theirs.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    ours = mr.Sequential([layers.Masking(0.0, input_shape=(8, 2)), layers.GRU(4, return_sequences=True),
                          layers.Dense(1)], dtype="float32")
    ours.set_weights(theirs.get_weights())
    ours.compile("adam", "mse", metrics=["mae", "mse"])
    expected = theirs.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0).history
    batches = []
    got = ours.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0, callbacks=[_Batches(batches)]).history
    per_epoch = np.array([(b["loss"], b["size"]) for b in batches]).reshape(3, -1, 2)
    keras_rule = (per_epoch[..., 0] * per_epoch[..., 1]).sum(axis=1) / per_epoch[..., 1].sum(axis=1)
    np.testing.assert_allclose(keras_rule, expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(got["loss"], got["mse"], rtol=1e-6)
    np.testing.assert_allclose(got["mae"], expected["mae"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


class _Batches:
    """Collects every batch's logs."""

    def __init__(self, logs):
        self.logs = logs

    def on_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))
