"""How the engine lays out its arrays: time-major inside the loops, batch-major outside; optional
arrays as empty stand-ins; the small copies inside the loops.

Inside the jitted loops sequences are time-major ``(T, B, ...)``, so that ``x[t]`` is a contiguous
``(B, ...)`` block; the public API is batch-major ``(B, T, ...)``, as Keras'.

"None" inside the jitted loops: an optional array (a recurrent-dropout mask, the per-step output
gradients, a record to fill) that is not there is passed as an empty array of the right rank,
``(0, ...)`` (:func:`absent`), and tested with :func:`present`; Numba then compiles one version
for both.
"""
import numpy as np

from .._jit import jit


def time_major(x):
    """(B, T, F) batch-major -> contiguous (T, B, F): a copy, unless x is a batch-major view
    of a time-major array (what :func:`batch_major` returns), which is taken as it is."""
    x_tm = x.transpose(1, 0, 2)
    if x_tm.flags.c_contiguous or not x.flags.c_contiguous or x.shape[2] == 1:
        return np.ascontiguousarray(x_tm)  # (with one feature, a 2-D transpose: NumPy's is fast)
    copy = np.empty(x_tm.shape, dtype=x.dtype)
    transpose_into(x, copy)
    return copy


@jit
def transpose_into(x, x_tm):
    """x_tm[t, b] = x[b, t]. With a few features per step (more than one), NumPy copies the
    transposed view a few numbers at a time, slower than this loop (benchmarks/README.md)."""
    for t in range(x_tm.shape[0]):
        for b in range(x_tm.shape[1]):
            for f in range(x_tm.shape[2]):
                x_tm[t, b, f] = x[b, t, f]


def batch_major(x):
    """(T, B, F) time-major -> (B, T, F) view of the same numbers, not a copy.

    Between stacked layers the sequence then goes time-major to time-major
    without being copied twice: the next layer's :func:`time_major` gets the
    contiguous array back.
    """
    return x.transpose(1, 0, 2)


def flat(x):
    """(T, B, F) -> (T*B, F) view, for one GEMM over all time steps."""
    return x.reshape(-1, x.shape[-1])


def sequence_buffer(steps, batch, units, dtype):
    """An empty (steps, batch, units) array for a time loop to fill.

    The big per-sequence buffers are allocated here, by NumPy, and handed to the
    jitted loops, rather than inside them: NumPy asks the kernel for huge pages
    for large arrays (``madvise``), so first touching them costs a few page
    faults instead of thousands, which matters most when several threads
    (``minirnn.threads``) fill fresh buffers at once.
    """
    return np.empty((steps, batch, units), dtype=dtype)


def absent(shape, dtype):
    """The stand-in for an optional array of trailing ``shape`` that is not there: (0, *shape)."""
    return np.empty((0, *shape), dtype=dtype)


@jit
def present(a):
    """Whether an optional array is there (see :func:`absent`)."""
    return a.shape[0] > 0


@jit
def copy_into(source, target):
    """target[...] = source, for (B, H) arrays. Copies inside the loops are written out: Numba compiles
    an array assignment with a shape check whose error message takes its string machinery along,
    seconds of compile time in every loop that has one."""
    for b in range(source.shape[0]):
        for j in range(source.shape[1]):
            target[b, j] = source[b, j]


@jit
def multiply_into(a, b, out):
    """out = a * b elementwise, for (B, H) arrays (a dropout mask applied to a state)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * b[i, j]


def unit_batch(a_t, sample, n):
    """Row ``sample`` of a step's cached (B, m) activations, repeated n times: the batch of n
    unit gradients a step Jacobian is built from (see each cell's ``step_jacobians``)."""
    return np.ascontiguousarray(np.repeat(a_t[sample:sample + 1], n, axis=0))
