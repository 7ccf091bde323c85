"""minirnn/cells/lstm.py: Keras golden values, peephole placement, cell-level behaviour."""
import numpy as np
import pytest

from minirnn.cells import lstm

from conftest import keras_constant_weights

X_KERAS = np.arange(72, dtype=np.float64).reshape(3, 6, 4)


def keras_lstm_weights(units, unit_forget_bias=True):
    kernel, recurrent_kernel, bias = keras_constant_weights(4, units, gates=4)
    if unit_forget_bias:  # Keras builds [init(U), ones(U), init(2U)]: the forget bias is exactly 1
        bias[units:2 * units] = 1.0
    return kernel, recurrent_kernel, bias


@pytest.mark.parametrize("unit_forget_bias, expected", [
    (True, [0.6288687, 0.86899155, 0.9460773]),
    (False, [0.57019705, 0.8661914, 0.9459622]),
])
def test_keras_golden_lstm(unit_forget_bias, expected):
    h_seq, _ = lstm.forward(X_KERAS, *keras_lstm_weights(3, unit_forget_bias))
    np.testing.assert_allclose(h_seq[:, -1], np.repeat(np.array(expected)[:, None], 3, axis=1), atol=1e-7)


def test_keras_golden_lstm_without_bias():
    kernel, recurrent_kernel, _ = keras_constant_weights(4, 3, gates=4)
    h_seq, _ = lstm.forward(X_KERAS, kernel, recurrent_kernel, np.zeros(12))
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.54986924, 0.86226785, 0.9443936], atol=1e-7)


def test_keras_golden_lstm_stateful_second_call():
    """Keras' stateful test: the second call starts from the first call's (h_T, c_T)."""
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    weights = keras_lstm_weights(4)
    _, cache = lstm.forward(x, *weights)
    h_seq, _ = lstm.forward(x, *weights, h0=cache.h[-1], c0=cache.c[-1])
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.3124785, 0.6863672], atol=1e-7)


def test_peepholes_look_at_previous_cell_for_i_f_and_new_cell_for_o(rng):
    """One step written out by hand with the TensorFlow use_peepholes placement."""
    B, I, H = 2, 3, 4
    x = rng.normal(size=(B, 1, I))
    kernel, recurrent_kernel, bias = rng.normal(size=(I, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H)
    h0, c0, peep = rng.normal(size=(B, H)), rng.normal(size=(B, H)), rng.normal(size=(3, H))
    h_seq, cache = lstm.forward(x, kernel, recurrent_kernel, bias, h0=h0, c0=c0, peepholes=peep)

    def sigma(v):
        return 1 / (1 + np.exp(-v))

    z = x[:, 0] @ kernel + h0 @ recurrent_kernel + bias
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=1)
    c1 = sigma(z_f + peep[1] * c0) * c0 + sigma(z_i + peep[0] * c0) * np.tanh(z_g)
    h1 = sigma(z_o + peep[2] * c1) * np.tanh(c1)
    np.testing.assert_allclose(cache.c[1], c1, rtol=1e-13)
    np.testing.assert_allclose(h_seq[:, 0], h1, rtol=1e-13)


def test_zero_peepholes_equal_no_peepholes(rng):
    x = rng.normal(size=(2, 6, 3))
    weights = rng.normal(size=(3, 8)), rng.normal(size=(2, 8)), rng.normal(size=8)
    plain, cache_plain = lstm.forward(x, *weights)
    peep, cache_peep = lstm.forward(x, *weights, peepholes=np.zeros((3, 2)))
    np.testing.assert_array_equal(plain, peep)
    dh = rng.normal(size=plain.shape)
    g_plain, g_peep = lstm.backward(cache_plain, dh), lstm.backward(cache_peep, dh)
    for name in g_plain:
        np.testing.assert_allclose(g_plain[name], g_peep[name], rtol=1e-14, atol=1e-15)


def test_float32_stays_float32_and_agrees_with_float64(rng):
    x = rng.normal(size=(4, 30, 3))
    weights = rng.normal(size=(3, 32)) * 0.5, rng.normal(size=(8, 32)) * 0.3, rng.normal(size=32) * 0.1
    peep = rng.normal(size=(3, 8)) * 0.3
    h64, _ = lstm.forward(x, *weights, peepholes=peep)
    h32, cache32 = lstm.forward(x.astype(np.float32), *(w.astype(np.float32) for w in weights),
                                peepholes=peep.astype(np.float32))
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    grads32 = lstm.backward(cache32, dh_last=np.ones((4, 8), np.float32))
    assert all(g.dtype == np.float32 for g in grads32.values())
