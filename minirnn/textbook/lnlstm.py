"""The layer-normalised LSTM, the textbook: Ba, Kiros & Hinton (2016), in plain NumPy.

The LSTM of :mod:`minirnn.textbook.lstm` (Keras' gate order i, f, c, o; optional peepholes p;
recurrent-dropout mask m) with its input and recurrent pre-activations and the cell state that
h_t reads normalised over the units. Layer normalisation of each row v (n numbers), with a gain
gamma and a bias beta (n each), eps = 1e-3 as Keras' LayerNormalization::

    LN(v) = gamma * v_hat + beta         v_hat = (v - mean(v)) * s    s = 1 / sqrt(var(v) + eps)

Forward, one step, x_t (B, I), h_{t-1}, c_{t-1} (B, H)::

    z   = LN_x(x_t W_x) + LN_h((m * h_{t-1}) W_h) + b      over the 4H gate columns each
    i   = sigma(z_i + p_i * c_{t-1})
    f   = sigma(z_f + p_f * c_{t-1})
    g   = tanh(z_g)
    c_t = f * c_{t-1} + i * g                              c_t itself is not normalised
    o   = sigma(z_o + p_o * c_t)
    k   = tanh(LN_c(c_t))                                  over the H units
    h_t = o * k

Backward of LN for an upstream gradient dy (one row), with u = dy * gamma::

    dv      = s * (u - mean(u) - v_hat * mean(u * v_hat))
    dgamma += sum dy * v_hat    dbeta += sum dy

Backward, one step: dh = dL/dh_t, dc = dL/dc_t as step t+1 sent it back::

    dz_o     = dh * k * o (1 - o)
    dc       = dc + LN_c'(dh * o * (1 - k^2)) + dz_o * p_o      all of dL/dc_t
    dz_i     = dc * g * i (1 - i);  dz_f = dc * c_{t-1} * f (1 - f);  dz_g = dc * i (1 - g^2)
    dc_{t-1} = dc * f + dz_i * p_i + dz_f * p_f
    dh_{t-1} = (LN_h'(dz) W_h^T) * m
    dx_t     = LN_x'(dz) W_x^T
    dW_x += x_t^T LN_x'(dz)    dW_h += (m * h_{t-1})^T LN_h'(dz)    db += sum dz
    and the peepholes as in the LSTM; the three gains and biases by LN's backward.

A masked step (Keras' sequence mask, False at padding) keeps the states as they were; backward
it passes dh and dc on untouched and sends nothing into its gates, weights or input.

Shapes: x (B, T, I) batch-major; states (B, H); weights by their Keras names. The functions,
the same in every cell of :mod:`minirnn.textbook` and :mod:`minirnn.cells` (see the package):
``forward``, ``backward``, ``final_states``, ``step_jacobians``.
"""
import numpy as np

STATES = ("h", "c")
OPTIONS = ()
PEEPHOLES = ("input_gate_peephole_weights", "forget_gate_peephole_weights", "output_gate_peephole_weights")
EPSILON = 1e-3


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow


def layer_norm(v, gamma, beta):
    """LN(v) over the last axis, and what its backward needs: (v_hat, s)."""
    v_hat = v - v.mean(axis=-1, keepdims=True)
    s = 1 / np.sqrt((v_hat ** 2).mean(axis=-1, keepdims=True) + EPSILON)
    v_hat = v_hat * s
    return gamma * v_hat + beta, (v_hat, s, gamma)


def layer_norm_backward(dy, saved):
    """dL/dv, dgamma, dbeta of LN from dL/dLN(v)."""
    v_hat, s, gamma = saved
    u = dy * gamma
    dv = s * (u - u.mean(axis=-1, keepdims=True) - v_hat * (u * v_hat).mean(axis=-1, keepdims=True))
    return dv, (dy * v_hat).sum(axis=0), dy.sum(axis=0)


def norm(weights, name):
    return weights[f"{name}_layer_norm_gamma"], weights[f"{name}_layer_norm_beta"]


def step_forward(x_t, h_prev, c_prev, weights, m=1):
    """One step: returns h_t, c_t (B, H) and what :func:`step_backward` needs."""
    p_i, p_f, p_o = (weights.get(name, 0) for name in PEEPHOLES)
    H = h_prev.shape[1]
    a_x, ln_x = layer_norm(x_t @ weights["kernel"], *norm(weights, "input"))
    a_h, ln_h = layer_norm((m * h_prev) @ weights["recurrent_kernel"], *norm(weights, "recurrent"))
    z = a_x + a_h + weights["bias"]
    i = sigmoid(z[:, :H] + p_i * c_prev)
    f = sigmoid(z[:, H:2 * H] + p_f * c_prev)
    g = np.tanh(z[:, 2 * H:3 * H])
    c_t = f * c_prev + i * g
    o = sigmoid(z[:, 3 * H:] + p_o * c_t)
    a_c, ln_c = layer_norm(c_t, *norm(weights, "cell"))
    k = np.tanh(a_c)
    h_t = o * k
    return h_t, c_t, (x_t, h_prev, c_prev, i, f, g, c_t, o, k, ln_x, ln_h, ln_c, m)


def step_backward(dh, dc, step, weights):
    """One step back: returns dx_t, dh_{t-1}, dc_{t-1}, the weights' gradients and dL/dc_t."""
    x_t, h_prev, c_prev, i, f, g, c_t, o, k, ln_x, ln_h, ln_c, m = step
    p_i, p_f, p_o = (weights.get(name, 0) for name in PEEPHOLES)
    dz_o = dh * k * o * (1 - o)
    da_c, dgamma_c, dbeta_c = layer_norm_backward(dh * o * (1 - k ** 2), ln_c)
    dc = dc + da_c + dz_o * p_o
    dz_i = dc * g * i * (1 - i)
    dz_f = dc * c_prev * f * (1 - f)
    dz_g = dc * i * (1 - g ** 2)
    dc_prev = dc * f + dz_i * p_i + dz_f * p_f
    dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=1)
    dr, dgamma_h, dbeta_h = layer_norm_backward(dz, ln_h)
    dq, dgamma_x, dbeta_x = layer_norm_backward(dz, ln_x)
    dh_prev = (dr @ weights["recurrent_kernel"].T) * m
    dx_t = dq @ weights["kernel"].T
    grads = {"kernel": x_t.T @ dq, "recurrent_kernel": (m * h_prev).T @ dr, "bias": dz.sum(axis=0),
             "input_layer_norm_gamma": dgamma_x, "input_layer_norm_beta": dbeta_x,
             "recurrent_layer_norm_gamma": dgamma_h, "recurrent_layer_norm_beta": dbeta_h,
             "cell_layer_norm_gamma": dgamma_c, "cell_layer_norm_beta": dbeta_c}
    if PEEPHOLES[0] in weights:
        grads.update(zip(PEEPHOLES, [(dz_i * c_prev).sum(axis=0), (dz_f * c_prev).sum(axis=0),
                                     (dz_o * c_t).sum(axis=0)]))
    return dx_t, dh_prev, dc_prev, grads, dc


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None):
    """Every step in turn: returns h_seq (B, T, H) and the cache :func:`backward` reads."""
    B, T, _ = x.shape
    H = weights["recurrent_kernel"].shape[0]
    h, c = [np.zeros((B, H), x.dtype) if s is None else s for s in (states or [None, None])]
    m = 1 if recurrent_mask is None else recurrent_mask
    h_seq, steps = np.empty((B, T, H), x.dtype), []
    for t in range(T):
        h_t, c_t, step = step_forward(x[:, t], h, c, weights, m)
        if sequence_mask is not None:  # a masked step keeps the states
            real = sequence_mask[:, t, None]
            h_t, c_t = np.where(real, h_t, h), np.where(real, c_t, c)
        h, c = h_t, c_t
        h_seq[:, t] = h
        steps.append(step)
    return h_seq, {"steps": steps, "weights": weights, "mask": sequence_mask, "final": [h, c],
                   "dropout": recurrent_mask is not None}


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Back through time from the last step: the gradients of the weights, of x (``input_grad``)
    and of the initial states (``h0``, ``c0``), and with ``record_state_grads`` dL/dh_t and dL/dc_t
    at every step (``dh``, ``dc``: (B, T, H))."""
    steps, weights, mask = cache["steps"], cache["weights"], cache["mask"]
    (B, H), T = cache["final"][0].shape, len(steps)
    dh, dc = [np.zeros((B, H), steps[0][1].dtype) if d is None else d for d in (dstates or [None, None])]
    grads = {name: np.zeros_like(w) for name, w in weights.items()}
    dx = np.empty((B, T, steps[0][0].shape[1]), dh.dtype)
    record = {"dh": np.empty((B, T, H), dh.dtype), "dc": np.empty((B, T, H), dh.dtype)}
    for t in reversed(range(T)):
        if dh_seq is not None:
            dh = dh + dh_seq[:, t]
        real = np.ones((B, 1), bool) if mask is None else mask[:, t, None]
        dx_t, dh_prev, dc_prev, step_grads, dc_t = step_backward(dh * real, dc * real, steps[t], weights)
        record["dh"][:, t], record["dc"][:, t] = dh, np.where(real, dc_t, dc)
        for name, g in step_grads.items():
            grads[name] += g
        dx[:, t] = dx_t
        dh, dc = np.where(real, dh_prev, dh), np.where(real, dc_prev, dc)  # a masked step passes them on
    grads.update(x=dx if input_grad else None, h0=dh, c0=dc)
    return {**grads, **record} if record_state_grads else grads


def final_states(cache):
    """[h_T, c_T] (B, H) each."""
    return list(cache["final"])


def step_jacobians(cache, sample=0):
    """J_t = d(h_t, c_t) / d(h_{t-1}, c_{t-1}) of sequence ``sample``, (T, 2H, 2H), rows indexing
    (h_t, c_t): :func:`step_backward` fed the 2H unit gradients, first on h_t, then on c_t, with the
    step of that sequence in every row."""
    if cache["dropout"]:
        raise ValueError("step Jacobians are of a forward pass without recurrent dropout (training=False)")
    H, dtype = cache["final"][0].shape[1], cache["final"][0].dtype
    units = np.eye(2 * H, dtype=dtype)
    jacobians = np.empty((len(cache["steps"]), 2 * H, 2 * H), dtype)
    for t, step in enumerate(cache["steps"]):
        rows = tuple(_repeat(a, sample, 2 * H) for a in step)
        _, dh_prev, dc_prev, _, _ = step_backward(units[:, :H], units[:, H:], rows, cache["weights"])
        masked = cache["mask"] is not None and not cache["mask"][sample, t]
        jacobians[t] = units if masked else np.concatenate([dh_prev, dc_prev], axis=1)
    return jacobians


def _repeat(a, sample, n):
    """Row ``sample`` of a step's array, n times (in the saved LN terms too; gamma stays as it is)."""
    if isinstance(a, tuple):
        v_hat, s, gamma = a
        return _repeat(v_hat, sample, n), _repeat(s, sample, n), gamma
    return np.repeat(a[sample:sample + 1], n, axis=0) if np.ndim(a) else a
