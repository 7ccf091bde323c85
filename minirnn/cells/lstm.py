"""The LSTM's engine: the jitted twin of :mod:`minirnn.textbook.lstm`, where its equations are.

Tested equal to the textbook on every option (tests/test_textbook.py). Shaped for the CPU:

- x_t W_x + b for all steps is one product before the loop, the weight gradients one each after
  it (:mod:`._hoisted`); the loop carries dh and dc back and stores dz per step.
- h_{t-1} W_h inside the loop runs on W_h packed once per sequence (:mod:`._gemm`), accumulated
  straight into the gate buffer, which holds the pre-activations on entry and the gate values
  on exit: one buffer, not two, half the memory traffic.
- The forward step splits its seven equations into passes over a row: each nonlinearity a short
  loop of its own (i and f side by side, one loop over 2H) is what LLVM vectorises; one fused
  loop over every gate is not. The peephole terms are passes of their own, taken or skipped as a
  whole, because a test inside a row's loop stops vectorisation.
- The backward step has no exp: its equations share one loop, one pass over each row.
- Dropout and masked steps around the step as in every cell (:mod:`._bptt`).
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _bptt, _gemm, _hoisted, _layout
from ._math import sigmoid, tanh

Cache = namedtuple("Cache", "x h c tanh_c gates kernel recurrent_kernel peepholes mask valid")
Cache.__doc__ = """Time-major x (T,B,I), h and c (T+1,B,H), tanh(c_t) (T,B,H), gates [i|f|g|o] (T,B,4H);
peepholes (3,H), or absent (0,H) without them; valid (T,B), False at masked steps, or absent (0,B)."""

STATES = ("h", "c")
OPTIONS = ()
PEEPHOLE_NAMES = ("input_gate_peephole_weights", "forget_gate_peephole_weights",
                  "output_gate_peephole_weights")


@jit(step=True)
def step_forward(gates_t, h_prev, c_prev, recurrent_kernel_packed, peepholes, c_t, tanh_c_t, h_t):
    """One step. gates_t holds x_t W_x + b on entry and [i|f|g|o] on exit; writes c_t, tanh(c_t), h_t.

    ``recurrent_kernel_packed`` is ``_gemm.pack(recurrent_kernel, B)``;
    ``peepholes`` is (3, H) with rows p_i, p_f, p_o, or absent (0, H) for none.
    Each nonlinearity is its own short loop over one row (sharing it at most
    with the equation that uses it next; i and f, side by side in the row, are
    one loop over 2H): that is what lets LLVM vectorise them; one fused loop
    over all gates does not. The peephole terms are passes
    of their own over the rows, taken or skipped as a whole: a test inside the
    loops over a row stops LLVM vectorising them.
    """
    _gemm.matmul(h_prev, recurrent_kernel_packed, gates_t, _gemm.ACCUMULATE)  # z = x_t W_x + b + h_{t-1} W_h
    B, H = h_t.shape
    ftype = h_t.dtype.type
    with_peepholes = _layout.present(peepholes)
    if with_peepholes:  # the input and forget gates look at c_{t-1}
        p_i, p_f = peepholes[0], peepholes[1]
        for b in range(B):
            # Each gate as a view of its own: loops over range(H) from 0 let Numba drop
            # its negative-index check, which would otherwise block vectorisation.
            i, f, c_p = gates_t[b, :H], gates_t[b, H:2 * H], c_prev[b]
            for j in range(H):
                i[j] += p_i[j] * c_p[j]
                f[j] += p_f[j] * c_p[j]
    for b in range(B):
        z, c_p, c = gates_t[b], c_prev[b], c_t[b]
        i_f, i, f, g = z[:2 * H], z[:H], z[H:2 * H], z[2 * H:3 * H]
        for j in range(2 * H):  # i and f side by side: one loop
            i_f[j] = sigmoid(i_f[j], ftype)
        for j in range(H):
            g[j] = tanh(g[j], ftype)
            c[j] = f[j] * c_p[j] + i[j] * g[j]
    if with_peepholes:  # the output gate looks at c_t
        p_o = peepholes[2]
        for b in range(B):
            o, c = gates_t[b, 3 * H:], c_t[b]
            for j in range(H):
                o[j] += p_o[j] * c[j]
    for b in range(B):
        o, c, tanh_c, h = gates_t[b, 3 * H:], c_t[b], tanh_c_t[b], h_t[b]
        for j in range(H):
            o[j] = sigmoid(o[j], ftype)
        for j in range(H):
            tanh_c[j] = tanh(c[j], ftype)
            h[j] = o[j] * tanh_c[j]


@jit(step=True)
def step_backward(dh, dc, c_prev, gates_t, tanh_c_t, recurrent_kernel_T_packed, peepholes, dz_t, dh_prev,
                  dc_total_t):
    """One step back; writes dz_t, dh_prev, and turns dc into the c-path part of dL/dc_{t-1} in place.

    ``recurrent_kernel_T_packed`` is ``_gemm.pack_transposed(recurrent_kernel, B)``. On entry
    dc holds what step t+1 sent back along the cell state; dc_total_t receives
    the total dL/dc_t (that plus the path through h_t). ``peepholes`` as in
    :func:`step_forward`. Unlike the forward step's,
    these equations share one loop: with no exp in it LLVM vectorises it whole,
    and one pass over the rows reads each array once instead of three times.
    The peephole terms are passes of their own, before and after it, as in
    :func:`step_forward`.
    """
    B, H = dh.shape
    one = dh.dtype.type(1)
    with_peepholes = _layout.present(peepholes)
    if with_peepholes:  # dc += dz_o * p_o, with dz_o as the loop below computes it
        p_o = peepholes[2]
        for b in range(B):
            o, dh_b, dc_b, tanh_c = gates_t[b, 3 * H:], dh[b], dc[b], tanh_c_t[b]
            for j in range(H):
                dc_b[j] += dh_b[j] * tanh_c[j] * o[j] * (one - o[j]) * p_o[j]
    for b in range(B):
        gate, dz, dh_b, dc_b, c_p, tanh_c = gates_t[b], dz_t[b], dh[b], dc[b], c_prev[b], tanh_c_t[b]
        i, f, g, o = gate[:H], gate[H:2 * H], gate[2 * H:3 * H], gate[3 * H:]
        dz_i, dz_f, dz_g, dz_o = dz[:H], dz[H:2 * H], dz[2 * H:3 * H], dz[3 * H:]
        dc_total = dc_total_t[b]
        for j in range(H):
            dz_o[j] = dh_b[j] * tanh_c[j] * o[j] * (one - o[j])
            dc_j = dc_b[j] + dh_b[j] * o[j] * (one - tanh_c[j] * tanh_c[j])
            dz_i[j] = dc_j * g[j] * i[j] * (one - i[j])
            dz_f[j] = dc_j * c_p[j] * f[j] * (one - f[j])
            dz_g[j] = dc_j * i[j] * (one - g[j] * g[j])
            dc_total[j] = dc_j
            dc_b[j] = dc_j * f[j]  # dc_{t-1}, without peepholes
    if with_peepholes:  # dc_{t-1} += dz_i * p_i + dz_f * p_f
        p_i, p_f = peepholes[0], peepholes[1]
        for b in range(B):
            dz_i, dz_f, dc_b = dz_t[b, :H], dz_t[b, H:2 * H], dc[b]
            for j in range(H):
                dc_b[j] += dz_i[j] * p_i[j] + dz_f[j] * p_f[j]
    _gemm.matmul(dz_t, recurrent_kernel_T_packed, dh_prev, _gemm.OVERWRITE)  # dh_{t-1} = dz W_h^T


@jit
def forward_sequence(gates, h0, c0, recurrent_kernel, peepholes, mask, valid, h, c, tanh_c):
    """Run step_forward over all T steps, filling h, c (T+1, B, H) and tanh_c (T, B, H).

    ``gates`` (T, B, 4H) holds x_t W_x + b on entry and the gate activations
    [i|f|g|o] on exit: one buffer instead of two halves the memory traffic.
    ``mask`` (B, H) is the recurrent-dropout mask, or (0, H) for none; ``valid`` (T, B) is
    False at masked steps, or (0, B) for none.
    """
    T, B = gates.shape[0], gates.shape[1]
    recurrent_kernel_packed = _gemm.pack(recurrent_kernel, B)
    _layout.copy_into(h0, h[0])
    _layout.copy_into(c0, c[0])
    h_masked = np.empty_like(h0)
    for t in range(T):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward(gates[t], h_in, c[t], recurrent_kernel_packed, peepholes, c[t + 1], tanh_c[t], h[t + 1])
        _bptt.carry(t, valid, h[t], h[t + 1])
        _bptt.carry(t, valid, c[t], c[t + 1])


@jit
def backward_sequence(dh_seq, dh_last, dc_last, c, tanh_c, gates, recurrent_kernel, peepholes, mask, valid,
                      dh_record, dc_record, dz):
    """Carry dh, dc back from step T to 1, filling dz (T, B, 4H). Returns dh_0, dc_0.

    ``dh_seq`` is (T, B, H), or (0, B, H) when only the last step has a loss.
    ``dh_record`` and ``dc_record`` (T, B, H) receive the total dL/dh_t and dL/dc_t
    at every step, or are (0, B, H) to skip that.
    """
    T, B = gates.shape[0], gates.shape[1]
    recurrent_kernel_T_packed = _gemm.pack_transposed(recurrent_kernel, B)
    dh = dh_last.copy()
    dc = dc_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    dc_total, dc_held = np.empty_like(dc), np.empty_like(dc)
    for t in range(T - 1, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        _bptt.hold(t, valid, dc, dc_held)
        step_backward(dh, dc, c[t], gates[t], tanh_c[t], recurrent_kernel_T_packed, peepholes, dz[t], dh_prev,
                      dc_total)
        _bptt.leave(t, dh_prev, mask, valid, dh_held)
        _bptt.carry(t, valid, dc_held, dc)
        _bptt.carry(t, valid, dc_held, dc_total)
        _bptt.record(t, dc_total, dc_record)
        dh, dh_prev = dh_prev, dh
    return dh, dc


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None):
    """Run the LSTM over a batch-major sequence: the contract of :mod:`minirnn.textbook`.

    x (B, T, I) float32 or float64; weights ``kernel`` (I, 4H), ``recurrent_kernel`` (H, 4H),
    ``bias`` (4H,), gate order i, f, c, o, and with peepholes the three of PEEPHOLE_NAMES (H,);
    states [h0, c0] (each None for zeros) or None. Returns h_seq (B, T, H), every h_t (a view of
    ``cache.h``, which backward reads: copy it before writing to it), and the :class:`Cache`.
    """
    kernel, recurrent_kernel, bias = checks.check_weights(weights, ("kernel", "recurrent_kernel", "bias"))
    peepholes = _peepholes(weights)
    h0, c0 = states or [None, None]
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=4)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    h0 = checks.check_state("h0", h0, B, H, x.dtype)
    c0 = checks.check_state("c0", c0, B, H, x.dtype)
    if peepholes is None:
        peepholes = _layout.absent((H,), x.dtype)
    else:
        checks.check_array("peepholes", peepholes, 2, x.dtype, (3, H))
    x_tm = _layout.time_major(x)
    mask = _bptt.dropout_mask(recurrent_mask, B, H, x.dtype)
    valid = _bptt.valid_steps(sequence_mask, B, T)
    gates = _hoisted.input_projection(x_tm, kernel, bias)
    h, c = _layout.sequence_buffer(T + 1, B, H, x.dtype), _layout.sequence_buffer(T + 1, B, H, x.dtype)
    tanh_c = _layout.sequence_buffer(T, B, H, x.dtype)
    forward_sequence(gates, h0, c0, recurrent_kernel, peepholes, mask, valid, h, c, tanh_c)
    cache = Cache(x_tm, h, c, tanh_c, gates, kernel, recurrent_kernel, peepholes, mask, valid)
    return _layout.batch_major(h[1:]), cache


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time: the contract of :mod:`minirnn.textbook`.

    dh_seq (B, T, H), the loss gradient at every h_t, or None; dstates [dh_T, dc_T] (each None
    for zeros) or None. Returns a dict: ``x`` (None without ``input_grad``), ``h0``, ``c0``,
    ``kernel``, ``recurrent_kernel``, ``bias`` and the peepholes' by their names; with
    ``record_state_grads`` also ``dh`` and ``dc`` (B, T, H), dL/dh_t and dL/dc_t.
    """
    h, c = cache.h, cache.c
    dh_last, dc_last = dstates or [None, None]
    dh_seq_tm, dh_last = _bptt.output_grads(dh_seq, dh_last, h)
    dc_last = checks.check_state("dc_last", dc_last, h.shape[1], h.shape[2], h.dtype)
    dh_record = _bptt.state_grad_record(h, record_state_grads)
    dc_record = _bptt.state_grad_record(h, record_state_grads)
    dz = np.empty_like(cache.gates)
    dh0, dc0 = backward_sequence(dh_seq_tm, dh_last, dc_last, c, cache.tanh_c, cache.gates, cache.recurrent_kernel,
                                 cache.peepholes, cache.mask, cache.valid, dh_record, dc_record, dz)
    dkernel, dbias, dx = _hoisted.weight_and_input_grads(cache.x, dz, cache.kernel, input_grad)
    drecurrent = _layout.flat(_hoisted.masked_states(h[:-1], cache.mask)).T @ _layout.flat(dz)
    grads = {"x": dx, "h0": dh0, "c0": dc0, "kernel": dkernel, "recurrent_kernel": drecurrent, "bias": dbias}
    if _layout.present(cache.peepholes):
        grads.update(peephole_grads(dz, c))
    if record_state_grads:
        grads["dh"], grads["dc"] = _layout.batch_major(dh_record), _layout.batch_major(dc_record)
    return grads


def peephole_grads(dz, c):
    """dp_i = sum dz_i c_{t-1}, dp_f = sum dz_f c_{t-1}, dp_o = sum dz_o c_t, by their weights' names."""
    H = c.shape[2]
    dz_i, dz_f, dz_o = dz[..., :H], dz[..., H:2 * H], dz[..., 3 * H:]
    return dict(zip(PEEPHOLE_NAMES, [(dz_i * c[:-1]).sum(axis=(0, 1)), (dz_f * c[:-1]).sum(axis=(0, 1)),
                                     (dz_o * c[1:]).sum(axis=(0, 1))]))


def _peepholes(weights):
    """The peephole weights as the step functions take them, (3, H) rows p_i, p_f, p_o; None without."""
    if PEEPHOLE_NAMES[0] not in weights:
        return None
    return np.stack([weights[name] for name in PEEPHOLE_NAMES])


def final_states(cache):
    """[h_T, c_T] (B, H) each."""
    return [cache.h[-1], cache.c[-1]]


def step_jacobians(cache, sample=0):
    """J_t = d(h_t, c_t) / d(h_{t-1}, c_{t-1}) for every step of sequence ``sample``: (T, 2H, 2H),
    rows indexing (h_t, c_t). :func:`step_backward` fed 2H unit gradients, first on h_t, then on
    c_t, with the step's activations in every row, returns them carried back: J_t's rows."""
    _bptt.check_no_dropout(cache)
    T, H, dtype = cache.gates.shape[0], cache.h.shape[2], cache.h.dtype
    recurrent_kernel_T_packed = _gemm.pack_transposed(cache.recurrent_kernel, 2 * H)
    eye, zeros = np.eye(H, dtype=dtype), np.zeros((H, H), dtype=dtype)
    jacobians = np.empty((T, 2 * H, 2 * H), dtype=dtype)
    dz, dh_prev, dc_total = np.empty((2 * H, 4 * H), dtype), np.empty((2 * H, H), dtype), np.empty((2 * H, H), dtype)
    for t in range(T):
        dh, dc = np.concatenate([eye, zeros]), np.concatenate([zeros, eye])
        c_prev, gates, tanh_c = (_layout.unit_batch(a[t], sample, 2 * H) for a in (cache.c, cache.gates, cache.tanh_c))
        step_backward(dh, dc, c_prev, gates, tanh_c, recurrent_kernel_T_packed, cache.peepholes, dz, dh_prev, dc_total)
        jacobians[t] = np.concatenate([dh_prev, dc], axis=1)  # dc now holds d(h_t, c_t)/dc_{t-1}
    return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
