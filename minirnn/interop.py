"""Copy weights between minirnn layers and PyTorch / Keras, to check one against the other.

PyTorch (``nn.RNN``/``nn.LSTM``/``nn.GRU`` state dicts; tensors or arrays)::

    interop.from_torch(layer, module.state_dict())        # layer 0 of the module
    module.load_state_dict({k: torch.tensor(v) for k, v in interop.to_torch(layer).items()})

Keras (``layer.get_weights()`` / ``set_weights``)::

    interop.from_keras(layer, keras_layer.get_weights())
    keras_layer.set_weights(interop.to_keras(layer))

Layouts (REFERENCE D1-D3): PyTorch stores row blocks used as ``x @ W.T`` with
two biases, Keras and minirnn column blocks used as ``x @ kernel`` with one.
LSTM gates are i, f, g(c), o in all three. GRU gates are r, z, n in PyTorch
and z, r, h in Keras and minirnn, and reset_after=True keeps both biases as the
rows of a (2, 3H) bias; reset_after=False has no PyTorch counterpart, nor do
peepholes, leaky_relu or linear activations. Bidirectional layers map to
PyTorch's ``*_reverse`` entries and to Keras' forward-then-backward weight list.

minirnn never imports torch or keras: everything here is NumPy.
"""
import numpy as np

from . import layers


def _numpy(value):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _gru_torch_to_keras(w):
    """Row blocks [r, z, n] -> [z, r, n] (still rows; transpose afterwards for matrices)."""
    r, z, n = np.split(w, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def _gru_keras_to_torch(w):
    z, r, n = np.split(w, 3, axis=0)
    return np.concatenate([r, z, n], axis=0)


def _check_torch_compatible(layer):
    if isinstance(layer, layers.LSTM) and layer.peephole:
        raise ValueError("PyTorch's LSTM has no peephole connections")
    if isinstance(layer, layers.GRU) and not layer.reset_after:
        raise ValueError("PyTorch's GRU applies the reset gate after the matmul: only reset_after=True matches")
    if isinstance(layer, layers.SimpleRNN) and layer.activation not in ("tanh", "relu"):
        raise ValueError(f"PyTorch's RNN has nonlinearity tanh or relu, not {layer.activation!r}")
    if not isinstance(layer, (layers.SimpleRNN, layers.LSTM, layers.GRU, layers.Bidirectional)):
        raise TypeError(f"expected a SimpleRNN, LSTM, GRU or Bidirectional layer, got {type(layer).__name__}")


def _directions(layer, suffix):
    if isinstance(layer, layers.Bidirectional):
        return [(layer.forward_layer, suffix), (layer.backward_layer, suffix + "_reverse")]
    return [(layer, suffix)]


def _build(layer, input_dim, dtype):
    """Build an unbuilt layer (a Bidirectional builds both directions) before its weights are set.

    Its dtype is its own if it has one, else that of the weights (float32 from Keras, say).
    """
    if not layer.built:
        layer.build(input_dim, layer.dtype or (dtype if dtype in (np.float32, np.float64) else None))


def from_torch(layer, state_dict, index=0):
    """Set ``layer``'s weights from a PyTorch recurrent module's state dict (its layer ``index``)."""
    _check_torch_compatible(layer)
    for target, suffix in _directions(layer, f"_l{index}"):
        _check_torch_compatible(target)
        try:
            w_ih, w_hh = _numpy(state_dict["weight_ih" + suffix]), _numpy(state_dict["weight_hh" + suffix])
            b_ih, b_hh = _numpy(state_dict["bias_ih" + suffix]), _numpy(state_dict["bias_hh" + suffix])
        except KeyError as missing:
            raise ValueError(f"state_dict has no {missing.args[0]!r}: a module built with bias=False or "
                             "proj_size is not supported") from None
        _build(layer, w_ih.shape[1], w_ih.dtype)
        if isinstance(target, layers.GRU):
            weights = {"kernel": _gru_torch_to_keras(w_ih).T, "recurrent_kernel": _gru_torch_to_keras(w_hh).T,
                       "bias": np.stack([_gru_torch_to_keras(b_ih), _gru_torch_to_keras(b_hh)])}
        else:  # same gate order; only the sum of the two biases matters
            weights = {"kernel": w_ih.T, "recurrent_kernel": w_hh.T, "bias": b_ih + b_hh}
        _assign(target, weights)
    return layer


def to_torch(layer, index=0):
    """PyTorch state-dict entries (NumPy arrays) for ``layer`` as layer ``index`` of a module.

    Keras/minirnn have one bias: it goes to ``bias_ih`` and ``bias_hh`` is zero,
    as Keras' own torch backend does (for GRU both rows map one to one).
    """
    _check_torch_compatible(layer)
    state = {}
    for source, suffix in _directions(layer, f"_l{index}"):
        p = source.params
        if isinstance(source, layers.GRU):
            state["weight_ih" + suffix] = _gru_keras_to_torch(p["kernel"].T)
            state["weight_hh" + suffix] = _gru_keras_to_torch(p["recurrent_kernel"].T)
            state["bias_ih" + suffix] = _gru_keras_to_torch(p["bias"][0])
            state["bias_hh" + suffix] = _gru_keras_to_torch(p["bias"][1])
        else:
            state["weight_ih" + suffix] = p["kernel"].T.copy()
            state["weight_hh" + suffix] = p["recurrent_kernel"].T.copy()
            state["bias_ih" + suffix] = p["bias"].copy()
            state["bias_hh" + suffix] = np.zeros_like(p["bias"])
    return state


def from_keras(layer, weights):
    """Set ``layer``'s weights from a Keras layer's ``get_weights()`` (same layout: a plain copy)."""
    targets = [d for d, _ in _directions(layer, "")]
    if len(weights) != 3 * len(targets):
        raise ValueError(f"expected [kernel, recurrent_kernel, bias] per direction ({3 * len(targets)} arrays), "
                         f"got {len(weights)}")
    kernel = np.asarray(weights[0])
    _build(layer, kernel.shape[0], kernel.dtype)
    for k, target in enumerate(targets):
        _assign(target, dict(zip(("kernel", "recurrent_kernel", "bias"), map(np.asarray, weights[3 * k:3 * k + 3]))))
    return layer


def to_keras(layer):
    """The list a Keras layer's ``set_weights`` takes: [kernel, recurrent_kernel, bias] per direction."""
    if isinstance(layer, layers.LSTM) and layer.peephole:
        raise ValueError("Keras 3's LSTM has no peephole connections")
    return [d.params[name].copy() for d, _ in _directions(layer, "") for name in ("kernel", "recurrent_kernel", "bias")]


def _assign(layer, weights):
    for name, value in weights.items():
        target = layer.params[name]
        if value.shape != target.shape:
            raise ValueError(f"{layer.name}.{name}: expected shape {target.shape}, got {value.shape} "
                             "(different units or input features?)")
        target[...] = value
