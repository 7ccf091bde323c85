"""minirnn/cells/indrnn.py and the IndRNN layer: the diagonal Jacobian whose norm is
a product of |u * act'| exactly, the bound on |u|, counts, saving, bad input. (Finite-difference
checks of every gradient run for IndRNN in tests/test_gradcheck.py, as for every cell.)"""
import numpy as np
import pytest

import minirnn as mr
from minirnn import diagnostics, layers
from minirnn.cells import indrnn

from conftest import weights


def test_the_jacobian_is_diagonal_and_its_norm_is_a_product_of_u_times_slopes(rng):
    """dh_t/dh_k = diag(prod_{s=k+1..t} u * act'(z_s)): the spectral norm is the largest |product|,
    the singular values are the |products| themselves, to rounding."""
    layer = layers.IndRNN(6, seed=1)
    layer.build(2)
    layer.params["recurrent_kernel"][:] = [0.5, 0.9, 1.0, 1.1, -0.8, 1.3]
    layer.params["bias"][:] = 0.3  # most units stay active (relu' = 1), a few switch off
    x = rng.normal(size=(1, 12, 2))
    table = diagnostics.jacobian_products(layer, x, lags=[1, 4, 9])
    layer.forward(x)
    h = layer.last_caches[0].h[1:, 0]  # h_t of the one sequence, (T, H)
    slope = (h > 0).astype(float)
    u = layer.params["recurrent_kernel"]
    for row in table.itertuples():
        factors = np.prod(u * slope[row.t - row.lag + 1:row.t + 1], axis=0)
        np.testing.assert_allclose(row.spectral_norm, np.abs(factors).max(), rtol=1e-12)
        np.testing.assert_allclose(row.singular_values, np.sort(np.abs(factors))[::-1], rtol=1e-12, atol=1e-300)
    J = diagnostics.step_jacobians(layer, x[0])
    assert np.count_nonzero(J - np.einsum("tii->ti", J)[:, :, None] * np.eye(6)) == 0  # nothing off the diagonal
    spectrum = diagnostics.recurrent_spectrum(layer)["h"]
    assert spectrum["spectral_radius"] == pytest.approx(1.3)


def test_recurrent_clip_bounds_u_at_build_and_after_every_update(rng):
    x, y = rng.normal(size=(16, 10, 1)), rng.normal(size=(16, 1)) * 5
    largest = {}
    for clip in (None, 0.5):
        layer = layers.IndRNN(8, recurrent_clip=clip, recurrent_initializer=mr.initializers.RandomUniform(-0.4, 0.4),
                              seed=0)
        model = mr.Sequential([layer, layers.Dense(1)], seed=0)
        model.compile(mr.optim.SGD(0.5), "mse")  # steps large enough to carry u past the bound
        model.fit(x, y, epochs=3, batch_size=4, verbose=0, on_divergence="ignore")
        largest[clip] = np.abs(layer.params["recurrent_kernel"]).max()
    assert largest[None] > 0.5 and largest[0.5] == pytest.approx(0.5)
    layer = layers.IndRNN(8, recurrent_clip=0.5, recurrent_initializer=mr.initializers.RandomUniform(-2, 2))
    layer.build(1)
    assert np.abs(layer.params["recurrent_kernel"]).max() == 0.5  # U(-2, 2) draws clipped at build
    both = layers.Bidirectional(layers.IndRNN(3, recurrent_clip=0.2))
    both.build(1)
    both.params["backward_recurrent_kernel"][:] = 5.0
    both.apply_constraints()
    assert np.abs(both.backward_layer.params["recurrent_kernel"]).max() == pytest.approx(0.2)


def test_counts_defaults_saving(tmp_path, rng):
    layer = layers.IndRNN(7)
    layer.build(5)
    assert layer.count_params() == 5 * 7 + 7 + 7  # kernel, u, bias
    u = layer.params["recurrent_kernel"]
    assert u.shape == (7,) and 0 <= u.min() and u.max() <= 1  # U(0, 1)
    model = mr.Sequential([layers.IndRNN(4, recurrent_clip=0.9, input_shape=(6, 2)), layers.Dense(1)], seed=3)
    model.compile("adam", "mse")
    x = rng.normal(size=(3, 6, 2))
    model.save(tmp_path / "ind.npz")
    loaded = mr.load_model(tmp_path / "ind.npz")
    assert loaded.layers[0].recurrent_clip == 0.9 and isinstance(loaded.layers[0], layers.IndRNN)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_input_is_named(rng):
    with pytest.raises(ValueError, match="activation"):
        layers.IndRNN(3, activation="sigmoid")
    with pytest.raises(ValueError, match="recurrent_clip"):
        layers.IndRNN(3, recurrent_clip=0)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        indrnn.forward(rng.normal(size=(2, 3, 1)), weights(rng.normal(size=(1, 4)), rng.normal(size=(4, 4)), np.zeros(4)))
    with pytest.raises(ValueError, match="bias"):
        indrnn.forward(rng.normal(size=(2, 3, 1)), weights(rng.normal(size=(1, 4)), rng.normal(size=4), np.zeros(5)))
