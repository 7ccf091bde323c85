"""Shared helpers: layer factories for every cell variant and random non-zero weights.

Biases are random and non-zero on purpose: zero biases hid a bias-gradient bug
for years in a well-known NumPy library.
"""
import numpy as np
import pytest

from minirnn import layers

# (name, constructor) for every cell x variant the library supports.
VARIANTS = {
    "rnn-tanh": lambda units, **kw: layers.SimpleRNN(units, activation="tanh", **kw),
    "rnn-relu": lambda units, **kw: layers.SimpleRNN(units, activation="relu", **kw),
    "rnn-leaky_relu": lambda units, **kw: layers.SimpleRNN(units, activation="leaky_relu", alpha=0.2, **kw),
    "rnn-linear": lambda units, **kw: layers.SimpleRNN(units, activation="linear", **kw),
    "lstm": lambda units, **kw: layers.LSTM(units, **kw),
    "lstm-peephole": lambda units, **kw: layers.LSTM(units, peephole=True, **kw),
    "gru-reset_after": lambda units, **kw: layers.GRU(units, reset_after=True, **kw),
    "gru-reset_before": lambda units, **kw: layers.GRU(units, reset_after=False, **kw),
}


def randomize(layer, rng, scale=0.5):
    """Overwrite every parameter (biases included) with N(0, scale^2) values."""
    for value in layer.params.values():
        value[...] = rng.normal(scale=scale, size=value.shape)


def make_layer(variant, units, input_dim, rng, dtype=np.float64, scale=0.5, **kwargs):
    layer = VARIANTS[variant](units, **kwargs)
    layer.build(input_dim, dtype)
    randomize(layer, rng, scale)
    return layer


def random_states(layer, batch, rng, dtype=np.float64):
    return [rng.normal(size=(batch, layer.units)).astype(dtype) for _ in layer.state_names]


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)
