"""Argument checks shared by the cells, the layers and the model.

Every public entry point checks what it is given here, so that a wrong type,
shape or dtype, or a NaN, becomes a ``TypeError``/``ValueError`` naming the
argument and what was expected, never a Numba typing error or a silently NaN
result.
"""
import numbers

import numba
import numpy as np

from ._jit import jit

FLOAT_DTYPES = (np.float32, np.float64)


def check_array(name, a, ndim, dtype=None, shape=None, finite=True):
    """``a`` must be a float32/float64 ndarray with ``ndim`` dims (``shape`` and ``dtype`` if given), finite."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if type(a) is not np.ndarray and isinstance(a, np.ma.MaskedArray):
        raise TypeError(f"{name} is a numpy masked array: layers do not read its mask (and its hidden entries "
                        "would be used as they are); pass the data, a.filled(value), and the steps to skip as "
                        "mask= (or put a Masking layer first)")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other arrays are {np.dtype(dtype)}; "
                        "minirnn never mixes float32 and float64 silently: cast with .astype()")
    if shape is not None and a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if finite:
        check_finite(name, a)
    return a


def check_finite(name, a, why=""):
    """A ValueError giving the index and value of ``a``'s first NaN or inf, if it has one (integer
    and boolean arrays have none); ``why`` is added after 'contains NaN or inf'."""
    if type(a) is not np.ndarray and isinstance(a, np.ma.MaskedArray):
        a = a.data  # its numbers, hidden ones included
    if a.dtype.kind == "f" and not _all_finite(a):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{name} contains NaN or inf{why}: the first at index {index} is {a[index]}")


def _all_finite(a):
    """np.isfinite(a).all() for a float array, without the (a.shape) bool array in between.

    Most calls check small arrays (weights, states, a batch of a short series) on every
    forward and backward pass, where NumPy's two calls and the temporary cost more than the
    scan: :func:`_count_non_finite` on a flat view does it in one vectorised pass.
    """
    if a.dtype not in FLOAT_DTYPES or numba.config.DISABLE_JIT:
        return np.isfinite(a).all()
    return _count_non_finite(a.ravel(order="K")) == 0  # a view, unless a's numbers are scattered


@jit
def _count_non_finite(flat):
    """How many entries of a 1-D array are NaN or +-inf: x - x is 0 exactly when x is finite.
    A count, not a flag with an early exit: an integer sum is a loop LLVM vectorises."""
    count = 0
    for i in range(flat.shape[0]):
        count += flat[i] - flat[i] != 0
    return count


def check_sequence(x, kernel, recurrent_kernel, bias, gates, bias_shape=None, diagonal=False):
    """Check x (B, T, I) against kernel (I, G*H), recurrent_kernel (H, G*H) (``diagonal``: (H,),
    one recurrent weight per unit, IndRNN's), bias."""
    check_array("x", x, 3)
    B, T, I = x.shape
    if B == 0 or T == 0:
        raise ValueError(f"x must have at least one sequence and one time step, got shape {x.shape}")
    check_array("recurrent_kernel", recurrent_kernel, 1 if diagonal else 2, x.dtype)
    H = recurrent_kernel.shape[0]
    if not diagonal:
        check_array("recurrent_kernel", recurrent_kernel, 2, x.dtype, (H, gates * H), finite=False)  # scanned above
    check_array("kernel", kernel, 2, x.dtype)
    if kernel.shape[0] != I:
        raise ValueError(f"x has {I} features but kernel expects {kernel.shape[0]} (kernel shape {kernel.shape})")
    check_array("kernel", kernel, 2, x.dtype, (I, gates * H), finite=False)
    bias_shape = (gates * H,) if bias_shape is None else bias_shape
    check_array("bias", bias, len(bias_shape), x.dtype, bias_shape)


def check_weights(weights, names):
    """A cell's weights, the arrays of ``names`` in a dict keyed by Keras' names (a layer's ``params``)."""
    if type(weights) is dict and all(name in weights for name in names):  # the layers' case, first
        return [weights[name] for name in names]
    if not isinstance(weights, dict):
        raise TypeError(f"weights must be a dict of arrays by name ({', '.join(names)}), got {type(weights).__name__}")
    missing = [name for name in names if name not in weights]
    if missing:
        raise ValueError(f"weights has no {', '.join(map(repr, missing))}; it has {', '.join(map(repr, weights))}")
    return [weights[name] for name in names]


def check_state(name, state, batch, units, dtype):
    """An initial state (or a state's gradient): None means zeros, else a finite (batch, units) array."""
    state = check_optional(name, state, batch, units, dtype)
    return np.zeros((batch, units), dtype=dtype) if state is None else state


def check_optional(name, a, batch, units, dtype):
    """None, or a finite (batch, units) array of dtype (a recurrent-dropout mask)."""
    if a is None:
        return None
    check_array(name, a, 2, dtype, (batch, units))
    return np.ascontiguousarray(a)


def check_sequence_mask(name, mask, batch, steps):
    """Keras' sequence mask: a bool (batch, steps) array, True where a step is data, False where it
    is padding."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of bools (batch, time), got {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise TypeError(f"{name} must have dtype bool (True where a step is data, False where it is padding), "
                        f"got {mask.dtype}: use mask.astype(bool) if it holds 0s and 1s")
    if mask.shape != (batch, steps):
        raise ValueError(f"{name} must have shape (batch, time) = {(batch, steps)}, got {mask.shape}")
    return mask


def check_choice(name, value, choices):
    """``choices[value]``, or a ValueError listing the choices."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return choices[value]


def check_dtype(dtype):
    """None, or float32/float64 as a numpy dtype."""
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype}")
    return dtype


def dtype_of(given=(), data=None, whose="the model's parts"):
    """The one rule for the dtype of a model or a layer.

    ``given``: (owner, dtype or None) for everything that may declare one (``Sequential(dtype=)``,
    ``Input``, each layer, a ``build(dtype=)``); those that do must agree (a ValueError naming them
    if not), and then decide. Else the float dtype of ``data`` (an array or a dtype: the first
    data seen, or what was decided before); else float64, NumPy's default.
    """
    declared = [(owner, check_dtype(dtype)) for owner, dtype in given if dtype is not None]
    if len({dtype for _, dtype in declared}) > 1:
        names = ", ".join(f"{owner} is {dtype}" for owner, dtype in declared)
        raise ValueError(f"{whose} disagree on the dtype ({names}); give every layer the same dtype, or give it "
                         "once: Sequential(..., dtype=...)")
    if declared:
        return declared[0][1]
    data = getattr(data, "dtype", data)
    return np.dtype(data) if data is not None and np.dtype(data) in FLOAT_DTYPES else np.dtype(np.float64)


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_seed(seed, name="seed"):
    """None, an int >= 0 (a NumPy one becomes a Python int) or a numpy SeedSequence."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{name} must be None or an int >= 0, got {seed!r}")
    return int(seed)


def check_shape(name, shape):
    """One sample's shape: a tuple (or list) of positive ints."""
    if not isinstance(shape, (tuple, list)) or not shape or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{name} must be a tuple of positive ints, one sample's shape such as (time, features), "
                         f"got {shape!r}")
    return tuple(int(d) for d in shape)
