"""Same weights, same numbers as PyTorch nn.RNN / nn.LSTM / nn.GRU (float64, <= 1e-10), for both twins
of every cell: the engine and the textbook each agree with torch on their own.

Loss = sum(output * G) + sum(h_n * G_h) with random G; we compare the outputs and
the gradients of every weight, the input and the initial state.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed: parity with torch not checked")


TOL = 1e-10
B, T, I, H = 3, 7, 6, 5  # I > SMALL_INPUT: the BLAS input projection (golden tests cover the loop)


def keras_from_torch_gru(w):
    """PyTorch row blocks [r, z, n] -> Keras column blocks [z, r, h] (transposed)."""
    r, z, n = np.split(w, 3, axis=0)
    return np.concatenate([z, r, n], axis=0).T if w.ndim == 2 else np.concatenate([z, r, n])


def close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    assert ours.shape == theirs.shape
    assert np.max(np.abs(ours - theirs)) <= TOL * max(1.0, np.max(np.abs(theirs)))


def run_torch(module, x, states, G, G_h):
    x_t = torch.tensor(x, requires_grad=True)
    states_t = [torch.tensor(s[None], requires_grad=True) for s in states]
    out, final = module(x_t, tuple(states_t) if len(states_t) > 1 else states_t[0])
    h_n = final[0] if isinstance(final, tuple) else final
    (out * torch.tensor(G)).sum().add((h_n[0] * torch.tensor(G_h)).sum()).backward()
    return out, x_t, states_t


def weights(module):
    return {k: v.detach().numpy() for k, v in module.named_parameters()}


def keras_weights(w):
    """torch's RNN or LSTM weights in Keras' layout (the same gate order): transposed, the biases added."""
    return {"kernel": w["weight_ih_l0"].T.copy(), "recurrent_kernel": w["weight_hh_l0"].T.copy(),
            "bias": w["bias_ih_l0"] + w["bias_hh_l0"]}


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_matches_torch(nonlinearity, twin, rng):
    torch.manual_seed(0)
    m = torch.nn.RNN(I, H, nonlinearity=nonlinearity, batch_first=True).double()
    w = weights(m)
    x, h0 = rng.normal(size=(B, T, I)), rng.normal(size=(B, H))
    G, G_h = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    out, x_t, (h0_t,) = run_torch(m, x, [h0], G, G_h)
    h_seq, cache = twin.rnn.forward(x, keras_weights(w), [h0], activation=nonlinearity)
    g = twin.rnn.backward(cache, dh_seq=G, dstates=[G_h])
    close(h_seq, out)
    close(g["x"], x_t.grad)
    close(g["h0"], h0_t.grad[0])
    close(g["kernel"], m.weight_ih_l0.grad.T)
    close(g["recurrent_kernel"], m.weight_hh_l0.grad.T)
    close(g["bias"], m.bias_ih_l0.grad)
    close(g["bias"], m.bias_hh_l0.grad)


def test_lstm_matches_torch(twin, rng):
    torch.manual_seed(1)
    m = torch.nn.LSTM(I, H, batch_first=True).double()
    w = weights(m)
    x, h0, c0 = rng.normal(size=(B, T, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    G, G_h = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    out, x_t, (h0_t, c0_t) = run_torch(m, x, [h0, c0], G, G_h)
    # Same gate order (i, f, g/c, o): transpose, and the two biases add up.
    h_seq, cache = twin.lstm.forward(x, keras_weights(w), [h0, c0])
    g = twin.lstm.backward(cache, dh_seq=G, dstates=[G_h, None])
    close(h_seq, out)
    close(g["x"], x_t.grad)
    close(g["h0"], h0_t.grad[0])
    close(g["c0"], c0_t.grad[0])
    close(g["kernel"], m.weight_ih_l0.grad.T)
    close(g["recurrent_kernel"], m.weight_hh_l0.grad.T)
    close(g["bias"], m.bias_ih_l0.grad)
    close(g["bias"], m.bias_hh_l0.grad)


def test_gru_matches_torch(twin, rng):
    torch.manual_seed(2)
    m = torch.nn.GRU(I, H, batch_first=True).double()
    w = weights(m)
    x, h0 = rng.normal(size=(B, T, I)), rng.normal(size=(B, H))
    G, G_h = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    out, x_t, (h0_t,) = run_torch(m, x, [h0], G, G_h)
    bias = np.stack([keras_from_torch_gru(w["bias_ih_l0"]), keras_from_torch_gru(w["bias_hh_l0"])])
    keras = {"kernel": keras_from_torch_gru(w["weight_ih_l0"]), "recurrent_kernel": keras_from_torch_gru(w["weight_hh_l0"]),
             "bias": bias}
    h_seq, cache = twin.gru.forward(x, keras, [h0], reset_after=True)
    g = twin.gru.backward(cache, dh_seq=G, dstates=[G_h])
    close(h_seq, out)
    close(g["x"], x_t.grad)
    close(g["h0"], h0_t.grad[0])
    close(g["kernel"], keras_from_torch_gru(m.weight_ih_l0.grad.numpy()))
    close(g["recurrent_kernel"], keras_from_torch_gru(m.weight_hh_l0.grad.numpy()))
    close(g["bias"][0], keras_from_torch_gru(m.bias_ih_l0.grad.numpy()))
    close(g["bias"][1], keras_from_torch_gru(m.bias_hh_l0.grad.numpy()))


def test_a_skipped_gate_reorder_is_caught(twin, rng):
    """The trap from REFERENCE.md: loading torch GRU weights without reordering differs by O(1)."""
    torch.manual_seed(3)
    m = torch.nn.GRU(I, H, batch_first=True).double()
    w = weights(m)
    x = rng.normal(size=(B, T, I))
    out = m(torch.tensor(x))[0].detach().numpy()
    wrong, _ = twin.gru.forward(x, {"kernel": w["weight_ih_l0"].T.copy(), "recurrent_kernel": w["weight_hh_l0"].T.copy(),
                                    "bias": np.stack([w["bias_ih_l0"], w["bias_hh_l0"]])})
    assert np.max(np.abs(wrong - out)) > 1e-2


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_with_momentum_matches_torch_over_many_steps(nesterov, rng):
    """Keras' SGD (v = m v - lr g; w += v) and torch's (b = m b + g; w -= lr b) are one rule."""
    from minirnn import optim
    a, target = rng.uniform(0.5, 4, size=5), rng.normal(size=5)
    ours = rng.normal(size=5)
    theirs = torch.tensor(ours.copy(), requires_grad=True)
    sgd = optim.SGD(0.05, momentum=0.8, nesterov=nesterov)
    torch_sgd = torch.optim.SGD([theirs], lr=0.05, momentum=0.8, nesterov=nesterov)
    for _ in range(60):
        sgd.step({"w": (ours, a * (ours - target))})
        torch_sgd.zero_grad()
        (0.5 * (torch.tensor(a) * (theirs - torch.tensor(target)) ** 2).sum()).backward()
        torch_sgd.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_padded_sequences_match_torch_packed_sequences(twin, rng):
    """PyTorch's variable-length sequences are packed ones (lengths >= 1, padding after the data):
    the same final states, and the same gradients of every weight, the input and the initial states
    for a loss on the real steps' outputs and the final states, as the LSTM with a sequence mask."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    torch.manual_seed(3)
    m = torch.nn.LSTM(I, H, batch_first=True).double()
    w = weights(m)
    lengths = np.array([T, 4, 1])
    mask = np.arange(T)[None, :] < lengths[:, None]
    x, h0, c0 = rng.normal(size=(B, T, I)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    G, G_h, G_c = rng.normal(size=(B, T, H)) * mask[..., None], rng.normal(size=(B, H)), rng.normal(size=(B, H))
    x_t, h0_t, c0_t = (torch.tensor(a, requires_grad=True) for a in (x, h0[None], c0[None]))
    packed = pack_padded_sequence(x_t, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, (h_n, c_n) = m(packed, (h0_t, c0_t))
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    loss = (out * torch.tensor(G)).sum() + (h_n[0] * torch.tensor(G_h)).sum() + (c_n[0] * torch.tensor(G_c)).sum()
    loss.backward()
    h_seq, cache = twin.lstm.forward(x, keras_weights(w), [h0, c0], sequence_mask=mask)
    g = twin.lstm.backward(cache, dh_seq=G, dstates=[G_h, G_c])
    close(h_seq * mask[..., None], out)  # torch pads with zeros where minirnn repeats the last output
    h_T, c_T = twin.lstm.final_states(cache)
    close(h_T, h_n[0])
    close(c_T, c_n[0])
    close(g["x"], x_t.grad)
    close(g["h0"], h0_t.grad[0])
    close(g["c0"], c0_t.grad[0])
    close(g["kernel"], m.weight_ih_l0.grad.T)
    close(g["recurrent_kernel"], m.weight_hh_l0.grad.T)
    close(g["bias"], m.bias_ih_l0.grad)
