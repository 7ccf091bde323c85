"""The GRU's engine: the jitted twin of :mod:`minirnn.textbook.gru`, where its equations are (both
reset placements).

Tested equal to the textbook on every option (tests/test_textbook.py). As in every cell, the
products that are not sequential are hoisted out of the loop (:mod:`._hoisted`) and the in-loop
products run on packed weights (:mod:`._gemm`). reset_after=True needs one product per step,
h_{t-1} W_h (its u_h part kept for backward); reset_after=False needs two, [W_hz | W_hr] and then
W_hh on r * h_{t-1}, each on its own packed block. The gate buffer holds x_t W_x + b_x on entry
and [z | r | hh] on exit.
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _bptt, _gemm, _hoisted, _layout
from ._math import sigmoid, tanh

STATES = ("h",)
OPTIONS = ("reset_after",)

Cache = namedtuple("Cache", "x h gates u_h reset_h kernel recurrent_kernel reset_after mask valid")
Cache.__doc__ = """Time-major x (T,B,I), h (T+1,B,H), gates [z|r|hh] (T,B,3H), and (T,B,H) either
u_h = h_{t-1} W_hh + b_hh (reset_after=True) or reset_h = r * h_{t-1} (reset_after=False), the other None;
valid (T,B), False at masked steps, or absent (0,B)."""


# Inside the step functions every gate is a view of its own (z = gate[:H], ...):
# loops over range(H) from 0 let Numba drop its negative-index check, which
# would otherwise block vectorisation. gates_t holds x_t W_x + b_x on entry and
# is overwritten in place, element by element (one buffer, not two; and one
# array read and written at the same index vectorises, while two views of the
# same memory would fail LLVM's run-time overlap check and run scalar).

@jit(step=True)
def step_forward_reset_after(gates_t, h_prev, h_in, recurrent_kernel_packed, recurrent_bias, hw_t, u_h_t, h_t):
    """One step, reset_after=True: gates_t [x_z|x_r|x_h] -> [z|r|hh]; writes u_h_t, h_t.

    h_in is what multiplies W_h: h_prev, or m * h_prev with recurrent dropout.
    ``recurrent_kernel_packed`` is ``_gemm.pack(recurrent_kernel, B)``;
    hw_t (B, 3H) is scratch for h_in W_h.
    """
    _gemm.matmul(h_in, recurrent_kernel_packed, hw_t, _gemm.OVERWRITE)
    B, H = h_t.shape
    ftype = h_t.dtype.type
    one = ftype(1)
    b_zr, b_h = recurrent_bias[:2 * H], recurrent_bias[2 * H:]
    for b in range(B):
        zr, z, r, hh = gates_t[b, :2 * H], gates_t[b, :H], gates_t[b, H:2 * H], gates_t[b, 2 * H:]
        hw_zr, hw_h = hw_t[b, :2 * H], hw_t[b, 2 * H:]
        u_h, h_p, h = u_h_t[b], h_prev[b], h_t[b]
        for j in range(2 * H):  # z and r side by side: one loop
            zr[j] = sigmoid(zr[j] + hw_zr[j] + b_zr[j], ftype)
        for j in range(H):
            u_h[j] = hw_h[j] + b_h[j]
        for j in range(H):
            hh[j] = tanh(hh[j] + r[j] * u_h[j], ftype)
        for j in range(H):
            h[j] = z[j] * h_p[j] + (one - z[j]) * hh[j]


@jit(step=True)
def step_backward_reset_after(dh, h_prev, gates_t, u_h_t, recurrent_kernel_T_packed, mask, da_t, dr_t, dh_prev):
    """One step back, reset_after=True. Writes da_t = [da_z|da_r|da_h], dr_t = dR, dh_prev.

    ``recurrent_kernel_T_packed`` is ``_gemm.pack_transposed(recurrent_kernel, B)``; ``mask``
    is the recurrent-dropout mask (B, H), or (0, H) for none.
    """
    B, H = dh.shape
    ftype = dh.dtype.type
    one = ftype(1)
    for b in range(B):
        z, r, hh = gates_t[b, :H], gates_t[b, H:2 * H], gates_t[b, 2 * H:]
        da_z, da_r, da_h = da_t[b, :H], da_t[b, H:2 * H], da_t[b, 2 * H:]
        dr_z, dr_r, dr_h = dr_t[b, :H], dr_t[b, H:2 * H], dr_t[b, 2 * H:]
        dh_b, h_p, u_h = dh[b], h_prev[b], u_h_t[b]
        for j in range(H):  # one loop: it vectorises whole (no exp), and one pass beat five
            da_z[j] = dh_b[j] * (h_p[j] - hh[j]) * z[j] * (one - z[j])
            da_h[j] = dh_b[j] * (one - z[j]) * (one - hh[j] * hh[j])
            da_r[j] = da_h[j] * u_h[j] * r[j] * (one - r[j])
            dr_z[j] = da_z[j]
            dr_r[j] = da_r[j]
            dr_h[j] = da_h[j] * r[j]
    _gemm.matmul(dr_t, recurrent_kernel_T_packed, dh_prev, _gemm.OVERWRITE)
    if _layout.present(mask):
        _layout.multiply_into(dh_prev, mask, dh_prev)
    for b in range(B):
        dh_b, z, dh_p = dh[b], gates_t[b, :H], dh_prev[b]
        for j in range(H):
            dh_p[j] += dh_b[j] * z[j]


@jit(step=True)
def step_forward_reset_before(gates_t, h_prev, h_in, recurrent_kernel_zr_packed, recurrent_kernel_h_packed, hw_t,
                              reset_h_t, h_t):
    """One step, reset_after=False: gates_t [x_z|x_r|x_h] -> [z|r|hh]; writes reset_h_t = r * h_in, h_t.

    h_in is what multiplies W_h: h_prev, or m * h_prev with recurrent dropout.
    The kernels are [W_hz | W_hr] and W_hh, ``_gemm.pack``-ed;
    hw_t (B, 2H) is scratch for h_in [W_hz | W_hr].
    """
    _gemm.matmul(h_in, recurrent_kernel_zr_packed, hw_t, _gemm.OVERWRITE)
    B, H = h_t.shape
    ftype = h_t.dtype.type
    one = ftype(1)
    for b in range(B):
        zr, r, hw_zr = gates_t[b, :2 * H], gates_t[b, H:2 * H], hw_t[b]
        reset_h, h_i = reset_h_t[b], h_in[b]
        for j in range(2 * H):  # z and r side by side: one loop
            zr[j] = sigmoid(zr[j] + hw_zr[j], ftype)
        for j in range(H):
            reset_h[j] = r[j] * h_i[j]
    _gemm.matmul(reset_h_t, recurrent_kernel_h_packed, h_t, _gemm.OVERWRITE)  # h_t holds reset_h W_hh for now
    for b in range(B):
        z, hh = gates_t[b, :H], gates_t[b, 2 * H:]
        h_p, h = h_prev[b], h_t[b]
        for j in range(H):
            hh[j] = tanh(hh[j] + h[j], ftype)
        for j in range(H):
            h[j] = z[j] * h_p[j] + (one - z[j]) * hh[j]


@jit(step=True)
def step_backward_reset_before(dh, h_prev, h_in, gates_t, recurrent_kernel_zr_T_packed, recurrent_kernel_h_T_packed,
                               mask, da_t, da_zr, da_h, d_reset_h, dh_prev):
    """One step back, reset_after=False. Writes da_t = [da_z|da_r|da_h] and dh_prev.

    h_in and mask as in the forward step (mask (0, H) for none); the kernels are
    [W_hz | W_hr]^T and W_hh^T, ``_gemm.pack``-ed. da_zr (B, 2H), da_h and d_reset_h
    (B, H) are scratch.
    """
    B, H = dh.shape
    ftype = dh.dtype.type
    one = ftype(1)
    for b in range(B):
        z, hh = gates_t[b, :H], gates_t[b, 2 * H:]
        da_z, da_hb, dh_b, h_p = da_zr[b, :H], da_h[b], dh[b], h_prev[b]
        for j in range(H):
            da_z[j] = dh_b[j] * (h_p[j] - hh[j]) * z[j] * (one - z[j])
            da_hb[j] = dh_b[j] * (one - z[j]) * (one - hh[j] * hh[j])
    _gemm.matmul(da_h, recurrent_kernel_h_T_packed, d_reset_h, _gemm.OVERWRITE)  # d(r * h_in)
    for b in range(B):
        r, da_r, d_reset_h_b, h_i = gates_t[b, H:2 * H], da_zr[b, H:], d_reset_h[b], h_in[b]
        for j in range(H):
            da_r[j] = d_reset_h_b[j] * h_i[j] * r[j] * (one - r[j])
    _gemm.matmul(da_zr, recurrent_kernel_zr_T_packed, dh_prev, _gemm.OVERWRITE)  # d(h_in) through [W_hz | W_hr] ...
    for b in range(B):
        r, d_reset_h_b, dh_p = gates_t[b, H:2 * H], d_reset_h[b], dh_prev[b]
        for j in range(H):
            dh_p[j] += d_reset_h_b[j] * r[j]  # ... and through r * h_in
    if _layout.present(mask):
        _layout.multiply_into(dh_prev, mask, dh_prev)  # d(h_prev) = d(h_in) * m
    for b in range(B):
        z, dh_b, dh_p = gates_t[b, :H], dh[b], dh_prev[b]
        for j in range(H):
            dh_p[j] += dh_b[j] * z[j]
    _layout.copy_into(da_zr, da_t[:, :2 * H])
    _layout.copy_into(da_h, da_t[:, 2 * H:])


@jit
def forward_sequence_reset_after(gates, h0, recurrent_kernel, recurrent_bias, mask, valid, h, u_h):
    """gates (T, B, 3H): x_t W_x + b_x in, [z|r|hh] out. Fills h (T+1, B, H) and u_h (T, B, H)."""
    T, B, G = gates.shape
    hw = np.empty((B, G), dtype=gates.dtype)
    recurrent_kernel_packed = _gemm.pack(recurrent_kernel, B)
    _layout.copy_into(h0, h[0])
    h_masked = np.empty_like(h0)
    for t in range(T):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward_reset_after(gates[t], h[t], h_in, recurrent_kernel_packed, recurrent_bias, hw, u_h[t],
                                 h[t + 1])
        _bptt.carry(t, valid, h[t], h[t + 1])


@jit
def backward_sequence_reset_after(dh_seq, dh_last, h, gates, u_h, recurrent_kernel, mask, valid, dh_record, da, dr):
    """Fills dA (T, B, 3H) and dR (T, B, 3H); returns dh_0. dh_seq is (T, B, H) or (0, B, H);
    dh_record (T, B, H) receives dL/dh_t per step, or is (0, B, H)."""
    T, B, G = gates.shape
    recurrent_kernel_T_packed = _gemm.pack_transposed(recurrent_kernel, B)
    dh = dh_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    applied = mask[:0]  # the step applies the dropout mask itself (dh * z joins after it): none to leave
    for t in range(T - 1, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        step_backward_reset_after(dh, h[t], gates[t], u_h[t], recurrent_kernel_T_packed, mask, da[t], dr[t],
                                  dh_prev)
        _bptt.leave(t, dh_prev, applied, valid, dh_held)
        dh, dh_prev = dh_prev, dh
    return dh


@jit
def forward_sequence_reset_before(gates, h0, recurrent_kernel, mask, valid, h, reset_h):
    """gates (T, B, 3H): x_t W_x + b in, [z|r|hh] out. Fills h (T+1, B, H) and reset_h = r * h_{t-1} (T, B, H)."""
    T, B, G = gates.shape
    H = G // 3
    hw = np.empty((B, 2 * H), dtype=gates.dtype)
    recurrent_kernel_zr_packed = _gemm.pack(np.ascontiguousarray(recurrent_kernel[:, :2 * H]), B)
    recurrent_kernel_h_packed = _gemm.pack(np.ascontiguousarray(recurrent_kernel[:, 2 * H:]), B)
    _layout.copy_into(h0, h[0])
    h_masked = np.empty_like(h0)
    for t in range(T):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward_reset_before(gates[t], h[t], h_in, recurrent_kernel_zr_packed, recurrent_kernel_h_packed, hw,
                                  reset_h[t], h[t + 1])
        _bptt.carry(t, valid, h[t], h[t + 1])


@jit
def backward_sequence_reset_before(dh_seq, dh_last, h, gates, recurrent_kernel, mask, valid, dh_record, da):
    """Fills dA (T, B, 3H); returns dh_0. dh_seq is (T, B, H) or (0, B, H);
    dh_record (T, B, H) receives dL/dh_t per step, or is (0, B, H)."""
    T, B, G = gates.shape
    H = G // 3
    recurrent_kernel_zr_T_packed = _gemm.pack_transposed(recurrent_kernel[:, :2 * H], B)
    recurrent_kernel_h_T_packed = _gemm.pack_transposed(recurrent_kernel[:, 2 * H:], B)
    dh = dh_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    da_zr = np.empty((B, 2 * dh.shape[1]), dtype=dh.dtype)
    da_h, d_reset_h, h_masked = np.empty_like(dh), np.empty_like(dh), np.empty_like(dh)
    applied = mask[:0]  # the step applies the dropout mask itself (dh * z joins after it): none to leave
    for t in range(T - 1, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_backward_reset_before(dh, h[t], h_in, gates[t], recurrent_kernel_zr_T_packed,
                                   recurrent_kernel_h_T_packed, mask, da[t], da_zr, da_h, d_reset_h, dh_prev)
        _bptt.leave(t, dh_prev, applied, valid, dh_held)
        dh, dh_prev = dh_prev, dh
    return dh


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, reset_after=True):
    """Run the GRU over a batch-major sequence: the contract of :mod:`minirnn.textbook`.

    x (B, T, I) float32 or float64; weights ``kernel`` (I, 3H), ``recurrent_kernel`` (H, 3H), gate
    order z, r, h, and ``bias``: (2, 3H) [input bias; recurrent bias] with ``reset_after``, else
    (3H,); states [h0] or None (zeros). Returns h_seq (B, T, H), every h_t (a view of ``cache.h``,
    which backward reads: copy it before writing to it), and the :class:`Cache`.
    """
    kernel, recurrent_kernel, bias = checks.check_weights(weights, ("kernel", "recurrent_kernel", "bias"))
    h0 = (states or [None])[0]
    H = recurrent_kernel.shape[0] if getattr(recurrent_kernel, "ndim", 0) == 2 else 0
    bias_shape = (2, 3 * H) if reset_after else (3 * H,)
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=3, bias_shape=bias_shape)
    B = x.shape[0]
    h0 = checks.check_state("h0", h0, B, H, x.dtype)
    mask = _bptt.dropout_mask(recurrent_mask, B, H, x.dtype)
    x_tm = _layout.time_major(x)
    T = x_tm.shape[0]
    valid = _bptt.valid_steps(sequence_mask, B, T)
    h = _layout.sequence_buffer(T + 1, B, H, x.dtype)
    u_h = reset_h = None
    if reset_after:
        gates, u_h = _hoisted.input_projection(x_tm, kernel, bias[0]), _layout.sequence_buffer(T, B, H, x.dtype)
        forward_sequence_reset_after(gates, h0, recurrent_kernel, np.ascontiguousarray(bias[1]), mask, valid, h,
                                     u_h)
    else:
        gates, reset_h = _hoisted.input_projection(x_tm, kernel, bias), _layout.sequence_buffer(T, B, H, x.dtype)
        forward_sequence_reset_before(gates, h0, recurrent_kernel, mask, valid, h, reset_h)
    cache = Cache(x_tm, h, gates, u_h, reset_h, kernel, recurrent_kernel, bool(reset_after), mask, valid)
    return _layout.batch_major(h[1:]), cache


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time: the contract of :mod:`minirnn.textbook`.

    dh_seq (B, T, H), the loss gradient at every h_t, or None; dstates [dh_T] or None. Returns a
    dict: ``x`` (None without ``input_grad``), ``h0``, ``kernel``, ``recurrent_kernel``, ``bias``;
    with ``record_state_grads`` also ``dh`` (B, T, H), dL/dh_t.
    """
    h, R = cache.h, cache.recurrent_kernel
    H = h.shape[2]
    dh_seq_tm, dh_last = _bptt.output_grads(dh_seq, (dstates or [None])[0], h)
    h_prev = _layout.flat(_hoisted.masked_states(h[:-1], cache.mask))  # as the products with W_h saw it
    dh_record = _bptt.state_grad_record(h, record_state_grads)
    if cache.reset_after:
        da, dr = np.empty_like(cache.gates), np.empty_like(cache.gates)
        dh0 = backward_sequence_reset_after(dh_seq_tm, dh_last, h, cache.gates, cache.u_h, R, cache.mask, cache.valid,
                                            dh_record, da, dr)
        dkernel, dbias_x, dx = _hoisted.weight_and_input_grads(cache.x, da, cache.kernel, input_grad)
        dr = _layout.flat(dr)
        drecurrent = h_prev.T @ dr
        dbias = np.stack([dbias_x, _hoisted.column_sums(dr)])
    else:
        da = np.empty_like(cache.gates)
        dh0 = backward_sequence_reset_before(dh_seq_tm, dh_last, h, cache.gates, R, cache.mask, cache.valid, dh_record,
                                             da)
        dkernel, dbias, dx = _hoisted.weight_and_input_grads(cache.x, da, cache.kernel, input_grad)
        da = _layout.flat(da)
        drecurrent = np.concatenate([h_prev.T @ da[:, :2 * H], _layout.flat(cache.reset_h).T @ da[:, 2 * H:]],
                                    axis=1)
    grads = {"x": dx, "h0": dh0, "kernel": dkernel, "recurrent_kernel": drecurrent, "bias": dbias}
    if record_state_grads:
        grads["dh"] = _layout.batch_major(dh_record)
    return grads


def final_states(cache):
    """[h_T] (B, H)."""
    return [cache.h[-1]]


def step_jacobians(cache, sample=0):
    """J_t = dh_t / dh_{t-1} for every step of sequence ``sample`` of a forward pass: (T, H, H),
    from the step's own backward function fed the identity (see :func:`minirnn.cells.rnn.step_jacobians`)."""
    _bptt.check_no_dropout(cache)
    T, H, dtype = cache.gates.shape[0], cache.h.shape[2], cache.h.dtype
    R, no_mask = cache.recurrent_kernel, cache.mask
    jacobians = np.empty((T, H, H), dtype=dtype)
    da, dr = np.empty((H, 3 * H), dtype), np.empty((H, 3 * H), dtype)
    if cache.reset_after:
        recurrent_kernel_T_packed = _gemm.pack_transposed(R, H)
        for t in range(T):
            step_backward_reset_after(np.eye(H, dtype=dtype), _layout.unit_batch(cache.h[t], sample, H),
                                      _layout.unit_batch(cache.gates[t], sample, H),
                                      _layout.unit_batch(cache.u_h[t], sample, H), recurrent_kernel_T_packed,
                                      no_mask, da, dr, jacobians[t])
        return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
    zr_T_packed, h_T_packed = _gemm.pack_transposed(R[:, :2 * H], H), _gemm.pack_transposed(R[:, 2 * H:], H)
    da_zr, da_h, d_reset_h = np.empty((H, 2 * H), dtype), np.empty((H, H), dtype), np.empty((H, H), dtype)
    for t in range(T):
        h_prev = _layout.unit_batch(cache.h[t], sample, H)
        gates = _layout.unit_batch(cache.gates[t], sample, H)
        step_backward_reset_before(np.eye(H, dtype=dtype), h_prev, h_prev, gates, zr_T_packed, h_T_packed, no_mask,
                                   da, da_zr, da_h, d_reset_h, jacobians[t])
    return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
