"""Optimizers with Keras' update rules and defaults: SGD, RMSprop, Adam, Adagrad.

Every optimizer takes ``clipnorm`` (each gradient rescaled to norm <= clipnorm),
``clipvalue`` (each entry clipped to [-clipvalue, clipvalue]) or
``global_clipnorm`` (all gradients rescaled together so that their joint norm
is <= global_clipnorm); at most one of them, as in Keras.

``step(params_and_grads)`` takes ``{key: (param, grad)}`` and updates every
param in place; the per-parameter state (momentum, moving averages) is kept
under the same keys. ``iterations`` counts the steps taken.
"""
import numbers

import numpy as np


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
        if self.clipnorm is not None:
            return {k: g * (self.clipnorm / max(np.linalg.norm(g), self.clipnorm)) for k, g in grads.items()}
        if self.global_clipnorm is not None:
            norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            return {k: g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for k, g in grads.items()}
        return grads

    def step(self, params_and_grads):
        grads = self.clip({k: g for k, (_, g) in params_and_grads.items()})
        for key, (param, _) in params_and_grads.items():
            self.update(param, grads[key], self.state.setdefault(key, {}))
        self.iterations += 1

    def slot(self, state, name, param, fill=0.0):
        """Per-parameter state array, created on first use like Keras' 'slots'."""
        if name not in state:
            state[name] = np.full_like(param, fill)
        return state[name]


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

    def update(self, param, grad, state):
        lr = self.learning_rate / (1.0 + self.decay * self.iterations)
        if self.momentum == 0:
            param -= lr * grad
            return
        m = self.slot(state, "momentum", param)
        m *= self.momentum
        m -= lr * grad
        if self.nesterov:
            param += self.momentum * m - lr * grad
        else:
            param += m


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

    def update(self, param, grad, state):
        v = self.slot(state, "velocity", param)
        v *= self.rho
        v += (1 - self.rho) * grad * grad
        param -= self.learning_rate * grad / np.sqrt(v + self.epsilon)


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

    def update(self, param, grad, state):
        t = self.iterations + 1
        m, v = self.slot(state, "m", param), self.slot(state, "v", param)
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        param -= alpha * m / (np.sqrt(v) + self.epsilon)


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

    def update(self, param, grad, state):
        a = self.slot(state, "accumulator", param, self.initial_accumulator_value)
        a += grad * grad
        param -= self.learning_rate * grad / np.sqrt(a + self.epsilon)


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad}
__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "Adagrad", "OPTIMIZERS", "get"]


def get(optimizer):
    """An optimizer object as it is, or a new one with Keras' defaults from its name."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"optimizer must be an Optimizer or one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
