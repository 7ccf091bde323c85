"""The non-recurrent work every cell shares, done outside the time loop.

Only ``h_{t-1} @ recurrent_kernel`` and the gate nonlinearities depend on the
previous step; everything else is done for all time steps at once, before or
after the loop (the cuDNN trick):

    forward:   XP = X W_x + b                       (T*B, I) @ (I, G)
    backward:  dW_x = X^T dZ,  dW_h = H_prev^T dZ,  db = sum dZ,  dX = dZ W_x^T

Internally sequences are time-major ``(T, B, ...)`` so that ``x[t]`` is a
contiguous ``(B, ...)`` block inside the jitted loops; the public API is
batch-major ``(B, T, ...)`` like Keras.
"""
import numpy as np

from .. import checks
from .._jit import jit
from . import _gemm

# Up to this many input features the input projection is a plain loop: a product with an inner
# dimension of 1-4 is all memory traffic, which BLAS's packing only adds to
# (univariate series, the common case, have one feature).
SMALL_INPUT = 4


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


def input_projection(x_tm, kernel, bias):
    """XP[t] = x_t W_x + b for every t, before the time loop. Returns (T, B, G)."""
    T, B, I = x_tm.shape
    xp = np.empty((T, B, kernel.shape[1]), dtype=kernel.dtype)
    if I <= SMALL_INPUT:
        small_input_projection(flat(x_tm), kernel, bias, flat(xp))
    else:
        packed_input_projection(x_tm, _gemm.pack(kernel, B), bias, xp)
    return xp


@jit
def packed_input_projection(x_tm, kernel_packed, bias, xp):
    """xp[t] = bias, then += x_t @ kernel with the recurrent product's kernel, step by step.

    One step's rows at a time keep x_t and xp[t] in cache, and the bias is written
    in the same pass instead of a second one over all T*B rows after a GEMM.
    """
    for t in range(x_tm.shape[0]):
        xp_t = xp[t]
        for b in range(xp_t.shape[0]):
            row = xp_t[b]
            for g in range(row.shape[0]):
                row[g] = bias[g]
        _gemm.matmul(x_tm[t], kernel_packed, xp_t, _gemm.ACCUMULATE)


@jit
def small_input_projection(x, kernel, bias, xp):
    """xp = x @ kernel + bias, row by row, for few input features."""
    N, I = x.shape
    G = kernel.shape[1]
    for n in range(N):
        row = xp[n]
        for g in range(G):
            row[g] = bias[g]
        for i in range(I):
            x_ni, kernel_i = x[n, i], kernel[i]
            for g in range(G):
                row[g] += x_ni * kernel_i[g]


def input_grads(dz, kernel, input_grad):
    """db = sum dZ and dX = dZ W_x^T (batch-major, or None without ``input_grad``)."""
    T, B, _ = dz.shape
    I = kernel.shape[0]
    dx = None
    if input_grad:
        dx_tm = np.empty((T, B, I), dtype=dz.dtype)
        if I <= SMALL_INPUT:
            np.matmul(flat(dz), kernel.T, out=flat(dx_tm))
        else:
            packed_input_grads(dz, _gemm.pack_transposed(kernel, B), dx_tm)
        dx = batch_major(dx_tm)
    return column_sums(flat(dz)), dx


@jit
def packed_input_grads(dz, kernel_T_packed, dx):
    """dx[t] = dz[t] @ kernel^T step by step, with the recurrent product's kernel: the mirror of
    :func:`packed_input_projection`. dX has only I columns, a skinny product on which BLAS
    runs well below its peak; done by steps, each step's rows stay in cache."""
    for t in range(dz.shape[0]):
        _gemm.matmul(dz[t], kernel_T_packed, dx[t], _gemm.OVERWRITE)


def column_sums(a):
    """sum over the rows of a (N, G): db = sum_t,batch dz, as a matrix-vector product,
    which BLAS does in one pass where ``a.sum(axis=0)`` adds row after row."""
    return np.ones(a.shape[0], dtype=a.dtype) @ a


def weight_and_input_grads(x_tm, dz, kernel, input_grad=True):
    """dW_x = X^T dZ, db = sum dZ, dX = dZ W_x^T from the per-step gate grads.

    ``dz`` is (T, B, G), the gradient w.r.t. the gate pre-activations that
    received ``x_t W_x + b``. Returns ``dkernel, dbias, dx`` with ``dx``
    batch-major (B, T, I), or None when ``input_grad`` is False (the input is
    data, not the output of another layer: one GEMM saved).
    """
    dbias, dx = input_grads(dz, kernel, input_grad)
    return flat(x_tm).T @ flat(dz), dbias, dx


@jit
def multiply_into(a, b, out):
    """out = a * b elementwise, for (B, H) arrays (a dropout mask applied to a state)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * b[i, j]


@jit
def recurrent_input(h_prev, mask, scratch):
    """What multiplies the recurrent kernel: h_prev, or mask * h_prev (written to scratch)."""
    if not present(mask):
        return h_prev
    multiply_into(h_prev, mask, scratch)
    return scratch


def masked_states(h_prev, mask):
    """h_{t-1} as the recurrent product saw it: times the recurrent-dropout mask, if any."""
    return h_prev * mask if present(mask) else h_prev


def sequence_buffer(steps, batch, units, dtype):
    """An empty (steps, batch, units) array for a time loop to fill.

    The big per-sequence buffers are allocated here, by NumPy, and handed to the
    jitted loops, rather than inside them: NumPy asks the kernel for huge pages
    for large arrays (``madvise``), so first touching them costs a few page
    faults instead of thousands, which matters most when several threads
    (``minirnn.threads``) fill fresh buffers at once.
    """
    return np.empty((steps, batch, units), dtype=dtype)


def keep_freed_buffers_mapped():
    """Allocate and free one 30 MiB block, so that glibc's malloc keeps the loops' buffers mapped.

    A training step allocates and frees the same buffers every time (gates, states, their
    gradients: a few MB each for a stacked LSTM of 50 units over 60 steps). glibc gives blocks
    above its mmap threshold, 128 KiB at start, pages of their own and hands memory back to the
    kernel when the free space at the top of its heap exceeds its trim threshold; the next step
    then takes fresh pages, which the kernel zeroes one page fault at a time (that LSTM: 2400
    faults a step, a third of its time). glibc raises the mmap threshold to the size of any
    mmapped block freed, up to 32 MiB, and the trim threshold to twice that: what freeing a big
    array would do in any NumPy program, done once here, on import. Buffers up to 30 MiB then
    come from the heap and stay mapped from one step to the next; above that NumPy asks for
    huge pages, whose faults are few. Elsewhere than glibc, or where the user has set malloc's
    MALLOC_* tunables (which turn the adjustment off), this changes nothing.
    """
    np.empty(30 << 20, dtype=np.uint8)  # never touched: no memory is used; freed at once


keep_freed_buffers_mapped()


def state_grad_record(h, record):
    """Where a backward loop writes dL/dh_t per step: (T, B, H), or absent when not recording."""
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    return np.empty((T, B, H), dtype=h.dtype) if record else absent((B, H), h.dtype)


def unit_batch(a_t, sample, n):
    """Row ``sample`` of a step's cached (B, m) activations, repeated n times: the batch of n
    unit gradients a step Jacobian is built from (see each cell's ``step_jacobians``)."""
    return np.ascontiguousarray(np.repeat(a_t[sample:sample + 1], n, axis=0))


def check_no_dropout(cache):
    if present(cache.mask):
        raise ValueError("step Jacobians are of a forward pass without recurrent dropout (training=False)")


# "None" inside the jitted loops: an optional array (a recurrent-dropout mask, the per-step
# output gradients, a record to fill) that is not there is passed as an empty array of the
# right rank, (0, ...), and tested with `present`; Numba then compiles one version for both.

def absent(shape, dtype):
    """The stand-in for an optional array of trailing ``shape`` that is not there: (0, *shape)."""
    return np.empty((0, *shape), dtype=dtype)


def valid_steps(sequence_mask, batch, steps):
    """Keras' sequence mask (B, T), True where a step is data, checked and made time-major:
    ``valid`` (T, B). Absent, (0, B), for None or a mask with no padding (the plain loop runs)."""
    if sequence_mask is None:
        return absent((batch,), np.bool_)
    checks.check_sequence_mask("sequence_mask", sequence_mask, batch, steps)
    if sequence_mask.all():
        return absent((batch,), np.bool_)
    return np.ascontiguousarray(sequence_mask.T)


# Masked (padding) steps, Keras' semantics: the step leaves the states as they were. Forward, each
# cell runs the step on the whole batch and then copies the previous state over the new one in the
# rows of the masked sequences. Backward, a masked step is the identity: the gradient arriving at
# its states is held aside and the step runs on zeros in those rows (so it sends nothing into its
# gates, weights and input), then handed on unchanged to the step before.

@jit
def carry_masked_rows(valid_t, previous, new):
    """new[b] = previous[b] for every sequence b whose step is masked (valid_t[b] False)."""
    for b in range(valid_t.shape[0]):
        if not valid_t[b]:
            for j in range(new.shape[1]):
                new[b, j] = previous[b, j]


@jit
def hold_masked_rows(valid_t, grad, held):
    """Move the rows of the masked sequences from grad into held, leaving zeros in grad."""
    zero = grad.dtype.type(0)
    for b in range(valid_t.shape[0]):
        if not valid_t[b]:
            for j in range(grad.shape[1]):
                held[b, j] = grad[b, j]
                grad[b, j] = zero


@jit
def copy_into(source, target):
    """target[...] = source, for (B, H) arrays. Copies inside the loops are written out: Numba compiles
    an array assignment with a shape check whose error message takes its string machinery along,
    seconds of compile time in every loop that has one."""
    for b in range(source.shape[0]):
        for j in range(source.shape[1]):
            target[b, j] = source[b, j]


def identity_at_masked_steps(jacobians, valid, sample):
    """A masked step's Jacobian is the identity: set it so for sequence ``sample``."""
    if present(valid):
        jacobians[~valid[:, sample]] = np.eye(jacobians.shape[1], dtype=jacobians.dtype)
    return jacobians


def dropout_mask(mask, batch, units, dtype):
    """A recurrent-dropout mask (batch, units), checked; absent for None (no dropout)."""
    mask = checks.check_optional("recurrent_mask", mask, batch, units, dtype)
    return absent((units,), dtype) if mask is None else mask


@jit
def present(a):
    """Whether an optional array is there (see :func:`absent`)."""
    return a.shape[0] > 0


def output_grads(dh_seq, dh_last, h):
    """The loss gradients backward receives, checked: time-major dh_seq (or an absent (0, B, H)
    stand-in: many-to-one training adds no (T, B, H) array of zeros) and dh_last (zeros for None).

    ``h`` is the cached (T+1, B, H) state sequence.
    """
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    dh_last = checks.check_state("dh_last", dh_last, B, H, h.dtype)
    if dh_seq is None:
        return absent((B, H), h.dtype), dh_last
    checks.check_array("dh_seq", dh_seq, 3, h.dtype, (B, T, H))
    return time_major(dh_seq), dh_last
