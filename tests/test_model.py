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


def test_train_on_batch_is_one_step_of_fit():
    """Keras' train_on_batch: the same update as fit on that one batch (Adam, metrics), returning
    the batch's loss from before the step; in training mode (dropout on)."""
    X, y = sine_windows(n=16)

    def model(*extra):
        m = mr.Sequential([layers.LSTM(4, input_shape=(10, 1)), *extra, layers.Dense(1)], seed=3)
        m.compile(mr.optim.Adam(0.01), "mse", metrics=["mae"])
        return m

    by_fit, by_batch = model(), model()
    history = by_fit.fit(X, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loss, mae = by_batch.train_on_batch(X, y)
    assert loss == pytest.approx(history.history["loss"][0], rel=1e-12)
    assert mae == pytest.approx(history.history["mae"][0], rel=1e-12)
    for a, b in zip(by_batch.get_weights(), by_fit.get_weights()):
        np.testing.assert_array_equal(a, b)
    logs = by_batch.train_on_batch(X, y, return_dict=True)
    assert set(logs) == {"loss", "mae"} and logs["loss"] < loss
    assert by_batch.optimizer.iterations == 2
    with_dropout = model(layers.Dropout(0.5))
    with_dropout.build((10, 1))
    without_dropout = with_dropout.evaluate(X, y)[0]  # the same weights, inference mode
    assert with_dropout.train_on_batch(X, y)[0] != pytest.approx(without_dropout, rel=1e-3)


def test_train_on_batch_checks_and_stops_like_fit():
    X, y = sine_windows(n=8)
    model = mr.Sequential([layers.SimpleRNN(8, activation="linear", input_shape=(10, 1)), layers.Dense(1)], seed=0)
    with pytest.raises(ValueError, match="compile the model before train_on_batch"):
        model.train_on_batch(X, y)
    model.compile(mr.optim.SGD(learning_rate=1e6), "mse")
    with pytest.raises(ValueError, match="x has 8 samples but y has 3"):
        model.train_on_batch(X, y[:3])
    before = None
    with pytest.raises(mr.NonFiniteLossError, match=r"batch \d+.*clipnorm"):
        for _ in range(50):
            before = model.get_weights()
            model.train_on_batch(X, y)
    for a, b in zip(model.get_weights(), before):  # the weights from before the step that diverged
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


def test_whole_model_gradient_while_training_with_fixed_dropout_masks(rng):
    """Dropout and recurrent dropout on, in a stack: with every layer's generator reset before each
    forward pass, the masks are fixed and the model is a smooth function of its weights."""
    model = mr.Sequential([layers.LSTM(4, return_sequences=True, recurrent_dropout=0.3, input_shape=(5, 2)),
                           layers.Dropout(0.4),
                           layers.Bidirectional(layers.GRU(3, return_sequences=True, recurrent_dropout=0.25), "mul"),
                           layers.Dropout(0.2),
                           layers.SimpleRNN(3, recurrent_dropout=0.5), layers.Dense(2, activation="sigmoid")], seed=0)
    model.compile("sgd", mr.losses.huber)
    for layer in model.layers:
        for value in layer.params.values():
            value[...] = rng.normal(scale=0.5, size=value.shape)
    x, y = rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 2))
    arrays = {f"{layer.name}/{name}": value for layer in model.layers for name, value in layer.params.items()}

    def fn(_):
        for k, layer in enumerate(model.layers):
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(k)
        value, grad = model.loss(model.forward(x, training=True), y)
        model.backward(grad)
        return value, {f"{layer.name}/{name}": layer.grads[name] for layer in model.layers for name in layer.grads}

    fn(None)
    assert (model.layers[1]._mask == 0).any() and (model.layers[3]._mask == 0).any()  # dropout is on
    errors = check_function(fn, arrays)
    assert len(errors) == 3 + 2 * 3 + 3 + 2 and max(errors.values()) <= 1e-6, errors


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
    ({"x": np.ones((5, 10, 1), np.complex128), "y": np.ones(5)}, TypeError, "real numbers"),
    ({"x": np.full((5, 10, 1), "1"), "y": np.ones(5)}, TypeError, "real numbers"),
    ({"x": np.ones((5, 10, 1)), "y": np.full(5, None)}, TypeError, "y must hold real numbers"),
    ({"x": np.ones((5, 10)), "y": np.ones(5)}, ValueError, "3-D"),
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
    with pytest.raises(TypeError, match="seed must be None or an int >= 0, got 'x'"):
        mr.Sequential([layers.LSTM(3)], seed="x")
    with pytest.raises(TypeError, match="seed must be None or an int >= 0, got -1"):
        layers.GRU(3, seed=-1)
    with pytest.raises(ValueError, match="input_shape must be a tuple of positive ints"):
        layers.LSTM(3, input_shape="ab")


def test_fit_arguments_of_the_wrong_kind(model):
    X, y = np.ones((4, 10, 1)), np.ones(4)
    with pytest.raises(TypeError, match=r"callbacks must be a list.*wrap it in \[ \]"):
        model.fit(X, y, callbacks=mr.callbacks.EarlyStopping(monitor="loss"), verbose=0)
    with pytest.raises(TypeError, match="seed must be"):
        model.fit(X, y, seed=1.5, verbose=0)


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


# ---------------------------------------------------------------- Keras habits

def test_float_int_and_bool_data_are_cast_to_the_model_dtype():
    """Keras casts data to the model's dtype: float32 data into a float64 model trains exactly as float64."""
    X, y = sine_windows(n=64)
    runs = {}
    for name, (x_data, y_data) in {"float64": (X, y), "float32": (X.astype(np.float32), y.astype(np.float32))}.items():
        model = mr.Sequential([layers.LSTM(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
        model.compile("adam", "mse")
        runs[name] = model.fit(x_data, y_data, epochs=2, verbose=0).history["loss"]
        assert model.dtype == np.float64 and model.predict(x_data).dtype == np.float64
    expected = mr.Sequential([layers.LSTM(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    expected.compile("adam", "mse")
    float32_values = expected.fit(X.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64),
                                  epochs=2, verbose=0).history["loss"]
    assert runs["float32"] == float32_values  # the cast, and nothing else
    counts = np.arange(2 * 10).reshape(2, 10, 1)
    assert model.predict(counts) == pytest.approx(model.predict(counts.astype(np.float64)), abs=0)
    assert model.predict(counts > 5).shape == (2, 1)


def test_a_model_built_from_float32_data_is_float32():
    X, y = sine_windows(n=32)
    model = mr.Sequential([layers.GRU(3), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    model.fit(X.astype(np.float32), y, epochs=1, verbose=0)
    assert model.dtype == np.float32 and all(p.dtype == np.float32 for p in model.get_weights())
    integers = mr.Sequential([layers.GRU(3), layers.Dense(1)], seed=0)
    integers.compile("adam", "mse")
    integers.fit(np.ones((4, 10, 1), dtype=np.int64), np.ones(4), epochs=1, verbose=0)
    assert integers.dtype == np.float64


def test_the_model_dtype_comes_from_its_layers_and_disagreement_is_an_error():
    model = mr.Sequential([layers.LSTM(8, input_shape=(30, 1), dtype="float32"), layers.Dense(1)])
    assert model.dtype == np.float32 and model.layers[1].params["kernel"].dtype == np.float32
    assert mr.Sequential([mr.Input(shape=(30, 1), dtype="float32"), layers.LSTM(2)]).dtype == np.float32
    with pytest.raises(ValueError, match=r"disagree.*'lstm' is float32.*'dense' is float64"):
        mr.Sequential([layers.LSTM(8, input_shape=(30, 1), dtype="float32"), layers.Dense(1, dtype="float64")])
    with pytest.raises(ValueError, match=r"Sequential\(dtype=...\) is float64.*float32"):
        mr.Sequential([layers.LSTM(8, dtype="float32")], dtype="float64")
    built = mr.Sequential([layers.LSTM(8, input_shape=(30, 1))])  # float64 now
    with pytest.raises(ValueError, match="disagree"):
        built.add(layers.Dense(1, dtype="float32"))


def test_input_starts_a_model_and_only_that():
    model = mr.Sequential([mr.layers.Input(shape=(30, 2)), layers.SimpleRNN(4), layers.Dense(1)])
    assert model.built and model.input_shape == (30, 2) and model.count_params() == 4 * (2 + 4 + 1) + 5
    lines = []
    model.summary(print_fn=lines.append)
    assert "Input" not in lines[0] and "simplernn (SimpleRNN)" in lines[0]
    with pytest.raises(ValueError, match="first element"):
        mr.Sequential([layers.SimpleRNN(4), mr.Input(shape=(30, 2))])
    with pytest.raises(ValueError, match="tuple of positive ints"):
        mr.Input(shape=30)


def test_metrics_in_history_and_evaluate_agree_with_numpy():
    X, y = sine_windows(n=80)
    model = mr.Sequential([layers.GRU(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse", metrics=["mae", "mse", "rmse"])
    history = model.fit(X, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0).history
    assert list(history) == ["loss", "mae", "mse", "rmse", "val_loss", "val_mae", "val_mse", "val_rmse"]
    # loss and the mse metric: the same number, accumulated two ways; rmse: the root of the mean, not a mean of roots
    assert history["mse"] == pytest.approx(history["loss"], rel=1e-12)
    assert history["val_mse"] == pytest.approx(history["val_loss"], rel=1e-12)
    assert history["rmse"] == pytest.approx(np.sqrt(history["mse"]), rel=1e-12)
    error = model.predict(X[60:]).ravel() - y[60:]
    loss, mae, mse, rmse = model.evaluate(X[60:], y[60:], batch_size=7)
    assert [loss, mae, mse, rmse] == pytest.approx([np.mean(error ** 2), np.mean(np.abs(error)), np.mean(error ** 2),
                                                    np.sqrt(np.mean(error ** 2))], rel=1e-10)
    assert history["val_mae"][-1] == pytest.approx(mae, rel=1e-10)
    assert model.evaluate(X[60:], y[60:], return_dict=True)["rmse"] == pytest.approx(rmse, rel=1e-12)
    model.compile("adam", "mse")
    assert isinstance(model.evaluate(X, y), float)  # no metrics: the loss alone, as Keras


def test_callable_metrics_and_bad_metrics():
    X, y = sine_windows(n=40)
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(10, 1)), layers.Dense(1)], seed=0)

    def max_error(y_pred, y_true):
        return np.max(np.abs(y_pred - y_true))

    model.compile("adam", "mse", metrics=[max_error])
    loss, value = model.evaluate(X, y, batch_size=40)
    assert value == pytest.approx(np.max(np.abs(model.predict(X).ravel() - y)), rel=1e-12)
    for metrics, error, match in [("mae", TypeError, "a list"), (["f1"], ValueError, "metrics must be"),
                                  (["mae", "mae"], ValueError, "distinct")]:
        with pytest.raises(error, match=match):
            model.compile("adam", "mse", metrics=metrics)
    model.compile("adam", "mse", metrics=[lambda y_pred, y_true: [1.0]])
    with pytest.raises(TypeError, match="must return one number"):
        model.evaluate(X, y)


def test_verbose_on_predict_and_evaluate(capsys):
    X, y = sine_windows(n=20)
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse", metrics=["mae"])
    model.predict(X, verbose=0)
    model.evaluate(X, y, verbose=0)
    assert capsys.readouterr().out == ""
    model.predict(X, verbose=1)
    model.evaluate(X, y, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("20 samples") and "loss: " in out[1] and "mae: " in out[1]


def test_get_and_set_weights_on_layers_and_models(rng):
    model = mr.Sequential([layers.LSTM(3, input_shape=(5, 2)), layers.Dropout(0.1), layers.Dense(1)], seed=0)
    lstm = model.layers[0]
    weights = lstm.get_weights()
    assert [w.shape for w in weights] == [(2, 12), (3, 12), (12,)]
    weights[0] += 1  # a copy: the layer is unchanged
    assert not np.array_equal(lstm.params["kernel"], weights[0])
    lstm.set_weights(weights)
    assert np.array_equal(lstm.params["kernel"], weights[0])
    new = [rng.normal(size=w.shape) for w in model.get_weights()]
    model.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), new))
    with pytest.raises(ValueError, match="3 arrays"):
        lstm.set_weights(weights[:2])
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(3, 12\)"):
        lstm.set_weights([weights[0], weights[0], weights[2]])
    with pytest.raises(ValueError, match="finite"):
        lstm.set_weights([weights[0], np.full((3, 12), np.nan), weights[2]])
    with pytest.raises(ValueError, match="5 arrays"):
        model.set_weights(new[:4])
    with pytest.raises(ValueError, match="not built"):
        layers.GRU(2).get_weights()


def test_keras_module_names():
    assert mr.optimizers.Adam is mr.optim.Adam and mr.optimizers.get("sgd").__class__ is mr.optim.SGD
    assert mr.Input is mr.layers.Input


# ---------------------------------------------------------------- bad data, named and located

def test_bad_values_in_the_data_are_reported_with_their_position(model):
    x = np.ones((5, 10, 1))
    x[3, 7, 0] = np.inf
    with pytest.raises(ValueError, match=r"x contains NaN or inf.*index \(3, 7, 0\)"):
        model.fit(x, np.ones(5), verbose=0)
    masked = np.ma.masked_array(np.ones((5, 10, 1)), mask=np.zeros((5, 10, 1), bool))
    masked.data[2, 1, 0] = np.nan  # hidden under the mask
    masked.mask[2, 1, 0] = True
    with pytest.raises(ValueError, match=r"masked entries.*\(2, 1, 0\)"):
        model.predict(masked)
    unmasked = np.ma.masked_array(np.ones((5, 10, 1)))
    assert model.predict(unmasked).shape == (5, 1)
    float32_model = mr.Sequential([layers.LSTM(2, input_shape=(10, 1), dtype="float32")])
    big = np.ones((2, 10, 1))
    big[1, 4, 0] = 1e300
    with pytest.raises(ValueError, match=r"once cast to float32.*\(1, 4, 0\)"):
        float32_model.predict(big)


def test_a_layer_whose_output_overflows_says_so(rng):
    dense = layers.Dense(2)
    dense.build(3)
    dense.params["kernel"][...] = 1e200
    with pytest.raises(FloatingPointError, match="output of layer 'dense'.*input is finite"):
        dense.forward(np.full((1, 3), 1e200))
    relu = layers.SimpleRNN(2, activation="relu", return_sequences=True)
    relu.build(1)
    relu.params["kernel"][...] = 1.0  # positive: relu passes h_1 = 1e150 on, h_2 ~ 1e300, h_3 overflows
    relu.params["recurrent_kernel"][...] = 1e150
    with pytest.raises(FloatingPointError, match="simplernn"):
        relu.forward(np.full((1, 20, 1), 1e150))


def test_finite_divergence_stops_warns_or_is_ignored():
    """SGD at a huge rate on a linear model: the loss grows geometrically while every number stays finite."""
    X, y = sine_windows(n=64)

    def model():
        m = mr.Sequential([layers.SimpleRNN(4, activation="linear", input_shape=(10, 1)), layers.Dense(1)], seed=0)
        m.compile(mr.optim.SGD(learning_rate=3.0), "mse")
        return m

    stopped = model()
    with pytest.raises(mr.NonFiniteLossError, match=r"the loss grew from .* more than 10000 times"):
        stopped.fit(X, y, epochs=5, batch_size=8, verbose=0)
    with pytest.warns(UserWarning, match="diverging"):
        with pytest.raises(mr.NonFiniteLossError, match="NaN or infinite"):  # later it overflows anyway
            model().fit(X, y, epochs=200, batch_size=8, verbose=0, on_divergence="warn")
    with pytest.raises(ValueError, match="on_divergence"):
        model().fit(X, y, on_divergence="stop")
    calm = mr.Sequential([layers.SimpleRNN(4, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    calm.compile("adam", "mse")
    calm.fit(X, y, epochs=3, verbose=0)  # a healthy run never trips it


def test_a_loss_breaking_its_contract_is_named():
    X, y = sine_windows(n=16)
    model = mr.Sequential([layers.SimpleRNN(2, input_shape=(10, 1)), layers.Dense(1)], seed=0)
    for loss, match in [(lambda p, t: [0.0, p - t], "return \\(value, grad\\).*got list"),
                        (lambda p, t: (0.0, list(p - t)), "the gradient is list"),
                        (lambda p, t: (0.0, (p - t).ravel()), r"the gradient is shape \(16,\)"),
                        (lambda p, t: ("0", p - t), "the value is str")]:
        model.compile("adam", loss)
        with pytest.raises(TypeError, match=match):
            model.fit(X, y, verbose=0)


@pytest.mark.parametrize("layer", [layers.Dense(2), layers.Dropout(0.5), layers.LSTM(2),
                                   layers.Bidirectional(layers.GRU(2))], ids=lambda l: type(l).__name__)
def test_backward_before_forward(layer):
    with pytest.raises(ValueError, match="backward was called before forward"):
        layer.backward(np.ones((1, 2)))


def test_classification_with_labels_softmax_and_accuracy():
    from minirnn import tasks
    X, labels = tasks.temporal_order(256, 24, seed=0)
    model = mr.Sequential([layers.GRU(8, input_shape=(24, 8)), layers.Dense(4, activation="softmax")], seed=0)
    model.compile(mr.optim.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, labels, epochs=2, batch_size=32, validation_split=0.25, verbose=0).history
    assert list(history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    loss, accuracy = model.evaluate(X[192:], labels[192:])
    predicted = model.predict(X[192:]).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == labels[192:]), abs=1e-12)
    assert history["val_accuracy"][-1] == pytest.approx(accuracy, abs=1e-12)
    assert model.evaluate(X[:8], labels[:8, None])[1] == model.evaluate(X[:8], labels[:8])[1]  # (n, 1) labels too
    with pytest.raises(ValueError, match="the label 4, but the model's output has 4 classes"):
        model.evaluate(X[:8], np.full(8, 4))
    with pytest.raises(TypeError, match="integer class labels"):
        model.evaluate(X[:8], np.full(8, 0.5))
    with pytest.raises(ValueError, match=r"one label per output position, shape \(8,\)"):
        model.evaluate(X[:8], np.zeros((8, 4), dtype=int))


def test_fit_on_generated_batches_equals_fit_on_the_same_batches_as_arrays():
    from minirnn import tasks
    batches = [tasks.adding_problem(16, 12, seed=k) for k in range(6)]  # three epochs of two batches
    x, y = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])

    def model():
        m = mr.Sequential([layers.LSTM(4), layers.Dense(1)], seed=0)
        m.compile(mr.optim.Adam(0.01), "mse")
        return m

    arrays = model()
    expected = [arrays.fit(x[32 * e:32 * (e + 1)], y[32 * e:32 * (e + 1)], batch_size=16, shuffle=False,
                           verbose=0).history["loss"][0] for e in range(3)]
    from_iterator, from_function = model(), model()
    history = from_iterator.fit(iter(batches), epochs=3, steps_per_epoch=2, verbose=0).history
    assert history["loss"] == expected  # the same numbers, to the bit
    assert from_function.fit(lambda step: batches[step], epochs=3, steps_per_epoch=2, verbose=0).history == history
    for a, b in zip(arrays.get_weights(), from_function.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_on_generated_batches_misuse():
    from minirnn import tasks
    model = mr.Sequential([layers.GRU(3, input_shape=(12, 2)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    draw = lambda step: tasks.adding_problem(8, 12, seed=step)  # noqa: E731
    with pytest.raises(TypeError, match="steps_per_epoch must be a positive int"):
        model.fit(draw, verbose=0)
    with pytest.raises(ValueError, match="give no y"):
        model.fit(draw, np.ones(8), steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(draw, steps_per_epoch=2, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="ran out at step 2"):
        model.fit(iter([draw(0), draw(1)]), epochs=2, steps_per_epoch=2, verbose=0)
    with pytest.raises(TypeError, match="a pair"):
        model.fit(lambda step: draw(step)[0], steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match=r"x of batch 1 contains NaN"):
        model.fit(lambda step: (np.full((8, 12, 2), np.nan), np.ones(8)) if step else draw(step), steps_per_epoch=2,
                  verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch is for a generator"):
        model.fit(*draw(0), steps_per_epoch=2, verbose=0)
    history = model.fit(draw, epochs=2, steps_per_epoch=3, validation_data=draw(99), verbose=0).history
    assert len(history["loss"]) == len(history["val_loss"]) == 2


def test_shuffle_changes_the_order_of_the_batches_and_only_that():
    X, y = sine_windows(n=64)

    def train(shuffle):
        model = mr.Sequential([layers.SimpleRNN(3, input_shape=(10, 1)), layers.Dense(1)], seed=0)
        model.compile(mr.optim.SGD(0.1), "mse")
        seen = []

        class Targets(mr.callbacks.Callback):
            def on_batch_end(self, batch, logs=None):
                seen.append(logs["loss"])

        model.fit(X, y, epochs=2, batch_size=16, shuffle=shuffle, callbacks=[Targets()], verbose=0)
        return seen, model.get_weights()

    (in_order, w_order), (shuffled, w_shuffled) = train(False), train(True)
    assert in_order != shuffled and not all(np.array_equal(a, b) for a, b in zip(w_order, w_shuffled))
    assert train(True)[0] == shuffled  # the same seed, the same shuffling


def masked_copy_batch(rng):
    """Sequences of 6 steps padded with zeros after 6, 4, 2 and 0 steps of data, one-hot inputs,
    integer labels per step; the padding's labels are arbitrary."""
    lengths = np.array([6, 4, 2, 0])
    mask = np.arange(6)[None, :] < lengths[:, None]
    labels = rng.integers(0, 3, size=(4, 6))
    x = np.where(mask[..., None], np.eye(3)[labels], 0.0)
    return x, labels, mask


def test_loss_and_metrics_leave_masked_steps_out(rng):
    """Keras' rule: the mean over the unmasked steps only. Labels at masked steps change nothing (loss,
    accuracy, gradients), and the loss is the cross-entropy of the unmasked steps, computed here by hand."""
    x, labels, mask = masked_copy_batch(rng)
    model = mr.Sequential([layers.Masking(input_shape=(6, 3)), layers.LSTM(4, return_sequences=True),
                           layers.Dense(3, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    p = model.predict(x)
    expected_loss = -np.mean(np.log(p[mask, labels[mask]]))
    expected_accuracy = np.mean(p[mask].argmax(axis=-1) == labels[mask])
    loss, accuracy = model.evaluate(x, labels)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert accuracy == pytest.approx(expected_accuracy, rel=1e-12)
    relabelled = np.where(mask, labels, (labels + 1) % 3)
    assert model.evaluate(x, relabelled) == [loss, accuracy]
    grads = []
    for y in (labels, relabelled):
        pred = model.forward(x, training=True)
        value, grad = model._loss_and_grad(pred, y, model.output_mask)
        assert not grad[~mask].any()
        model.backward(grad)
        grads.append([layer.grads[name].copy() for layer in model.layers for name in layer.params])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_a_batch_of_padding_only_has_loss_zero(rng):
    x, labels, mask = masked_copy_batch(rng)
    model = mr.Sequential([layers.Masking(input_shape=(6, 3)), layers.GRU(4, return_sequences=True),
                           layers.Dense(3)], seed=0)
    model.compile("adam", "mse")
    before = model.get_weights()
    history = model.fit(np.zeros_like(x), rng.normal(size=(4, 6, 3)), batch_size=4, verbose=0)
    assert history.history["loss"] == [0.0]
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_summary_and_saving_with_masking(rng, tmp_path):
    x, labels, mask = masked_copy_batch(rng)
    model = mr.Sequential([layers.Masking(-1.0, input_shape=(6, 3)), layers.GRU(4, return_sequences=True),
                           layers.Dense(3)], seed=0)
    lines = []
    model.summary(print_fn=lines.append)
    assert "masking (Masking)" in lines[0] and "(None, 6, 3)" in lines[0]
    model.compile("adam", "mse")
    model.save(tmp_path / "masked.npz")
    loaded = mr.load_model(tmp_path / "masked.npz")
    assert loaded.layers[0].mask_value == -1.0
    x[~mask] = -1.0
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def masked_regression(rng):
    x, _, mask = masked_copy_batch(rng)
    model = mr.Sequential([layers.Masking(input_shape=(6, 3)), layers.GRU(4, return_sequences=True),
                           layers.Dense(2)], seed=0)
    model.compile("adam", "mse", metrics=["mse", "mae"])
    return model, x, rng.normal(size=(4, 6, 2)), mask


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4])
def test_a_masked_loss_is_the_mean_over_real_steps_whatever_the_batch_size(batch_size, rng):
    model, x, y, mask = masked_regression(rng)
    error = model.predict(x) - y
    by_hand = float(np.mean(error[mask] ** 2))
    logs = model.evaluate(x, y, batch_size=batch_size, return_dict=True)
    assert logs["loss"] == pytest.approx(by_hand, rel=1e-12) and logs["mse"] == pytest.approx(by_hand, rel=1e-12)
    assert logs["mae"] == pytest.approx(float(np.mean(np.abs(error[mask]))), rel=1e-12)


def test_an_epoch_of_masked_batches_reports_the_mean_over_its_real_steps(rng):
    """The same rule for fit: the epoch's loss equals its mse metric, which counts real steps."""
    model, x, y, _ = masked_regression(rng)
    history = model.fit(x, y, batch_size=1, shuffle=False, epochs=2, verbose=0).history
    np.testing.assert_allclose(history["loss"], history["mse"], rtol=1e-12)


def test_data_of_padding_alone_gives_zeros_not_errors(rng):
    model, x, y, _ = masked_regression(rng)
    padding = np.zeros_like(x)
    assert model.evaluate(padding, y, return_dict=True) == {"loss": 0.0, "mse": 0.0, "mae": 0.0}
    history = model.fit(padding, y, epochs=2, verbose=0).history
    assert history["loss"] == [0.0, 0.0] and history["mae"] == [0.0, 0.0]


def test_a_first_batch_of_padding_raises_no_divergence_alarm(rng):
    """The divergence watch measures against the first batch with a loss above 0."""
    model, x, y, mask = masked_regression(rng)
    x = np.concatenate([np.zeros_like(x), x])  # the first batch (4 sequences, shuffle off) is all padding
    y = np.concatenate([y, y])
    history = model.fit(x, y, batch_size=4, shuffle=False, epochs=3, verbose=0).history
    assert len(history["loss"]) == 3 and np.isfinite(history["loss"]).all()


def test_stateful_validation_data_of_another_size_is_refused_before_training(rng):
    model = mr.Sequential([layers.LSTM(3, stateful=True, input_shape=(5, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    before = model.get_weights()
    x, y = rng.normal(size=(8, 5, 1)), rng.normal(size=8)
    with pytest.raises(ValueError, match="the 6 samples of validation_data are not a multiple of batch_size=4"):
        model.fit(x, y, batch_size=4, shuffle=False, validation_data=(x[:6], y[:6]), verbose=0)
    with pytest.raises(ValueError, match="samples of validation_data are not a multiple of batch_size=4"):
        model.fit(np.concatenate([x, x[:2]]), np.concatenate([y, y[:2]]), batch_size=4, shuffle=False,
                  validation_split=0.2, verbose=0)  # 10 samples: 8 train, 2 validation
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.fit(x, y, batch_size=4, shuffle=False, validation_data=(x[:4], y[:4]), verbose=0)


def test_classes_given_uncalled_are_made_with_their_defaults(rng):
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(4, 1), recurrent_initializer=mr.initializers.Orthogonal),
                           layers.Dense(1)], seed=0)
    model.compile(mr.optim.Adam, mr.losses.MeanSquaredError)
    assert isinstance(model.optimizer, mr.optim.Adam) and model.optimizer.learning_rate == 0.001
    x, y = rng.normal(size=(16, 4, 1)), rng.normal(size=16)
    history = model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0,
                        callbacks=[mr.callbacks.EarlyStopping, mr.callbacks.History])
    assert len(history.history["loss"]) >= 1
    with pytest.raises(TypeError, match="callbacks\\[0\\] is the class LearningRateScheduler, which needs arguments"):
        model.fit(x, y, verbose=0, callbacks=[mr.callbacks.LearningRateScheduler])


def test_batch_sources_given_in_the_wrong_form_say_what_to_give(rng):
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(4, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    pairs = [(rng.normal(size=(2, 4, 1)), rng.normal(size=2)) for _ in range(3)]

    def batches():
        yield from pairs

    with pytest.raises(TypeError, match="generator function batches, not a generator: call it"):
        model.fit(batches, steps_per_epoch=3, verbose=0)
    with pytest.raises(TypeError, match="x is a list of 3 items.*iter\\(x\\)"):
        model.fit(pairs, steps_per_epoch=3, verbose=0)
    with pytest.raises(TypeError, match="does not take one argument"):
        model.fit(lambda: pairs[0], steps_per_epoch=3, verbose=0)
    model.fit(batches(), steps_per_epoch=3, verbose=0)  # what they should have given
    model.fit(iter(pairs), steps_per_epoch=3, verbose=0)


def test_an_overflow_from_extreme_input_is_blamed_on_the_data(rng):
    model = mr.Sequential([layers.SimpleRNN(3, activation="relu", input_shape=(4, 1)), layers.Dense(1)],
                          seed=0, dtype="float32")
    model.compile("sgd", "mse")
    x = np.full((2, 4, 1), 3e38, dtype=np.float32)  # finite in float32, but x W overflows it
    with pytest.raises(ValueError, match="input is too large for float32.*scale the data"):
        model.fit(x, np.zeros(2, dtype=np.float32), verbose=0)
    with pytest.raises(ValueError, match="input is too large"):
        model.predict(x)


def test_a_masked_array_with_nan_under_its_mask_is_a_clear_error(model):
    x = np.ma.masked_array(np.ones((4, 10, 1)), mask=np.zeros((4, 10, 1), dtype=bool))
    x.data[1, 2, 0] = np.nan
    x.mask[1, 2, 0] = True
    with pytest.raises(ValueError, match="masked array with masked entries \\(the first at index \\(1, 2, 0\\)\\)"):
        model.fit(x, np.ones(4), verbose=0)
    lstm = layers.LSTM(2)
    with pytest.raises(TypeError, match="numpy masked array: layers do not read its mask"):
        lstm.forward(x)
