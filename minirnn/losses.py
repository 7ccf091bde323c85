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
last axis).
"""
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


def categorical_crossentropy(y_pred, y_true, from_logits=False):
    """Cross-entropy against one-hot (or soft) targets ``y_true`` of y_pred's shape; see the module docstring."""
    C = y_pred.shape[-1]
    scores, targets = y_pred.reshape(-1, C), y_true.reshape(-1, C).astype(y_pred.dtype, copy=False)
    n = len(scores)
    if from_logits:
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        grad = (np.exp(log_q) * targets.sum(axis=1, keepdims=True) - targets) / n
        return float(-(targets * log_q).sum() / n), grad.reshape(y_pred.shape)
    total = scores.sum(axis=1, keepdims=True)
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
    labels = np.asarray(y_true).reshape(-1).astype(np.int64)
    onehot = np.zeros((len(labels), C), dtype=y_pred.dtype)
    onehot[np.arange(len(labels)), labels] = 1
    return categorical_crossentropy(y_pred, onehot.reshape(y_pred.shape), from_logits)


sparse_categorical_crossentropy.sparse_labels = True


def binary_crossentropy(y_pred, y_true, from_logits=False):
    """Mean binary cross-entropy of probabilities (or, ``from_logits``, scores) against targets in [0, 1]."""
    y = y_true.astype(y_pred.dtype, copy=False)
    n = y_pred.size
    if from_logits:
        # max(z, 0) - z y + log(1 + e^-|z|): the same number, without exp overflowing
        value = np.maximum(y_pred, 0) - y_pred * y + np.log1p(np.exp(-np.abs(y_pred)))
        return float(value.mean()), (1 / (1 + np.exp(-y_pred)) - y) / n
    p = np.clip(y_pred, EPSILON, 1 - EPSILON)
    value = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    grad = np.where(p == y_pred, (p - y) / (p * (1 - p)), 0.0) / n
    return float(value.mean()), grad.astype(y_pred.dtype, copy=False)


class _WithLogits:
    """Keras' class form of a loss, for its ``from_logits`` switch: ``compile(loss=...)`` takes it."""

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def __call__(self, y_pred, y_true):
        return self.function(y_pred, y_true, self.from_logits)


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


def get(loss):
    """A loss by name, or a callable ``f(y_pred, y_true) -> (value, grad)`` as it is."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable f(y_pred, y_true) -> "
                         f"(value, grad), got {loss!r}")
    return LOSSES[loss]
