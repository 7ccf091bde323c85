"""minirnn/diagnostics.py: Jacobians against finite differences, and the physics they must show."""
import numpy as np
import pytest

import minirnn as mr
from minirnn import diagnostics, layers

from conftest import VARIANTS, make_layer, mixed_mask


def run_from_state(layer, x, state):
    """h_t (and c_t) after running ``x`` (T, features) from ``state`` (h, c as one vector)."""
    H = layer.units
    init = [state[:H][None]] if len(state) == H else [state[:H][None], state[H:][None]]
    layer.return_state = True
    out = layer.forward(x[None], initial_state=init)
    layer.return_state = False
    return np.concatenate([s[0] for s in out[1:]])


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_step_jacobians_match_finite_differences(variant, rng):
    layer = make_layer(variant, 3, 2, rng)
    x = rng.normal(size=(4, 2))
    J = diagnostics.step_jacobians(layer, x)
    S = J.shape[1]
    # steps count in the order the layer reads x (go_backwards: from the end); `given` turns a
    # stretch of that order back into the order the layer is given it in
    read = x[::-1] if layer.go_backwards else x
    given = (lambda part: part[::-1]) if layer.go_backwards else (lambda part: part)
    # the state before step t=2, then d state_2 / d state_1 by central differences
    state = run_from_state(layer, given(read[:2]), np.zeros(S))
    numeric = np.empty((S, S))
    for k in range(S):
        e = np.zeros(S)
        e[k] = 1e-6
        step = given(read[2:3])
        numeric[:, k] = (run_from_state(layer, step, state + e) - run_from_state(layer, step, state - e)) / 2e-6
    np.testing.assert_allclose(J[2], numeric, atol=1e-8)


def test_products_over_lags_match_finite_differences(rng):
    layer = make_layer("lstm-peephole", 3, 2, rng)
    x = rng.normal(size=(1, 6, 2))
    table = diagnostics.jacobian_products(layer, x, lags=[3])
    row = table[(table.state == "c") & (table.t == 5)].iloc[0]
    state = run_from_state(layer, x[0, :3], np.zeros(6))  # (h_2, c_2)
    numeric = np.empty((3, 3))
    for k in range(3):
        e = np.zeros(6)
        e[3 + k] = 1e-6
        plus, minus = run_from_state(layer, x[0, 3:], state + e), run_from_state(layer, x[0, 3:], state - e)
        numeric[:, k] = (plus[3:] - minus[3:]) / 2e-6
    np.testing.assert_allclose(row.singular_values, np.linalg.svd(numeric, compute_uv=False), atol=1e-8)


def test_linear_rnn_jacobian_is_a_power_of_a():
    layer = layers.SimpleRNN(4, activation="linear", seed=0)
    layer.build(1)
    layer.params["recurrent_kernel"][...] = 0.9 * np.eye(4)
    table = diagnostics.jacobian_products(layer, np.random.default_rng(0).normal(size=(2, 12, 1)), lags=range(1, 13))
    assert len(table) == 2 * sum(12 - k + 1 for k in range(1, 13))
    np.testing.assert_allclose(table.spectral_norm, 0.9 ** table.lag, rtol=0, atol=1e-10)


def test_exploding_jacobian_products_keep_finite_norms():
    # W_h = 1e25 I: the product over k steps is 1e25^k I, whose squares overflow from k = 7 on
    layer = layers.SimpleRNN(4, activation="linear", seed=0)
    layer.build(1)
    layer.params["recurrent_kernel"][...] = 1e25 * np.eye(4)
    table = diagnostics.jacobian_products(layer, np.random.default_rng(0).normal(size=(1, 10, 1)), lags=range(1, 11))
    np.testing.assert_allclose(table.spectral_norm, 1e25 ** table.lag, rtol=1e-12)
    np.testing.assert_allclose(table.frobenius_norm, 2 * 1e25 ** table.lag, rtol=1e-12)  # sqrt(4 (1e25^k)^2)


def test_saturated_lstm_carries_the_cell_state_unchanged(rng):
    layer = make_layer("lstm", 3, 2, rng)
    bias = layer.params["bias"]
    bias[:3], bias[3:6] = -60.0, 60.0  # input gate shut, forget gate open
    table = diagnostics.jacobian_products(layer, rng.normal(size=(1, 10, 2)), lags=[1, 4, 9])
    for s in table[table.state == "c"].singular_values:
        np.testing.assert_allclose(s, 1.0, atol=1e-12)


def test_tanh_rnn_gradients_vanish_geometrically(rng):
    layer = layers.SimpleRNN(8, seed=1)
    layer.build(2)
    layer.params["recurrent_kernel"] *= 0.5  # orthogonal * 0.5: every singular value 0.5
    sigma = diagnostics.recurrent_spectrum(layer)["h"]["singular_values"].max()
    table = diagnostics.jacobian_products(layer, rng.normal(size=(3, 15, 2)), lags=range(1, 16))
    assert (table.spectral_norm <= sigma ** table.lag * (1 + 1e-12)).all()
    mean = table.groupby("lag").spectral_norm.mean()
    assert mean[15] < mean[1] * 0.5 ** 10


def test_gradient_norms_model_and_layer(rng):
    model = mr.Sequential([layers.LSTM(5, return_sequences=True, input_shape=(12, 1)),
                           layers.Bidirectional(layers.GRU(3)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    x, y = rng.normal(size=(4, 12, 1)), rng.normal(size=4)
    states, params = diagnostics.gradient_norms(model, x, y)
    assert set(zip(states.layer, states.state)) == {("lstm", "h"), ("lstm", "c"),
                                                    ("bidirectional_gru/forward", "h"),
                                                    ("bidirectional_gru/backward", "h")}
    assert len(states) == 4 * 12 and (states.norm > 0).all() and np.isfinite(states.norm).all()
    assert set(params.layer) == {"lstm", "bidirectional_gru", "dense"} and (params.norm > 0).all()
    # a single layer, mse against y: dL/dh_T = 2 (h_T - y) / (B H), by hand
    layer = make_layer("rnn-tanh", 4, 1, rng)
    y = rng.normal(size=(4, 4))
    states, _ = diagnostics.gradient_norms(layer, x, y)
    expected = np.linalg.norm(2 * (layer.forward(x) - y) / y.size, axis=1).mean()
    assert states[states.t == 11].norm.iloc[0] == pytest.approx(expected, rel=1e-12)
    assert not layer.record_state_grads  # switched back off


def test_gradient_norms_where_their_squares_overflow(rng):
    # an exploding gradient: dL/dh_T ~ 1e170, whose squares (1e340) overflow; the norms do not
    layer = make_layer("rnn-tanh", 4, 1, rng)
    x, y = rng.normal(size=(4, 12, 1)), rng.normal(size=(4, 4)) * 1e170
    states, params = diagnostics.gradient_norms(layer, x, y)
    scaled = 2 * (layer.forward(x) - y) / y.size / 1e170
    expected = 1e170 * np.linalg.norm(scaled, axis=1).mean()
    assert states[states.t == 11].norm.iloc[0] == pytest.approx(expected, rel=1e-12)
    assert np.isfinite(states.norm).all() and np.isfinite(params.norm).all()
    kernel = layer.grads["kernel"]
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(kernel * kernel))
    assert params.set_index("param").norm["kernel"] == pytest.approx(1e170 * np.linalg.norm(kernel / 1e170), rel=1e-12)


def test_bad_input(rng):
    layer = make_layer("gru-reset_after", 3, 2, rng)
    with pytest.raises(ValueError, match="between 1 and the sequence length 5"):
        diagnostics.jacobian_products(layer, rng.normal(size=(1, 5, 2)), lags=[6])
    with pytest.raises(ValueError, match="not built"):
        diagnostics.jacobian_products(layers.LSTM(3), rng.normal(size=(1, 5, 2)), lags=[1])
    with pytest.raises(ValueError, match="no recurrent layer"):
        diagnostics.gradient_norms(mr.Sequential([layers.Dense(2, input_shape=(3,))]), np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="recurrent_spectrum takes a recurrent layer, got Dense"):
        diagnostics.recurrent_spectrum(layers.Dense(2))
    spectrum = diagnostics.recurrent_spectrum(layer)
    assert set(spectrum) == {"z", "r", "h"} and spectrum["z"]["spectral_radius"] > 0


def test_decay_rate_follows_the_spectral_radius():
    from minirnn.apps import probe
    table = probe.decay_vs_radius(radii=(0.5, 0.9, 1.3), length=20, units=8, echo=lambda *a: None)
    tanh = [table[r][0] for r in (0.5, 0.9, 1.3)]
    relu = [table[r][1] for r in (0.5, 0.9, 1.3)]
    assert tanh == sorted(tanh) and relu == sorted(relu)
    assert all(rate <= radius * 1.02 for rate, radius in zip(tanh, (0.5, 0.9, 1.3)))  # |tanh'| <= 1


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_step_jacobians_of_masked_steps_are_the_identity(variant, rng):
    """A masked step carries the state through: its Jacobian is I; the others are those of the
    sequence's unmasked steps run alone (each sequence of conftest.mixed_mask)."""
    layer = make_layer(variant, 3, 2, rng)
    mask = mixed_mask()
    x = rng.normal(size=(*mask.shape, 2))
    layer.forward(x, mask=mask)
    cache = layer.last_caches[0]
    for sample, steps in enumerate(mask):
        read = steps[::-1] if layer.go_backwards else steps
        J = layer.cell.step_jacobians(cache, sample)
        np.testing.assert_array_equal(J[~read], np.broadcast_to(np.eye(J.shape[1]), J[~read].shape))
        if steps.any():
            np.testing.assert_allclose(J[read], diagnostics.step_jacobians(layer, x[sample, steps]), atol=1e-14)
