"""Weight initialisers, drawn from a ``numpy.random.Generator``: Keras' defaults (glorot_uniform,
orthogonal, zeros) and those of the long-memory literature (Identity and Orthogonal with a gain,
Chrono, RandomNormal for IRNN's small input weights, RandomUniform). Each is a function ``f(shape, rng, dtype)``;
a layer takes one, its name, or one of the classes here, called or (with its defaults) uncalled,
as Keras takes them. A shape an initialiser cannot make (``orthogonal`` for a vector) is a
ValueError naming the layer's argument (:func:`draw`)."""
import numbers

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


def _matrix(name, shape):
    if len(shape) != 2:
        raise ValueError(f"{name} makes matrices, not an array of shape {tuple(shape)}: give this weight another "
                         "initializer (e.g. 'glorot_uniform', 'zeros' or RandomUniform)")


def orthogonal(shape, rng, dtype):
    """A matrix with orthonormal rows or columns (Saxe et al. 2014), as Keras builds it.

    QR of a Gaussian matrix, with the signs of R's diagonal folded into Q so the
    result is uniformly distributed over orthogonal matrices.
    """
    _matrix("orthogonal", shape)
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
    _matrix("identity", shape)
    return np.eye(*shape, dtype=dtype)


def _number(cls, name, value, minimum=None, above=None):
    """``value`` as a float: a finite real number (>= minimum, > above), else a ValueError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (minimum is None or value >= minimum) and (above is None or value > above)
    if not ok:
        bound = f" >= {minimum:g}" if minimum is not None else f" > {above:g}" if above is not None else ""
        raise ValueError(f"{cls}: {name} must be a finite number{bound}, got {value!r}")
    return float(value)


class Initializer:
    """The classes' common part: ``CONFIG`` names the settings (:func:`serialize` stores them)."""

    CONFIG = ()

    def get_config(self):
        return {key: getattr(self, key) for key in self.CONFIG}

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Identity(Initializer):
    """``gain`` times the identity (Le, Jaitly & Hinton 2015: a relu SimpleRNN with W_h = I, b = 0)."""

    CONFIG = ("gain",)

    def __init__(self, gain=1.0):
        self.gain = _number("Identity", "gain", gain)

    def __call__(self, shape, rng, dtype):
        _matrix("Identity", shape)
        return (self.gain * np.eye(*shape)).astype(dtype)


class Orthogonal(Initializer):
    """``gain`` times :func:`orthogonal` (Saxe et al. 2014; Keras' Orthogonal(gain))."""

    CONFIG = ("gain",)

    def __init__(self, gain=1.0):
        self.gain = _number("Orthogonal", "gain", gain)

    def __call__(self, shape, rng, dtype):
        _matrix("Orthogonal", shape)
        return (self.gain * orthogonal(shape, rng, np.float64)).astype(dtype)


class RandomNormal(Initializer):
    """N(mean, stddev^2), as Keras' RandomNormal; IRNN (Le, Jaitly & Hinton 2015) draws its input
    weights with a small stddev (0.001), so that the identity recurrence starts from a small state."""

    CONFIG = ("mean", "stddev")

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = _number("RandomNormal", "mean", mean)
        self.stddev = _number("RandomNormal", "stddev", stddev, minimum=0)

    def __call__(self, shape, rng, dtype):
        return rng.normal(self.mean, self.stddev, size=shape).astype(dtype)


class RandomUniform(Initializer):
    """U(minval, maxval), as Keras' RandomUniform (IndRNN's recurrent weights: U(0, 1))."""

    CONFIG = ("minval", "maxval")

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = _number("RandomUniform", "minval", minval)
        self.maxval = _number("RandomUniform", "maxval", maxval, minimum=self.minval)

    def __call__(self, shape, rng, dtype):
        return rng.uniform(self.minval, self.maxval, size=shape).astype(dtype)


class Chrono(Initializer):
    """Chrono initialisation of the gate biases (Tallec & Ollivier 2018), for dependencies up to
    ``t_max`` steps back: the gate that keeps the old state gets bias log(U[1, t_max - 1]), so
    that its characteristic forgetting time is spread over 1 .. t_max; everything else 0.

    LSTM bias (4H,) = [i | f | c | o]: b_f = log U[1, t_max - 1], b_i = -b_f (Tallec & Ollivier).
    GRU bias (3H,) or (2, 3H) = [z | r | h] (input bias first): here h_t = z h_{t-1} + (1 - z) hh,
    so z keeps the state: b_z = log U[1, t_max - 1] in the input bias. Use it as a recurrent
    layer's ``bias_initializer``; an LSTM then ignores ``unit_forget_bias``.
    """

    sets_gate_biases = True  # an LSTM leaves its forget bias alone
    CONFIG = ("t_max",)

    def __init__(self, t_max):
        self.t_max = _number("Chrono", "t_max (the longest dependency, in steps)", t_max, above=2)

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
CLASSES = {cls.__name__: cls for cls in (Identity, Orthogonal, RandomNormal, RandomUniform, Chrono)}


def get(initializer, argument):
    """The initialiser a layer's ``argument`` names: a name of INITIALIZERS, one of the CLASSES
    (uncalled: with its defaults, as Keras), their :func:`serialize` form, or any callable
    ``f(shape, rng, dtype)`` as it is."""
    if isinstance(initializer, type):
        if initializer not in CLASSES.values():
            raise TypeError(f"{argument} must be a name, one of minirnn's initializer classes ({', '.join(CLASSES)}) "
                            f"or a function f(shape, rng, dtype), got the class {initializer.__name__}")
        try:
            return initializer()
        except TypeError:
            raise TypeError(f"{argument}: {initializer.__name__} has no default for its settings: give "
                            f"{initializer.__name__}({', '.join(initializer.CONFIG)}=...)") from None
    if isinstance(initializer, dict):
        if initializer.get("class") not in CLASSES or not isinstance(initializer.get("config"), dict):
            raise ValueError(f"{argument}: a stored initializer is {{'class': one of {sorted(CLASSES)}, "
                             f"'config': {{...}}}}, got {initializer!r}")
        return CLASSES[initializer["class"]](**initializer["config"])
    if callable(initializer):
        return initializer
    if initializer not in INITIALIZERS:
        raise ValueError(f"{argument} must be one of {sorted(INITIALIZERS)}, one of the classes {sorted(CLASSES)} "
                         f"or a callable f(shape, rng, dtype), got {initializer!r}")
    return INITIALIZERS[initializer]


def serialize(initializer):
    """A name or ``{"class": ..., "config": ...}`` for minirnn's initialisers; any other callable as it is
    (a model file leaves those out: the weights it stores are what they made)."""
    for name, function in INITIALIZERS.items():
        if initializer is function:
            return name
    if type(initializer) in CLASSES.values():
        return {"class": type(initializer).__name__, "config": initializer.get_config()}
    return initializer


def draw(initializer, argument, shape, rng, dtype):
    """``initializer(shape, rng, dtype)``, held to its contract: an array of that shape and dtype,
    finite; its errors and any breach a ValueError naming the layer's ``argument``."""
    try:
        value = initializer(shape, rng, dtype)
    except (ValueError, TypeError) as error:
        raise (TypeError if isinstance(error, TypeError) else ValueError)(f"{argument}: {error}") from None
    if not isinstance(value, np.ndarray) or value.shape != tuple(shape):
        got = f"shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{argument} must make an array of shape {tuple(shape)}, made {got}")
    if not np.isfinite(value).all():
        raise ValueError(f"{argument} made NaN or infinite values for the shape {tuple(shape)}")
    return np.ascontiguousarray(value, dtype=dtype)
