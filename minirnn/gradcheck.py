"""Finite-difference gradient checks, for the test suite and for users.

Two ways in::

    from minirnn import gradcheck
    errors = gradcheck(layer, x)                     # a layer, on input x
    errors = gradcheck(fn, {"w": w, "x": x})         # any function of named arrays

and, for layers too big to perturb entry by entry, :func:`check_directions`
(finite differences along a few random directions through all the weights).

Both return ``{name: relative error}``, one number per parameter, for the input
``x`` and for each initial state (``initial_state[0]``, ...). The relative
error of an array is::

    max |analytic - numeric| / max(max |analytic|, max |numeric|, floor)

i.e. the worst absolute disagreement measured against the scale of that
gradient, so a few near-zero entries cannot make a correct gradient look wrong.
A gradient smaller than ``floor`` (1e-4) is judged in absolute terms: an error
reported as 1e-6 is then an absolute 1e-10.

The numeric gradient is a central difference. By default the five-point one,

    (L(w - 2h) - 8 L(w - h) + 8 L(w + h) - L(w + 2h)) / (12 h),   h = 1e-4,

whose truncation error is O(h^4): correct gradients then check to 1e-10..1e-13.
``order=2`` gives the textbook (L(w + h) - L(w - h)) / (2h) (use h ~ 1e-6):
half the work, but its rounding error ~1e-16 |L| / h is ~1e-10 |L|, which
makes small gradients (an initial state's, ten steps back) look 1e-6 wrong.
float32 is far too coarse for any of this: check a float64 layer.

A stateful layer is checked as the function of its input from the states it holds: every
evaluation starts from them, and they are left as they were.

relu and leaky_relu have a kink at 0: if a pre-activation lies within the
stencil's reach (2h) of it, the numeric gradient is wrong, not the analytic
one. For long sequences of those, use ``order=2`` with its 1e-6 step.
"""
import numbers

import numpy as np


FLOOR = 1e-4


def relative_error(analytic, numeric, floor=FLOOR):
    """max |a - n| / max(max|a|, max|n|, floor)."""
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), floor)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


STENCILS = {  # order: (offsets in units of h, weights, divisor)
    2: ((1, -1), (1, -1), 2),
    4: ((-2, -1, 1, 2), (1, -8, 8, -1), 12),
}
DEFAULT_EPS = {2: 1e-6, 4: 1e-4}


def _step(eps, order):
    """The finite-difference step: ``eps``, or the stencil's default; a ValueError unless finite and > 0."""
    if order not in STENCILS:
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    if eps is None:
        return DEFAULT_EPS[order]
    if isinstance(eps, bool) or not (isinstance(eps, numbers.Real) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0 (the finite-difference step), got {eps!r}")
    return float(eps)


def numeric_gradient(loss, array, eps=None, order=4):
    """Central-difference gradient of ``loss()`` w.r.t. every entry of ``array`` (perturbed in place)."""
    eps = _step(eps, order)
    offsets, weights, divisor = STENCILS[order]
    grad = np.zeros_like(array, dtype=np.float64)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        total = 0.0
        for offset, weight in zip(offsets, weights):
            flat[k] = saved + offset * eps
            total += weight * loss()
        flat[k] = saved
        gflat[k] = total / (divisor * eps)
    return grad


def check_function(fn, arrays, eps=None, order=4):
    """Compare ``fn``'s analytic gradients with central differences.

    Parameters
    ----------
    fn : callable ``fn(arrays) -> (loss, grads)``, with ``loss`` a float and
        ``grads`` a dict with the same keys as ``arrays``
    arrays : dict of name -> float64 ndarray; perturbed in place and restored
    eps, order : finite-difference step and stencil (4: five-point, 2: two-point)

    Returns
    -------
    dict of name -> relative error (see the module docstring)
    """
    _check_arrays(arrays)
    _step(eps, order)
    analytic = _analytic(fn, arrays)
    return {name: relative_error(analytic[name], numeric_gradient(lambda: _value(fn, arrays), a, eps, order))
            for name, a in arrays.items()}


def _check_arrays(arrays):
    if not isinstance(arrays, dict) or not arrays:
        raise TypeError(f"arrays must be a non-empty dict of name -> float64 array, got {arrays!r}")
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype != np.float64:
            raise TypeError(f"arrays[{name!r}] must be a float64 numpy array: finite differences in "
                            f"float32 are too coarse to check anything")
        if not np.isfinite(a).all():
            raise ValueError(f"arrays[{name!r}] contains NaN or inf: there is no gradient to check there")


def _analytic(fn, arrays):
    """fn's gradients, held to the contract: one per array, of its shape, finite."""
    result = fn(arrays)
    if not isinstance(result, tuple) or len(result) != 2 or not isinstance(result[1], dict):
        raise TypeError(f"fn(arrays) must return (loss, {{name: gradient}}), got {type(result).__name__}")
    grads = {}
    for name, a in arrays.items():
        if name not in result[1]:
            raise ValueError(f"fn(arrays) returned no gradient for {name!r} (it returned {sorted(result[1])})")
        g = np.asarray(result[1][name], dtype=np.float64)
        if g.shape != a.shape:
            raise ValueError(f"the gradient for {name!r} has shape {g.shape}, but {name!r} has shape {a.shape}")
        if not np.isfinite(g).all():
            raise ValueError(f"the gradient for {name!r} contains NaN or inf")
        grads[name] = g
    return grads


def _value(fn, arrays):
    value = fn(arrays)[0]
    if not isinstance(value, (numbers.Real, np.ndarray)) or np.ndim(value) != 0:
        raise TypeError(f"fn(arrays)[0] must be the loss, one number, got {type(value).__name__}")
    return float(value)


def check_directions(fn, arrays, directions=3, eps=1e-4, seed=0):
    """Compare ``fn``'s gradient with finite differences along random directions, for arrays
    too big to perturb one entry at a time.

    For a direction v (one random normal array per name, all moved together), the analytic
    directional derivative sum_name <grad_name, v_name> is compared with the five-point
    difference of L(w + s v) in s. A wrong gradient g + e is seen as soon as
    ||e|| is more than ~1e-8 of ||g||: <e, v> is of size ||e|| in a random direction.
    Returns the worst relative error over ``directions`` directions.
    """
    _check_arrays(arrays)
    if isinstance(directions, bool) or not isinstance(directions, numbers.Integral) or directions < 1:
        raise ValueError(f"directions must be an int >= 1, got {directions!r}")
    eps = _step(eps, 4)
    analytic = _analytic(fn, arrays)
    rng = np.random.default_rng(seed)
    saved = {name: a.copy() for name, a in arrays.items()}
    worst = 0.0
    for _ in range(directions):
        v = {name: rng.normal(size=a.shape) for name, a in arrays.items()}
        expected = sum(float(np.sum(np.asarray(analytic[name], dtype=np.float64) * v[name])) for name in arrays)
        offsets, weights, divisor = STENCILS[4]
        total = 0.0
        for offset, weight in zip(offsets, weights):
            for name, a in arrays.items():
                a[...] = saved[name] + offset * eps * v[name]
            total += weight * _value(fn, arrays)
        for name, a in arrays.items():
            a[...] = saved[name]
        worst = max(worst, relative_error(np.array([expected]), np.array([total / (divisor * eps)])))
    return worst


def check_layer(layer, x, initial_state=None, eps=None, order=4, seed=0, mask=None):
    """Check every gradient of a layer: each parameter, the input and each initial state
    (``mask``: a sequence mask handed to every forward pass).

    The loss is ``sum_k <output_k, G_k>`` with fixed random ``G_k`` (one per
    output, so ``return_state`` outputs are checked too); its gradient w.r.t.
    the outputs is ``G``, which is what ``backward`` receives.
    """
    if layer.dtype is not None and layer.dtype != np.float64:  # built or given float32: never rebuilt here
        raise TypeError(f"gradcheck needs a float64 layer, got {layer.name} in {layer.dtype}: finite differences "
                        "in float32 are too coarse; check a float64 copy (dtype='float64')")
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "fiu":
        raise TypeError(f"x must be a numpy array of numbers, got {type(x).__name__}")
    x = np.array(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("x contains NaN or inf: there is no gradient to check there")
    _step(eps, order)
    if not layer.built:
        layer.build(x.shape[-1], np.float64)
    rng = np.random.default_rng(seed)
    states = None if initial_state is None else [np.array(s, dtype=np.float64) for s in
                                                 (initial_state if isinstance(initial_state, (list, tuple))
                                                  else [initial_state])]
    kwargs = {} if states is None else {"initial_state": states}
    if mask is not None:
        kwargs["mask"] = mask
    # A stateful layer carries its states from one call to the next: every evaluation here starts
    # from the states it held before the check (and leaves them so), so that all of them compute
    # the same function; backward stops at the carried states, which are not checked.
    carried = getattr(layer, "states", None) if getattr(layer, "stateful", False) else None
    carried = None if carried is None else [s.copy() for s in carried]

    def run():
        if getattr(layer, "stateful", False):
            layer.states = None if carried is None else [s.copy() for s in carried]
        return layer.forward(x, **kwargs)

    outputs = run()
    multiple = isinstance(outputs, list)
    weights = [rng.normal(size=o.shape) for o in (outputs if multiple else [outputs])]

    def loss():
        out = run()
        return sum(float((o * w).sum()) for o, w in zip(out if multiple else [out], weights))

    run()
    dx = layer.backward(weights if multiple else weights[0])
    analytic = dict(layer.grads, x=dx)
    arrays = dict(layer.params, x=x)
    if states is not None:
        for k, s in enumerate(states):
            analytic[f"initial_state[{k}]"] = layer.grad_initial_state[k]
            arrays[f"initial_state[{k}]"] = s
    try:
        return {name: relative_error(analytic[name], numeric_gradient(loss, a, eps, order))
                for name, a in arrays.items()}
    finally:
        if getattr(layer, "stateful", False):
            layer.states = carried


def gradcheck(target, inputs, initial_state=None, eps=None, order=4, seed=0, mask=None):
    """Finite-difference check of a layer or of a function of named arrays.

    ``gradcheck(layer, x, initial_state=None, mask=None)`` runs :func:`check_layer`;
    ``gradcheck(fn, {"name": array, ...})`` runs :func:`check_function`.
    Returns ``{name: relative error}``.
    """
    if hasattr(target, "params") and hasattr(target, "backward"):
        return check_layer(target, inputs, initial_state=initial_state, eps=eps, order=order, seed=seed, mask=mask)
    if callable(target):
        if not isinstance(inputs, dict):
            raise TypeError("gradcheck(fn, arrays): arrays must be a dict of name -> float64 array")
        return check_function(target, inputs, eps=eps, order=order)
    raise TypeError(f"gradcheck target must be a layer or a callable, got {type(target).__name__}")
