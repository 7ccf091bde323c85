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


def test_stale_temporary_files_of_killed_saves_are_removed(trained, tmp_path):
    model, _, _ = trained
    stale, fresh = tmp_path / ".minirnn-killed.tmp", tmp_path / ".minirnn-writing.tmp"
    for path in (stale, fresh):
        path.write_bytes(bytes(1000))
    hour_ago = os.path.getmtime(stale) - 3600
    os.utime(stale, (hour_ago, hour_ago))
    model.save(tmp_path / "model.npz")
    assert sorted(os.listdir(tmp_path)) == [".minirnn-writing.tmp", "model.npz"]  # another save may be writing it


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
