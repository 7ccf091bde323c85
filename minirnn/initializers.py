"""Keras' default weight initialisers, drawn from a ``numpy.random.Generator``."""
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


INITIALIZERS = {"glorot_uniform": glorot_uniform, "orthogonal": orthogonal, "zeros": zeros}


def get(name_or_function, argument):
    """Look up an initialiser by name; a callable ``f(shape, rng, dtype)`` passes through."""
    if callable(name_or_function):
        return name_or_function
    if name_or_function not in INITIALIZERS:
        raise ValueError(f"{argument} must be one of {sorted(INITIALIZERS)} or a callable "
                         f"f(shape, rng, dtype), got {name_or_function!r}")
    return INITIALIZERS[name_or_function]
