"""The recurrent layers: ``SimpleRNN``, ``LSTM``, ``GRU``, ``IndRNN`` over the cells (the engine,
:mod:`minirnn.cells`, or its textbook twin, :mod:`minirnn.textbook`: :mod:`minirnn.backends`), and
what they share (Keras arguments, states, output selection, the batch split across cores)."""
import numbers

import numpy as np

from .. import backends, checks, initializers, threads
from ..cells import indrnn, lnlstm, lstm, rnn
from .core import Layer


class Recurrent(Layer):
    """What every recurrent layer shares: Keras arguments, state handling, output selection, and the
    one call to its cell.

    A subclass names its cell (``CELL``, a key of the backends' registries) and ``gates`` (columns
    per unit in the kernels), and makes its weights (``_make_params``) under the names the cell
    takes. The cell gets the weights as they are, the states, the masks and the layer's values of
    the cell's ``OPTIONS``; nothing else is mapped per cell (the contract: :mod:`minirnn.textbook`).
    """

    CELL = "rnn"
    gates = 1
    PER_SEQUENCE_GRADS = ("x", "h0", "c0", "dh", "dc")  # one row per sequence; the rest are summed
    CONFIG = ("units", "activation", "return_sequences", "return_state", "recurrent_dropout", "go_backwards",
              "stateful", "kernel_initializer", "recurrent_initializer", "bias_initializer")

    def __init__(self, units, activation="tanh", return_sequences=False, return_state=False,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 recurrent_dropout=0.0, go_backwards=False, stateful=False, **kwargs):
        super().__init__(**kwargs)
        # Keras' stateful: each call starts from the final states of the call before (sample i of
        # this batch continues sample i of the last one) until reset_states(). Backward stops at
        # the carried states: training over consecutive chunks is truncated BPTT.
        self.stateful = bool(stateful)
        self.states = None
        # Keras' go_backwards: read the sequence from its last step to its first; the returned
        # sequence is in that order too (its step t is the input's step T-1-t).
        self.go_backwards = bool(go_backwards)
        self.units = checks.check_positive_int("units", units)
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
        return {"kernel": self._draw("kernel_initializer", (self.input_dim, width), rng),
                "recurrent_kernel": self._draw("recurrent_initializer", (self.units, width), rng),
                "bias": self._make_bias(rng)}

    def _make_bias(self, rng, shape=None):
        shape = (self.gates * self.units,) if shape is None else shape
        if hasattr(self.bias_initializer, "gate_bias"):  # one that sets each gate its own way (Chrono)
            gates = self.gates
            return self._draw("bias_initializer", shape, rng,
                              lambda shape, rng, dtype: self.bias_initializer.gate_bias(gates, shape, rng, dtype))
        return self._draw("bias_initializer", shape, rng)

    @property
    def cell(self):
        """The cell module this layer runs, in the active backend (its forward, backward, step_jacobians)."""
        return backends.cell(self.CELL)

    @property
    def state_names(self):
        """The cell's states, in order: ("h",), or ("h", "c") for an LSTM."""
        return self.cell.STATES

    def output_shape(self, input_shape):
        """(time, units) with return_sequences, else (units,); input_shape is (time, features)."""
        if len(input_shape) != 2:
            raise ValueError(f"{self.name} takes inputs of shape (time, features) per sample, got {input_shape}")
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def _initial_states(self, initial_state, batch, names):
        """Accept an array (one-state cells) or a list/tuple with one array per state (``names``)."""
        n = len(names)
        if initial_state is None:
            return [None] * n
        if isinstance(initial_state, np.ndarray) and n == 1:
            initial_state = [initial_state]
        if not isinstance(initial_state, (list, tuple)) or len(initial_state) != n:
            raise ValueError(f"initial_state must be a list of {n} arrays ({', '.join(names)}) "
                             f"of shape (batch, units) = ({batch}, {self.units})")
        return [checks.check_state(f"initial_state[{k}]", s, batch, self.units, self.dtype)
                for k, s in enumerate(initial_state)]

    def forward(self, x, training=False, initial_state=None, mask=None):
        """``mask``: Keras' sequence mask, (batch, time) bools, False at padding steps (what a
        :class:`~minirnn.layers.Masking` layer before this one computes). At a masked step the
        states are carried through unchanged and the output repeats the last output (zeros before
        the first unmasked step); backward, no gradient flows into masked steps."""
        x = self._check_input(x, ndim=(3,), finite=False)  # the cell checks the rest (empty, NaN)
        if mask is not None:
            checks.check_sequence_mask("mask", mask, *x.shape[:2])
        if self.go_backwards:
            x, mask = x[:, ::-1], None if mask is None else mask[:, ::-1]
        B, T, I = x.shape
        if initial_state is None and self.stateful and self.states is not None:
            if self.states[0].shape[0] != B:
                raise ValueError(f"{self.name} is stateful and holds states for batches of {self.states[0].shape[0]}, "
                                 f"got a batch of {B}: keep the batch size fixed, or call reset_states() first")
            initial_state = self.states
        cell = self._cell = self.cell
        states = self._initial_states(initial_state, B, cell.STATES)
        dropout = self._recurrent_mask(B, training)
        options = {name: getattr(self, name) for name in cell.OPTIONS}
        # Sequences are independent: parts of the batch may run on other cores (minirnn.threads);
        # the textbook runs whole, on this thread, where a debugger can follow it.
        self._chunks = ([slice(0, B)] if cell is not backends.BACKENDS["engine"][self.CELL] else
                        threads.batch_chunks(B, T, B * (I + self.units) * self.gates * self.units, self.dtype))

        def run(rows):
            return cell.forward(x[rows], self.params, [_rows(s, rows) for s in states], _rows(dropout, rows),
                                _rows(mask, rows), **options)

        parts = threads.map_chunks(run, self._chunks)
        self._caches = [cache for _, cache in parts]
        h_seq = _join([part_h_seq for part_h_seq, _ in parts])
        final_states = (cell.final_states(self._caches[0]) if len(self._caches) == 1 else
                        [_join(list(pieces)) for pieces in zip(*(cell.final_states(cache) for cache in self._caches))])
        self._output_shape = h_seq.shape
        self._not_started = _not_started(mask, initial_state)
        last_output = final_states[0]
        if self._not_started is not None:  # Keras' outputs start from zeros, not from the initial state
            h_seq = np.where(self._not_started[..., None], 0, h_seq)
            last_output = np.where(self._not_started[:, -1:], 0, last_output)
        if self.activation not in BOUNDED_ACTIVATIONS:
            self._check_output(h_seq, x)
        if self.stateful:  # copies: the caches, which backward reads, stay as they are
            self.states = [state.copy() for state in final_states]
        output = h_seq if self.return_sequences else last_output
        return [output, *final_states] if self.return_state else output

    def compute_mask(self, x, mask=None):
        """The mask of the output, as Keras: the input's with return_sequences, else none."""
        return mask if self.return_sequences else None

    def reset_states(self):
        """Forget the carried states: the next call starts from zeros (stateful layers)."""
        self.states = None

    def _recurrent_mask(self, batch, training):
        """Recurrent dropout (Gal & Ghahramani 2016): one (batch, units) mask of zeros and
        1 / (1 - rate) per call, applied to h_{t-1} at every step and shared by the gates."""
        if not training or self.recurrent_dropout == 0:
            return None
        keep = self.rng.random((batch, self.units)) >= self.recurrent_dropout
        return keep.astype(self.dtype) / self.dtype.type(1 - self.recurrent_dropout)

    _caches = None  # the last forward's, one per part of the batch

    @property
    def last_caches(self):
        """What the last forward pass left for backward: the cell's cache for each part of the batch,
        one part unless it ran split across cores (:mod:`minirnn.threads`)."""
        self._require_forward(self._caches)
        return list(self._caches)

    def step_jacobians(self, sample=0):
        """d(states_t) / d(states_{t-1}) at every step of sequence ``sample`` of the last forward pass,
        (T, S, S), from the cell's own step derivatives (``cell.step_jacobians``)."""
        self._require_forward(self._caches)
        checks.check_int("sample", sample, 0)
        for rows, cache in zip(self._chunks, self._caches):
            if rows.start <= sample < rows.stop:
                return self._cell.step_jacobians(cache, sample - rows.start)
        raise ValueError(f"sample must be below the last forward pass's batch of {self._chunks[-1].stop}, "
                         f"got {sample}")

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._caches)
        names = self._cell.STATES
        n = len(names)
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
            checks.check_array("grad_output", d_output, len(shape), dtype, shape)
        for k, d in enumerate(d_states):
            if d is not None:
                checks.check_state(f"grad_output[{k + 1}]", d, B, H, dtype)
        if d_output is not None and self._not_started is not None:  # outputs that were zeros, not states
            d_output = np.where(self._not_started[..., None] if self.return_sequences
                                else self._not_started[:, -1:], 0, d_output)
        dh_seq = d_output if self.return_sequences else None
        dh_last = d_states[0]
        if not self.return_sequences and d_output is not None:
            dh_last = d_output if dh_last is None else d_output + dh_last
        d_other_states = d_states[1:]

        def run_backward(part):
            rows, cache = part
            return self._cell.backward(cache, _rows(dh_seq, rows), [_rows(d, rows) for d in (dh_last, *d_other_states)],
                                       input_grad, self.record_state_grads)

        parts = threads.map_chunks(run_backward, list(zip(self._chunks, self._caches)))
        grads = {name: _join([part[name] for part in parts]) if name in self.PER_SEQUENCE_GRADS
                 else sum([part[name] for part in parts[1:]], parts[0][name]) for name in parts[0]}
        self.grad_initial_state = [grads.pop(name + "0") for name in names]
        self.state_grads = ({name: grads.pop("d" + name) for name in names}
                            if self.record_state_grads else None)
        dx = grads.pop("x")
        self.grads = grads
        return dx[:, ::-1] if self.go_backwards and dx is not None else dx


class IndRNN(Recurrent):
    """Independently recurrent layer (Li et al. 2018): h_t = act(x_t W_x + u * h_{t-1} + b), one
    recurrent weight per unit (``recurrent_kernel`` has shape (units,)). See :mod:`minirnn.cells.indrnn`.

    activation: "relu" (default, the paper's), "tanh" or "linear". recurrent_initializer: U(0, 1)
    by default. ``recurrent_clip``: after every optimizer update, u is clipped to [-clip, clip], the
    paper's bound on |u| (for relu over T steps, 2 ** (1 / T) keeps u^T <= 2); None for no bound.
    """

    CELL = "indrnn"
    CONFIG = Recurrent.CONFIG + ("recurrent_clip",)

    def __init__(self, units, activation="relu", recurrent_clip=None,
                 recurrent_initializer=initializers.RandomUniform(0.0, 1.0), **kwargs):
        super().__init__(units, activation=activation, recurrent_initializer=recurrent_initializer, **kwargs)
        checks.check_choice("activation", activation, indrnn.ACTIVATIONS)
        if recurrent_clip is not None and not (isinstance(recurrent_clip, numbers.Real) and np.isfinite(recurrent_clip)
                                               and recurrent_clip > 0):
            raise ValueError(f"recurrent_clip must be a finite number > 0 or None, got {recurrent_clip!r}")
        self.recurrent_clip = None if recurrent_clip is None else float(recurrent_clip)

    def _make_params(self, rng):
        params = {"kernel": self._draw("kernel_initializer", (self.input_dim, self.units), rng),
                  "recurrent_kernel": self._draw("recurrent_initializer", (self.units,), rng),  # u, a vector
                  "bias": self._make_bias(rng)}
        self.apply_constraints(params)
        return params

    def apply_constraints(self, params=None):
        """Clip u to [-recurrent_clip, recurrent_clip] (Sequential calls this after every update)."""
        params = self.params if params is None else params
        if self.recurrent_clip is not None:
            np.clip(params["recurrent_kernel"], -self.recurrent_clip, self.recurrent_clip,
                    out=params["recurrent_kernel"])


BOUNDED_ACTIVATIONS = ("tanh",)  # h_t in [-1, 1]: finite input and weights cannot overflow it


def _not_started(mask, initial_state):
    """(B, T) True at the steps before a sequence's first unmasked one, where Keras outputs zeros
    while the states still hold the initial ones; None when that changes nothing (no mask, or
    zero initial states, or no sequence starts masked)."""
    if mask is None or initial_state is None:
        return None
    not_started = ~np.logical_or.accumulate(mask, axis=1)
    return not_started if not_started.any() else None


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

    CELL = "rnn"
    CONFIG = Recurrent.CONFIG + ("alpha",)

    def __init__(self, units, activation="tanh", alpha=0.3, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        checks.check_choice("activation", activation, rnn.ACTIVATIONS)
        if not (isinstance(alpha, numbers.Real) and np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        self.alpha = float(alpha)


class LSTM(Recurrent):
    """Long short-term memory layer, Keras weight layout (gates i, f, c, o). See :mod:`minirnn.cells.lstm`.

    unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al. 2015), as Keras.
    peephole: add diagonal peephole weights ``input_gate_peephole_weights``,
        ``forget_gate_peephole_weights`` (looking at c_{t-1}) and
        ``output_gate_peephole_weights`` (looking at c_t), initialised like the kernel.
    layer_norm: normalise the input and recurrent pre-activations and the cell state that h_t reads
        (Ba, Kiros & Hinton 2016; :mod:`minirnn.cells.lnlstm`), with a gain and a bias each, named
        as Keras' LayerNormalization weights: ``input_layer_norm_gamma``/``_beta`` (4H),
        ``recurrent_layer_norm_gamma``/``_beta`` (4H), ``cell_layer_norm_gamma``/``_beta`` (H);
        gains start at 1, biases at 0.
    """

    gates = 4
    CONFIG = Recurrent.CONFIG + ("unit_forget_bias", "peephole", "layer_norm")

    def __init__(self, units, activation="tanh", unit_forget_bias=True, peephole=False, layer_norm=False,
                 **kwargs):
        if activation != "tanh":
            raise ValueError(f"LSTM supports activation='tanh' only, got {activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)
        self.layer_norm = bool(layer_norm)

    @property
    def CELL(self):  # noqa: N802 -- the class attribute of the other layers, chosen by an option here
        return "lnlstm" if self.layer_norm else "lstm"

    def _layer_norm_names(self):
        return [(f"{norm}_layer_norm_gamma", f"{norm}_layer_norm_beta") for norm in lnlstm.NORMS]

    def _make_params(self, rng):
        params = super()._make_params(rng)
        if self.peephole:
            for name in lstm.PEEPHOLE_NAMES:
                params[name] = self._draw("kernel_initializer", (self.units,), rng)
        if self.layer_norm:
            for (gamma, beta), n in zip(self._layer_norm_names(), (4 * self.units, 4 * self.units, self.units)):
                params[gamma], params[beta] = np.ones(n, dtype=self.dtype), np.zeros(n, dtype=self.dtype)
        return params

    def _make_bias(self, rng):
        bias = super()._make_bias(rng)
        if self.unit_forget_bias and not getattr(self.bias_initializer, "sets_gate_biases", False):
            bias[self.units:2 * self.units] = 1
        return bias


class GRU(Recurrent):
    """Gated recurrent unit layer, Keras weight layout (gates z, r, h). See :mod:`minirnn.cells.gru`.

    reset_after: True (default, Keras >= 2.3 and PyTorch; bias shape (2, 3*units))
        or False (Cho et al. 2014; bias shape (3*units,)).
    """

    CELL = "gru"
    gates = 3
    CONFIG = Recurrent.CONFIG + ("reset_after",)

    def __init__(self, units, activation="tanh", reset_after=True, **kwargs):
        if activation != "tanh":
            raise ValueError(f"GRU supports activation='tanh' only, got {activation!r}")
        super().__init__(units, activation=activation, **kwargs)
        self.reset_after = bool(reset_after)

    def _make_bias(self, rng):
        return super()._make_bias(rng, (2, 3 * self.units) if self.reset_after else (3 * self.units,))
