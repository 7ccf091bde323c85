"""minirnn/cells/lnlstm.py and LSTM(layer_norm=True): the equations against a plain NumPy reading of
them, the weights and their names, saving, bad input. (Finite-difference checks of every gradient,
with peepholes and recurrent dropout, and of the step Jacobians run for the layer-normalised
variants in tests/test_gradcheck.py and tests/test_diagnostics.py, as for every cell.)"""
import numpy as np
import pytest

import minirnn as mr
from minirnn import layers
from minirnn.cells import lnlstm


def layer_norm(v, gamma, beta, eps=1e-3):
    return gamma * (v - v.mean(axis=1, keepdims=True)) / np.sqrt(v.var(axis=1, keepdims=True) + eps) + beta


def sigma(z):
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("with_peepholes", [False, True])
def test_two_steps_match_the_equations(with_peepholes, rng):
    B, I, H = 3, 2, 4
    x = rng.normal(size=(B, 2, I))
    kernel, recurrent_kernel, bias = rng.normal(size=(I, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    gammas = [rng.normal(1, 0.3, size=n) for n in (4 * H, 4 * H, H)]
    betas = [rng.normal(0, 0.3, size=n) for n in (4 * H, 4 * H, H)]
    p = rng.normal(size=(3, H)) if with_peepholes else np.zeros((3, H))
    h, c = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    h0, c0, expected = h, c, []
    for t in range(2):
        z = (layer_norm(x[:, t] @ kernel, gammas[0], betas[0]) + layer_norm(h @ recurrent_kernel, gammas[1], betas[1])
             + bias)
        z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
        i, f = sigma(z_i + p[0] * c), sigma(z_f + p[1] * c)
        c = f * c + i * np.tanh(z_g)
        h = sigma(z_o + p[2] * c) * np.tanh(layer_norm(c, gammas[2], betas[2]))
        expected.append(h)
    got, cache = lnlstm.forward(x, kernel, recurrent_kernel, bias, gammas, betas, h0, c0,
                                p if with_peepholes else None)
    np.testing.assert_allclose(got, np.stack(expected, axis=1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cache.c[-1], c, rtol=1e-12)


def test_weights_names_count_and_saving(tmp_path, rng):
    lstm = layers.LSTM(7, layer_norm=True, peephole=True)
    lstm.build(5)
    assert lstm.count_params() == 4 * 7 * (5 + 7 + 1) + 3 * 7 + 2 * (28 + 28 + 7)
    assert lstm.params["input_layer_norm_gamma"].shape == (28,) and lstm.params["cell_layer_norm_beta"].shape == (7,)
    assert (lstm.params["recurrent_layer_norm_gamma"] == 1).all() and not lstm.params["input_layer_norm_beta"].any()
    assert lstm.cell is lnlstm and layers.LSTM(3).cell is mr.cells.lstm
    model = mr.Sequential([layers.LSTM(4, layer_norm=True, input_shape=(6, 2)), layers.Dense(1)], seed=1)
    model.compile("adam", "mse")
    x = rng.normal(size=(3, 6, 2))
    model.fit(x, rng.normal(size=(3, 1)), epochs=2, verbose=0)
    model.save(tmp_path / "ln.npz")
    loaded = mr.load_model(tmp_path / "ln.npz")
    assert loaded.layers[0].layer_norm
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bad_input_is_named(rng):
    with pytest.raises(TypeError, match="layer_norm"):
        layers.GRU(3, layer_norm=True)
    x, weights = rng.normal(size=(2, 3, 1)), (rng.normal(size=(1, 8)), rng.normal(size=(2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match="gammas must hold three vectors"):
        lnlstm.forward(x, *weights, [np.ones(8)], [np.zeros(8)] * 3)
    with pytest.raises(ValueError, match="gammas \\(cell\\)"):
        lnlstm.forward(x, *weights, [np.ones(8), np.ones(8), np.ones(8)], [np.zeros(8), np.zeros(8), np.zeros(2)])
