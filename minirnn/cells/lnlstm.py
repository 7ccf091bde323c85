"""The layer-normalised LSTM's engine: the jitted twin of :mod:`minirnn.textbook.lnlstm`, where its
equations are (Ba, Kiros & Hinton 2016).

Tested equal to the textbook on every option (tests/test_textbook.py). LN_x(x_t W_x) for all
steps is normalised in one pass before the loop, its backward in one pass after it; the step
normalises h_{t-1} W_h and c_t row by row in place, keeping v_hat and 1/std for backward, so
that nothing is recomputed. Its recurrent product is ``np.dot`` on W_h, not the packed kernel of
:mod:`._gemm` that the other cells use.
"""
from collections import namedtuple

import numpy as np

from .. import checks
from .._jit import jit
from . import _bptt, _hoisted, _layout, lstm
from ._math import sigmoid, tanh

STATES = ("h", "c")
OPTIONS = ()
EPSILON = 1e-3  # Keras' LayerNormalization default
NORMS = ("input", "recurrent", "cell")  # LN_x, LN_h, LN_c: each has a gamma and a beta

Cache = namedtuple("Cache", "x x_hat x_scale h c k gates r_hat r_scale c_hat c_scale kernel recurrent_kernel "
                            "gammas peepholes mask valid")
Cache.__doc__ = """Time-major x (T,B,I); x_hat (T,B,4H) and x_scale (T,B): LN_x's normalised rows and 1/std;
h, c (T+1,B,H); k = tanh(LN_c(c_t)) (T,B,H); gates [i|f|g|o] (T,B,4H); r_hat, r_scale: LN_h's;
c_hat, c_scale: LN_c's; gammas: (gamma_x, gamma_h, gamma_c); valid (T,B) or absent, as in :mod:`.lstm`."""


@jit
def normalise_rows(v, gamma, beta, v_hat, scale, out):
    """out = gamma * v_hat + beta for every row of v (N, n); v_hat and scale (N,) kept for backward.
    ``out`` may be ``v`` itself (each number is read before it is written)."""
    n = v.shape[1]
    ftype = v.dtype.type
    for row in range(v.shape[0]):
        mean = ftype(0)
        for j in range(n):
            mean += v[row, j]
        mean /= n
        var = ftype(0)
        for j in range(n):
            var += (v[row, j] - mean) * (v[row, j] - mean)
        s = ftype(1) / np.sqrt(var / n + ftype(EPSILON))
        scale[row] = s
        for j in range(n):
            v_hat[row, j] = (v[row, j] - mean) * s
            out[row, j] = gamma[j] * v_hat[row, j] + beta[j]


@jit
def normalise_rows_backward(dy, v_hat, scale, gamma, dv, dgamma, dbeta):
    """dv for every row (see the module docstring); adds to dgamma, dbeta. ``dv`` may be ``dy``."""
    n = dy.shape[1]
    ftype = dy.dtype.type
    for row in range(dy.shape[0]):
        mean_u = ftype(0)
        mean_u_hat = ftype(0)
        for j in range(n):
            u = dy[row, j] * gamma[j]
            mean_u += u
            mean_u_hat += u * v_hat[row, j]
            dgamma[j] += dy[row, j] * v_hat[row, j]
            dbeta[j] += dy[row, j]
        mean_u /= n
        mean_u_hat /= n
        for j in range(n):
            dv[row, j] = scale[row] * (dy[row, j] * gamma[j] - mean_u - v_hat[row, j] * mean_u_hat)


@jit(step=True)
def step_forward(gates_t, h_prev, c_prev, recurrent_kernel, gammas, betas, peepholes, r_hat, r_scale,
                 c_hat, c_scale, c_t, k_t, h_t, a_h):
    """One step. gates_t holds a_x + b on entry and [i|f|g|o] on exit; writes c_t, k_t, h_t and
    what backward needs of LN_h (r_hat, r_scale) and LN_c (c_hat, c_scale). ``a_h`` (B, 4H) is
    scratch space, allocated once per sequence."""
    B, H = h_t.shape
    ftype = h_t.dtype.type
    np.dot(h_prev, recurrent_kernel, a_h)                        # h_{t-1} W_h
    normalise_rows(a_h, gammas[1], betas[1], r_hat, r_scale, a_h)  # a_h = LN_h(h_{t-1} W_h), in place
    with_peepholes = _layout.present(peepholes)
    for b in range(B):
        z, a, c_p, c = gates_t[b], a_h[b], c_prev[b], c_t[b]
        for j in range(4 * H):
            z[j] += a[j]                                        # z = a_x + b + a_h
        i, f, g = z[:H], z[H:2 * H], z[2 * H:3 * H]
        if with_peepholes:
            for j in range(H):
                i[j] += peepholes[0, j] * c_p[j]
                f[j] += peepholes[1, j] * c_p[j]
        for j in range(H):
            i[j] = sigmoid(i[j], ftype)
            f[j] = sigmoid(f[j], ftype)
            g[j] = tanh(g[j], ftype)
            c[j] = f[j] * c_p[j] + i[j] * g[j]
    normalise_rows(c_t, gammas[2], betas[2], c_hat, c_scale, k_t)  # k_t holds LN_c(c_t) for now
    for b in range(B):
        o, c, k, h = gates_t[b, 3 * H:], c_t[b], k_t[b], h_t[b]
        if with_peepholes:
            for j in range(H):
                o[j] += peepholes[2, j] * c[j]
        for j in range(H):
            o[j] = sigmoid(o[j], ftype)
            k[j] = tanh(k[j], ftype)                            # k = tanh(LN_c(c_t))
            h[j] = o[j] * k[j]


@jit(step=True)
def step_backward(dh, dc, c_prev, gates_t, k_t, c_hat, c_scale, r_hat, r_scale, recurrent_kernel_T, gammas,
                  peepholes, dgammas, dbetas, dz_t, dr_t, dh_prev, dc_total_t, dc_ln):
    """One step back: writes dz_t (dL/dz), dr_t (dL/d(h_{t-1} W_h)), dh_prev, and turns dc into
    the c-path part of dL/dc_{t-1}; adds to LN_h's and LN_c's dgamma, dbeta. ``dc_ln`` (B, H) is
    scratch space, allocated once per sequence."""
    B, H = dh.shape
    one = dh.dtype.type(1)
    with_peepholes = _layout.present(peepholes)
    for b in range(B):
        o, k, dh_b, dz_o = gates_t[b, 3 * H:], k_t[b], dh[b], dz_t[b, 3 * H:]
        for j in range(H):
            dz_o[j] = dh_b[j] * k[j] * o[j] * (one - o[j])
            dc_ln[b, j] = dh_b[j] * o[j] * (one - k[j] * k[j])  # dL/d LN_c(c_t) for now
    normalise_rows_backward(dc_ln, c_hat, c_scale, gammas[2], dc_ln, dgammas[2], dbetas[2])  # its path into c_t
    for b in range(B):
        gate, dz, dc_b, c_p, dc_total = gates_t[b], dz_t[b], dc[b], c_prev[b], dc_total_t[b]
        i, f, g = gate[:H], gate[H:2 * H], gate[2 * H:3 * H]
        dz_i, dz_f, dz_g, dz_o = dz[:H], dz[H:2 * H], dz[2 * H:3 * H], dz[3 * H:]
        for j in range(H):
            dc_j = dc_b[j] + dc_ln[b, j]
            if with_peepholes:
                dc_j += dz_o[j] * peepholes[2, j]
            dz_i[j] = dc_j * g[j] * i[j] * (one - i[j])
            dz_f[j] = dc_j * c_p[j] * f[j] * (one - f[j])
            dz_g[j] = dc_j * i[j] * (one - g[j] * g[j])
            dc_total[j] = dc_j
            dc_b[j] = dc_j * f[j]                               # dc_{t-1}
            if with_peepholes:
                dc_b[j] += dz_i[j] * peepholes[0, j] + dz_f[j] * peepholes[1, j]
    normalise_rows_backward(dz_t, r_hat, r_scale, gammas[1], dr_t, dgammas[1], dbetas[1])
    np.dot(dr_t, recurrent_kernel_T, dh_prev)                   # dh_{t-1} = LN_h'(dz) W_h^T


@jit
def forward_sequence(gates, h0, c0, recurrent_kernel, gammas, betas, peepholes, mask, valid, h, c, k, r_hat,
                     r_scale, c_hat, c_scale):
    """Run step_forward over all T steps (``gates`` holds a_x + b on entry, [i|f|g|o] on exit)."""
    _layout.copy_into(h0, h[0])
    _layout.copy_into(c0, c[0])
    h_masked = np.empty_like(h0)
    a_h = np.empty_like(gates[0])
    for t in range(gates.shape[0]):
        h_in = _bptt.recurrent_input(h[t], mask, h_masked)
        step_forward(gates[t], h_in, c[t], recurrent_kernel, gammas, betas, peepholes, r_hat[t], r_scale[t],
                     c_hat[t], c_scale[t], c[t + 1], k[t], h[t + 1], a_h)
        _bptt.carry(t, valid, h[t], h[t + 1])
        _bptt.carry(t, valid, c[t], c[t + 1])


@jit
def backward_sequence(dh_seq, dh_last, dc_last, c, k, gates, c_hat, c_scale, r_hat, r_scale, recurrent_kernel_T,
                      gammas, peepholes, mask, valid, dgammas, dbetas, dh_record, dc_record, dz, dr):
    """Carry dh, dc back from step T to 1, filling dz and dr (T, B, 4H). Returns dh_0, dc_0."""
    T = gates.shape[0]
    dh = dh_last.copy()
    dc = dc_last.copy()
    dh_prev, dh_held = np.empty_like(dh), np.empty_like(dh)
    dc_total, dc_held = np.empty_like(dc), np.empty_like(dc)
    dc_ln = np.empty_like(dc)
    for t in range(T - 1, -1, -1):
        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)
        _bptt.hold(t, valid, dc, dc_held)
        step_backward(dh, dc, c[t], gates[t], k[t], c_hat[t], c_scale[t], r_hat[t], r_scale[t], recurrent_kernel_T,
                      gammas, peepholes, dgammas, dbetas, dz[t], dr[t], dh_prev, dc_total, dc_ln)
        _bptt.leave(t, dh_prev, mask, valid, dh_held)
        _bptt.carry(t, valid, dc_held, dc)
        _bptt.carry(t, valid, dc_held, dc_total)
        _bptt.record(t, dc_total, dc_record)
        dh, dh_prev = dh_prev, dh
    return dh, dc


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None):
    """Run the layer-normalised LSTM over a batch-major sequence: the contract of :mod:`minirnn.textbook`.

    weights: the LSTM's (:func:`minirnn.cells.lstm.forward`) and the three normalisations' gains and
    biases, ``input_layer_norm_gamma``/``_beta`` (4H), ``recurrent_layer_norm_gamma``/``_beta``
    (4H), ``cell_layer_norm_gamma``/``_beta`` (H); the rest as the LSTM's.
    """
    kernel, recurrent_kernel, bias = checks.check_weights(weights, ("kernel", "recurrent_kernel", "bias"))
    gammas = checks.check_weights(weights, [f"{norm}_layer_norm_gamma" for norm in NORMS])
    betas = checks.check_weights(weights, [f"{norm}_layer_norm_beta" for norm in NORMS])
    peepholes = lstm._peepholes(weights)
    h0, c0 = states or [None, None]
    checks.check_sequence(x, kernel, recurrent_kernel, bias, gates=4)
    B, T, _ = x.shape
    H = recurrent_kernel.shape[0]
    for name, values in (("gammas", gammas), ("betas", betas)):
        if len(values) != 3:
            raise ValueError(f"{name} must hold three vectors (input, recurrent, cell), got {len(values)}")
        for norm, v, n in zip(NORMS, values, (4 * H, 4 * H, H)):
            checks.check_array(f"{name} ({norm})", v, 1, x.dtype, (n,))
    h0 = checks.check_state("h0", h0, B, H, x.dtype)
    c0 = checks.check_state("c0", c0, B, H, x.dtype)
    if peepholes is None:
        peepholes = _layout.absent((H,), x.dtype)
    else:
        checks.check_array("peepholes", peepholes, 2, x.dtype, (3, H))
    gammas = tuple(np.ascontiguousarray(g) for g in gammas)
    betas = tuple(np.ascontiguousarray(b) for b in betas)
    x_tm = _layout.time_major(x)
    mask = _bptt.dropout_mask(recurrent_mask, B, H, x.dtype)
    valid = _bptt.valid_steps(sequence_mask, B, T)
    projection = _layout.flat(x_tm) @ kernel                    # x_t W_x, all steps
    x_hat, x_scale = np.empty_like(projection), np.empty(T * B, dtype=x.dtype)
    gates = np.empty_like(projection)
    normalise_rows(projection, gammas[0], betas[0], x_hat, x_scale, gates)
    gates += bias                                               # a_x + b
    gates = gates.reshape(T, B, 4 * H)
    buffer = lambda *shape: np.empty(shape, dtype=x.dtype)  # noqa: E731
    h, c, k = buffer(T + 1, B, H), buffer(T + 1, B, H), buffer(T, B, H)
    r_hat, r_scale, c_hat, c_scale = buffer(T, B, 4 * H), buffer(T, B), buffer(T, B, H), buffer(T, B)
    forward_sequence(gates, h0, c0, np.ascontiguousarray(recurrent_kernel), gammas, betas, peepholes, mask, valid, h, c,
                     k, r_hat, r_scale, c_hat, c_scale)
    cache = Cache(x_tm, x_hat, x_scale, h, c, k, gates, r_hat, r_scale, c_hat, c_scale, kernel, recurrent_kernel,
                  gammas, peepholes, mask, valid)
    return _layout.batch_major(h[1:]), cache


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Backpropagate through time; as :func:`minirnn.cells.lstm.backward`, and the gradients of the
    three normalisations' gains and biases by their names."""
    h, c = cache.h, cache.c
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    dh_last, dc_last = dstates or [None, None]
    dh_seq_tm, dh_last = _bptt.output_grads(dh_seq, dh_last, h)
    dc_last = checks.check_state("dc_last", dc_last, B, H, h.dtype)
    dh_record = _bptt.state_grad_record(h, record_state_grads)
    dc_record = _bptt.state_grad_record(h, record_state_grads)
    dgammas = [np.zeros_like(g) for g in cache.gammas]
    dbetas = [np.zeros_like(g) for g in cache.gammas]
    dz, dr = np.empty_like(cache.gates), np.empty_like(cache.gates)
    dh0, dc0 = backward_sequence(dh_seq_tm, dh_last, dc_last, c, cache.k, cache.gates, cache.c_hat, cache.c_scale,
                                 cache.r_hat, cache.r_scale, np.ascontiguousarray(cache.recurrent_kernel.T),
                                 cache.gammas, cache.peepholes, cache.mask, cache.valid, tuple(dgammas), tuple(dbetas),
                                 dh_record, dc_record, dz, dr)
    dz_flat = _layout.flat(dz)
    dprojection = np.empty_like(dz_flat)                        # LN_x'(dZ): dL/d(x_t W_x)
    normalise_rows_backward(dz_flat, cache.x_hat, cache.x_scale, cache.gammas[0], dprojection, dgammas[0],
                            dbetas[0])
    dkernel = _layout.flat(cache.x).T @ dprojection
    drecurrent = _layout.flat(_hoisted.masked_states(h[:-1], cache.mask)).T @ _layout.flat(dr)
    dx = _layout.batch_major((dprojection @ cache.kernel.T).reshape(T, B, -1)) if input_grad else None
    grads = {"x": dx, "h0": dh0, "c0": dc0, "kernel": dkernel, "recurrent_kernel": drecurrent,
             "bias": _hoisted.column_sums(dz_flat)}
    for norm, dgamma, dbeta in zip(NORMS, dgammas, dbetas):
        grads[f"{norm}_layer_norm_gamma"], grads[f"{norm}_layer_norm_beta"] = dgamma, dbeta
    if _layout.present(cache.peepholes):
        grads.update(lstm.peephole_grads(dz, c))
    if record_state_grads:
        grads["dh"], grads["dc"] = _layout.batch_major(dh_record), _layout.batch_major(dc_record)
    return grads


def final_states(cache):
    """[h_T, c_T] (B, H) each."""
    return [cache.h[-1], cache.c[-1]]


def step_jacobians(cache, sample=0):
    """J_t = d(h_t, c_t) / d(h_{t-1}, c_{t-1}) for every step of sequence ``sample``: (T, 2H, 2H),
    from :func:`step_backward` fed 2H unit gradients (first on h_t, then on c_t), as in :mod:`.lstm`."""
    _bptt.check_no_dropout(cache)
    T, H, dtype = cache.gates.shape[0], cache.h.shape[2], cache.h.dtype
    recurrent_kernel_T = np.ascontiguousarray(cache.recurrent_kernel.T)
    eye, zeros = np.eye(H, dtype=dtype), np.zeros((H, H), dtype=dtype)
    jacobians = np.empty((T, 2 * H, 2 * H), dtype=dtype)
    dz, dr = np.empty((2 * H, 4 * H), dtype), np.empty((2 * H, 4 * H), dtype)
    dh_prev, dc_total, dc_ln = (np.empty((2 * H, H), dtype) for _ in range(3))
    # what the step adds the gains' and biases' gradients to (unused here): two tuples, since the
    # step's arrays may not overlap where it writes (jit(step=True))
    dgammas, dbetas = (tuple(np.zeros_like(g) for g in cache.gammas) for _ in range(2))
    for t in range(T):
        dh, dc = np.concatenate([eye, zeros]), np.concatenate([zeros, eye])
        rows = [_layout.unit_batch(a[t], sample, 2 * H) for a in (cache.c, cache.gates, cache.k, cache.c_hat)]
        scales = [np.full(2 * H, a[t, sample], dtype=dtype) for a in (cache.c_scale, cache.r_scale)]
        r_hat = _layout.unit_batch(cache.r_hat[t], sample, 2 * H)
        step_backward(dh, dc, rows[0], rows[1], rows[2], rows[3], scales[0], r_hat, scales[1], recurrent_kernel_T,
                      cache.gammas, cache.peepholes, dgammas, dbetas, dz, dr, dh_prev, dc_total, dc_ln)
        jacobians[t] = np.concatenate([dh_prev, dc], axis=1)  # dc now holds d(h_t, c_t)/dc_{t-1}
    return _bptt.identity_at_masked_steps(jacobians, cache.valid, sample)
