"""minirnn/cells/rnn.py and minirnn/textbook/rnn.py: Keras golden values and cell-level behaviour, on
both twins (their equality on every option: tests/test_textbook.py)."""
import numpy as np

from conftest import keras_constant_weights


def test_keras_golden_simple_rnn(twin):
    """keras/src/layers/rnn/simple_rnn_test.py: units 4 on arange(24).reshape(2, 3, 4)."""
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    h_seq, _ = twin.rnn.forward(x, keras_constant_weights(4, 4))
    np.testing.assert_allclose(h_seq[:, -1], np.repeat([[0.405432], [0.73605347]], 4, axis=1), rtol=0, atol=1e-7)


def test_linear_rnn_gradient_is_a_matrix_power(twin, rng):
    """With act = identity, dL/dh_0 = dL/dh_T (W_h^T)^T: the textbook vanishing/exploding case."""
    T, H = 7, 3
    x = rng.normal(size=(1, T, 2))
    weights = {"kernel": rng.normal(size=(2, H)), "recurrent_kernel": rng.normal(size=(H, H)) * 0.7,
               "bias": rng.normal(size=H)}
    _, cache = twin.rnn.forward(x, weights, activation="linear")
    dh_last = rng.normal(size=(1, H))
    grads = twin.rnn.backward(cache, dstates=[dh_last])
    expected = dh_last @ np.linalg.matrix_power(weights["recurrent_kernel"].T, T)
    np.testing.assert_allclose(grads["h0"], expected, rtol=1e-12, atol=1e-14)


def test_many_to_one_equals_many_to_many_with_zeros_before_the_end(twin, rng):
    x = rng.normal(size=(2, 5, 3))
    weights = {"kernel": rng.normal(size=(3, 4)), "recurrent_kernel": rng.normal(size=(4, 4)) * 0.5,
               "bias": rng.normal(size=4)}
    h_seq, cache = twin.rnn.forward(x, weights)
    d_last = rng.normal(size=(2, 4))
    dh_seq = np.zeros_like(h_seq)
    dh_seq[:, -1] = d_last
    a, b = twin.rnn.backward(cache, dstates=[d_last]), twin.rnn.backward(cache, dh_seq=dh_seq)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-13, atol=1e-15)


def test_float32_stays_float32_and_agrees_with_float64(twin, rng):
    x = rng.normal(size=(3, 20, 2))
    weights = {"kernel": rng.normal(size=(2, 8)) * 0.5, "recurrent_kernel": rng.normal(size=(8, 8)) * 0.3,
               "bias": rng.normal(size=8) * 0.1}
    h64, _ = twin.rnn.forward(x, weights)
    h32, cache32 = twin.rnn.forward(x.astype(np.float32), {k: w.astype(np.float32) for k, w in weights.items()})
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    grads32 = twin.rnn.backward(cache32, dh_seq=np.ones_like(h32))
    assert all(g.dtype == np.float32 for g in grads32.values())
