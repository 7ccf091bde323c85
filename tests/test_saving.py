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


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        mr.load_model("/nonexistent/model.npz")
