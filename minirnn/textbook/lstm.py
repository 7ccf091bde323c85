"""Long short-term memory, the textbook: Keras' LSTM, optional peepholes, in plain NumPy.

The four gates are column blocks of kernel W_x (I, 4H), recurrent_kernel W_h (H, 4H) and bias b
(4H,), in Keras' order i, f, c, o (PyTorch's i, f, g, o: we write g for the candidate). The
peepholes p_i, p_f, p_o (H,) are diagonal weights, TensorFlow's ``use_peepholes`` (Gers &
Schmidhuber 2000): the input and forget gates look at c_{t-1}, the output gate at the new c_t;
without them the terms with p are left out. m (B, H) is the recurrent-dropout mask (Gal &
Ghahramani 2016), drawn once per sequence; without dropout, m = 1.

Forward, one step, x_t (B, I), h_{t-1}, c_{t-1} (B, H)::

    z   = x_t W_x + (m * h_{t-1}) W_h + b        z = [z_i | z_f | z_g | z_o]
    i   = sigma(z_i + p_i * c_{t-1})             input gate
    f   = sigma(z_f + p_f * c_{t-1})             forget gate
    g   = tanh(z_g)                              candidate
    c_t = f * c_{t-1} + i * g
    o   = sigma(z_o + p_o * c_t)                 output gate
    h_t = o * tanh(c_t)

Backward, one step: dh = dL/dh_t (the output's gradient at t plus what step t+1 sent back) and
dc = dL/dc_t as step t+1 sent it back::

    dz_o     = dh * tanh(c_t) * o (1 - o)
    dc       = dc + dh * o * (1 - tanh(c_t)^2) + dz_o * p_o      all of dL/dc_t
    dz_i     = dc * g * i (1 - i)
    dz_f     = dc * c_{t-1} * f (1 - f)
    dz_g     = dc * i * (1 - g^2)
    dc_{t-1} = dc * f + dz_i * p_i + dz_f * p_f
    dh_{t-1} = (dz W_h^T) * m                    dz = [dz_i | dz_f | dz_g | dz_o]
    dx_t     = dz W_x^T
    dW_x += x_t^T dz    dW_h += (m * h_{t-1})^T dz    db += sum over the batch of dz
    dp_i += sum dz_i * c_{t-1}    dp_f += sum dz_f * c_{t-1}    dp_o += sum dz_o * c_t

A masked step (Keras' sequence mask, False at padding) keeps the states as they were: h_t =
h_{t-1}, c_t = c_{t-1} in those sequences; backward it passes dh and dc on untouched and sends
nothing into its gates, weights or input.

Shapes: x (B, T, I) batch-major; states (B, H); weights by their Keras names. The functions,
the same in every cell of :mod:`minirnn.textbook` and :mod:`minirnn.cells` (see the package):
``forward``, ``backward``, ``final_states``, ``step_jacobians``.
"""
import numpy as np

STATES = ("h", "c")
OPTIONS = ()
PEEPHOLES = ("input_gate_peephole_weights", "forget_gate_peephole_weights", "output_gate_peephole_weights")


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow


def step_forward(x_t, h_prev, c_prev, weights, m=1):
    """One step: returns h_t, c_t (B, H) and what :func:`step_backward` needs."""
    W_x, W_h, b = weights["kernel"], weights["recurrent_kernel"], weights["bias"]
    p_i, p_f, p_o = (weights.get(name, 0) for name in PEEPHOLES)
    H = h_prev.shape[1]
    z = x_t @ W_x + (m * h_prev) @ W_h + b
    i = sigmoid(z[:, :H] + p_i * c_prev)
    f = sigmoid(z[:, H:2 * H] + p_f * c_prev)
    g = np.tanh(z[:, 2 * H:3 * H])
    c_t = f * c_prev + i * g
    o = sigmoid(z[:, 3 * H:] + p_o * c_t)
    h_t = o * np.tanh(c_t)
    return h_t, c_t, (x_t, h_prev, c_prev, i, f, g, c_t, o, m)


def step_backward(dh, dc, step, weights):
    """One step back: returns dx_t, dh_{t-1}, dc_{t-1}, the weights' gradients and dL/dc_t."""
    x_t, h_prev, c_prev, i, f, g, c_t, o, m = step
    p_i, p_f, p_o = (weights.get(name, 0) for name in PEEPHOLES)
    dz_o = dh * np.tanh(c_t) * o * (1 - o)
    dc = dc + dh * o * (1 - np.tanh(c_t) ** 2) + dz_o * p_o
    dz_i = dc * g * i * (1 - i)
    dz_f = dc * c_prev * f * (1 - f)
    dz_g = dc * i * (1 - g ** 2)
    dc_prev = dc * f + dz_i * p_i + dz_f * p_f
    dz = np.concatenate([dz_i, dz_f, dz_g, dz_o], axis=1)
    dh_prev = (dz @ weights["recurrent_kernel"].T) * m
    dx_t = dz @ weights["kernel"].T
    grads = {"kernel": x_t.T @ dz, "recurrent_kernel": (m * h_prev).T @ dz, "bias": dz.sum(axis=0)}
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
        rows = tuple(np.repeat(a[sample:sample + 1], 2 * H, axis=0) if np.ndim(a) else a for a in step)
        _, dh_prev, dc_prev, _, _ = step_backward(units[:, :H], units[:, H:], rows, cache["weights"])
        masked = cache["mask"] is not None and not cache["mask"][sample, t]
        jacobians[t] = units if masked else np.concatenate([dh_prev, dc_prev], axis=1)
    return jacobians
