"""Independently recurrent cell: IndRNN (Li, Li, Cook, Zhu & Gao 2018).

Forward, one time step, x_t (B, I), h_{t-1} (B, H)::

    z_t = x_t W_x + b + u * h_{t-1}        W_x = kernel (I, H); u = recurrent_kernel (H,),
                                           one recurrent weight per unit
    h_t = act(z_t)                         act in relu (the paper's), tanh, linear

Each unit sees only its own past: the recurrent matrix is diag(u), and the
time loop has no matrix product at all. The gradient is then simple enough
to read off: dh_t/dh_{t-1} = diag(u * act'(z_t)), and from step t back to
step k, dh_t/dh_k = diag(prod_{s=k+1..t} u * act'(z_s)). With relu (act' is
0 or 1) a unit that stays active passes back u^(t-k): it explodes for |u| > 1
and fades for |u| < 1 at a rate set by u alone. The paper therefore bounds
|u| (for a relu IndRNN over T steps, |u| <= 2^(1/T) keeps u^T <= 2): the
layer's ``recurrent_clip``.

Backward through time, dh_t the loss gradient arriving at h_t (from the
output at t and from step t+1)::

    dz_t     = dh_t * act'(z_t)            act' read off h_t: [h_t > 0] for relu,
                                           1 - h_t^2 for tanh, 1 for linear
    dh_{t-1} = dz_t * u

and after the loop, over all steps::

    dW_x = sum_t x_t^T dz_t    du = sum_t,batch dz_t * h_{t-1}    db = sum_t,batch dz_t
    dx_t = dz_t W_x^T

Masked steps (Keras' sequence mask, False at padding): h_t = h_{t-1} in those sequences; backward,
dh_{t-1} = dh_t there and dz_t = 0.

Recurrent dropout: with a mask m (B, H) drawn once per batch, u * h_{t-1}
becomes u * (m * h_{t-1}); backward, dh_{t-1} = dz_t * u * m and du sums
dz_t * m * h_{t-1}.
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _common
from ._math import tanh

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
    _common.copy_into(h0, h[0])
    h_masked = np.empty_like(h0)
    for t in range(xp.shape[0]):
        h_in = _common.recurrent_input(h[t], mask, h_masked)
        step_forward(xp[t], h_in, recurrent_kernel, activation, h[t + 1])
        if _common.present(valid):
            _common.carry_masked_rows(valid[t], h[t], h[t + 1])


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
        if _common.present(dh_seq):
            dh += dh_seq[t]
        if _common.present(dh_record):
            _common.copy_into(dh, dh_record[t])
        if _common.present(valid):
            _common.hold_masked_rows(valid[t], dh, dh_held)
        step_backward(dh, h[t + 1], recurrent_kernel, activation, dz[t], dh_prev)
        if _common.present(mask):
            _common.multiply_into(dh_prev, mask, dh_prev)
        if _common.present(valid):
            _common.carry_masked_rows(valid[t], dh_held, dh_prev)
        dh, dh_prev = dh_prev, dh
    return dh


def forward(x, kernel, recurrent_kernel, bias, h0=None, activation="relu", recurrent_mask=None, sequence_mask=None):
    """Run the cell over a batch-major sequence.

    Parameters
    ----------
    x : ndarray (B, T, I), float32 or float64
    kernel : (I, H);  recurrent_kernel : (H,), u;  bias : (H,)
    h0 : (B, H) or None for zeros
    activation : "relu", "tanh" or "linear"
    recurrent_mask : (B, H) recurrent-dropout mask, or None
    sequence_mask : (B, T) bool, False at masked (padding) steps, or None

    Returns
    -------
    h_seq : (B, T, H), every h_t: a view of ``cache.h``, which backward reads (copy before writing to it)
    cache : :class:`Cache` for :func:`backward`; ``cache.h[-1]`` is h_T
    """
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=1, diagonal=True)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    code = checks.check_choice("activation", activation, ACTIVATIONS)
    h0 = checks.check_state("h0", h0, B, H, x.dtype)
    x_tm = _common.time_major(x)
    xp = _common.input_projection(x_tm, kernel, bias)
    mask = _common.dropout_mask(recurrent_mask, B, H, x.dtype)
    valid = _common.valid_steps(sequence_mask, B, T)
    h = _common.sequence_buffer(T + 1, B, H, x.dtype)
    forward_sequence(xp, h0, np.ascontiguousarray(recurrent_kernel), code, mask, valid, h)
    return _common.batch_major(h[1:]), Cache(x_tm, h, kernel, recurrent_kernel, code, mask, valid)


def backward(cache, dh_seq=None, dh_last=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time.

    Parameters
    ----------
    cache : from :func:`forward`
    dh_seq : (B, T, H) loss gradient w.r.t. every h_t, or None (many-to-one)
    dh_last : (B, H) loss gradient w.r.t. h_T, or None
    input_grad : compute the gradient w.r.t. x (False: ``x`` in the result is None)
    record_state_grads : also return ``dh`` (B, T, H), dL/dh_t at every step

    Returns
    -------
    dict with ``x`` (B, T, I), ``h0`` (B, H), ``kernel``, ``recurrent_kernel`` (H,), ``bias``
    """
    x_tm, h = cache.x, cache.h
    dh_seq_tm, dh_last = _common.output_grads(dh_seq, dh_last, h)
    dh_record = _common.state_grad_record(h, record_state_grads)
    dz = np.empty_like(h[1:])
    u = np.ascontiguousarray(cache.recurrent_kernel)
    dh0 = backward_sequence(dh_seq_tm, dh_last, h, u, cache.activation, cache.mask, cache.valid, dh_record, dz)
    dkernel, dbias, dx = _common.weight_and_input_grads(x_tm, dz, cache.kernel, input_grad)
    drecurrent = (dz * _common.masked_states(h[:-1], cache.mask)).sum(axis=(0, 1))  # du = sum dz * h_{t-1}
    grads = {"x": dx, "h0": dh0, "kernel": dkernel, "recurrent_kernel": drecurrent, "bias": dbias}
    if record_state_grads:
        grads["dh"] = _common.batch_major(dh_record)
    return grads


def step_jacobians(cache, sample=0):
    """J_t = dh_t / dh_{t-1} for every step of sequence ``sample``: (T, H, H), diagonal, rows
    indexing h_t; :func:`step_backward` fed the identity returns it, as for the Elman cell."""
    _common.check_no_dropout(cache)
    T, H = cache.h.shape[0] - 1, cache.h.shape[2]
    u = np.ascontiguousarray(cache.recurrent_kernel)
    jacobians = np.empty((T, H, H), dtype=cache.h.dtype)
    dz = np.empty((H, H), dtype=cache.h.dtype)
    for t in range(T):
        step_backward(np.eye(H, dtype=cache.h.dtype), _common.unit_batch(cache.h[t + 1], sample, H), u,
                      cache.activation, dz, jacobians[t])
    return _common.identity_at_masked_steps(jacobians, cache.valid, sample)
