"""minirnn/cells/gru.py: Keras golden values, both reset placements, cell-level behaviour."""
import numpy as np
import pytest

from minirnn.cells import gru

from conftest import keras_constant_weights

X_KERAS = np.arange(72, dtype=np.float64).reshape(3, 6, 4)


@pytest.mark.parametrize("reset_after, expected", [
    (True, [0.5217289, 0.6371659, 0.39384964]),
    (False, [0.51447755, 0.6426879, 0.40208298]),
])
def test_keras_golden_gru(reset_after, expected):
    weights = keras_constant_weights(4, 3, gates=3, bias_shape=(2, 9) if reset_after else (9,))
    h_seq, _ = gru.forward(X_KERAS, *weights, reset_after=reset_after)
    np.testing.assert_allclose(h_seq[:, -1, 0], expected, atol=1e-7)


def test_keras_golden_gru_without_bias():
    kernel, recurrent_kernel, _ = keras_constant_weights(4, 3, gates=3)
    h_seq, _ = gru.forward(X_KERAS, kernel, recurrent_kernel, np.zeros((2, 9)))
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.49988455, 0.64701194, 0.4103359], atol=1e-7)


def test_keras_golden_gru_stateful_second_call():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    weights = keras_constant_weights(4, 4, gates=3, bias_shape=(2, 12))
    _, cache = gru.forward(x, *weights)
    h_seq, _ = gru.forward(x, *weights, h0=cache.h[-1])
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.29542392, 0.5885018], atol=1e-7)


@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_by_hand(reset_after, rng):
    """Random weights, so z and r are distinguishable (constant weights cannot tell them apart)."""
    B, I, H = 3, 2, 4
    x = rng.normal(size=(B, 1, I))
    kernel, recurrent_kernel = rng.normal(size=(I, 3 * H)), rng.normal(size=(H, 3 * H))
    bias = rng.normal(size=(2, 3 * H) if reset_after else (3 * H,))
    h0 = rng.normal(size=(B, H))
    h_seq, _ = gru.forward(x, kernel, recurrent_kernel, bias, h0=h0, reset_after=reset_after)

    def sigma(v):
        return 1 / (1 + np.exp(-v))

    b_x = bias[0] if reset_after else bias
    x_z, x_r, x_h = np.split(x[:, 0] @ kernel + b_x, 3, axis=1)
    W_z, W_r, W_h = np.split(recurrent_kernel, 3, axis=1)
    if reset_after:
        b_z, b_r, b_h = np.split(bias[1], 3)
        z, r = sigma(x_z + h0 @ W_z + b_z), sigma(x_r + h0 @ W_r + b_r)
        hh = np.tanh(x_h + r * (h0 @ W_h + b_h))
    else:
        z, r = sigma(x_z + h0 @ W_z), sigma(x_r + h0 @ W_r)
        hh = np.tanh(x_h + (r * h0) @ W_h)
    np.testing.assert_allclose(h_seq[:, 0], z * h0 + (1 - z) * hh, rtol=1e-13)


@pytest.mark.parametrize("reset_after", [True, False])
def test_float32_stays_float32_and_agrees_with_float64(reset_after, rng):
    x = rng.normal(size=(4, 30, 3))
    bias = rng.normal(size=(2, 24) if reset_after else (24,)) * 0.1
    weights = rng.normal(size=(3, 24)) * 0.5, rng.normal(size=(8, 24)) * 0.3, bias
    h64, _ = gru.forward(x, *weights, reset_after=reset_after)
    h32, cache32 = gru.forward(x.astype(np.float32), *(w.astype(np.float32) for w in weights),
                               reset_after=reset_after)
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    grads32 = gru.backward(cache32, dh_seq=np.ones_like(h32))
    assert all(g.dtype == np.float32 for g in grads32.values())
