"""Layers that wrap another: ``Bidirectional``."""
import copy

import numpy as np

from .. import checks
from .core import Layer, child_seed
from .recurrent import Recurrent


class Bidirectional(Layer):
    """Run a recurrent layer over the sequence forwards and a copy of it backwards, and merge.

    The backward copy has the same configuration and its own weights. With
    ``return_sequences`` its outputs are put back in forward time order before
    merging, as Keras does.

    With a sequence ``mask`` each direction skips the masked steps, so the backward layer reads
    each sequence from its own last unmasked step, whether the padding comes after the data or
    before it; with ``return_sequences`` both directions output zeros at masked steps (Keras'
    Bidirectional does the same). ``merge_mode``: "concat" (default; 2*units
    features), "sum", "mul" or "ave". Parameters are the two layers', named
    ``forward_<name>`` and ``backward_<name>``.
    """

    MERGE_MODES = ("concat", "sum", "mul", "ave")

    def __init__(self, layer, merge_mode="concat", **kwargs):
        if not isinstance(layer, Recurrent):
            raise TypeError(f"Bidirectional wraps a SimpleRNN, LSTM or GRU layer, got {type(layer).__name__}")
        if layer.return_state:
            raise ValueError("Bidirectional does not support return_state=True")
        if layer.stateful:
            raise ValueError("Bidirectional does not support stateful=True")
        if layer.go_backwards:
            raise ValueError("Bidirectional runs its layer forwards and a copy backwards itself: give it a layer "
                             "with go_backwards=False")
        if merge_mode not in self.MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {self.MERGE_MODES}, got {merge_mode!r}")
        kwargs.setdefault("name", f"bidirectional_{layer.name}")
        kwargs.setdefault("input_shape", layer.input_shape)
        kwargs.setdefault("dtype", layer.dtype)
        super().__init__(**kwargs)
        self.merge_mode = merge_mode
        self.forward_layer = layer
        # The backward copy is the whole layer, as Keras makes it: every setting (initialisers
        # included), with weights of its own (built below).
        self.backward_layer = copy.deepcopy(layer)
        self.backward_layer.name = f"backward_{layer.name}"
        self.backward_layer.input_dim = None
        # its own recurrent-dropout draws, not a copy of the forward layer's generator
        self.backward_layer.rng = np.random.default_rng(None if layer.seed is None else child_seed(layer.seed, 1))
        self.return_sequences = layer.return_sequences

    @property
    def rng(self):
        return self.forward_layer.rng

    @rng.setter
    def rng(self, generator):
        """A model reseeds its layers' dropout; here that means both directions."""
        self.forward_layer.rng = np.random.default_rng(generator.integers(2**63))
        self.backward_layer.rng = np.random.default_rng(generator.integers(2**63))

    def apply_constraints(self, params=None):
        for layer in (self.forward_layer, self.backward_layer):  # params here are views of theirs
            layer.apply_constraints()

    def get_config(self):
        return {"name": self.name, "merge_mode": self.merge_mode,
                "layer": {"class": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()}}

    def build(self, input_dim, dtype=None):
        self.input_dim = checks.check_positive_int("input_dim", input_dim)
        self.dtype = checks.dtype_of([("build(dtype=...)", dtype)], data=self.dtype)
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

    def forward(self, x, training=False, mask=None):
        x = self._check_input(x, ndim=(3,), finite=False)
        if mask is not None:
            checks.check_sequence_mask("mask", mask, *x.shape[:2])
        out_f = self.forward_layer.forward(x, training=training, mask=mask)
        out_b = self.backward_layer.forward(x[:, ::-1], training=training,
                                            mask=None if mask is None else mask[:, ::-1])
        if self.return_sequences:
            out_b = out_b[:, ::-1]
        self._zeroed = mask[..., None] if self.return_sequences and mask is not None else None
        if self._zeroed is not None:
            out_f, out_b = out_f * self._zeroed, out_b * self._zeroed
        self._outputs = out_f, out_b
        if self.merge_mode == "concat":
            return np.concatenate([out_f, out_b], axis=-1)
        if self.merge_mode == "sum":
            return out_f + out_b
        if self.merge_mode == "mul":
            return out_f * out_b
        return (out_f + out_b) / 2

    _outputs = None  # the last forward's, both directions

    def compute_mask(self, x, mask=None):
        return mask if self.return_sequences else None

    def backward(self, grad_output, input_grad=True):
        self._require_forward(self._outputs)
        out_f, out_b = self._outputs
        shape = out_f.shape[:-1] + ((2 * out_f.shape[-1],) if self.merge_mode == "concat" else (out_f.shape[-1],))
        checks.check_array("grad_output", grad_output, len(shape), self.dtype, shape)
        if self.merge_mode == "concat":
            g_f, g_b = np.split(grad_output, 2, axis=-1)
        elif self.merge_mode == "sum":
            g_f = g_b = grad_output
        elif self.merge_mode == "mul":
            g_f, g_b = grad_output * out_b, grad_output * out_f
        else:
            g_f = g_b = grad_output / 2
        if self._zeroed is not None:
            g_f, g_b = g_f * self._zeroed, g_b * self._zeroed
        g_f, g_b = np.ascontiguousarray(g_f), np.ascontiguousarray(g_b[:, ::-1] if self.return_sequences else g_b)
        dx_f = self.forward_layer.backward(g_f, input_grad=input_grad)
        dx_b = self.backward_layer.backward(g_b, input_grad=input_grad)
        self.grads = {**{f"forward_{k}": v for k, v in self.forward_layer.grads.items()},
                      **{f"backward_{k}": v for k, v in self.backward_layer.grads.items()}}
        return dx_f + dx_b[:, ::-1] if input_grad else None

