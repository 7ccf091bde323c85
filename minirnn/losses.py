"""Losses: each returns the mean loss and its gradient w.r.t. the prediction.

``loss(y_pred, y_true) -> (value, dvalue/dy_pred)``, averaged over every
element (Keras averages over the last axis, then over the batch: the same
number when every sample has the same shape).

    mse:   mean (y_pred - y)^2                        d = 2 (y_pred - y) / n
    mae:   mean |y_pred - y|                          d = sign(y_pred - y) / n
    huber: mean of e^2 / 2        where |e| <= delta  d = e / n
                   delta (|e| - delta / 2) elsewhere  d = delta sign(e) / n
"""
import numpy as np


def mean_squared_error(y_pred, y_true):
    error = y_pred - y_true
    return float(np.mean(error * error)), 2 * error / error.size


def mean_absolute_error(y_pred, y_true):
    error = y_pred - y_true
    return float(np.mean(np.abs(error))), np.sign(error) / error.size


def huber(y_pred, y_true, delta=1.0):
    """Huber (1964) loss with Keras' default delta = 1: quadratic near 0, linear beyond delta."""
    error = y_pred - y_true
    small = np.abs(error) <= delta
    value = np.where(small, 0.5 * error * error, delta * (np.abs(error) - 0.5 * delta))
    grad = np.where(small, error, delta * np.sign(error))
    return float(np.mean(value)), grad / error.size


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "huber": huber, "huber_loss": huber,
}


def get(loss):
    """A loss by name, or a callable ``f(y_pred, y_true) -> (value, grad)`` as it is."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable f(y_pred, y_true) -> "
                         f"(value, grad), got {loss!r}")
    return LOSSES[loss]
