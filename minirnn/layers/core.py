"""The layer base class and the layers without time: ``Input``, ``Dense``, ``Dropout``, ``Masking``
(the protocol every layer speaks: :mod:`minirnn.layers`)."""
import numbers

import numpy as np

from .. import checks, initializers


def child_seed(seed, k):
    """The k-th independent seed derived from ``seed`` (an int or a SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (k,))
    return np.random.SeedSequence(seed, spawn_key=(k,))


class Layer:
    """Base class: weight bookkeeping and input checks shared by every layer."""

    CONFIG = ()  # the constructor arguments that define the architecture (for saving)

    # options only some layers have: which, for the error another layer gives
    OPTION_HOMES = {"layer_norm": "LSTM", "peephole": "LSTM", "unit_forget_bias": "LSTM", "reset_after": "GRU",
                    "recurrent_clip": "IndRNN", "alpha": "SimpleRNN", "mask_value": "Masking"}

    def __init__(self, dtype=None, seed=None, input_shape=None, name=None, **unknown):
        for option in unknown:
            home = self.OPTION_HOMES.get(option)
            raise TypeError(f"{type(self).__name__} has no argument {option!r}"
                            + (f": it is an option of {home} only" if home else ""))
        self.dtype = checks.check_dtype(dtype)
        self.seed = checks.check_seed(seed)
        self.input_shape = None if input_shape is None else checks.check_shape("input_shape", input_shape)
        self.name = name or type(self).__name__.lower()
        self.params = {}
        self.grads = {}
        self.input_dim = None

    @property
    def built(self):
        return self.input_dim is not None

    def build(self, input_dim, dtype=None):
        self.input_dim = checks.check_positive_int("input_dim", input_dim)
        self.dtype = checks.dtype_of([("build(dtype=...)", dtype)], data=self.dtype)
        rng = np.random.default_rng(self.seed)
        self.params = self._make_params(rng)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def compute_mask(self, x, mask=None):
        """The sequence mask of this layer's output, given its input ``x`` and the input's mask:
        the same mask by default (Dense per step, Dropout); recurrent layers and Masking override it."""
        return mask

    def apply_constraints(self, params=None):
        """Hold the weights to the layer's constraints, if it has any (IndRNN's bound on |u|):
        :class:`~minirnn.Sequential` calls this after every optimizer update."""

    def get_config(self):
        """The constructor arguments that rebuild this layer: ``type(layer)(**layer.get_config())``
        (initialisers in their :func:`~minirnn.initializers.serialize` form)."""
        return {"name": self.name, **{key: initializers.serialize(value) if key.endswith("_initializer") else value
                                      for key, value in ((key, getattr(self, key)) for key in self.CONFIG)}}

    def _draw(self, argument, shape, rng, initializer=None):
        """A weight of ``shape`` from the initialiser of ``argument`` (or ``initializer``), checked."""
        return initializers.draw(initializer or getattr(self, argument), argument, shape, rng, self.dtype)

    def count_params(self):
        self._require_built("count_params")
        return int(sum(p.size for p in self.params.values()))

    def get_weights(self):
        """Copies of the parameters, in Keras' order (``params``' order)."""
        self._require_built("get_weights")
        return [p.copy() for p in self.params.values()]

    def set_weights(self, weights):
        """Overwrite the parameters with ``weights``, arrays in :meth:`get_weights`' order and shapes."""
        self._require_built("set_weights")
        params = list(self.params.items())
        if not isinstance(weights, (list, tuple)) or len(weights) != len(params):
            raise ValueError(f"{self.name}.set_weights needs a list of {len(params)} arrays "
                             f"({', '.join(name for name, _ in params)}), got "
                             f"{len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__}")
        for (name, p), w in zip(params, weights):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(f"{self.name}.set_weights: {name} must have shape {p.shape}, got {w.shape}")
            if w.dtype.kind not in "fiu" or not np.isfinite(w).all():
                raise ValueError(f"{self.name}.set_weights: {name} must hold finite real numbers")
        for (_, p), w in zip(params, weights):
            p[...] = w

    def _require_forward(self, state):
        """``state`` is what forward left for backward: None means forward has not run."""
        if state is None:
            raise ValueError(f"{self.name}.backward was called before forward: run forward(x, training=True) "
                             "first, then backward with the gradient of its output")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: {self.name} is not built yet: call build(input_dim) or forward(x) first")

    def _check_output(self, y, x):
        """An output that overflowed (the input ``x`` was checked finite): say so, naming the layer and
        which of its input and its weights is out of scale."""
        if not np.isfinite(y).all():
            largest_input = float(np.abs(x).max())
            largest_weight = max((float(np.abs(p).max()) for p in self.params.values() if p.size), default=0.0)
            what = f"the output of layer {self.name!r} is NaN or infinite although its input is finite"
            if largest_input > max(1e4, largest_weight):  # the data, not training: a ValueError, not divergence
                raise ValueError(f"{what}: its input is too large for {self.dtype} (|x| up to {largest_input:.3g}); "
                                 "scale the data first (minirnn.data.MinMaxScaler or StandardScaler)")
            raise FloatingPointError(f"{what}: its weights are too large (|w| up to {largest_weight:.3g}; has "
                                     "training diverged?)")
        return y

    def _check_input(self, x, ndim, finite=True):
        """Build on first use; then x must match the built feature count and dtype.

        ``finite=False`` leaves the NaN/inf scan (a full pass over x) to the
        cell function, which does it anyway.
        """
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray, got {type(x).__name__}")
        if x.ndim not in ndim:
            raise ValueError(f"x must be {' or '.join(map(str, ndim))}-D, got shape {x.shape}")
        if not self.built:
            checks.check_array("x", x, x.ndim, finite=False)
            self.build(x.shape[-1], checks.dtype_of([(self.name, self.dtype)], data=x))
        checks.check_array("x", x, x.ndim, self.dtype, finite=finite)
        if x.shape[-1] != self.input_dim:
            raise ValueError(f"x has {x.shape[-1]} features (last axis) but {self.name} was built for "
                             f"{self.input_dim}")
        return x


class Input:
    """Keras' ``Input(shape=...)``, the first element of a :class:`~minirnn.Sequential`: the shape of
    one sample, (time, features), and optionally the dtype. Not a layer: it has no weights and no
    forward pass; the model builds its layers for this shape."""

    def __init__(self, shape, dtype=None, name=None):
        self.shape = checks.check_shape("shape", shape)
        self.dtype = checks.check_dtype(dtype)
        self.name = name or "input"


class Dense(Layer):
    """y = act(x W + b) on the last axis, so it works on (batch, units) and (batch, time, units).

    activation: None/"linear", "tanh", "relu", "sigmoid" or "softmax" (over the last axis;
    backward: dz = y * (dy - sum(dy * y))).
    """

    ACTIVATIONS = (None, "linear", "tanh", "relu", "sigmoid", "softmax")
    CONFIG = ("units", "activation", "kernel_initializer", "bias_initializer")

    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = checks.check_positive_int("units", units)
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation must be one of {self.ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")

    def _make_params(self, rng):
        return {"kernel": self._draw("kernel_initializer", (self.input_dim, self.units), rng),
                "bias": self._draw("bias_initializer", (self.units,), rng)}

    def output_shape(self, input_shape):
        """Shape of one sample's output for one sample's input shape (no batch axis)."""
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False, mask=None):
        """``mask`` is not used: every step is computed, and the mask passes on (:meth:`compute_mask`)."""
        x = self._check_input(x, ndim=(2, 3))
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _check_output
            y = x @ self.params["kernel"] + self.params["bias"]
        if self.activation == "tanh":
            y = np.tanh(y)
        elif self.activation == "relu":
            y = np.maximum(y, 0)
        elif self.activation == "sigmoid":
            y = 1 / (1 + np.exp(-y))
        elif self.activation == "softmax":
            y = np.exp(y - y.max(axis=-1, keepdims=True))
            y /= y.sum(axis=-1, keepdims=True)
        self._x, self._y = x, self._check_output(y, x)
        return y

    _y = None  # the last forward's output

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._y)
        checks.check_array("grad_output", grad_output, self._y.ndim, self.dtype, self._y.shape)
        y = self._y
        if self.activation == "tanh":
            grad_output = grad_output * (1 - y * y)
        elif self.activation == "relu":
            grad_output = grad_output * (y > 0)
        elif self.activation == "sigmoid":
            grad_output = grad_output * y * (1 - y)
        elif self.activation == "softmax":
            grad_output = y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))
        dy = grad_output.reshape(-1, self.units)
        self.grads["kernel"] = self._x.reshape(-1, self.input_dim).T @ dy
        self.grads["bias"] = dy.sum(axis=0)
        return grad_output @ self.params["kernel"].T if input_grad else None


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014): while training, zero each entry with
    probability ``rate`` and scale the rest by 1 / (1 - rate), so that nothing changes at
    inference. ``seed`` seeds its own generator; a model reseeds it from its own seed.
    """

    CONFIG = ("rate",)

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not (isinstance(rate, numbers.Real) and 0 <= rate < 1):
            raise ValueError(f"rate must be a number in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(self.seed)
        self._mask = None

    def _make_params(self, rng):
        return {}

    def output_shape(self, input_shape):
        return tuple(input_shape)

    _shape = None  # the last forward's input shape

    def forward(self, x, training=False, mask=None):
        """``mask`` is not used: it passes on (:meth:`compute_mask`)."""
        x = self._check_input(x, ndim=(2, 3))
        self._shape = x.shape
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape) >= self.rate
        self._mask = keep.astype(self.dtype) / self.dtype.type(1 - self.rate)
        return x * self._mask

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._shape)
        checks.check_array("grad_output", grad_output, len(self._shape), self.dtype, self._shape)
        if not input_grad:
            return None
        return grad_output if self._mask is None else grad_output * self._mask


class Masking(Layer):
    """Keras' ``Masking``: a step whose features all equal ``mask_value`` is padding.

    The output is the input with those steps set to 0, and the layers after it receive the mask
    (``compute_mask``: (batch, time) bools, False at padding): recurrent layers carry their states
    through the masked steps, and a model's loss and metrics leave them out. Pad sequences of
    different lengths to one length with ``mask_value`` (after the data or before it) and put
    this layer first.
    """

    CONFIG = ("mask_value",)

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(mask_value, numbers.Real) and np.isfinite(mask_value)):
            raise ValueError(f"mask_value must be a finite number, got {mask_value!r}")
        self.mask_value = float(mask_value)

    def _make_params(self, rng):
        return {}

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.name} takes inputs of shape (time, features) per sample, got {input_shape}")
        return tuple(input_shape)

    def compute_mask(self, x, mask=None):
        """True where a step has a feature other than ``mask_value`` (and the input's mask allows it)."""
        steps = np.any(x != self.mask_value, axis=-1)
        return steps if mask is None else steps & mask

    _steps = None  # the last forward's mask, (batch, time, 1)

    def forward(self, x, training=False, mask=None):
        x = self._check_input(x, ndim=(3,))
        self._steps = self.compute_mask(x, mask)[..., None]
        return np.where(self._steps, x, 0)

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._steps)
        checks.check_array("grad_output", grad_output, 3, self.dtype, self._steps.shape[:2] + (self.input_dim,))
        return np.where(self._steps, grad_output, 0) if input_grad else None
