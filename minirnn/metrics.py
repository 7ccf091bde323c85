"""Metrics: numbers reported while training and evaluating, never differentiated.

``model.compile(..., metrics=["mae", "rmse"])`` adds them to ``fit``'s progress
line and History (``history["mae"]``, ``history["val_mae"]``) and to what
``evaluate`` returns, under the name given, as Keras does.

Each is exact over a whole epoch or data set, not an average of per-batch
values: the running sums of the errors are kept and combined at the end
(RMSE is the square root of the mean over all elements, not a mean of roots).

    mse:  mean (y_pred - y)^2         mae: mean |y_pred - y|        rmse: sqrt(mse)
    accuracy: the fraction of right answers (labels, one-hot targets, or binary at 0.5)

:func:`rmse` and :func:`mae` of two series, with Keras' argument order (y_true, y_pred), for
reports (the tutorials' tables; also as ``minirnn.data.rmse``).

A callable ``f(y_pred, y_true) -> number`` is averaged over batches, weighted
by their number of samples, and named after the function.

With a loss that takes logits (``BinaryCrossentropy(from_logits=True)``), "accuracy" compares
the scores with 0, where the sigmoid crosses 0.5 (Keras would compare them with 0.5). Over data
without a single real step (all padding) every metric is 0, as the loss is: the sums are empty.
"""
import numbers

import numpy as np


def rmse(y_true, y_pred):
    """Root mean squared error of two series of the same length (Keras' argument order), in their units."""
    y_true, y_pred = series(y_true, y_pred)
    total, count = _squared_error(y_pred, y_true)
    return float(np.sqrt(total / count))


def mae(y_true, y_pred):
    """Mean absolute error of two series of the same length (Keras' argument order)."""
    y_true, y_pred = series(y_true, y_pred)
    total, count = _absolute_error(y_pred, y_true)
    return total / count


def series(y_true, y_pred, names=("y_true", "y_pred")):
    """Two series as flat float arrays of the same length, finite, not empty; errors name them."""
    arrays = []
    for name, values in zip(names, (y_true, y_pred)):
        try:
            a = np.asarray(values, dtype=float).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numbers (an array or a list), got {type(values).__name__}") from None
        if a.size == 0:
            raise ValueError(f"{name} is empty")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or inf: the first at position {int(np.argmin(np.isfinite(a)))} "
                             f"is {a[~np.isfinite(a)][0]}")
        arrays.append(a)
    if arrays[0].shape != arrays[1].shape:
        raise ValueError(f"{names[0]} has {arrays[0].size} values but {names[1]} has {arrays[1].size}")
    return arrays[0], arrays[1]


def _squared_error(y_pred, y_true):
    error = y_pred - y_true
    return float(np.sum(error * error)), error.size


def _absolute_error(y_pred, y_true):
    return float(np.sum(np.abs(y_pred - y_true))), y_pred.size


def _correct(y_pred, y_true, threshold=0.5):
    """Right answers and how many were given: integer labels against the argmax of the last
    axis; one output column against ``threshold`` (binary: 0.5 for probabilities, 0 for logits);
    one-hot targets against their argmax."""
    if y_true.shape == y_pred.shape[:-1]:
        hits = y_pred.argmax(axis=-1) == y_true
    elif y_pred.shape[-1] == 1:
        hits = (y_pred > threshold) == (y_true > 0.5)
    else:
        hits = y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)
    return float(hits.sum()), hits.size


def _correct_from_logits(y_pred, y_true):
    """:func:`_correct` for scores before a sigmoid: p > 0.5 is z > 0."""
    return _correct(y_pred, y_true, threshold=0.0)


# name: (a batch's sum and its count, what turns their overall mean into the metric)
METRICS = {
    "mse": (_squared_error, float), "mean_squared_error": (_squared_error, float),
    "mae": (_absolute_error, float), "mean_absolute_error": (_absolute_error, float),
    "rmse": (_squared_error, np.sqrt), "root_mean_squared_error": (_squared_error, np.sqrt),
    "accuracy": (_correct, float), "acc": (_correct, float),
}


class Metric:
    """A named metric: ``total(y_pred, y_true) -> (sum, count)`` for a batch, ``finish(mean)`` at the end."""

    def __init__(self, name, total, finish, builtin=False):
        self.name, self.total, self.finish = name, total, finish
        self.builtin = builtin  # one of METRICS, by its name: what a model file can store


def get(metric, loss=None):
    """A :class:`Metric` from a name in METRICS or a callable ``f(y_pred, y_true) -> number``;
    ``loss``, the compiled loss, tells "accuracy" whether the outputs are logits."""
    if isinstance(metric, str) and metric in METRICS:
        total, finish = METRICS[metric]
        if total is _correct and getattr(loss, "from_logits", False):
            total = _correct_from_logits
        return Metric(metric, total, finish, builtin=True)
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)
        return Metric(name, lambda y_pred, y_true: (len(y_true) * _number(metric, y_pred, y_true), len(y_true)),
                      float)
    raise ValueError(f"metrics must be names from {sorted(METRICS)} or callables f(y_pred, y_true) -> number, "
                     f"got {metric!r}")


def get_all(metrics, loss=None):
    """Metrics for ``compile(metrics=...)``: None or a list/tuple of names and callables."""
    if metrics is None:
        return []
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a list such as ['mae'], got {metrics!r}")
    found = [get(m, loss) for m in metrics]
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
        self.counts = [0] * len(metrics)

    def add(self, y_pred, y_true):
        for k, metric in enumerate(self.metrics):
            total, count = metric.total(y_pred, y_true)
            self.sums[k] += total
            self.counts[k] += count

    def results(self):
        """Each metric over everything added; 0 where nothing was (all padding: empty sums)."""
        return {m.name: float(m.finish(s / c)) if c else 0.0
                for m, s, c in zip(self.metrics, self.sums, self.counts)}
