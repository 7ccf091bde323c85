"""The Elman cell's engine: the jitted twin of :mod:`minirnn.textbook.rnn`, where its equations are.

Tested equal to the textbook on every option (tests/test_textbook.py). Shaped for the CPU:

- Nothing that is not sequential stays in the loop (the cuDNN trick, :mod:`._hoisted`): x_t W_x + b
  for all steps is one product before it; dW_x, dW_h, db and dX are one product each after it,
  from the dz the loop stores per step. The loop carries only dh back.
- The in-loop product h_{t-1} W_h runs on W_h packed once per sequence (:mod:`._gemm`).
- One loop per activation in the step functions: a branch inside the loop over a row would
  stop LLVM vectorising it. act' is read off h_t, so z_t is never stored.
- Sequences are time-major inside ((T, B, H): x_t a contiguous block); the API is batch-major.
- Masked steps run on the whole batch and have their rows copied back (forward) or held aside
  (backward), so that the loop has no per-row branch either (:mod:`._bptt`).
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _bptt, _gemm, _hoisted, _layout
from ._math import tanh

STATES = ("h",)
OPTIONS = ("activation", "alpha")
TANH, RELU, LEAKY_RELU, LINEAR = 0, 1, 2, 3
ACTIVATIONS = {"tanh": TANH, "relu": RELU, "leaky_relu": LEAKY_RELU, "linear": LINEAR}

Cache = namedtuple("Cache", "x h kernel recurrent_kernel activation alpha mask valid")
Cache.__doc__ = """What backward needs: time-major x (T, B, I) and h (T+1, B, H), h[0] = h_0; valid (T, B),
False at masked steps, or absent (0, B)."""


@jit(step=True)
def step_forward(xp_t, h_prev, recurrent_kernel_packed, activation, alpha, h_t):
    """h_t = act(xp_t + h_prev W_h), with xp_t = x_t W_x + b precomputed. Writes h_t.

    ``recurrent_kernel_packed`` is ``_gemm.pack(recurrent_kernel, B)``.
    """
    _gemm.matmul(h_prev, recurrent_kernel_packed, h_t, _gemm.OVERWRITE)  # h_t holds h_{t-1} W_h until overwritten
    B, H = h_t.shape
    ftype = h_t.dtype.type
    zero = ftype(0)
    # One loop per activation: a branch inside the loop would stop vectorisation.
    for b in range(B):
        if activation == TANH:
            for j in range(H):
                h_t[b, j] = tanh(xp_t[b, j] + h_t[b, j], ftype)
        elif activation == RELU:
            for j in range(H):
                h_t[b, j] = max(xp_t[b, j] + h_t[b, j], zero)
        elif activation == LEAKY_RELU:
            for j in range(H):
                z = xp_t[b, j] + h_t[b, j]
                h_t[b, j] = z if z > zero else alpha * z
        else:
            for j in range(H):
                h_t[b, j] = xp_t[b, j] + h_t[b, j]


@jit(step=True)
def step_backward(dh, h_t, recurrent_kernel_T_packed, activation, alpha, dz_t, dh_prev):
    """dz_t = dh * act'(z_t); dh_prev = dz_t W_h^T. Writes dz_t and dh_prev.

    ``recurrent_kernel_T_packed`` is ``_gemm.pack_transposed(recurrent_kernel, B)``.
    """
    B, H = h_t.shape
    ftype = h_t.dtype.type
    one, zero = ftype(1), ftype(0)
    for b in range(B):
        if activation == TANH:
            for j in range(H):
                dz_t[b, j] = dh[b, j] * (one - h_t[b, j] * h_t[b, j])
        elif activation == RELU:
            for j in range(H):
                dz_t[b, j] = dh[b, j] if h_t[b, j] > zero else zero
        elif activation == LEAKY_RELU:
            for j in range(H):
                dz_t[b, j] = dh[b, j] if h_t[b, j] > zero else alpha * dh[b, j]
        else:
            for j in range(H):
                dz_t[b, j] = dh[b, j]
    _gemm.matmul(dz_t, recurrent_kernel_T_packed, dh_prev, _gemm.OVERWRITE)


@jit
def forward_sequence(xp, h0, recurrent_kernel, activation, alpha, mask, valid, h):
    """Run step_forward over xp (T, B, H), filling h (T+1, B, H) with h[0] = h0.

    ``mask`` (B, H) is the recurrent-dropout mask, or (0, H) for none; ``valid`` (T, B) is
    False at masked steps, or (0, B) for none.
    """
    T, B = xp.shape[0], xp.shape[1]
    _layout.copy_into(h0, h[0])
    h_masked = np.empty_like(h0)
    recurrent_kernel_packed = _gemm.pack(recurrent_kernel, B)
    for t in range(T):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward(xp[t], h_in, recurrent_kernel_packed, activation, alpha, h[t + 1])
        _bptt.carry(t, valid, h[t], h[t + 1])


@jit
def backward_sequence(dh_seq, dh_last, h, recurrent_kernel, activation, alpha, mask, valid, dh_record, dz):
    """Carry dh back from step T to 1, filling dz (T, B, H). Returns dh_0.

    ``dh_seq`` (T, B, H) holds output gradients per step, or is (0, B, H) when
    the loss sees only the last step; ``dh_last`` is the gradient at h_T.
    ``dh_record`` (T, B, H) receives dL/dh_t for every t (the total: from the output at t
    and from step t+1), or is (0, B, H) to skip that.
    """
    T, B = h.shape[0] - 1, h.shape[1]
    recurrent_kernel_T_packed = _gemm.pack_transposed(recurrent_kernel, B)
    dh = dh_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    for t in range(T - 1, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        step_backward(dh, h[t + 1], recurrent_kernel_T_packed, activation, alpha, dz[t], dh_prev)
        _bptt.leave(t, dh_prev, mask, valid, dh_held)
        dh, dh_prev = dh_prev, dh
    return dh


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, activation="tanh", alpha=0.3):
    """Run the cell over a batch-major sequence: the contract of :mod:`minirnn.textbook`.

    x (B, T, I) float32 or float64; weights ``kernel`` (I, H), ``recurrent_kernel`` (H, H),
    ``bias`` (H,); states [h0] or None (zeros); ``activation`` "tanh", "relu", "leaky_relu" or
    "linear", ``alpha`` leaky_relu's slope below 0. Returns h_seq (B, T, H), every h_t (a view of
    ``cache.h``, which backward reads: copy it before writing to it), and the :class:`Cache`.
    """
    kernel, recurrent_kernel, bias = checks.check_weights(weights, ("kernel", "recurrent_kernel", "bias"))
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=1)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    code = checks.check_choice("activation", activation, ACTIVATIONS)
    alpha = x.dtype.type(alpha)
    h0 = checks.check_state("h0", (states or [None])[0], B, H, x.dtype)
    x_tm = _layout.time_major(x)
    xp = _hoisted.input_projection(x_tm, kernel, bias)
    mask = _bptt.dropout_mask(recurrent_mask, B, H, x.dtype)
    valid = _bptt.valid_steps(sequence_mask, B, x_tm.shape[0])
    h = _layout.sequence_buffer(x_tm.shape[0] + 1, B, H, x.dtype)
    forward_sequence(xp, h0, recurrent_kernel, code, alpha, mask, valid, h)
    return _layout.batch_major(h[1:]), Cache(x_tm, h, kernel, recurrent_kernel, code, alpha, mask, valid)


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time: the contract of :mod:`minirnn.textbook`.

    dh_seq (B, T, H), the loss gradient at every h_t, or None (many-to-one); dstates [dh_T] or None.
    Returns a dict: ``x`` (B, T, I) (None without ``input_grad``), ``h0``, ``kernel``,
    ``recurrent_kernel``, ``bias``; with ``record_state_grads`` also ``dh`` (B, T, H), dL/dh_t.
    """
    x_tm, h = cache.x, cache.h
    dh_seq_tm, dh_last = _bptt.output_grads(dh_seq, (dstates or [None])[0], h)
    dh_record = _bptt.state_grad_record(h, record_state_grads)
    dz = np.empty_like(h[1:])
    dh0 = backward_sequence(dh_seq_tm, dh_last, h, cache.recurrent_kernel, cache.activation, cache.alpha, cache.mask,
                            cache.valid, dh_record, dz)
    dkernel, dbias, dx = _hoisted.weight_and_input_grads(x_tm, dz, cache.kernel, input_grad)
    drecurrent = _layout.flat(_hoisted.masked_states(h[:-1], cache.mask)).T @ _layout.flat(dz)
    grads = {"x": dx, "h0": dh0, "kernel": dkernel, "recurrent_kernel": drecurrent, "bias": dbias}
    if record_state_grads:
        grads["dh"] = _layout.batch_major(dh_record)
    return grads


def final_states(cache):
    """[h_T] (B, H)."""
    return [cache.h[-1]]


def step_jacobians(cache, sample=0):
    """J_t = dh_t / dh_{t-1} for every step of sequence ``sample`` of a forward pass: (T, H, H),
    rows indexing h_t. :func:`step_backward` maps dL/dh_t to dL/dh_{t-1} = dL/dh_t J_t, so fed
    the identity (H unit gradients as a batch, the step's h_t in every row) it returns J_t:
    the same derivative formulas as training, no second copy of them."""
    _bptt.check_no_dropout(cache)
    T, H = cache.h.shape[0] - 1, cache.h.shape[2]
    recurrent_kernel_T_packed = _gemm.pack_transposed(cache.recurrent_kernel, H)
    jacobians = np.empty((T, H, H), dtype=cache.h.dtype)
    dz = np.empty((H, H), dtype=cache.h.dtype)
    for t in range(T):
        step_backward(np.eye(H, dtype=cache.h.dtype), _layout.unit_batch(cache.h[t + 1], sample, H),
                      recurrent_kernel_T_packed, cache.activation, cache.alpha, dz, jacobians[t])
    return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
