"""minirnn/interop.py: round trips without any framework, and the same outputs as torch and Keras."""
import os

import numpy as np
import pytest

from minirnn import interop, layers

from conftest import make_layer


@pytest.mark.parametrize("variant", ["rnn-tanh", "rnn-relu", "lstm", "gru-reset_after"])
def test_torch_layout_round_trip(variant, rng):
    layer = make_layer(variant, 4, 3, rng)
    state = interop.to_torch(layer)
    assert state["weight_ih_l0"].shape == (layer.gates * 4, 3) and state["weight_hh_l0"].shape == (layer.gates * 4, 4)
    copy = interop.from_torch(make_layer(variant, 4, 3, np.random.default_rng(1)), state)
    for name in layer.params:
        np.testing.assert_array_equal(copy.params[name], layer.params[name])


def test_keras_layout_round_trip_with_bidirectional(rng):
    layer = layers.Bidirectional(layers.GRU(4, reset_after=False))
    layer.build(3)
    for value in layer.params.values():
        value[...] = rng.normal(size=value.shape)
    copy = interop.from_keras(layers.Bidirectional(layers.GRU(4, reset_after=False)), interop.to_keras(layer))
    for name in layer.params:
        np.testing.assert_array_equal(copy.params[name], layer.params[name])


def test_what_torch_cannot_hold(rng):
    for variant in ("lstm-peephole", "gru-reset_before", "rnn-linear", "rnn-leaky_relu"):
        with pytest.raises(ValueError, match="PyTorch"):
            interop.to_torch(make_layer(variant, 2, 2, rng))
    with pytest.raises(ValueError, match="peephole"):
        interop.to_keras(make_layer("lstm-peephole", 2, 2, rng))
    with pytest.raises(ValueError, match="expected shape"):
        interop.from_keras(make_layer("lstm", 2, 2, rng), [np.ones((2, 12)), np.ones((3, 12)), np.ones(12)])


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch not installed: interop with torch not checked")


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch", reason="PyTorch not installed: Keras runs on its torch backend here")
    return pytest.importorskip("keras", reason="Keras not installed: interop with Keras not checked")


class TestAgainstTorch:
    @pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
    @pytest.mark.parametrize("bidirectional", [False, True])
    def test_same_outputs_both_ways(self, kind, bidirectional, rng, torch):
        torch.manual_seed(0)
        module = getattr(torch.nn, kind)(3, 5, batch_first=True, bidirectional=bidirectional).double()
        inner = {"RNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}[kind](5, return_sequences=True)
        ours = layers.Bidirectional(inner, merge_mode="concat") if bidirectional else inner
        interop.from_torch(ours, module.state_dict())
        x = rng.normal(size=(2, 7, 3))
        expected = module(torch.tensor(x))[0].detach().numpy()
        np.testing.assert_allclose(ours.forward(x), expected, rtol=0, atol=1e-12)
        # and back: a fresh module loaded from our weights computes the same
        fresh = getattr(torch.nn, kind)(3, 5, batch_first=True, bidirectional=bidirectional).double()
        fresh.load_state_dict({k: torch.tensor(v) for k, v in interop.to_torch(ours).items()})
        np.testing.assert_allclose(fresh(torch.tensor(x))[0].detach().numpy(), expected, rtol=0, atol=1e-12)


class TestAgainstKeras:
    @pytest.mark.parametrize("variant", ["lstm", "gru-reset_after", "gru-reset_before"])
    def test_same_outputs_both_ways(self, variant, rng, keras):
        make = {"lstm": lambda: keras.layers.LSTM(4, return_sequences=True),
                "gru-reset_after": lambda: keras.layers.GRU(4, return_sequences=True),
                "gru-reset_before": lambda: keras.layers.GRU(4, reset_after=False, return_sequences=True)}[variant]
        theirs = keras.layers.Bidirectional(make())
        theirs.build((None, 6, 3))
        x = rng.normal(size=(2, 6, 3)).astype(np.float32)
        ours = layers.Bidirectional(make_layer(variant, 4, 3, rng, return_sequences=True))
        interop.from_keras(ours, theirs.get_weights())
        expected = keras.ops.convert_to_numpy(theirs(x))
        assert np.max(np.abs(ours.forward(x.astype(np.float64)) - expected)) < 1e-6
        theirs.set_weights([w.astype(np.float32) for w in interop.to_keras(ours)])
        assert np.max(np.abs(keras.ops.convert_to_numpy(theirs(x)) - expected)) < 1e-6
