"""Shared helpers: layer factories for every cell variant and random non-zero weights,
Keras' constant test weights, and where the real price files are.

Biases are random and non-zero on purpose: zero biases hid a bias-gradient bug
for years in a well-known NumPy library.
"""
import os
from pathlib import Path

import numpy as np
import pytest

import minirnn
from minirnn import layers

# The price files beside the repository (../shared/data), or where MINIRNN_DATA says. Without
# them the tests that read them skip, except in CI (CI=true), where they fail: CI must run them.
DATA = Path(os.environ.get("MINIRNN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() == "true"
if DATA.exists() or not IN_CI:
    needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"price files not found at {DATA} (set MINIRNN_DATA)")
else:
    needs_data = pytest.mark.usefixtures("missing_price_files")


@pytest.fixture
def missing_price_files():
    pytest.fail(f"CI=true but the price files are not at {DATA}: the data tests must run in CI")


IBM, KO = DATA / "djia" / "IBM_2006-01-01_to_2018-01-01.csv", DATA / "djia" / "KO_2006-01-01_to_2018-01-01.csv"
NIKKEI = DATA / "nikkei" / "nikkei_stock_price.csv"


def weights(kernel, recurrent_kernel, bias, **others):
    """A cell's weights as the cells take them: a dict by Keras' names."""
    return {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias, **others}


def keras_constant_weights(input_dim, units, gates=1, bias_shape=None):
    """Keras' test weights, as a cell takes them: kernel 0.01, recurrent_kernel 0.02, bias 0.03 everywhere."""
    return weights(np.full((input_dim, gates * units), 0.01), np.full((units, gates * units), 0.02),
                   np.full(bias_shape or (gates * units,), 0.03))

# (name, constructor) for every cell x variant the library supports.
VARIANTS = {
    "rnn-tanh": lambda units, **kw: layers.SimpleRNN(units, activation="tanh", **kw),
    "rnn-relu": lambda units, **kw: layers.SimpleRNN(units, activation="relu", **kw),
    "rnn-leaky_relu": lambda units, **kw: layers.SimpleRNN(units, activation="leaky_relu", alpha=0.2, **kw),
    "rnn-linear": lambda units, **kw: layers.SimpleRNN(units, activation="linear", **kw),
    "lstm": lambda units, **kw: layers.LSTM(units, **kw),
    "lstm-peephole": lambda units, **kw: layers.LSTM(units, peephole=True, **kw),
    "lstm-go_backwards": lambda units, **kw: layers.LSTM(units, go_backwards=True, **kw),
    "lstm-layer_norm": lambda units, **kw: layers.LSTM(units, layer_norm=True, **kw),
    "lstm-layer_norm-peephole": lambda units, **kw: layers.LSTM(units, layer_norm=True, peephole=True, **kw),
    "gru-reset_after": lambda units, **kw: layers.GRU(units, reset_after=True, **kw),
    "gru-reset_before": lambda units, **kw: layers.GRU(units, reset_after=False, **kw),
    "indrnn-relu": lambda units, **kw: layers.IndRNN(units, activation="relu", **kw),
    "indrnn-tanh": lambda units, **kw: layers.IndRNN(units, activation="tanh", **kw),
    "indrnn-linear": lambda units, **kw: layers.IndRNN(units, activation="linear", **kw),
}


def mixed_mask(steps=7):
    """A sequence mask (6, steps) with every kind of row: no padding, padding after 3 steps of data,
    a single step, all padding, padding before the last 2 steps, and holes in the middle."""
    t = np.arange(steps)
    return np.stack([t < steps, t < 3, t < 1, t < 0, t >= steps - 2, t % 3 != 1])


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


# The two twins of every cell, by backend name: tests that hold for a cell hold for both.
TWINS = {"engine": minirnn.cells, "textbook": minirnn.textbook}


@pytest.fixture(params=sorted(TWINS))
def twin(request):
    """The engine's package of cells, then the textbook's (``twin.lstm.forward(...)``)."""
    return TWINS[request.param]


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def client():
    """A Dask client of two single-threaded worker processes, as minirnn.sweep.run starts them
    (one start-up for the whole session; tests that need a fresh cluster start their own)."""
    from distributed import Client

    from minirnn import sweep
    with sweep.local_cluster(2) as cluster, Client(cluster) as dask_client:
        yield dask_client
