"""IndRNN's engine: the jitted twin of :mod:`minirnn.textbook.indrnn`, where its equations are.

Tested equal to the textbook on every option (tests/test_textbook.py). Each unit sees only its
own past: the recurrent matrix is diag(u), so the time loop has no matrix product at all, and
the step is one fused pass over each row (one loop per activation, for LLVM to vectorise). The
input projection before the loop and the weight gradients after it are the shared ones
(:mod:`._hoisted`), du = sum dz * h_{t-1} one reduction over all steps.
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _bptt, _hoisted, _layout
from ._math import tanh

STATES = ("h",)
OPTIONS = ("activation",)
RELU, TANH, LINEAR = 0, 1, 2
ACTIVATIONS = {"relu": RELU, "tanh": TANH, "linear": LINEAR}

Cache = namedtuple("Cache", "x h kernel recurrent_kernel activation mask valid")
Cache.__doc__ = """What backward needs: time-major x (T, B, I) and h (T+1, B, H), h[0] = h_0;
u = recurrent_kernel (H,); valid (T, B), False at masked steps, or absent (0, B)."""


@jit(step=True)
def step_forward(xp_t, h_prev, recurrent_kernel, activation, h_t):
    """h_t = act(xp_t + u * h_prev), with xp_t = x_t W_x + b precomputed. Writes h_t."""
    B, H = h_t.shape
    ftype = h_t.dtype.type
    zero = ftype(0)
    u = recurrent_kernel
    # One loop per activation: a branch inside the loop would stop vectorisation.
    for b in range(B):
        xp, h_p, h = xp_t[b], h_prev[b], h_t[b]
        if activation == RELU:
            for j in range(H):
                h[j] = max(xp[j] + u[j] * h_p[j], zero)
        elif activation == TANH:
            for j in range(H):
                h[j] = tanh(xp[j] + u[j] * h_p[j], ftype)
        else:
            for j in range(H):
                h[j] = xp[j] + u[j] * h_p[j]


@jit(step=True)
def step_backward(dh, h_t, recurrent_kernel, activation, dz_t, dh_prev):
    """dz_t = dh * act'(z_t); dh_prev = dz_t * u. Writes dz_t and dh_prev."""
    B, H = h_t.shape
    ftype = h_t.dtype.type
    one, zero = ftype(1), ftype(0)
    u = recurrent_kernel
    for b in range(B):
        dh_b, h, dz, dh_p = dh[b], h_t[b], dz_t[b], dh_prev[b]
        if activation == RELU:
            for j in range(H):
                dz[j] = dh_b[j] if h[j] > zero else zero
        elif activation == TANH:
            for j in range(H):
                dz[j] = dh_b[j] * (one - h[j] * h[j])
        else:
            for j in range(H):
                dz[j] = dh_b[j]
        for j in range(H):
            dh_p[j] = dz[j] * u[j]


@jit
def forward_sequence(xp, h0, recurrent_kernel, activation, mask, valid, h):
    """Run step_forward over xp (T, B, H), filling h (T+1, B, H) with h[0] = h0.

    ``mask`` (B, H) is the recurrent-dropout mask, or (0, H) for none; ``valid`` (T, B) is
    False at masked steps, or (0, B) for none.
    """
    _layout.copy_into(h0, h[0])
    h_masked = np.empty_like(h0)
    for t in range(xp.shape[0]):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward(xp[t], h_in, recurrent_kernel, activation, h[t + 1])
        _bptt.carry(t, valid, h[t], h[t + 1])


@jit
def backward_sequence(dh_seq, dh_last, h, recurrent_kernel, activation, mask, valid, dh_record, dz):
    """Carry dh back from step T to 1, filling dz (T, B, H). Returns dh_0.

    ``dh_seq`` (T, B, H) holds output gradients per step, or is (0, B, H) when the loss
    sees only the last step; ``dh_record`` (T, B, H) receives the total dL/dh_t at every
    step, or is (0, B, H) to skip that.
    """
    dh = dh_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    for t in range(h.shape[0] - 2, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        step_backward(dh, h[t + 1], recurrent_kernel, activation, dz[t], dh_prev)
        _bptt.leave(t, dh_prev, mask, valid, dh_held)
        dh, dh_prev = dh_prev, dh
    return dh


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, activation="relu"):
    """Run the cell over a batch-major sequence: the contract of :mod:`minirnn.textbook`.

    x (B, T, I) float32 or float64; weights ``kernel`` (I, H), ``recurrent_kernel`` (H,) (u),
    ``bias`` (H,); states [h0] or None (zeros); ``activation`` "relu", "tanh" or "linear".
    Returns h_seq (B, T, H), every h_t (a view of ``cache.h``, which backward reads: copy it
    before writing to it), and the :class:`Cache`.
    """
    kernel, recurrent_kernel, bias = checks.check_weights(weights, ("kernel", "recurrent_kernel", "bias"))
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=1, diagonal=True)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    code = checks.check_choice("activation", activation, ACTIVATIONS)
    h0 = checks.check_state("h0", (states or [None])[0], B, H, x.dtype)
    x_tm = _layout.time_major(x)
    xp = _hoisted.input_projection(x_tm, kernel, bias)
    mask = _bptt.dropout_mask(recurrent_mask, B, H, x.dtype)
    valid = _bptt.valid_steps(sequence_mask, B, T)
    h = _layout.sequence_buffer(T + 1, B, H, x.dtype)
    forward_sequence(xp, h0, np.ascontiguousarray(recurrent_kernel), code, mask, valid, h)
    return _layout.batch_major(h[1:]), Cache(x_tm, h, kernel, recurrent_kernel, code, mask, valid)


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time: the contract of :mod:`minirnn.textbook`.

    dh_seq (B, T, H), the loss gradient at every h_t, or None; dstates [dh_T] or None. Returns a
    dict: ``x`` (None without ``input_grad``), ``h0``, ``kernel``, ``recurrent_kernel`` (H,),
    ``bias``; with ``record_state_grads`` also ``dh`` (B, T, H), dL/dh_t.
    """
    x_tm, h = cache.x, cache.h
    dh_seq_tm, dh_last = _bptt.output_grads(dh_seq, (dstates or [None])[0], h)
    dh_record = _bptt.state_grad_record(h, record_state_grads)
    dz = np.empty_like(h[1:])
    u = np.ascontiguousarray(cache.recurrent_kernel)
    dh0 = backward_sequence(dh_seq_tm, dh_last, h, u, cache.activation, cache.mask, cache.valid, dh_record, dz)
    dkernel, dbias, dx = _hoisted.weight_and_input_grads(x_tm, dz, cache.kernel, input_grad)
    drecurrent = (dz * _hoisted.masked_states(h[:-1], cache.mask)).sum(axis=(0, 1))  # du = sum dz * h_{t-1}
    grads = {"x": dx, "h0": dh0, "kernel": dkernel, "recurrent_kernel": drecurrent, "bias": dbias}
    if record_state_grads:
        grads["dh"] = _layout.batch_major(dh_record)
    return grads


def final_states(cache):
    """[h_T] (B, H)."""
    return [cache.h[-1]]


def step_jacobians(cache, sample=0):
    """J_t = dh_t / dh_{t-1} for every step of sequence ``sample``: (T, H, H), diagonal, rows
    indexing h_t; :func:`step_backward` fed the identity returns it, as for the Elman cell."""
    _bptt.check_no_dropout(cache)
    T, H = cache.h.shape[0] - 1, cache.h.shape[2]
    u = np.ascontiguousarray(cache.recurrent_kernel)
    jacobians = np.empty((T, H, H), dtype=cache.h.dtype)
    dz = np.empty((H, H), dtype=cache.h.dtype)
    for t in range(T):
        step_backward(np.eye(H, dtype=cache.h.dtype), _layout.unit_batch(cache.h[t + 1], sample, H), u,
                      cache.activation, dz, jacobians[t])
    return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
