"""minirnn/cells/gru.py and minirnn/textbook/gru.py: Keras golden values for both reset placements, on
both twins (their equality on every option: tests/test_textbook.py)."""
import numpy as np
import pytest

from conftest import keras_constant_weights

X_KERAS = np.arange(72, dtype=np.float64).reshape(3, 6, 4)


@pytest.mark.parametrize("reset_after, expected", [
    (True, [0.5217289, 0.6371659, 0.39384964]),
    (False, [0.51447755, 0.6426879, 0.40208298]),
])
def test_keras_golden_gru(twin, reset_after, expected):
    weights = keras_constant_weights(4, 3, gates=3, bias_shape=(2, 9) if reset_after else (9,))
    h_seq, _ = twin.gru.forward(X_KERAS, weights, reset_after=reset_after)
    np.testing.assert_allclose(h_seq[:, -1, 0], expected, atol=1e-7)


def test_keras_golden_gru_without_bias(twin):
    weights = keras_constant_weights(4, 3, gates=3)
    weights["bias"] = np.zeros((2, 9))
    h_seq, _ = twin.gru.forward(X_KERAS, weights)
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.49988455, 0.64701194, 0.4103359], atol=1e-7)


def test_keras_golden_gru_stateful_second_call(twin):
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    weights = keras_constant_weights(4, 4, gates=3, bias_shape=(2, 12))
    _, cache = twin.gru.forward(x, weights)
    h_seq, _ = twin.gru.forward(x, weights, states=twin.gru.final_states(cache))
    np.testing.assert_allclose(h_seq[:, -1, 0], [0.29542392, 0.5885018], atol=1e-7)


@pytest.mark.parametrize("reset_after", [True, False])
def test_float32_stays_float32_and_agrees_with_float64(twin, reset_after, rng):
    x = rng.normal(size=(4, 30, 3))
    weights = {"kernel": rng.normal(size=(3, 24)) * 0.5, "recurrent_kernel": rng.normal(size=(8, 24)) * 0.3,
               "bias": rng.normal(size=(2, 24) if reset_after else (24,)) * 0.1}
    h64, _ = twin.gru.forward(x, weights, reset_after=reset_after)
    h32, cache32 = twin.gru.forward(x.astype(np.float32), {k: w.astype(np.float32) for k, w in weights.items()},
                                    reset_after=reset_after)
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)
    grads32 = twin.gru.backward(cache32, dh_seq=np.ones_like(h32))
    assert all(g.dtype == np.float32 for g in grads32.values())
