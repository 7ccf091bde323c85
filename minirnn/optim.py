"""Optimizers with Keras' update rules and defaults: SGD, RMSprop, Adam, Adagrad.

Every optimizer takes ``clipnorm`` (each gradient rescaled to norm <= clipnorm),
``clipvalue`` (each entry clipped to [-clipvalue, clipvalue]) or
``global_clipnorm`` (all gradients rescaled together so that their joint norm
is <= global_clipnorm); at most one of them, as in Keras. The norms are
:func:`norm` and :func:`global_norm`, finite also for gradients past 1e154
(the gradient-norm tracker and diagnostics report them too).

``step(params_and_grads)`` takes ``{key: (param, grad)}`` and updates every
param in place; the per-parameter state (momentum, moving averages) is kept
under the same keys. ``iterations`` counts the steps taken.

Each rule is one jitted loop over the numbers of a parameter, its lines those of the
rule in the class docstring. A model's parameters are small arrays, updated after every
batch: as NumPy expressions each rule is a dozen calls, each with its own temporary, and
for a small network those calls are a noticeable part of the training step
(benchmarks/README.md). Clipping by norm is folded in as a factor on the gradient
(``scale``), so the clipped gradient is never made. A subclass implements
``update(param, grad, scale, state)``: the gradient times ``scale``, with ``state`` its dict
of slots (:meth:`Optimizer.slot`).
"""
import math
import numbers

import numpy as np

from ._jit import jit


def _check_positive(name, value, allow_zero=False):
    ok = isinstance(value, numbers.Real) and np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


class Optimizer:
    CONFIG = ("learning_rate", "clipnorm", "clipvalue", "global_clipnorm")

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None, global_clipnorm=None):
        self.learning_rate = _check_positive("learning_rate", learning_rate)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        given = {k: v for k, v in clips.items() if v is not None}
        if len(given) > 1:
            raise ValueError(f"set at most one of clipnorm, clipvalue, global_clipnorm; got {sorted(given)}")
        for name, value in given.items():
            _check_positive(name, value)
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.iterations = 0
        self.state = {}

    def get_config(self):
        """The constructor arguments: ``type(opt)(**opt.get_config())`` is a fresh copy."""
        return {key: getattr(self, key) for key in self.CONFIG}

    def clip(self, grads):
        """The gradients after clipping (new arrays; the originals are left alone)."""
        if self.clipvalue is not None:
            return {k: np.clip(g, -self.clipvalue, self.clipvalue) for k, g in grads.items()}
        scales = self.clip_scales(grads)
        return {k: g * scales[k] for k, g in grads.items()}

    def clip_scales(self, grads):
        """{key: the factor clipping by norm puts on that gradient}: 1 without clipnorm or
        global_clipnorm, or where the norm is within the limit."""
        if self.clipnorm is not None:
            return {k: self.clipnorm / max(norm(g), self.clipnorm) for k, g in grads.items()}
        if self.global_clipnorm is not None:
            total = global_norm(grads.values())
            return dict.fromkeys(grads, self.global_clipnorm / max(total, self.global_clipnorm))
        return dict.fromkeys(grads, 1.0)

    def step(self, params_and_grads):
        grads = {k: g for k, (_, g) in params_and_grads.items()}
        if self.clipvalue is not None:
            grads = self.clip(grads)
        scales = self.clip_scales(grads)
        for key, (param, _) in params_and_grads.items():
            self.update(param, grads[key], scales[key], self.state.setdefault(key, {}))
        self.iterations += 1

    def slot(self, state, name, param, fill=0.0):
        """Per-parameter state array, created on first use like Keras' 'slots'."""
        if name not in state:
            state[name] = np.full_like(param, fill)
        return state[name]


def _flat(a):
    """A 1-D view of the numbers of a parameter, gradient or slot, for the update loops."""
    if a.dtype.kind != "f":  # the loops would round an update into integers without a word
        raise TypeError(f"the optimizer updates float arrays, got one of dtype {a.dtype} (shape {a.shape})")
    if not a.flags.c_contiguous:
        raise ValueError(f"the optimizer updates parameters in place and needs C-contiguous arrays, got a "
                         f"non-contiguous one of shape {a.shape}")
    return a.reshape(-1)


def norm(g, axis=None):
    """The 2-norm of a gradient, also where its squares overflow (then scaled by its largest entry):
    exploding gradients pass 1e154, where ``np.linalg.norm``'s sum of squares turns inf. With
    ``axis``, the norms along it (an array), each rescaled alike where it overflows."""
    if axis is not None:
        with np.errstate(over="ignore"):
            norms = np.sqrt(np.sum(g * g, axis=axis))
        overflowed = ~np.isfinite(norms)
        if overflowed.any():
            biggest = np.max(np.abs(g), axis=axis, keepdims=True)
            rescaled = np.sqrt(np.sum((g / biggest) ** 2, axis=axis)) * np.squeeze(biggest, axis)
            norms = np.where(overflowed, rescaled, norms)
        return norms
    total = _sum_of_squares(g.reshape(-1))
    if math.isfinite(total):
        return math.sqrt(total)
    biggest = float(np.max(np.abs(g)))
    return biggest * math.sqrt(_sum_of_squares((g / biggest).reshape(-1))) if math.isfinite(biggest) else biggest


def global_norm(grads):
    """The 2-norm of several gradients taken together (Keras' global norm), without overflow."""
    return math.hypot(*(norm(g) for g in grads))


@jit
def _sum_of_squares(g):
    total = 0.0
    for k in range(g.shape[0]):
        total += float(g[k]) * float(g[k])
    return total


class SGD(Optimizer):
    """Stochastic gradient descent (Keras defaults: learning_rate=0.01, no momentum).

        lr_t = learning_rate / (1 + decay * iterations)       (Keras 2 'decay')
        no momentum:  w -= lr_t g
        momentum:     m = momentum m - lr_t g;   w += m                       (nesterov=False)
                                                 w += momentum m - lr_t g     (nesterov=True)
    """

    CONFIG = Optimizer.CONFIG + ("momentum", "nesterov", "decay")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, decay=0.0, **clip):
        super().__init__(learning_rate, **clip)
        self.momentum = _check_positive("momentum", momentum, allow_zero=True)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.nesterov = bool(nesterov)
        self.decay = _check_positive("decay", decay, allow_zero=True)

    def update(self, param, grad, scale, state):
        lr = self.learning_rate / (1.0 + self.decay * self.iterations)
        if self.momentum == 0:
            _sgd(_flat(param), _flat(grad), scale, lr)
        else:
            m = self.slot(state, "momentum", param)
            _sgd_momentum(_flat(param), _flat(grad), scale, lr, self.momentum, self.nesterov, _flat(m))


@jit
def _sgd(w, grad, scale, lr):
    for k in range(w.shape[0]):
        w[k] -= lr * (scale * grad[k])


@jit
def _sgd_momentum(w, grad, scale, lr, momentum, nesterov, m):
    for k in range(w.shape[0]):
        g = scale * grad[k]
        m[k] = momentum * m[k] - lr * g
        if nesterov:
            w[k] += momentum * m[k] - lr * g
        else:
            w[k] += m[k]


class RMSprop(Optimizer):
    """Tieleman & Hinton (2012), Keras defaults: learning_rate=0.001, rho=0.9, epsilon=1e-7.

        v = rho v + (1 - rho) g^2
        w -= learning_rate g / sqrt(v + epsilon)
    (Keras puts epsilon inside the square root.)
    """

    CONFIG = Optimizer.CONFIG + ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **clip):
        super().__init__(learning_rate, **clip)
        self.rho = _check_positive("rho", rho)
        self.epsilon = _check_positive("epsilon", epsilon)

    def update(self, param, grad, scale, state):
        v = self.slot(state, "velocity", param)
        _rmsprop(_flat(param), _flat(grad), scale, self.learning_rate, self.rho, self.epsilon, _flat(v))


@jit
def _rmsprop(w, grad, scale, learning_rate, rho, epsilon, v):
    for k in range(w.shape[0]):
        g = scale * grad[k]
        v[k] = rho * v[k] + (1 - rho) * g * g
        w[k] -= learning_rate * g / np.sqrt(v[k] + epsilon)


class Adam(Optimizer):
    """Kingma & Ba (2015), Keras defaults: learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7.

        m = beta_1 m + (1 - beta_1) g;   v = beta_2 v + (1 - beta_2) g^2
        alpha = learning_rate sqrt(1 - beta_2^t) / (1 - beta_1^t)      (t = step number, from 1)
        w -= alpha m / (sqrt(v) + epsilon)
    """

    CONFIG = Optimizer.CONFIG + ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **clip):
        super().__init__(learning_rate, **clip)
        self.beta_1 = _check_positive("beta_1", beta_1)
        self.beta_2 = _check_positive("beta_2", beta_2)
        self.epsilon = _check_positive("epsilon", epsilon)

    def update(self, param, grad, scale, state):
        t = self.iterations + 1
        m, v = self.slot(state, "m", param), self.slot(state, "v", param)
        alpha = self.learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        _adam(_flat(param), _flat(grad), scale, alpha, self.beta_1, self.beta_2, self.epsilon, _flat(m), _flat(v))


@jit
def _adam(w, grad, scale, alpha, beta_1, beta_2, epsilon, m, v):
    for k in range(w.shape[0]):
        g = scale * grad[k]
        m[k] = beta_1 * m[k] + (1 - beta_1) * g
        v[k] = beta_2 * v[k] + (1 - beta_2) * g * g
        w[k] -= alpha * m[k] / (np.sqrt(v[k]) + epsilon)


class Adagrad(Optimizer):
    """Duchi et al. (2011), Keras defaults: learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7.

        a += g^2;   w -= learning_rate g / sqrt(a + epsilon)
    """

    CONFIG = Optimizer.CONFIG + ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **clip):
        super().__init__(learning_rate, **clip)
        self.initial_accumulator_value = _check_positive("initial_accumulator_value", initial_accumulator_value,
                                                         allow_zero=True)
        self.epsilon = _check_positive("epsilon", epsilon)

    def update(self, param, grad, scale, state):
        a = self.slot(state, "accumulator", param, self.initial_accumulator_value)
        _adagrad(_flat(param), _flat(grad), scale, self.learning_rate, self.epsilon, _flat(a))


@jit
def _adagrad(w, grad, scale, learning_rate, epsilon, a):
    for k in range(w.shape[0]):
        g = scale * grad[k]
        a[k] += g * g
        w[k] -= learning_rate * g / np.sqrt(a[k] + epsilon)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}
__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "Adagrad", "OPTIMIZERS", "get"]


def get(optimizer):
    """An optimizer object as it is, or a new one with Keras' defaults from its name or its class
    (given uncalled, as Keras takes it)."""
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer) and optimizer is not Optimizer:
        return optimizer()
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"optimizer must be an Optimizer or one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
