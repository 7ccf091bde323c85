"""minirnn/losses.py: values by hand, gradients by finite differences."""
import numpy as np
import pytest

from minirnn import losses
from minirnn.gradcheck import check_function


@pytest.mark.parametrize("name", ["mse", "mae", "huber"])
def test_loss_gradients_match_finite_differences(name, rng):
    loss = losses.get(name)
    y_true = rng.normal(size=(5, 3))
    y_pred = y_true + rng.normal(scale=2.0, size=(5, 3))  # huber: errors on both sides of delta = 1

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


def test_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get("crossentropy")
