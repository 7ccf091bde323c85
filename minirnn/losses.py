"""Losses: each returns the mean loss and its gradient w.r.t. the prediction.

``loss(y_pred, y_true) -> (value, dvalue/dy_pred)``, averaged over every
element (Keras averages over the last axis, then over the batch: the same
number when every sample has the same shape).

    mse:   mean (y_pred - y)^2                        d = 2 (y_pred - y) / n
    mae:   mean |y_pred - y|                          d = sign(y_pred - y) / n
    huber: mean of e^2 / 2        where |e| <= delta  d = e / n
                   delta (|e| - delta / 2) elsewhere  d = delta sign(e) / n

Classification, over n label positions (samples, or samples x steps), with p the predicted
probabilities of the C classes on the last axis (or, ``from_logits``, z the scores before a
softmax or sigmoid). As Keras, probabilities are divided by their sum and clipped to
[eps, 1 - eps], eps = 1e-7 (a clipped entry passes no gradient)::

    sparse_categorical_crossentropy: labels k (ints)   L = -mean log q_k,  q = p / sum p
                                     d/dp_j = (1 - [j = k] / q_k) / (n sum p)
                       from_logits:  L = -mean log softmax(z)_k,   d/dz = (softmax(z) - onehot(k)) / n
    categorical_crossentropy:        one-hot (or soft) targets t: the same with sum_k t_k
    binary_crossentropy:             L = -mean (y log p + (1 - y) log(1 - p)), d/dp = (p - y) / (p (1 - p) n)
                       from_logits:  d/dz = (sigmoid(z) - y) / n

The first two compare the last axis with a label; ``sparse_labels`` marks the one that takes
integer labels, so that a model checks its targets as labels (shape: the output's without its
last axis). The cross-entropies check what they are given: probabilities (``from_logits=False``)
must lie in [0, 1] (categorical: be >= 0, with a positive sum), targets must be probabilities
too (binary: in [0, 1]; categorical: >= 0, each row summing to 1), else a ValueError says what
is wrong, before any training step uses them.

Each loss is also a class, as in Keras, carrying its settings (``Huber(delta=2.0)``,
``BinaryCrossentropy(from_logits=True)``): ``compile`` takes a name, a class (called with its
defaults) or an instance, and a model file stores it by :func:`serialize`.
"""
import numbers

import numpy as np

EPSILON = 1e-7  # Keras' backend epsilon: the clipping of probabilities


def mean_squared_error(y_pred, y_true):
    error = y_pred - y_true
    return float(np.vdot(error, error)) / error.size, error * (2 / error.size)  # vdot: one call, no temporary


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


def _check_probabilities(what, a, low, high, loss):
    """A ValueError when ``a`` has values outside [low, high] (``high`` None: no upper bound)."""
    if a.size and (a.min() < low or (high is not None and a.max() > high)):
        bounds = f"[{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        raise ValueError(f"{loss} takes {what} {bounds}, got values from {a.min():.4g} to {a.max():.4g}")


def _check_rows_sum_to_one(targets, loss):
    sums = targets.sum(axis=-1)
    if sums.size and np.abs(sums - 1).max() > 1e-3:
        worst = np.unravel_index(np.abs(sums - 1).argmax(), sums.shape)
        raise ValueError(f"{loss} takes targets that are probability rows (one-hot or soft, summing to 1 over the "
                         f"last axis); the row at {tuple(int(i) for i in worst)} sums to {sums[worst]:.4g}")


_PROBABILITIES = ("probabilities (from_logits=False): end the model with a softmax (or sigmoid), or give "
                  "from_logits=True for raw scores; y_pred in")


def categorical_crossentropy(y_pred, y_true, from_logits=False):
    """Cross-entropy against one-hot (or soft) targets ``y_true`` of y_pred's shape; see the module docstring."""
    C = y_pred.shape[-1]
    scores, targets = y_pred.reshape(-1, C), y_true.reshape(-1, C).astype(y_pred.dtype, copy=False)
    _check_probabilities("targets", targets, 0, 1, "categorical_crossentropy")
    _check_rows_sum_to_one(targets, "categorical_crossentropy")
    n = len(scores)
    if from_logits:
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        grad = (np.exp(log_q) * targets.sum(axis=1, keepdims=True) - targets) / n
        return float(-(targets * log_q).sum() / n), grad.reshape(y_pred.shape)
    _check_probabilities(_PROBABILITIES, scores, 0, None, "categorical_crossentropy")
    total = scores.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError("categorical_crossentropy takes probabilities (from_logits=False) with a positive sum "
                         f"over the classes; row {int(np.argmax(total <= 0))} sums to 0")
    q = scores / total
    clipped = np.clip(q, EPSILON, 1 - EPSILON)
    inside = (q == clipped)  # where the clip does not bite, the log's gradient flows
    # L = -sum_k t_k log q_k;  dL/dp_j = sum_k t_k (q_k - [j = k]) / (q_k s) = (sum_k t_k [in_k] - t_j / q_j [in_j]) / s
    weights = np.where(inside, targets / clipped, 0.0)
    grad = ((targets * inside).sum(axis=1, keepdims=True) - weights) / (total * n)
    return float(-(targets * np.log(clipped)).sum() / n), grad.reshape(y_pred.shape).astype(y_pred.dtype, copy=False)


def sparse_categorical_crossentropy(y_pred, y_true, from_logits=False):
    """Cross-entropy against integer labels ``y_true`` (y_pred's shape without its last axis)."""
    C = y_pred.shape[-1]
    labels = np.asarray(y_true).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= C or (labels != np.round(labels)).any()):
        bad = labels[(labels < 0) | (labels >= C) | (labels != np.round(labels))][0]
        raise ValueError(f"sparse_categorical_crossentropy takes integer labels 0 .. {C - 1} (the output has {C} "
                         f"classes), got {bad}")
    labels = labels.astype(np.int64)
    onehot = np.zeros((len(labels), C), dtype=y_pred.dtype)
    onehot[np.arange(len(labels)), labels] = 1
    return categorical_crossentropy(y_pred, onehot.reshape(y_pred.shape), from_logits)


sparse_categorical_crossentropy.sparse_labels = True


def binary_crossentropy(y_pred, y_true, from_logits=False):
    """Mean binary cross-entropy of probabilities (or, ``from_logits``, scores) against targets in [0, 1]."""
    y = y_true.astype(y_pred.dtype, copy=False)
    _check_probabilities("targets", y, 0, 1, "binary_crossentropy")
    n = y_pred.size
    if from_logits:
        # max(z, 0) - z y + log(1 + e^-|z|): the same number, without exp overflowing
        value = np.maximum(y_pred, 0) - y_pred * y + np.log1p(np.exp(-np.abs(y_pred)))
        return float(value.mean()), (1 / (1 + np.exp(-y_pred)) - y) / n
    _check_probabilities(_PROBABILITIES, y_pred, 0, 1, "binary_crossentropy")
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    value = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    grad = np.where(p == y_pred, (p - y) / (p * (1 - p)), 0.0) / n
    return float(value.mean()), grad.astype(y_pred.dtype, copy=False)


class Loss:
    """A loss with its settings, as Keras' classes: ``loss(y_pred, y_true) -> (value, grad)``.
    ``CONFIG`` names the settings, passed on to ``function``."""

    function = None
    CONFIG = ()

    def __call__(self, y_pred, y_true):
        return self.function(y_pred, y_true, **self.get_config())

    def get_config(self):
        return {key: getattr(self, key) for key in self.CONFIG}


class MeanSquaredError(Loss):
    function = staticmethod(mean_squared_error)


class MeanAbsoluteError(Loss):
    function = staticmethod(mean_absolute_error)


class Huber(Loss):
    function = staticmethod(huber)
    CONFIG = ("delta",)

    def __init__(self, delta=1.0):
        if isinstance(delta, bool) or not (isinstance(delta, numbers.Real) and np.isfinite(delta) and delta > 0):
            raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
        self.delta = float(delta)


class _WithLogits(Loss):
    CONFIG = ("from_logits",)

    def __init__(self, from_logits=False):
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"from_logits must be True or False, got {from_logits!r}")
        self.from_logits = bool(from_logits)


class SparseCategoricalCrossentropy(_WithLogits):
    function = staticmethod(sparse_categorical_crossentropy)
    sparse_labels = True


class CategoricalCrossentropy(_WithLogits):
    function = staticmethod(categorical_crossentropy)


class BinaryCrossentropy(_WithLogits):
    function = staticmethod(binary_crossentropy)


LOSSES = {
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
    "huber": huber, "huber_loss": huber,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy, "binary_crossentropy": binary_crossentropy,
}
CLASSES = {cls.__name__: cls for cls in (MeanSquaredError, MeanAbsoluteError, Huber, SparseCategoricalCrossentropy,
                                         CategoricalCrossentropy, BinaryCrossentropy)}


def get(loss):
    """A loss by name, by class (called with its defaults, as Keras does), by its :func:`serialize`
    form, or a callable ``f(y_pred, y_true) -> (value, grad)`` as it is."""
    if isinstance(loss, type):
        if loss not in CLASSES.values():
            raise TypeError(f"loss must be one of minirnn's loss classes ({', '.join(CLASSES)}), a name or a "
                            f"function, got the class {loss.__name__}")
        return loss()
    if isinstance(loss, dict):
        if loss.get("class") not in CLASSES or not isinstance(loss.get("config"), dict):
            raise ValueError(f"a stored loss must be {{'class': one of {sorted(CLASSES)}, 'config': {{...}}}}, "
                             f"got {loss!r}")
        return CLASSES[loss["class"]](**loss["config"])
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, one of the classes {sorted(CLASSES)}, or a "
                         f"callable f(y_pred, y_true) -> (value, grad), got {loss!r}")
    return LOSSES[loss]


def serialize(loss):
    """What a model file stores of a compiled loss: the name of one of :data:`LOSSES`, or
    ``{"class": ..., "config": ...}`` for an instance of one of :data:`CLASSES`; None for any other
    callable (a function of the user's cannot be stored)."""
    names = [name for name, function in LOSSES.items() if function is loss]
    if names:
        return names[0]
    if type(loss) in CLASSES.values():
        return {"class": type(loss).__name__, "config": loss.get_config()}
    return None
