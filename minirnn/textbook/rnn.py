"""The Elman RNN, the textbook: Keras' SimpleRNN, PyTorch's nn.RNN, in plain NumPy.

kernel W_x (I, H), recurrent_kernel W_h (H, H), bias b (H,); m (B, H) is the recurrent-dropout
mask (Gal & Ghahramani 2016), drawn once per sequence; without dropout, m = 1.

Forward, one step, x_t (B, I), h_{t-1} (B, H)::

    z_t = x_t W_x + (m * h_{t-1}) W_h + b
    h_t = act(z_t)                         act: tanh, relu, leaky_relu (slope alpha below 0), linear

Backward, one step: dh = dL/dh_t, the output's gradient at t plus what step t+1 sent back::

    dz_t     = dh * act'(z_t)              read off h_t: 1 - h_t^2 (tanh); [h_t > 0] (relu);
                                           1 or alpha (leaky_relu); 1 (linear)
    dh_{t-1} = (dz_t W_h^T) * m
    dx_t     = dz_t W_x^T
    dW_x += x_t^T dz_t    dW_h += (m * h_{t-1})^T dz_t    db += sum over the batch of dz_t

``linear`` makes the cell a linear dynamical system, the textbook case of vanishing and
exploding gradients: dL/dh_0 = dL/dh_T (W_h^T)^T.

A masked step (Keras' sequence mask, False at padding) keeps the state: h_t = h_{t-1} in those
sequences; backward it passes dh on untouched and sends nothing into the weights or its input.

Shapes: x (B, T, I) batch-major; states (B, H); weights by their Keras names. The functions,
the same in every cell of :mod:`minirnn.textbook` and :mod:`minirnn.cells` (see the package):
``forward``, ``backward``, ``final_states``, ``step_jacobians``.
"""
import numpy as np

STATES = ("h",)
OPTIONS = ("activation", "alpha")
ACTIVATIONS = ("tanh", "relu", "leaky_relu", "linear")


def act(z, activation, alpha):
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    return z


def act_derivative(h, activation, alpha):
    """act'(z_t), read off h_t = act(z_t)."""
    if activation == "tanh":
        return 1 - h * h
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    if activation == "leaky_relu":
        return np.where(h > 0, 1, alpha).astype(h.dtype)
    return np.ones_like(h)


def step_forward(x_t, h_prev, weights, activation="tanh", alpha=0.3, m=1):
    """One step: returns h_t (B, H) and what :func:`step_backward` needs."""
    z_t = x_t @ weights["kernel"] + (m * h_prev) @ weights["recurrent_kernel"] + weights["bias"]
    h_t = act(z_t, activation, alpha)
    return h_t, (x_t, h_prev, h_t, m)


def step_backward(dh, step, weights, activation="tanh", alpha=0.3):
    """One step back: returns dx_t, dh_{t-1} and the weights' gradients."""
    x_t, h_prev, h_t, m = step
    dz_t = dh * act_derivative(h_t, activation, alpha)
    dh_prev = (dz_t @ weights["recurrent_kernel"].T) * m
    dx_t = dz_t @ weights["kernel"].T
    return dx_t, dh_prev, {"kernel": x_t.T @ dz_t, "recurrent_kernel": (m * h_prev).T @ dz_t, "bias": dz_t.sum(axis=0)}


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, activation="tanh", alpha=0.3):
    """Every step in turn: returns h_seq (B, T, H) and the cache :func:`backward` reads."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    B, T, _ = x.shape
    H = weights["recurrent_kernel"].shape[0]
    h = np.zeros((B, H), x.dtype) if not states or states[0] is None else states[0]
    m = 1 if recurrent_mask is None else recurrent_mask
    alpha = x.dtype.type(alpha)
    h_seq, steps = np.empty((B, T, H), x.dtype), []
    for t in range(T):
        h_t, step = step_forward(x[:, t], h, weights, activation, alpha, m)
        if sequence_mask is not None:  # a masked step keeps the state
            h_t = np.where(sequence_mask[:, t, None], h_t, h)
        h = h_t
        h_seq[:, t] = h
        steps.append(step)
    return h_seq, {"steps": steps, "weights": weights, "mask": sequence_mask, "final": [h],
                   "options": (activation, alpha), "dropout": recurrent_mask is not None}


def backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False):
    """Back through time from the last step: the gradients of the weights, of x (``input_grad``)
    and of the initial state (``h0``), and with ``record_state_grads`` dL/dh_t at every step
    (``dh``: (B, T, H))."""
    steps, weights, mask = cache["steps"], cache["weights"], cache["mask"]
    (B, H), T = cache["final"][0].shape, len(steps)
    dh = np.zeros((B, H), steps[0][1].dtype) if not dstates or dstates[0] is None else dstates[0]
    grads = {name: np.zeros_like(w) for name, w in weights.items()}
    dx, record = np.empty((B, T, steps[0][0].shape[1]), dh.dtype), np.empty((B, T, H), dh.dtype)
    for t in reversed(range(T)):
        if dh_seq is not None:
            dh = dh + dh_seq[:, t]
        record[:, t] = dh
        real = np.ones((B, 1), bool) if mask is None else mask[:, t, None]
        dx_t, dh_prev, step_grads = step_backward(dh * real, steps[t], weights, *cache["options"])
        for name, g in step_grads.items():
            grads[name] += g
        dx[:, t] = dx_t
        dh = np.where(real, dh_prev, dh)  # a masked step passes it on
    grads.update(x=dx if input_grad else None, h0=dh)
    return {**grads, "dh": record} if record_state_grads else grads


def final_states(cache):
    """[h_T] (B, H)."""
    return list(cache["final"])


def step_jacobians(cache, sample=0):
    """J_t = dh_t / dh_{t-1} of sequence ``sample``, (T, H, H), rows indexing h_t:
    :func:`step_backward` fed the H unit gradients, with the step of that sequence in every row."""
    if cache["dropout"]:
        raise ValueError("step Jacobians are of a forward pass without recurrent dropout (training=False)")
    H, dtype = cache["final"][0].shape[1], cache["final"][0].dtype
    units = np.eye(H, dtype=dtype)
    jacobians = np.empty((len(cache["steps"]), H, H), dtype)
    for t, step in enumerate(cache["steps"]):
        rows = tuple(np.repeat(a[sample:sample + 1], H, axis=0) if np.ndim(a) else a for a in step)
        _, dh_prev, _ = step_backward(units, rows, cache["weights"], *cache["options"])
        masked = cache["mask"] is not None and not cache["mask"][sample, t]
        jacobians[t] = units if masked else dh_prev
    return jacobians
