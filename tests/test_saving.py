"""minirnn/saving.py: round trips, atomic writes, and clear errors for files that are not models."""
import os

import numpy as np
import pytest

import minirnn as mr
from minirnn import layers


@pytest.fixture
def trained(rng):
    X, y = rng.normal(size=(40, 8, 2)), rng.normal(size=40)
    model = mr.Sequential([layers.LSTM(5, return_sequences=True, peephole=True, input_shape=(8, 2)),
                           layers.Dropout(0.2),
                           layers.Bidirectional(layers.GRU(4, reset_after=False, return_sequences=True), "ave"),
                           layers.SimpleRNN(3, activation="leaky_relu", alpha=0.1), layers.Dense(1)], seed=1)
    model.compile(mr.optim.Adam(0.01, clipnorm=1.0), "huber")
    model.fit(X, y, epochs=2, verbose=0)
    return model, X, y


def test_round_trip_predicts_bit_identically_and_resumes_training(trained, tmp_path):
    model, X, y = trained
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = mr.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert loaded.layers[0].peephole and loaded.layers[3].alpha == 0.1
    assert loaded.layers[2].merge_mode == "ave" and not loaded.layers[2].forward_layer.reset_after
    # optimizer state (Adam's moments, step count) came along: one more epoch gives the same weights
    model.fit(X, y, epochs=1, verbose=0, seed=5)
    loaded.fit(X, y, epochs=1, verbose=0, seed=5)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_optimizer_state(trained, tmp_path):
    model, X, _ = trained
    model.save(tmp_path / "m.npz", include_optimizer=False)
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.optimizer.iterations == 0 and loaded.optimizer.state == {}
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_write_is_atomic(trained, tmp_path, monkeypatch):
    model, _, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "text", "foreign_npz", "missing_weight", "wrong_shape"])
def test_bad_files_raise_clear_errors(trained, tmp_path, damage):
    model, _, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt":
        path.write_bytes(data[:100] + bytes(200) + data[300:])
    elif damage == "text":
        path.write_text("Date,Open,High\n2017-01-03,1,2\n")
    elif damage == "foreign_npz":
        np.savez(path, a=np.ones(3))
    else:
        with np.load(path) as archive:
            arrays = {k: archive[k] for k in archive.files}
        if damage == "missing_weight":
            del arrays["weights/3"]
        else:
            arrays["weights/0"] = np.ones((3, 3))
        np.savez(path, **arrays)
    with pytest.raises(ValueError, match="not a minirnn model|does not match|must have shape"):
        mr.load_model(path)


def test_missing_file_and_folder(trained):
    with pytest.raises(FileNotFoundError):
        mr.load_model("/nonexistent/model.npz")
    with pytest.raises(FileNotFoundError, match="the folder /nonexistent does not exist"):
        trained[0].save("/nonexistent/model.npz")


def test_keras_and_torch_file_names_are_refused(trained, tmp_path):
    model, _, _ = trained
    for name in ("m.keras", "m.h5", "m.pt"):
        with pytest.raises(ValueError, match="minirnn saves its own format.*npz"):
            model.save(tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_numpy_numbers_in_the_config_are_saved(tmp_path):
    model = mr.Sequential([layers.GRU(np.int64(3), input_shape=(4, 1), seed=np.int64(3)), layers.Dense(1)],
                          seed=np.int64(7))
    model.compile("adam", "mse")
    model.save(tmp_path / "m.npz")
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.seed == 7 and all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
    unsaveable = mr.Sequential([layers.GRU(3, input_shape=(4, 1))], seed=np.random.SeedSequence(1))
    with pytest.raises(TypeError, match="cannot save this model.*SeedSequence"):
        unsaveable.save(tmp_path / "n.npz")


def test_an_optimizer_this_version_lacks(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["config"] = np.array(str(arrays["config"]).replace('"class": "Adam"', '"class": "Lion"'))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="optimizer 'Lion', which this minirnn does not have"):
        mr.load_model(path)


def test_a_custom_loss_is_announced_when_saving_and_loading(tmp_path):
    model = mr.Sequential([layers.SimpleRNN(2, input_shape=(3, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", lambda y_pred, y_true: mr.losses.mean_squared_error(y_pred, y_true))
    with pytest.warns(UserWarning, match="custom loss"):
        model.save(tmp_path / "m.npz")
    with pytest.warns(UserWarning, match="loaded uncompiled"):
        loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.optimizer is None


def test_never_suggests_unpickling(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError) as error:
        mr.load_model(path)
    assert "not a minirnn model file" in str(error.value) and "pickle" not in str(error.value)


def test_the_old_home_of_load_model_still_works(trained, tmp_path):
    from minirnn import saving
    trained[0].save(tmp_path / "m.npz")
    assert saving.load_model is mr.load_model and saving.load_model(tmp_path / "m.npz").count_params() > 0


def test_a_float32_model_comes_back_float32(tmp_path, rng):
    model = mr.Sequential([layers.GRU(3, input_shape=(4, 2)), layers.Dense(1)], seed=0, dtype="float32")
    x = rng.normal(size=(5, 4, 2)).astype(np.float32)
    model.save(tmp_path / "m.npz")
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("loss, metrics", [
    (mr.losses.SparseCategoricalCrossentropy(from_logits=True), ["accuracy"]),
    (mr.losses.SparseCategoricalCrossentropy, ["acc"]),  # a class given uncalled
    ("sparse_categorical_crossentropy", None),
])
def test_a_saved_classifier_loads_compiled_with_its_loss_metrics_and_optimizer(loss, metrics, rng, tmp_path):
    x, labels = rng.normal(size=(24, 5, 2)), rng.integers(0, 3, size=24)
    softmax = not isinstance(loss, mr.losses.SparseCategoricalCrossentropy)
    model = mr.Sequential([layers.GRU(4, input_shape=(5, 2)),
                           layers.Dense(3, activation="softmax" if softmax else None)], seed=0)
    model.compile(mr.optim.Adam(0.01), loss, metrics=metrics)
    model.fit(x, labels, epochs=2, batch_size=8, verbose=0)
    before = model.evaluate(x, labels, return_dict=True)
    model.save(tmp_path / "m.npz")
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.evaluate(x, labels, return_dict=True) == before
    assert type(loaded.loss) is type(model.loss) and getattr(loaded.loss, "from_logits", None) == getattr(
        model.loss, "from_logits", None)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    model.fit(x, labels, epochs=1, batch_size=8, verbose=0, seed=3)  # and training goes on the same way
    loaded.fit(x, labels, epochs=1, batch_size=8, verbose=0, seed=3)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_settings_survive_and_metric_functions_are_said_to_be_left_out(rng, tmp_path):
    x, y = rng.normal(size=(10, 4, 1)), rng.normal(size=10)
    model = mr.Sequential([layers.SimpleRNN(3, input_shape=(4, 1)), layers.Dense(1)], seed=0)

    def spread(y_pred, y_true):
        return float(np.std(y_pred - y_true))

    model.compile("sgd", mr.losses.Huber(delta=0.25), metrics=["mae", spread])
    with pytest.warns(UserWarning, match=r"the metric functions \['spread'\] cannot be saved"):
        model.save(tmp_path / "m.npz")
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.loss.delta == 0.25 and [m.name for m in loaded.metrics] == ["mae"]
    assert loaded.evaluate(x, y, return_dict=True) == {k: v for k, v in model.evaluate(x, y, return_dict=True).items()
                                                       if k != "spread"}


def test_save_with_overwrite_false_keeps_the_file(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.npz"
    path.write_bytes(b"an earlier model")
    with pytest.raises(FileExistsError, match=r"exists already: save\(..., overwrite=True\) replaces it"):
        model.save(path, overwrite=False)
    assert path.read_bytes() == b"an earlier model"
    model.save(path)  # Keras' default: replace
    assert mr.load_model(path).count_params() == model.count_params()


def test_a_layer_built_with_an_initializer_object_saves_and_loads(rng, tmp_path):
    model = mr.Sequential([layers.SimpleRNN(4, activation="relu", recurrent_initializer=mr.initializers.Identity(0.5),
                                            kernel_initializer=lambda shape, rng, dtype: np.full(shape, 0.1, dtype),
                                            input_shape=(3, 2)),
                           layers.Dense(1, kernel_initializer=mr.initializers.RandomNormal(stddev=0.3))], seed=0)
    model.save(tmp_path / "m.npz")
    loaded = mr.load_model(tmp_path / "m.npz")
    assert loaded.layers[0].recurrent_initializer == mr.initializers.Identity(0.5)
    assert loaded.layers[1].kernel_initializer == mr.initializers.RandomNormal(stddev=0.3)
    x = rng.normal(size=(2, 3, 2))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
