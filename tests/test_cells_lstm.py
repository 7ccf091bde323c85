"""minirnn/cells/lstm.py and minirnn/textbook/lstm.py: Keras golden values and cell-level behaviour, on
both twins (their equality on every option: tests/test_textbook.py)."""
import numpy as np
import pytest

from conftest import keras_constant_weights

X_KERAS = np.arange(72, dtype=np.float64).reshape(3, 6, 4)
PEEPHOLES = ("input_gate_peephole_weights", "forget_gate_peephole_weights", "output_gate_peephole_weights")


def keras_lstm_weights(units, unit_forget_bias=True):
    weights = keras_constant_weights(4, units, gates=4)
    if unit_forget_bias:  # Keras builds [init(U), ones(U), init(2U)]: the forget bias is exactly 1
        weights["bias"][units:2 * units] = 1.0
    return weights


@pytest.mark.parametrize("unit_forget_bias, expected", [
    (True, [0.6288687, 0.86899155, 0.9460773]),
    (False, [0.57019705, 0.8661914, 0.9459622]),
])
def test_keras_golden_lstm(twin, unit_forget_bias, expected):
    h_seq, _ = twin.lstm.forward(X_KERAS, keras_lstm_weights(3, unit_forget_bias))
    np.testing.assert_allclose(h_seq[:, -1], np.repeat(np.array(expected)[:, None], 3, axis=1), atol=1e-7)


def test_keras_golden_lstm_without_bias(twin):
    weights = keras_constant_weights(4, 3, gates=4)
    weights["bias"] = np.zeros(12)
    h_seq, _ = twin.lstm.forward(X_KERAS, weights)
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.54986924, 0.86226785, 0.9443936], atol=1e-7)


def test_keras_golden_lstm_stateful_second_call(twin):
    """Keras' stateful test: the second call starts from the first call's (h_T, c_T)."""
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    weights = keras_lstm_weights(4)
    _, cache = twin.lstm.forward(x, weights)
    h_seq, _ = twin.lstm.forward(x, weights, states=twin.lstm.final_states(cache))
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.3124785, 0.6863672], atol=1e-7)


def test_zero_peepholes_equal_no_peepholes(twin, rng):
    x = rng.normal(size=(2, 6, 3))
    weights = {"kernel": rng.normal(size=(3, 8)), "recurrent_kernel": rng.normal(size=(2, 8)), "bias": rng.normal(size=8)}
    plain, cache_plain = twin.lstm.forward(x, weights)
    peep, cache_peep = twin.lstm.forward(x, {**weights, **dict.fromkeys(PEEPHOLES, np.zeros(2))})
    np.testing.assert_array_equal(plain, peep)
    dh = rng.normal(size=plain.shape)
    g_plain, g_peep = twin.lstm.backward(cache_plain, dh), twin.lstm.backward(cache_peep, dh)
    assert set(g_peep) == set(g_plain) | set(PEEPHOLES)
    for name in g_plain:
        np.testing.assert_allclose(g_plain[name], g_peep[name], rtol=1e-14, atol=1e-15)


def test_float32_stays_float32_and_agrees_with_float64(twin, rng):
    x = rng.normal(size=(4, 30, 3))
    weights = {"kernel": rng.normal(size=(3, 32)) * 0.5, "recurrent_kernel": rng.normal(size=(8, 32)) * 0.3,
               "bias": rng.normal(size=32) * 0.1, **dict(zip(PEEPHOLES, rng.normal(size=(3, 8)) * 0.3))}
    h64, _ = twin.lstm.forward(x, weights)
    h32, cache32 = twin.lstm.forward(x.astype(np.float32), {k: w.astype(np.float32) for k, w in weights.items()})
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    grads32 = twin.lstm.backward(cache32, dstates=[np.ones((4, 8), np.float32), None])
    assert all(g.dtype == np.float32 for g in grads32.values())
