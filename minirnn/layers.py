"""Keras-style layers over the cells: ``SimpleRNN``, ``LSTM``, ``GRU``, ``Dense``, ``Dropout``,
``Bidirectional``, and ``Input`` to start a ``Sequential`` with.

Every layer speaks one low-level protocol:

``build(input_dim, dtype=None)``
    create the weights (called by the first ``forward`` if you do not).
``forward(x, training=False, initial_state=None)``
    ``x`` is batch-major (batch, time, features). Returns the output, or with
    ``return_state=True`` the list ``[output, h_T]`` (``[output, h_T, c_T]`` for LSTM).
``backward(grad_output, input_grad=True)``
    the gradient of the loss w.r.t. the output (a list matching the outputs when
    ``return_state=True``; ``None`` entries mean zero). Fills ``grads`` and
    ``grad_initial_state`` and returns the gradient w.r.t. ``x``; with
    ``input_grad=False`` (the input is data, as for a model's first layer) that
    product is skipped and None returned.
``params`` / ``grads``
    dicts of arrays keyed by Keras names (``kernel``, ``recurrent_kernel``, ``bias``, ...).
``get_weights()`` / ``set_weights(list)``
    copies of the parameters in that order, and back, as in Keras.
``count_params()``
    the number Keras' ``model.summary()`` shows.
``output_shape(input_shape)``, ``get_config()``
    one sample's output shape; the constructor arguments (for saving).

A layer's dtype is float32 or float64. With ``dtype=None`` it takes the dtype of
the first input it sees (NumPy's float64 by default); after that, an input of
the other float type raises ``TypeError`` instead of being cast silently. Layers
are strict on purpose (they are the building blocks); ``Sequential``'s fit,
evaluate and predict cast their data to the model's dtype, as Keras does.

A layer whose output overflows to inf or NaN from a finite input raises
``FloatingPointError`` naming it.
"""
import numbers

import numpy as np

from . import initializers, threads
from .cells import _common, gru, lstm, rnn


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def _check_dtype(dtype):
    if dtype is None:
        return None
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dtype not in _common.FLOAT_DTYPES:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype}")
    return dtype


def check_seed(seed, name="seed"):
    """None, an int >= 0 (a NumPy one becomes a Python int) or a numpy SeedSequence."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"{name} must be None or an int >= 0, got {seed!r}")
    return int(seed)


def check_shape(name, shape):
    """One sample's shape: a tuple (or list) of positive ints."""
    if not isinstance(shape, (tuple, list)) or not shape or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{name} must be a tuple of positive ints, one sample's shape such as (time, features), "
                         f"got {shape!r}")
    return tuple(int(d) for d in shape)


def child_seed(seed, k):
    """The k-th independent seed derived from ``seed`` (an int or a SeedSequence)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (k,))
    return np.random.SeedSequence(seed, spawn_key=(k,))


class Layer:
    """Base class: weight bookkeeping and input checks shared by every layer."""

    CONFIG = ()  # the constructor arguments that define the architecture (for saving)

    def __init__(self, dtype=None, seed=None, input_shape=None, name=None):
        self.dtype = _check_dtype(dtype)
        self.seed = check_seed(seed)
        self.input_shape = None if input_shape is None else check_shape("input_shape", input_shape)
        self.name = name or type(self).__name__.lower()
        self.params = {}
        self.grads = {}
        self.input_dim = None

    @property
    def built(self):
        return self.input_dim is not None

    def build(self, input_dim, dtype=None):
        self.input_dim = _check_positive_int("input_dim", input_dim)
        self.dtype = _check_dtype(dtype) or self.dtype or np.dtype(np.float64)
        rng = np.random.default_rng(self.seed)
        self.params = self._make_params(rng)
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def get_config(self):
        """The constructor arguments that rebuild this layer: ``type(layer)(**layer.get_config())``."""
        return {"name": self.name, **{key: getattr(self, key) for key in self.CONFIG}}

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

    def _check_output(self, y):
        """An output that overflowed (the input was checked finite): say so, naming the layer."""
        if not np.isfinite(y).all():
            raise FloatingPointError(f"the output of layer {self.name!r} is NaN or infinite although its input "
                                     "is finite: its weights are too large (has training diverged?)")
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
            _common.check_array("x", x, x.ndim, finite=False)
            self.build(x.shape[-1], self.dtype or x.dtype)
        _common.check_array("x", x, x.ndim, self.dtype, finite=finite)
        if x.shape[-1] != self.input_dim:
            raise ValueError(f"x has {x.shape[-1]} features (last axis) but {self.name} was built for "
                             f"{self.input_dim}")
        return x


class Input:
    """Keras' ``Input(shape=...)``, the first element of a :class:`~minirnn.Sequential`: the shape of
    one sample, (time, features), and optionally the dtype. Not a layer: it has no weights and no
    forward pass; the model builds its layers for this shape."""

    def __init__(self, shape, dtype=None, name=None):
        self.shape = check_shape("shape", shape)
        self.dtype = _check_dtype(dtype)
        self.name = name or "input"


class Dense(Layer):
    """y = act(x W + b) on the last axis, so it works on (batch, units) and (batch, time, units).

    activation: None/"linear", "tanh", "relu" or "sigmoid".
    """

    ACTIVATIONS = (None, "linear", "tanh", "relu", "sigmoid")
    CONFIG = ("units", "activation")

    def __init__(self, units, activation=None, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = _check_positive_int("units", units)
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation must be one of {self.ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")

    def _make_params(self, rng):
        return {"kernel": self.kernel_initializer((self.input_dim, self.units), rng, self.dtype),
                "bias": self.bias_initializer((self.units,), rng, self.dtype)}

    def output_shape(self, input_shape):
        """Shape of one sample's output for one sample's input shape (no batch axis)."""
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        x = self._check_input(x, ndim=(2, 3))
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _check_output
            y = x @ self.params["kernel"] + self.params["bias"]
        if self.activation == "tanh":
            y = np.tanh(y)
        elif self.activation == "relu":
            y = np.maximum(y, 0)
        elif self.activation == "sigmoid":
            y = 1 / (1 + np.exp(-y))
        self._x, self._y = x, self._check_output(y)
        return y

    _y = None  # the last forward's output

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._y)
        _common.check_array("grad_output", grad_output, self._y.ndim, self.dtype, self._y.shape)
        y = self._y
        if self.activation == "tanh":
            grad_output = grad_output * (1 - y * y)
        elif self.activation == "relu":
            grad_output = grad_output * (y > 0)
        elif self.activation == "sigmoid":
            grad_output = grad_output * y * (1 - y)
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

    def forward(self, x, training=False):
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
        _common.check_array("grad_output", grad_output, len(self._shape), self.dtype, self._shape)
        if not input_grad:
            return None
        return grad_output if self._mask is None else grad_output * self._mask


class Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: Keras arguments, state handling, output selection.

    Subclasses set ``gates`` (columns per unit in the kernels), ``state_names``
    and implement ``_run(x, states, recurrent_mask) -> (h_seq, cache)`` and
    ``_run_backward(cache, dh_seq, dh_last, dstates, input_grad) -> grads``, the cell's
    forward and backward for (part of) a batch; the cache holds each state's
    sequence under its name (``cache.h``, ``cache.c``).
    """

    gates = 1
    state_names = ("h",)
    PER_SEQUENCE_GRADS = ("x", "h0", "c0", "dh", "dc")  # one row per sequence; the rest are summed
    CONFIG = ("units", "activation", "return_sequences", "return_state", "recurrent_dropout")

    def __init__(self, units, activation="tanh", return_sequences=False, return_state=False,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 recurrent_dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.units = _check_positive_int("units", units)
        if not (isinstance(recurrent_dropout, numbers.Real) and 0 <= recurrent_dropout < 1):
            raise ValueError(f"recurrent_dropout must be a number in [0, 1), got {recurrent_dropout!r}")
        self.recurrent_dropout = float(recurrent_dropout)
        self.rng = np.random.default_rng(self.seed)
        self.record_state_grads = False  # set True to keep dL/dh_t (and dL/dc_t) of every step in state_grads
        self.state_grads = None
        self.activation = activation
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, "recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        self.grad_initial_state = None

    def _make_params(self, rng):
        width = self.gates * self.units
        return {"kernel": self.kernel_initializer((self.input_dim, width), rng, self.dtype),
                "recurrent_kernel": self.recurrent_initializer((self.units, width), rng, self.dtype),
                "bias": self._make_bias(rng)}

    def _make_bias(self, rng):
        return self.bias_initializer((self.gates * self.units,), rng, self.dtype)

    def output_shape(self, input_shape):
        """(time, units) with return_sequences, else (units,); input_shape is (time, features)."""
        if len(input_shape) != 2:
            raise ValueError(f"{self.name} takes inputs of shape (time, features) per sample, got {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def _initial_states(self, initial_state, batch):
        """Accept an array (one-state cells) or a list/tuple with one array per state."""
        n = len(self.state_names)
        if initial_state is None:
            return [None] * n
        if isinstance(initial_state, np.ndarray) and n == 1:
            initial_state = [initial_state]
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != n:
            raise ValueError(f"initial_state must be a list of {n} arrays ({', '.join(self.state_names)}) "
                             f"of shape (batch, units) = ({batch}, {self.units})")
        return [_common.check_state(f"initial_state[{k}]", s, batch, self.units, self.dtype)
                for k, s in enumerate(initial_state)]

    def forward(self, x, training=False, initial_state=None):
        x = self._check_input(x, ndim=(3,), finite=False)  # the cell checks the rest (empty, NaN)
        B, T, I = x.shape
        states = self._initial_states(initial_state, B)
        mask = self._recurrent_mask(B, training)
        # Sequences are independent: parts of the batch may run on other cores (minirnn.threads).
        self._chunks = threads.batch_chunks(B, T, B * (I + self.units) * self.gates * self.units, self.dtype)

        def run(rows):
            return self._run(x[rows], [_rows(s, rows) for s in states], _rows(mask, rows))

        parts = threads.map_chunks(run, self._chunks)
        self._caches = [cache for _, cache in parts]
        h_seq = _join([part_h_seq for part_h_seq, _ in parts])
        final_states = [_join([self._final_state(cache, k) for cache in self._caches])
                        for k in range(len(self.state_names))]
        self._output_shape = h_seq.shape
        if self.activation not in BOUNDED_ACTIVATIONS:
            self._check_output(h_seq)
        output = h_seq if self.return_sequences else final_states[0]
        return [output, *final_states] if self.return_state else output

    def _final_state(self, cache, k):
        return getattr(cache, self.state_names[k])[-1]

    def _recurrent_mask(self, batch, training):
        """Recurrent dropout (Gal & Ghahramani 2016): one (batch, units) mask of zeros and
        1 / (1 - rate) per call, applied to h_{t-1} at every step and shared by the gates."""
        if not training or self.recurrent_dropout == 0:
            return None
        keep = self.rng.random((batch, self.units)) >= self.recurrent_dropout
        return keep.astype(self.dtype) / self.dtype.type(1 - self.recurrent_dropout)

    _caches = None  # the last forward's, one per part of the batch

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._caches)
        n = len(self.state_names)
        if self.return_state:
            if not isinstance(grad_output, (list, tuple)) or len(grad_output) != 1 + n:
                raise ValueError(f"with return_state=True, grad_output must be a list of {1 + n} arrays "
                                 "(output, then each state; None for zero)")
            d_output, d_states = grad_output[0], list(grad_output[1:])
        else:
            d_output, d_states = grad_output, [None] * n
        B, T, H = self._output_shape
        dtype = self.dtype
        if d_output is not None:
            shape = (B, T, H) if self.return_sequences else (B, H)
            _common.check_array("grad_output", d_output, len(shape), dtype, shape)
        for k, d in enumerate(d_states):
            if d is not None:
                _common.check_state(f"grad_output[{k + 1}]", d, B, H, dtype)
        dh_seq = d_output if self.return_sequences else None
        dh_last = d_states[0]
        if not self.return_sequences and d_output is not None:
            dh_last = d_output if dh_last is None else d_output + dh_last
        d_other_states = d_states[1:]

        def run_backward(part):
            rows, cache = part
            return self._run_backward(cache, _rows(dh_seq, rows), _rows(dh_last, rows),
                                      [_rows(d, rows) for d in d_other_states], input_grad)

        parts = threads.map_chunks(run_backward, list(zip(self._chunks, self._caches)))
        grads = {name: _join([part[name] for part in parts]) if name in self.PER_SEQUENCE_GRADS
                 else sum([part[name] for part in parts[1:]], parts[0][name]) for name in parts[0]}
        self.grad_initial_state = [grads.pop(name + "0") for name in self.state_names]
        self.state_grads = ({name: grads.pop("d" + name) for name in self.state_names}
                            if self.record_state_grads else None)
        dx = grads.pop("x")
        self.grads = grads
        return dx


BOUNDED_ACTIVATIONS = ("tanh",)  # h_t in [-1, 1]: finite input and weights cannot overflow it


def _rows(a, rows):
    return None if a is None else a[rows]


def _join(parts):
    """The batch's array from its parts' (None if the parts have none)."""
    if len(parts) == 1 or parts[0] is None:
        return parts[0]
    return np.concatenate(parts)


class SimpleRNN(Recurrent):
    """Fully connected recurrent layer: h_t = act(x_t W_x + h_{t-1} W_h + b). See :mod:`minirnn.cells.rnn`.

    activation: "tanh" (default), "relu", "leaky_relu" (slope ``alpha`` for
    negative inputs, default 0.3 as Keras' LeakyReLU) or "linear".
    """

    CONFIG = Recurrent.CONFIG + ("alpha",)

    def __init__(self, units, activation="tanh", alpha=0.3, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        _common.check_choice("activation", activation, rnn.ACTIVATIONS)
        if not (isinstance(alpha, numbers.Real) and np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)

    def _run(self, x, states, mask):
        p = self.params
        return rnn.forward(x, p["kernel"], p["recurrent_kernel"], p["bias"], states[0], self.activation,
                           self.alpha, mask)

    def _run_backward(self, cache, dh_seq, dh_last, d_other_states, input_grad):
        return rnn.backward(cache, dh_seq, dh_last, input_grad=input_grad,
                            record_state_grads=self.record_state_grads)


class LSTM(Recurrent):
    """Long short-term memory layer, Keras weight layout (gates i, f, c, o). See :mod:`minirnn.cells.lstm`.

    unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al. 2015), as Keras.
    peephole: add diagonal peephole weights ``input_gate_peephole_weights``,
        ``forget_gate_peephole_weights`` (looking at c_{t-1}) and
        ``output_gate_peephole_weights`` (looking at c_t), initialised like the kernel.
    """

    gates = 4
    state_names = ("h", "c")
    CONFIG = Recurrent.CONFIG + ("unit_forget_bias", "peephole")

    def __init__(self, units, activation="tanh", unit_forget_bias=True, peephole=False, **kwargs):
        if activation != "tanh":
            raise ValueError(f"LSTM supports activation='tanh' only, got {activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)

    def _make_params(self, rng):
        params = super()._make_params(rng)
        if self.peephole:
            for name in lstm.PEEPHOLE_NAMES:
                params[name] = self.kernel_initializer((self.units,), rng, self.dtype)
        return params

    def _make_bias(self, rng):
        bias = super()._make_bias(rng)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1
        return bias

    def _run(self, x, states, mask):
        p = self.params
        peepholes = np.stack([p[name] for name in lstm.PEEPHOLE_NAMES]) if self.peephole else None
        return lstm.forward(x, p["kernel"], p["recurrent_kernel"], p["bias"], states[0], states[1], peepholes,
                            mask)

    def _run_backward(self, cache, dh_seq, dh_last, d_other_states, input_grad):
        grads = lstm.backward(cache, dh_seq, dh_last, d_other_states[0], input_grad=input_grad,
                              record_state_grads=self.record_state_grads)
        if self.peephole:
            grads.update(zip(lstm.PEEPHOLE_NAMES, grads.pop("peepholes")))
        return grads


class GRU(Recurrent):
    """Gated recurrent unit layer, Keras weight layout (gates z, r, h). See :mod:`minirnn.cells.gru`.

    reset_after: True (default, Keras >= 2.3 and PyTorch; bias shape (2, 3*units))
        or False (Cho et al. 2014; bias shape (3*units,)).
    """

    gates = 3
    CONFIG = Recurrent.CONFIG + ("reset_after",)

    def __init__(self, units, activation="tanh", reset_after=True, **kwargs):
        if activation != "tanh":
            raise ValueError(f"GRU supports activation='tanh' only, got {activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.reset_after = bool(reset_after)

    def _make_bias(self, rng):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        return self.bias_initializer(shape, rng, self.dtype)

    def _run(self, x, states, mask):
        p = self.params
        return gru.forward(x, p["kernel"], p["recurrent_kernel"], p["bias"], states[0], self.reset_after, mask)

    def _run_backward(self, cache, dh_seq, dh_last, d_other_states, input_grad):
        return gru.backward(cache, dh_seq, dh_last, input_grad=input_grad,
                            record_state_grads=self.record_state_grads)


class Bidirectional(Layer):
    """Run a recurrent layer over the sequence forwards and a copy of it backwards, and merge.

    The backward copy has the same configuration and its own weights. With
    ``return_sequences`` its outputs are put back in forward time order before
    merging, as Keras does. ``merge_mode``: "concat" (default; 2*units
    features), "sum", "mul" or "ave". Parameters are the two layers', named
    ``forward_<name>`` and ``backward_<name>``.
    """

    MERGE_MODES = ("concat", "sum", "mul", "ave")

    def __init__(self, layer, merge_mode="concat", **kwargs):
        if not isinstance(layer, Recurrent):
            raise TypeError(f"Bidirectional wraps a SimpleRNN, LSTM or GRU layer, got {type(layer).__name__}")
        if layer.return_state:
            raise ValueError("Bidirectional does not support return_state=True")
        if merge_mode not in self.MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {self.MERGE_MODES}, got {merge_mode!r}")
        kwargs.setdefault("name", f"bidirectional_{layer.name}")
        kwargs.setdefault("input_shape", layer.input_shape)
        kwargs.setdefault("dtype", layer.dtype)
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = layer
        self.backward_layer = type(layer)(**{k: v for k, v in layer.get_config().items() if k != "name"},
                                          name=f"backward_{layer.name}")
        self.return_sequences = layer.return_sequences

    @property
    def rng(self):
        return self.forward_layer.rng

    @rng.setter
    def rng(self, generator):
        """A model reseeds its layers' dropout; here that means both directions."""
        self.forward_layer.rng = np.random.default_rng(generator.integers(2**63))
        self.backward_layer.rng = np.random.default_rng(generator.integers(2**63))

    def get_config(self):
        return {"name": self.name, "merge_mode": self.merge_mode,
                "layer": {"class": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()}}

    def build(self, input_dim, dtype=None):
        self.input_dim = _check_positive_int("input_dim", input_dim)
        self.dtype = _check_dtype(dtype) or self.dtype or np.dtype(np.float64)
        for k, layer in enumerate((self.forward_layer, self.backward_layer)):
            if self.seed is not None:
                layer.seed = child_seed(self.seed, k)
            elif k == 1 and self.forward_layer.seed is not None:  # a seeded layer: its copy differs from it
                layer.seed = child_seed(self.forward_layer.seed, 1)
            layer.build(input_dim, self.dtype)
        self.params = {**{f"forward_{k}": v for k, v in self.forward_layer.params.items()},
                       **{f"backward_{k}": v for k, v in self.backward_layer.params.items()}}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def output_shape(self, input_shape):
        shape = self.forward_layer.output_shape(input_shape)
        return shape[:-1] + (2 * shape[-1],) if self.merge_mode == "concat" else shape

    def forward(self, x, training=False):
        x = self._check_input(x, ndim=(3,), finite=False)
        out_f = self.forward_layer.forward(x, training=training)
        out_b = self.backward_layer.forward(x[:, ::-1], training=training)
        if self.return_sequences:
            out_b = out_b[:, ::-1]
        self._outputs = out_f, out_b
        if self.merge_mode == "concat":
            return np.concatenate([out_f, out_b], axis=-1)
        if self.merge_mode == "sum":
            return out_f + out_b
        if self.merge_mode == "mul":
            return out_f * out_b
        return (out_f + out_b) / 2

    _outputs = None  # the last forward's, both directions

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._outputs)
        out_f, out_b = self._outputs
        shape = out_f.shape[:-1] + ((2 * out_f.shape[-1],) if self.merge_mode == "concat" else (out_f.shape[-1],))
        _common.check_array("grad_output", grad_output, len(shape), self.dtype, shape)
        if self.merge_mode == "concat":
            g_f, g_b = np.split(grad_output, 2, axis=-1)
        elif self.merge_mode == "sum":
            g_f = g_b = grad_output
        elif self.merge_mode == "mul":
            g_f, g_b = grad_output * out_b, grad_output * out_f
        else:
            g_f = g_b = grad_output / 2
        g_f, g_b = np.ascontiguousarray(g_f), np.ascontiguousarray(g_b[:, ::-1] if self.return_sequences else g_b)
        dx_f = self.forward_layer.backward(g_f, input_grad=input_grad)
        dx_b = self.backward_layer.backward(g_b, input_grad=input_grad)
        self.grads = {**{f"forward_{k}": v for k, v in self.forward_layer.grads.items()},
                      **{f"backward_{k}": v for k, v in self.backward_layer.grads.items()}}
        return dx_f + dx_b[:, ::-1] if input_grad else None
