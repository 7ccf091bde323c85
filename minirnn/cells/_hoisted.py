"""The non-recurrent work every cell shares, done outside the time loop (the cuDNN trick).

Only ``h_{t-1} @ recurrent_kernel`` and the gate nonlinearities depend on the previous step;
everything else is done for all time steps at once, before or after the loop::

    forward:   XP = X W_x + b                       (T*B, I) @ (I, G)
    backward:  dW_x = X^T dZ,  dW_h = H_prev^T dZ,  db = sum dZ,  dX = dZ W_x^T
"""
import numpy as np

from .._jit import jit
from . import _gemm
from ._layout import batch_major, flat, present

# Up to this many input features the input projection is a plain loop: a product with an inner
# dimension of 1-4 is all memory traffic, which BLAS's packing only adds to
# (univariate series, the common case, have one feature).
SMALL_INPUT = 4


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


def masked_states(h_prev, mask):
    """h_{t-1} as the recurrent product saw it: times the recurrent-dropout mask, if any."""
    return h_prev * mask if present(mask) else h_prev
