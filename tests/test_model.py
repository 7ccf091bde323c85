"""minirnn/model.py: Sequential's counts, training, determinism, callbacks, whole-model gradients, bad input."""
import numpy as np
import pytest

import minirnn as mr
from minirnn import layers
from minirnn.gradcheck import check_function

RECURRENT = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}


def sine_windows(n=240, look_back=10, seed=0):
    rng = np.random.default_rng(seed)
    series = np.sin(np.arange(n + look_back) / 4) + 0.05 * rng.normal(size=n + look_back)
    X = np.stack([series[i:i + look_back] for i in range(n)])[:, :, None]
    return X, series[look_back:]


@pytest.mark.parametrize("cell, expected", [("SimpleRNN", 2651), ("LSTM", 10451), ("GRU", 8001)])
def test_keras_counts_one_layer_dropout_dense(cell, expected):
    model = mr.Sequential([RECURRENT[cell](50, input_shape=(10, 1)), layers.Dropout(0.2), layers.Dense(1)])
    assert model.count_params() == expected


def test_keras_count_bidirectional():
    model = mr.Sequential([layers.Bidirectional(layers.LSTM(7), input_shape=(4, 5)), layers.Dense(1)])
    assert model.count_params() == 728 + 15 and model.output_shape == (1,)


@pytest.mark.parametrize("cell, expected", [("SimpleRNN", 7361), ("LSTM", 29345), ("GRU", 22401)])
def test_keras_counts_four_stacked(cell, expected):
    model = mr.Sequential()
    model.add(RECURRENT[cell](32, return_sequences=True, input_shape=(5, 1)))
    for k in range(3):
        model.add(RECURRENT[cell](32, return_sequences=k < 2))
    model.add(layers.Dense(1))
    assert model.count_params() == expected


def test_summary_table(capsys):
    model = mr.Sequential([layers.LSTM(50, input_shape=(10, 1)), layers.Dropout(0.2), layers.Dense(1)])
    model.summary()
    out = capsys.readouterr().out
    assert "lstm (LSTM)" in out and "(None, 50)" in out and "Total params: 10,451" in out
    assert "dropout (Dropout)" in out and "dense (Dense)" in out


def test_fit_learns_and_reports(capsys):
    X, y = sine_windows()
    model = mr.Sequential([layers.GRU(16, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile(optimizer=mr.optim.Adam(0.01), loss="mse")
    history = model.fit(X, y, epochs=8, batch_size=32, validation_split=0.2, verbose=1)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 8 and "val_loss" in out
    assert len(history.history["loss"]) == len(history.history["val_loss"]) == 8
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert model.evaluate(X, y) < 0.1
    assert model.predict(X, batch_size=7).shape == (len(X), 1)


def test_verbose_zero_prints_nothing(capsys):
    X, y = sine_windows(n=40)
    model = mr.Sequential([layers.SimpleRNN(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mae")
    model.fit(X, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def train(seed, fit_seed=None):
    X, y = sine_windows(n=96)
    model = mr.Sequential([layers.LSTM(8, return_sequences=True, input_shape=(10, 1)), layers.Dropout(0.3),
                           layers.LSTM(8), layers.Dense(1)], seed=seed)
    model.compile("rmsprop", "mse")
    history = model.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=fit_seed)
    return history.history["loss"], model.get_weights()


def test_same_seed_bit_identical_history_and_weights():
    loss_a, weights_a = train(seed=3)
    loss_b, weights_b = train(seed=3)
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)
    loss_c, _ = train(seed=4)
    assert loss_c != loss_a
    loss_d, _ = train(seed=3, fit_seed=99)  # same initial weights, other shuffling and dropout
    assert loss_d != loss_a


def test_many_to_many():
    X, _ = sine_windows(n=64)
    Y = np.roll(X, -1, axis=1)
    model = mr.Sequential([layers.LSTM(8, return_sequences=True, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    history = model.fit(X, Y, epochs=5, verbose=0)
    assert model.predict(X).shape == (64, 10, 1)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_targets_n_and_n_by_1_are_the_same():
    X, y = sine_windows(n=32)
    model = mr.Sequential([layers.SimpleRNN(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    assert model.evaluate(X, y) == model.evaluate(X, y[:, None])


def test_early_stopping_restores_best_weights():
    X, y = sine_windows(n=64)
    model = mr.Sequential([layers.SimpleRNN(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile(mr.optim.SGD(learning_rate=0.5), "mse")  # too large: the validation loss wanders
    stopper = mr.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(X, y, epochs=40, validation_split=0.25, callbacks=[stopper], verbose=0)
    val = history.history["val_loss"]
    assert len(val) < 40 and stopper.stopped_epoch == len(val) - 1
    best = int(np.argmin(val))
    assert len(val) - 1 - best == 2  # stopped after `patience` epochs without improvement
    assert model.evaluate(X[48:], y[48:]) == pytest.approx(val[best], rel=1e-12)


def test_callback_protocol():
    calls = []

    class Recorder(mr.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))
            if epoch == 1:
                self.model.stop_training = True

        def on_batch_end(self, batch, logs=None):
            calls.append(("batch", batch, logs["size"]))

    X, y = sine_windows(n=20)
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    model.fit(X, y, epochs=5, batch_size=8, callbacks=[Recorder()], verbose=0)
    assert calls == ["train_begin", ("batch", 0, 8), ("batch", 1, 8), ("batch", 2, 4), ("epoch_end", 0, ["loss"]),
                     ("batch", 0, 8), ("batch", 1, 8), ("batch", 2, 4), ("epoch_end", 1, ["loss"])]


def test_divergence_stops_with_weights_from_before_the_step():
    X, y = sine_windows(n=64)
    model = mr.Sequential([layers.SimpleRNN(8, activation="linear", input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile(mr.optim.SGD(learning_rate=1e6), "mse")
    seen = []

    class Keep(mr.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(self.model.get_weights())

    with pytest.raises(mr.NonFiniteLossError, match=r"epoch \d+, batch \d+.*clipnorm"):
        model.fit(X, y, epochs=50, batch_size=8, callbacks=[Keep()], verbose=0)
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    for a, b in zip(weights, seen[-1]):  # untouched since the last good step
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_whole_model_gradient(return_sequences, rng):
    """Stacked LSTM/Bidirectional GRU/SimpleRNN + Dense, float64, dropout off: every parameter within 1e-6."""
    model = mr.Sequential([layers.LSTM(4, return_sequences=True, peephole=True, input_shape=(6, 2)),
                           layers.Dropout(0.5),
                           layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=False)),
                           layers.SimpleRNN(3, return_sequences=return_sequences), layers.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.normal(scale=0.5, size=value.shape)
    x = rng.normal(size=(3, 6, 2))
    y = rng.normal(size=(3, 6, 2) if return_sequences else (3, 2))
    arrays = {f"{layer.name}/{name}": value for layer in model.layers for name, value in layer.params.items()}

    def fn(_):
        value, grad = model.loss(model.forward(x), y)  # training=False: dropout is off
        model.backward(grad)
        return value, {f"{layer.name}/{name}": layer.grads[name] for layer in model.layers for name in layer.grads}

    errors = check_function(fn, arrays)
    assert len(errors) == 6 + 2 * 3 + 3 + 2 and max(errors.values()) <= 1e-6, errors


# ---------------------------------------------------------------- bad input

@pytest.fixture
def model():
    m = mr.Sequential([layers.LSTM(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    m.compile("adam", "mse")
    return m


@pytest.mark.parametrize("kwargs, error, match", [
    ({"x": np.ones((5, 10, 1)), "y": np.ones(4)}, ValueError, "5 samples but y has 4"),
    ({"x": np.ones((5, 10, 2)), "y": np.ones(5)}, ValueError, "2 features"),
    ({"x": np.full((5, 10, 1), np.nan), "y": np.ones(5)}, ValueError, "x contains NaN"),
    ({"x": np.ones((5, 10, 1)), "y": np.array([1, 2, np.nan, 4, 5])}, ValueError, "y contains NaN"),
    ({"x": np.ones((5, 10, 1)), "y": np.ones(5), "batch_size": 0}, ValueError, "batch_size"),
    ({"x": np.ones((5, 10, 1)), "y": np.ones(5), "validation_split": 1.0}, ValueError, "validation_split"),
    ({"x": np.ones((5, 10, 1)), "y": np.ones(5), "validation_split": -0.1}, ValueError, "validation_split"),
    ({"x": np.ones((5, 10, 1)), "y": np.ones((5, 3))}, ValueError, r"y must have shape \(5, 1\)"),
    ({"x": [[1.0]], "y": np.ones(1)}, TypeError, "numpy.ndarray"),
    ({"x": np.ones((5, 10, 1), np.float32), "y": np.ones(5)}, TypeError, "float32"),
])
def test_fit_rejects_bad_input(model, kwargs, error, match):
    with pytest.raises(error, match=match):
        model.fit(verbose=0, **kwargs)


def test_other_misuse():
    unbuilt = mr.Sequential([layers.LSTM(4), layers.Dense(1)])
    with pytest.raises(ValueError, match="not built"):
        unbuilt.predict(np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match="compile"):
        unbuilt.fit(np.ones((2, 3, 1)), np.ones(2))
    with pytest.raises(ValueError, match="optimizer must be"):
        unbuilt.compile(optimizer="adamw")
    with pytest.raises(ValueError, match="loss must be"):
        unbuilt.compile(loss="cross_entropy")
    with pytest.raises(TypeError, match="minirnn layers"):
        mr.Sequential(["lstm"])
    with pytest.raises(ValueError, match="return_state"):
        mr.Sequential([layers.LSTM(3, return_state=True)])
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.0)


def test_shapes_inferred_on_first_fit():
    X, y = sine_windows(n=32)
    model = mr.Sequential([layers.GRU(4), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    model.fit(X, y, epochs=1, verbose=0)
    assert model.input_shape == (10, 1) and model.count_params() == 3 * 4 * (1 + 4 + 2) + 5


def test_validation_data_and_no_shuffle():
    X, y = sine_windows(n=48)
    model = mr.Sequential([layers.SimpleRNN(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    history = model.fit(X[:32], y[:32], epochs=2, shuffle=False, validation_data=(X[32:], y[32:]), verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X[32:], y[32:]), rel=1e-12)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(X, y, validation_data=X, verbose=0)
