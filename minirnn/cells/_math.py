"""Scalar nonlinearities used inside the jitted gate loops.

Constants are passed in as ``one``, a scalar of the array's dtype, never a bare
Python float: inside Numba ``1.0 + x`` with ``x`` a float32 is a float64, which
is slower and breaks type unification of float32 loops.
"""
import numpy as np

from .._jit import jit


@jit
def sigmoid(x, one):
    """sigma(x) = 1 / (1 + e^-x). For x << 0, e^-x = inf and the result is 0, not NaN."""
    return one / (one + np.exp(-x))


@jit
def tanh(x):
    return np.tanh(x)
