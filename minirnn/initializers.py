"""Weight initialisers, drawn from a ``numpy.random.Generator``: Keras' defaults (glorot_uniform,
orthogonal, zeros) and those of the long-memory literature (Identity and Orthogonal with a gain,
Chrono, RandomNormal for IRNN's small input weights, RandomUniform). Each is a function ``f(shape, rng, dtype)``;
a layer takes one, or its name."""
import numpy as np


def _fans(shape):
    """Keras' fan-in/fan-out: a 2-D (in, out) matrix, or a 1-D vector counting as (n, n)."""
    if len(shape) == 1:
        return shape[0], shape[0]
    return shape[0], shape[1]


def glorot_uniform(shape, rng, dtype):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(shape, rng, dtype):
    """A matrix with orthonormal rows or columns (Saxe et al. 2014), as Keras builds it.

    QR of a Gaussian matrix, with the signs of R's diagonal folded into Q so the
    result is uniformly distributed over orthogonal matrices.
    """
    rows, cols = shape
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(q).astype(dtype)


def zeros(shape, rng, dtype):
    return np.zeros(shape, dtype=dtype)


def identity(shape, rng, dtype):
    """The identity matrix (``np.eye(rows, cols)`` when not square): IRNN's recurrent kernel."""
    return np.eye(*shape, dtype=dtype)


class Identity:
    """``gain`` times the identity (Le, Jaitly & Hinton 2015: a relu SimpleRNN with W_h = I, b = 0)."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, rng, dtype):
        return (self.gain * np.eye(*shape)).astype(dtype)


class Orthogonal:
    """``gain`` times :func:`orthogonal` (Saxe et al. 2014; Keras' Orthogonal(gain))."""

    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, rng, dtype):
        return (self.gain * orthogonal(shape, rng, np.float64)).astype(dtype)


class RandomNormal:
    """N(mean, stddev^2), as Keras' RandomNormal; IRNN (Le, Jaitly & Hinton 2015) draws its input
    weights with a small stddev (0.001), so that the identity recurrence starts from a small state."""

    def __init__(self, mean=0.0, stddev=0.05):
        if not (np.isfinite(mean) and np.isfinite(stddev) and stddev >= 0):
            raise ValueError(f"RandomNormal needs a finite mean and stddev >= 0, got {mean!r}, {stddev!r}")
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, rng, dtype):
        return rng.normal(self.mean, self.stddev, size=shape).astype(dtype)


class RandomUniform:
    """U(minval, maxval), as Keras' RandomUniform (IndRNN's recurrent weights: U(0, 1))."""

    def __init__(self, minval=-0.05, maxval=0.05):
        if not (np.isfinite(minval) and np.isfinite(maxval) and minval <= maxval):
            raise ValueError(f"RandomUniform needs finite minval <= maxval, got {minval!r}, {maxval!r}")
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, rng, dtype):
        return rng.uniform(self.minval, self.maxval, size=shape).astype(dtype)


class Chrono:
    """Chrono initialisation of the gate biases (Tallec & Ollivier 2018), for dependencies up to
    ``t_max`` steps back: the gate that keeps the old state gets bias log(U[1, t_max - 1]), so
    that its characteristic forgetting time is spread over 1 .. t_max; everything else 0.

    LSTM bias (4H,) = [i | f | c | o]: b_f = log U[1, t_max - 1], b_i = -b_f (Tallec & Ollivier).
    GRU bias (3H,) or (2, 3H) = [z | r | h] (input bias first): here h_t = z h_{t-1} + (1 - z) hh,
    so z keeps the state: b_z = log U[1, t_max - 1] in the input bias. Use it as a recurrent
    layer's ``bias_initializer``; an LSTM then ignores ``unit_forget_bias``.
    """

    sets_gate_biases = True  # an LSTM leaves its forget bias alone

    def __init__(self, t_max):
        if not (isinstance(t_max, (int, float, np.integer, np.floating)) and t_max > 2):
            raise ValueError(f"t_max must be a number > 2 (the longest dependency, in steps), got {t_max!r}")
        self.t_max = float(t_max)

    def gate_bias(self, gates, shape, rng, dtype):
        """The bias of a recurrent layer with ``gates`` blocks (4: LSTM, 3: GRU) of ``shape``."""
        bias = np.zeros(shape)
        input_bias = bias.reshape(-1, shape[-1])[0]  # a GRU's (2, 3H): its first row; else all of it
        H = shape[-1] // gates
        keep = np.log(rng.uniform(1, self.t_max - 1, size=H))
        if gates == 4:
            input_bias[H:2 * H], input_bias[:H] = keep, -keep
        elif gates == 3:
            input_bias[:H] = keep
        else:
            raise ValueError("Chrono initialises gates: use it with an LSTM or a GRU, not a SimpleRNN")
        return bias.astype(dtype)

    def __call__(self, shape, rng, dtype):
        raise TypeError("Chrono needs to know the gates: give it to an LSTM or GRU as bias_initializer")


INITIALIZERS = {"glorot_uniform": glorot_uniform, "orthogonal": orthogonal, "zeros": zeros, "identity": identity}


def get(name_or_function, argument):
    """Look up an initialiser by name; a callable ``f(shape, rng, dtype)`` passes through."""
    if callable(name_or_function):
        return name_or_function
    if name_or_function not in INITIALIZERS:
        raise ValueError(f"{argument} must be one of {sorted(INITIALIZERS)} or a callable "
                         f"f(shape, rng, dtype), got {name_or_function!r}")
    return INITIALIZERS[name_or_function]
