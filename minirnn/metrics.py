"""Metrics: numbers reported while training and evaluating, never differentiated.

``model.compile(..., metrics=["mae", "rmse"])`` adds them to ``fit``'s progress
line and History (``history["mae"]``, ``history["val_mae"]``) and to what
``evaluate`` returns, under the name given, as Keras does.

Each is exact over a whole epoch or data set, not an average of per-batch
values: the running sums of the errors are kept and combined at the end
(RMSE is the square root of the mean over all elements, not a mean of roots).

    mse:  mean (y_pred - y)^2         mae: mean |y_pred - y|        rmse: sqrt(mse)

A callable ``f(y_pred, y_true) -> number`` is averaged over batches, weighted
by their number of samples, and named after the function.
"""
import numbers

import numpy as np


def _squared_error(y_pred, y_true):
    error = y_pred - y_true
    return float(np.sum(error * error))


def _absolute_error(y_pred, y_true):
    return float(np.sum(np.abs(y_pred - y_true)))


# name: (sum over the elements of a batch, what turns the mean of those sums into the metric)
METRICS = {
    "mse": (_squared_error, float), "mean_squared_error": (_squared_error, float),
    "mae": (_absolute_error, float), "mean_absolute_error": (_absolute_error, float),
    "rmse": (_squared_error, np.sqrt), "root_mean_squared_error": (_squared_error, np.sqrt),
}


class Metric:
    """A named metric: ``total(y_pred, y_true)`` is the batch's sum, ``per`` counts what it is summed over."""

    def __init__(self, name, total, finish, per):
        self.name, self.total, self.finish, self.per = name, total, finish, per


def get(metric):
    """A :class:`Metric` from a name in METRICS or a callable ``f(y_pred, y_true) -> number``."""
    if isinstance(metric, str) and metric in METRICS:
        total, finish = METRICS[metric]
        return Metric(metric, total, finish, per="element")
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)
        return Metric(name, lambda y_pred, y_true: len(y_true) * _number(metric, y_pred, y_true), float,
                      per="sample")
    raise ValueError(f"metrics must be names from {sorted(METRICS)} or callables f(y_pred, y_true) -> number, "
                     f"got {metric!r}")


def get_all(metrics):
    """Metrics for ``compile(metrics=...)``: None or a list/tuple of names and callables."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a list such as ['mae'], got {metrics!r}")
    found = [get(m) for m in metrics]
    names = [m.name for m in found]
    if len(set(names)) < len(names) or "loss" in names:
        raise ValueError(f"metric names must be distinct and not 'loss', got {names}")
    return found


def _number(metric, y_pred, y_true):
    value = metric(y_pred, y_true)
    if not isinstance(value, (numbers.Real, np.ndarray)) or np.ndim(value) != 0:
        raise TypeError(f"the metric {getattr(metric, '__name__', metric)!r} must return one number "
                        f"f(y_pred, y_true) -> float, got {type(value).__name__}")
    return float(value)


class Running:
    """The metrics over batches seen so far: ``add(y_pred, y_true)`` per batch, then ``results()``."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.sums = [0.0] * len(metrics)
        self.elements = self.samples = 0

    def add(self, y_pred, y_true):
        for k, metric in enumerate(self.metrics):
            self.sums[k] += metric.total(y_pred, y_true)
        self.elements += y_true.size
        self.samples += len(y_true)

    def results(self):
        return {m.name: float(m.finish(s / (self.elements if m.per == "element" else self.samples)))
                for m, s in zip(self.metrics, self.sums)}
