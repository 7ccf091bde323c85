"""Gradient flow through time: the quantities the vanishing/exploding-gradient story is told with.

- :func:`gradient_norms`: per time step, the batch-mean norm of dL/dh_t (and dL/dc_t for an
  LSTM), as the hand-written backward pass computes them; and every parameter's gradient norm.
- :func:`jacobian_products`: the exact Jacobians dh_t/dh_{t-lag} (and dc_t/dc_{t-lag}) with
  their norms and singular values.
- :func:`recurrent_spectrum`: eigenvalues and singular values of the recurrent kernel, per gate.

How the Jacobians are built: a step's backward function maps dL/d(state_t) to
dL/d(state_{t-1}), i.e. multiplies by the step Jacobian J_t = d state_t / d state_{t-1}
from the left. Feeding it the identity matrix as a "batch" of H unit gradients, with that
step's cached activations copied into every row, returns J_t itself; no finite
differences, no second copy of the derivative formulas. For an LSTM the state is (h, c)
and J_t is 2H x 2H. Products over a lag multiply the per-step Jacobians; the h block of
the product is dh_t/dh_{t-lag}, the c block dc_t/dc_{t-lag}.
"""
import numpy as np
import pandas as pd

from . import layers as layers_module
from . import losses, optim


# ---------------------------------------------------------------- gradient norms


def _recurrent_layers(target):
    """(label, layer) for every recurrent layer of a model or a layer (both directions of a Bidirectional)."""
    items = target.layers if hasattr(target, "layers") else [target]
    found = []
    for layer in items:
        if isinstance(layer, layers_module.Bidirectional):
            found += [(f"{layer.name}/forward", layer.forward_layer), (f"{layer.name}/backward", layer.backward_layer)]
        elif isinstance(layer, layers_module.Recurrent):
            found.append((layer.name, layer))
    if not found:
        raise ValueError(f"{type(target).__name__} has no recurrent layer to look at")
    return found


def gradient_norms(target, x, y, loss="mse"):
    """How large the loss gradient is at every time step, and for every parameter.

    Parameters
    ----------
    target : a :class:`~minirnn.Sequential` (its compiled loss is used if it has one) or a
        single recurrent layer (its output is compared with ``y``)
    x, y : inputs (batch, time, features) and targets (integer labels for a sparse loss)
    loss : loss name when the model is not compiled, or for a single layer

    Returns
    -------
    (states, params) : two DataFrames. ``states`` has a row per (layer, state, t) with
    ``distance`` = T - 1 - t (steps back from the last one) and ``norm``, the batch mean of
    ||dL/dh_t|| (state "h") or ||dL/dc_t|| (state "c", LSTM). ``params`` has a row per
    (layer, param) with the Frobenius norm of the gradient. No dropout is applied.
    """
    recurrent = _recurrent_layers(target)
    if hasattr(target, "layers"):
        if not target.built:
            raise ValueError("gradient_norms: the model is not built; give its first layer input_shape=(time, "
                             "features), build it, or fit it first")
        loss_fn = target.loss or losses.get(loss)
        forward, backward = target.forward, target.backward
        all_layers = target.layers
    else:
        loss_fn = losses.get(loss)
        forward = target.forward
        all_layers = [target]

        def backward(grad):
            target.backward(grad, input_grad=False)
    for _, layer in recurrent:
        layer.record_state_grads = True
    try:
        prediction = forward(x)
        if not getattr(loss_fn, "sparse_labels", False):  # integer class labels stay as they are
            y = np.asarray(y, dtype=prediction.dtype).reshape(prediction.shape)
        _, grad = loss_fn(prediction, y)
        backward(grad.astype(prediction.dtype, copy=False))
    finally:
        for _, layer in recurrent:
            layer.record_state_grads = False
    rows = []
    for label, layer in recurrent:
        for state, values in layer.state_grads.items():
            norms = optim.norm(values, axis=2).mean(axis=0)  # (B, T, H) -> (T,), finite past 1e154
            T = len(norms)
            rows += [{"layer": label, "state": state, "t": t, "distance": T - 1 - t, "norm": float(n)}
                     for t, n in enumerate(norms)]
    params = [{"layer": layer.name, "param": name, "norm": optim.norm(g)}
              for layer in all_layers for name, g in layer.grads.items()]
    return pd.DataFrame(rows), pd.DataFrame(params, columns=["layer", "param", "norm"])


# ---------------------------------------------------------------- Jacobians


def step_jacobians(layer, x):
    """J_t = d state_t / d state_{t-1} for every step of one sequence ``x`` (T, features).

    Returns an array (T, S, S): S = H (h) for SimpleRNN, GRU and IndRNN, S = 2H ((h, c)) for LSTM,
    with rows indexing state_t and columns state_{t-1}. No dropout. Each cell builds them
    from its own backward step (``step_jacobians`` in its module).
    """
    x = np.asarray(x)
    layer.forward(x[None] if layer.dtype is None else x[None].astype(layer.dtype, copy=False))
    return layer.step_jacobians(0)


def jacobian_products(layer, x, lags):
    """dh_t/dh_{t-lag} (and dc_t/dc_{t-lag} for LSTM) for every sample, lag and end step t.

    Parameters
    ----------
    layer : a built recurrent layer (SimpleRNN, LSTM, GRU, IndRNN)
    x : (batch, time, features)
    lags : iterable of ints in 1..time

    Returns
    -------
    DataFrame with a row per (sample, state, lag, t): ``sample``, ``state`` ("h" or "c"),
    ``lag``, ``t`` (the end step, 0-based, t >= lag - 1), ``spectral_norm``,
    ``frobenius_norm`` and ``singular_values`` (an array). Row t, lag k describes
    d state_t / d state_{t-k}, where state_{-1} is the initial state.
    """
    if not isinstance(layer, layers_module.Recurrent):
        raise TypeError(f"jacobian_products takes a recurrent layer, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError(f"{layer.name} is not built yet: build it or run it on data first")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must be 3-D (batch, time, features), got shape {x.shape}")
    T = x.shape[1]
    lags = sorted({int(k) for k in lags})
    for k in lags:
        if not 1 <= k <= T:
            raise ValueError(f"lags must be between 1 and the sequence length {T}, got {k}")
    H = layer.units
    blocks = {state: slice(k * H, (k + 1) * H) for k, state in enumerate(layer.state_names)}  # (h, c) for an LSTM
    rows = []
    for sample in range(x.shape[0]):
        J = step_jacobians(layer, x[sample])
        for t in range(T):
            product = J[t]
            for k in range(1, lags[-1] + 1):
                if k > t + 1:
                    break
                if k in lags:
                    for state, block in blocks.items():
                        s = np.linalg.svd(product[block, block], compute_uv=False)
                        rows.append({"sample": sample, "state": state, "lag": k, "t": t, "spectral_norm": s[0],
                                     "frobenius_norm": optim.norm(s), "singular_values": s})
                if k <= t:
                    product = product @ J[t - k]
    return pd.DataFrame(rows, columns=["sample", "state", "lag", "t", "spectral_norm", "frobenius_norm",
                                       "singular_values"])


# ---------------------------------------------------------------- spectrum


def recurrent_spectrum(layer):
    """Eigenvalues, spectral radius and singular values of each gate's block of the recurrent kernel.

    Returns ``{gate: {"eigenvalues", "spectral_radius", "singular_values"}}`` with gates
    "h" (SimpleRNN; IndRNN, whose recurrent matrix is diag(u)), "i", "f", "c", "o" (LSTM) or
    "z", "r", "h" (GRU).
    """
    if not isinstance(layer, layers_module.Recurrent):
        raise TypeError(f"recurrent_spectrum takes a recurrent layer, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError(f"{layer.name} is not built yet")
    names = {1: ("h",), 4: ("i", "f", "c", "o"), 3: ("z", "r", "h")}[layer.gates]
    kernel = layer.params["recurrent_kernel"].astype(float)
    if kernel.ndim == 1:  # IndRNN: one weight per unit
        kernel = np.diag(kernel)
    result = {}
    for name, block in zip(names, np.split(kernel, layer.gates, axis=1)):
        eigenvalues = np.linalg.eigvals(block)
        result[name] = {"eigenvalues": eigenvalues, "spectral_radius": float(np.abs(eigenvalues).max()),
                        "singular_values": np.linalg.svd(block, compute_uv=False)}
    return result

