"""The gated recurrent unit, the textbook: Keras' GRU with both reset placements, in plain NumPy.

The gates are column blocks of kernel W_x (I, 3H) and recurrent_kernel W_h (H, 3H) in Keras'
order z, r, h (update, reset, candidate); W_h = [W_hz | W_hr | W_hh]. m (B, H) is the
recurrent-dropout mask: it multiplies h_{t-1} in every product with W_h (the z * h_{t-1} term
keeps the true state, as in Keras); m = 1 without dropout. For x_t (B, I), h_{t-1} (B, H)::

    [x_z | x_r | x_h] = x_t W_x + b_x

reset_after=True (Keras' default since 2.3, PyTorch, cuDNN), bias (2, 3H) = [b_x; b_h]::

    [u_z | u_r | u_h] = (m * h_{t-1}) W_h + b_h
    z   = sigma(x_z + u_z)
    r   = sigma(x_r + u_r)
    hh  = tanh(x_h + r * u_h)                     the reset after the product
    h_t = z * h_{t-1} + (1 - z) * hh

reset_after=False (Cho et al. 2014), bias (3H,) = b_x::

    z   = sigma(x_z + (m * h_{t-1}) W_hz)
    r   = sigma(x_r + (m * h_{t-1}) W_hr)
    hh  = tanh(x_h + (r * m * h_{t-1}) W_hh)      the reset before the product
    h_t = z * h_{t-1} + (1 - z) * hh

Backward, one step: dh = dL/dh_t (the output's gradient at t plus what step t+1 sent back);
a_z, a_r, a_h are the arguments of the sigmoids and of the tanh::

    da_z = dh * (h_{t-1} - hh) * z (1 - z)
    da_h = dh * (1 - z) * (1 - hh^2)
  reset_after=True:
    da_r     = da_h * u_h * r (1 - r)
    du       = [da_z | da_r | da_h * r]           the gradient of [u_z | u_r | u_h]
    dh_{t-1} = dh * z + (du W_h^T) * m
    dW_h += (m * h_{t-1})^T du    db_h += sum du
  reset_after=False:
    dq       = da_h W_hh^T                         q = r * m * h_{t-1}
    da_r     = dq * m * h_{t-1} * r (1 - r)
    dh_{t-1} = dh * z + ([da_z | da_r] [W_hz | W_hr]^T + dq * r) * m
    [dW_hz | dW_hr] += (m * h_{t-1})^T [da_z | da_r]    dW_hh += q^T da_h
  both:
    dx_t = da W_x^T    dW_x += x_t^T da    db_x += sum da      da = [da_z | da_r | da_h]

A masked step (Keras' sequence mask, False at padding) keeps the state: h_t = h_{t-1} in those
sequences; backward it passes dh on untouched and sends nothing into the weights or its input.

Shapes: x (B, T, I) batch-major; states (B, H); weights by their Keras names. The functions,
the same in every cell of :mod:`minirnn.textbook` and :mod:`minirnn.cells` (see the package):
``forward``, ``backward``, ``final_states``, ``step_jacobians``.
"""
import numpy as np

STATES = ("h",)
OPTIONS = ("reset_after",)


def sigmoid(a):
    return 0.5 * (1 + np.tanh(0.5 * a))  # = 1 / (1 + e^-a), without overflow


def step_forward(x_t, h_prev, weights, reset_after=True, m=1):
    """One step: returns h_t (B, H) and what :func:`step_backward` needs."""
    W_x, W_h, b = weights["kernel"], weights["recurrent_kernel"], weights["bias"]
    H = h_prev.shape[1]
    x_zrh = x_t @ W_x + (b[0] if reset_after else b)
    x_z, x_r, x_h = x_zrh[:, :H], x_zrh[:, H:2 * H], x_zrh[:, 2 * H:]
    if reset_after:
        u = (m * h_prev) @ W_h + b[1]
        u_z, u_r, u_h = u[:, :H], u[:, H:2 * H], u[:, 2 * H:]
        z = sigmoid(x_z + u_z)
        r = sigmoid(x_r + u_r)
        hh = np.tanh(x_h + r * u_h)
        saved = u_h
    else:
        z = sigmoid(x_z + (m * h_prev) @ W_h[:, :H])
        r = sigmoid(x_r + (m * h_prev) @ W_h[:, H:2 * H])
        q = r * m * h_prev
        hh = np.tanh(x_h + q @ W_h[:, 2 * H:])
        saved = q
    h_t = z * h_prev + (1 - z) * hh
    return h_t, (x_t, h_prev, z, r, hh, saved, m)


def step_backward(dh, step, weights, reset_after=True):
    """One step back: returns dx_t, dh_{t-1} and the weights' gradients."""
    x_t, h_prev, z, r, hh, saved, m = step
    W_x, W_h = weights["kernel"], weights["recurrent_kernel"]
    H = h_prev.shape[1]
    da_z = dh * (h_prev - hh) * z * (1 - z)
    da_h = dh * (1 - z) * (1 - hh ** 2)
    if reset_after:
        u_h = saved
        da_r = da_h * u_h * r * (1 - r)
        du = np.concatenate([da_z, da_r, da_h * r], axis=1)
        dh_prev = dh * z + (du @ W_h.T) * m
        dW_h, db_h = (m * h_prev).T @ du, du.sum(axis=0)
    else:
        q = saved
        dq = da_h @ W_h[:, 2 * H:].T
        da_r = dq * m * h_prev * r * (1 - r)
        dh_prev = dh * z + (np.concatenate([da_z, da_r], axis=1) @ W_h[:, :2 * H].T + dq * r) * m
        dW_h = np.concatenate([(m * h_prev).T @ np.concatenate([da_z, da_r], axis=1), q.T @ da_h], axis=1)
    da = np.concatenate([da_z, da_r, da_h], axis=1)
    dx_t = da @ W_x.T
    db = np.stack([da.sum(axis=0), db_h]) if reset_after else da.sum(axis=0)
    return dx_t, dh_prev, {"kernel": x_t.T @ da, "recurrent_kernel": dW_h, "bias": db}


def forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, reset_after=True):
    """Every step in turn: returns h_seq (B, T, H) and the cache :func:`backward` reads."""
    B, T, _ = x.shape
    H = weights["recurrent_kernel"].shape[0]
    h = np.zeros((B, H), x.dtype) if not states or states[0] is None else states[0]
    m = 1 if recurrent_mask is None else recurrent_mask
    h_seq, steps = np.empty((B, T, H), x.dtype), []
    for t in range(T):
        h_t, step = step_forward(x[:, t], h, weights, reset_after, m)
        if sequence_mask is not None:  # a masked step keeps the state
            h_t = np.where(sequence_mask[:, t, None], h_t, h)
        h = h_t
        h_seq[:, t] = h
        steps.append(step)
    return h_seq, {"steps": steps, "weights": weights, "mask": sequence_mask, "final": [h],
                   "options": (bool(reset_after),), "dropout": recurrent_mask is not None}


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
