"""minirnn/losses.py: values by hand, gradients by finite differences."""
import numpy as np
import pytest

from minirnn import losses
from minirnn.gradcheck import check_function


@pytest.mark.parametrize("name, delta", [("mse", None), ("mae", None), ("huber", None), ("huber", 0.3),
                                         ("huber", 2.5)])
def test_loss_gradients_match_finite_differences(name, delta, rng):
    loss = losses.get(name) if delta is None else (lambda p, t: losses.huber(p, t, delta=delta))
    y_true = rng.normal(size=(5, 3))
    y_pred = y_true + rng.normal(scale=2.0, size=(5, 3))  # huber: errors on both sides of delta
    if delta is not None:
        error = np.abs(y_pred - y_true)
        assert (error < delta).any() and (error > delta).any()

    def fn(arrays):
        value, grad = loss(arrays["y_pred"], y_true)
        return value, {"y_pred": grad}

    assert check_function(fn, {"y_pred": y_pred}, order=2)["y_pred"] < 1e-7


def test_loss_values_by_hand():
    y_pred, y_true = np.array([[0.5], [3.0]]), np.array([[0.0], [0.0]])
    assert losses.get("mean_squared_error")(y_pred, y_true)[0] == pytest.approx((0.25 + 9) / 2)
    assert losses.get("mae")(y_pred, y_true)[0] == pytest.approx((0.5 + 3) / 2)
    # huber, delta 1: 0.5 * 0.5^2 = 0.125 and 1 * (3 - 0.5) = 2.5
    assert losses.get("huber")(y_pred, y_true)[0] == pytest.approx((0.125 + 2.5) / 2)
    # delta 2: 0.125 and 2 * (3 - 1) = 4; gradients 0.5 / 2 and delta * sign / 2
    value, grad = losses.huber(y_pred, y_true, delta=2.0)
    assert value == pytest.approx((0.125 + 4) / 2) and grad.ravel() == pytest.approx([0.25, 1.0])


def test_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get("crossentropy")
