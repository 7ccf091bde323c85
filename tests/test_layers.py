"""minirnn/layers.py: Keras parameter counts, initialisers, the forward/backward protocol, bad input."""
import numpy as np
import pytest

from minirnn import layers

from conftest import VARIANTS, make_layer, mixed_mask, random_states, randomize, weights


@pytest.mark.parametrize("layer, input_dim, expected", [
    (lambda: layers.SimpleRNN(50), 1, 2600),
    (lambda: layers.LSTM(50), 1, 10400),
    (lambda: layers.GRU(50), 1, 7950),
    (lambda: layers.LSTM(32), 32, 8320),
    (lambda: layers.GRU(32), 32, 6336),
    # REFERENCE.md D2, Keras 3.15.1 with D=5, U=7
    (lambda: layers.SimpleRNN(7), 5, 91),
    (lambda: layers.LSTM(7), 5, 364),
    (lambda: layers.GRU(7), 5, 294),
    (lambda: layers.GRU(7, reset_after=False), 5, 273),
    (lambda: layers.LSTM(7, peephole=True), 5, 364 + 3 * 7),
    (lambda: layers.Dense(1), 50, 51),
])
def test_parameter_counts_equal_keras(layer, input_dim, expected):
    layer = layer()
    layer.build(input_dim)
    assert layer.count_params() == expected


def test_keras_default_initialisers():
    layer = layers.LSTM(3, seed=0, peephole=True)
    layer.build(2)
    p = layer.params
    np.testing.assert_array_equal(p["bias"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # unit_forget_bias
    limit = np.sqrt(6 / (2 + 12))
    assert np.all(np.abs(p["kernel"]) <= limit) and np.abs(p["kernel"]).max() > limit / 2
    # orthogonal recurrent kernel (3, 12): orthonormal rows
    np.testing.assert_allclose(p["recurrent_kernel"] @ p["recurrent_kernel"].T, np.eye(3), atol=1e-12)
    assert p["input_gate_peephole_weights"].shape == (3,)
    no_forget_bias = layers.LSTM(3, unit_forget_bias=False)
    no_forget_bias.build(2)
    assert not no_forget_bias.params["bias"].any()


def test_seed_makes_weights_reproducible():
    a, b, c = layers.GRU(4, seed=5), layers.GRU(4, seed=5), layers.GRU(4, seed=6)
    for layer in (a, b, c):
        layer.build(3)
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    assert not np.array_equal(a.params["kernel"], c.params["kernel"])


def test_dtype_follows_first_input_then_is_enforced(rng):
    layer = layers.SimpleRNN(3)
    out = layer.forward(rng.normal(size=(2, 4, 1)).astype(np.float32))
    assert out.dtype == np.float32 and layer.params["kernel"].dtype == np.float32
    with pytest.raises(TypeError, match="float64.*float32|never mixes"):
        layer.forward(rng.normal(size=(2, 4, 1)))


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm", "gru-reset_after"])
def test_return_sequences_and_return_state(variant, rng):
    layer = make_layer(variant, 4, 2, rng, return_sequences=True, return_state=True)
    x = rng.normal(size=(3, 5, 2))
    out = layer.forward(x)
    assert isinstance(out, list) and len(out) == 1 + len(layer.state_names)
    assert out[0].shape == (3, 5, 4)
    np.testing.assert_array_equal(out[0][:, -1], out[1])
    last = make_layer(variant, 4, 2, np.random.default_rng(0))
    last.params = {k: v.copy() for k, v in layer.params.items()}
    np.testing.assert_array_equal(last.forward(x), out[1])


def test_backward_of_state_only_loss(rng):
    """A None entry in grad_output means that output carries no loss."""
    layer = make_layer("lstm", 3, 2, rng, return_state=True)
    x = rng.normal(size=(2, 4, 2))
    layer.forward(x)
    dx = layer.backward([None, None, np.ones((2, 3))])
    assert dx.shape == x.shape and np.abs(dx).sum() > 0
    assert len(layer.grad_initial_state) == 2


def test_dense_on_2d_and_3d(rng):
    dense = layers.Dense(2, activation="tanh", seed=0)
    x3 = rng.normal(size=(4, 5, 3))
    y3 = dense.forward(x3)
    np.testing.assert_allclose(y3[:, 1], dense.forward(x3[:, 1]))
    from minirnn import gradcheck
    for x in (x3, x3[:, 0]):
        assert max(gradcheck(dense, x).values()) < 1e-7


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.LSTM(0), ValueError, "units"),
    (lambda: layers.LSTM(-3), ValueError, "units"),
    (lambda: layers.GRU(2.5), TypeError, "units"),
    (lambda: layers.SimpleRNN(3, activation="softsign"), ValueError, "activation"),
    (lambda: layers.LSTM(3, activation="relu"), ValueError, "activation"),
    (lambda: layers.SimpleRNN(3, activation="leaky_relu", alpha=-1), ValueError, "alpha"),
    (lambda: layers.Dense(3, activation="swish"), ValueError, "activation"),
    (lambda: layers.LSTM(3, dtype="int32"), TypeError, "dtype"),
    (lambda: layers.LSTM(3, kernel_initializer="he_normal"), ValueError, "kernel_initializer"),
    (lambda: layers.GRU(3, layer_norm=True), TypeError, "GRU has no argument 'layer_norm': it is an option of LSTM"),
    (lambda: layers.IndRNN(3, peephole=True), TypeError, "IndRNN has no argument 'peephole'"),
    (lambda: layers.Dense(3, return_sequences=True), TypeError, "Dense has no argument 'return_sequences'"),
])
def test_invalid_constructor_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm", "gru-reset_after", "gru-reset_before"])
@pytest.mark.parametrize("x, error, match", [
    (np.ones((2, 3)), ValueError, "3-D"),
    (np.ones((2, 3, 2, 1)), ValueError, "3-D"),
    (np.ones((2, 3, 5)), ValueError, "5 features.*built for 2"),
    (np.ones((2, 3, 2), dtype=np.int64), TypeError, "float32 or float64"),
    (np.array([[["a", "b"]]], dtype=object), TypeError, "float32 or float64"),
    ([[[1.0, 2.0]]], TypeError, "numpy.ndarray"),
    (np.full((2, 3, 2), np.nan), ValueError, "NaN or inf"),
    (np.array([[[1.0, np.inf]]]), ValueError, r"NaN or inf: the first at index \(0, 0, 1\) is inf"),
    (np.ones((0, 3, 2)), ValueError, "at least one"),
    (np.ones((2, 0, 2)), ValueError, "at least one"),
])
def test_bad_inputs(variant, x, error, match, rng):
    layer = make_layer(variant, 3, 2, rng)
    with pytest.raises(error, match=match):
        layer.forward(x)


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm", "gru-reset_after"])
def test_bad_initial_states(variant, rng):
    layer = make_layer(variant, 3, 2, rng)
    x = rng.normal(size=(2, 4, 2))
    n = len(layer.state_names)
    with pytest.raises(ValueError, match=r"initial_state\[0\] must have shape \(2, 3\)"):
        layer.forward(x, initial_state=[np.zeros((2, 4))] * n)
    with pytest.raises(ValueError, match=f"list of {n} arrays"):
        layer.forward(x, initial_state=[np.zeros((2, 3))] * (n + 1))
    with pytest.raises(TypeError, match="float32"):
        layer.forward(x, initial_state=[np.zeros((2, 3), np.float32)] * n)
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(x, initial_state=[np.full((2, 3), np.nan)] * n)


def test_bad_grad_output(rng):
    layer = make_layer("lstm", 3, 2, rng)
    layer.forward(rng.normal(size=(2, 4, 2)))
    with pytest.raises(ValueError, match="grad_output must have shape"):
        layer.backward(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        layer.backward(np.full((2, 3), np.nan))


def test_cell_functions_check_their_arguments(rng):
    from minirnn.cells import gru, lstm, rnn
    x = rng.normal(size=(2, 3, 4))
    with pytest.raises(ValueError, match="x has 4 features but kernel expects 5"):
        rnn.forward(x, weights(np.ones((5, 3)), np.ones((3, 3)), np.ones(3)))
    with pytest.raises(ValueError, match="recurrent_kernel must have shape"):
        lstm.forward(x, weights(np.ones((4, 12)), np.ones((3, 3)), np.ones(12)))
    with pytest.raises(ValueError, match=r"bias must have shape \(2, 9\)"):
        gru.forward(x, weights(np.ones((4, 9)), np.ones((3, 9)), np.ones(9)))
    with pytest.raises(TypeError, match="kernel has dtype float32"):
        rnn.forward(x, weights(np.ones((4, 3), np.float32), np.ones((3, 3)), np.ones(3)))
    with pytest.raises(ValueError, match="activation must be one of"):
        rnn.forward(x, weights(np.ones((4, 3)), np.ones((3, 3)), np.ones(3)), activation="sigmoid")
    peepholes = dict(zip(lstm.PEEPHOLE_NAMES, np.ones((3, 2))))
    with pytest.raises(ValueError, match=r"peepholes must have shape \(3, 3\)"):
        lstm.forward(x, weights(np.ones((4, 12)), np.ones((3, 12)), np.ones(12), **peepholes))
    with pytest.raises(TypeError, match="weights must be a dict of arrays by name"):
        rnn.forward(x, np.ones((4, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="weights has no 'bias'; it has 'kernel', 'recurrent_kernel'"):
        rnn.forward(x, {"kernel": np.ones((4, 3)), "recurrent_kernel": np.ones((3, 3))})


@pytest.mark.parametrize("input_dim", [2, 6])  # the loop path (<= 4 features) and the BLAS path
@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm-peephole", "gru-reset_after", "gru-reset_before"])
def test_input_grad_false_skips_only_the_input_gradient(variant, input_dim, rng):
    layer = make_layer(variant, 3, input_dim, rng, return_sequences=True)
    x = rng.normal(size=(2, 5, input_dim))
    dout = rng.normal(size=(2, 5, 3))
    layer.forward(x)
    assert layer.backward(dout).shape == x.shape
    with_dx = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(x)
    assert layer.backward(dout, input_grad=False) is None
    for name, value in with_dx.items():
        np.testing.assert_array_equal(layer.grads[name], value)


@pytest.mark.parametrize("variant, count", [("rnn-tanh", 2 * 3 * (2 + 3 + 1)), ("lstm-peephole", 2 * (12 * 6 + 9)),
                                            ("gru-reset_after", 2 * 9 * (2 + 3 + 2)),
                                            ("gru-reset_before", 2 * 9 * (2 + 3 + 1))])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "masked"])
def test_bidirectional_gradients_and_counts(variant, count, merge_mode, return_sequences, masked, rng):
    from minirnn import gradcheck
    layer = layers.Bidirectional(VARIANTS[variant](3, return_sequences=return_sequences), merge_mode=merge_mode)
    layer.build(2)
    randomize(layer, rng)
    assert layer.count_params() == count
    mask = mixed_mask(5) if masked else None
    x = rng.normal(size=(6 if masked else 2, 5, 2))
    assert max(gradcheck(layer, x, mask=mask).values()) <= 1e-6


def test_go_backwards_reads_the_sequence_from_its_end(rng):
    x = rng.normal(size=(3, 7, 2))
    backwards = layers.GRU(4, go_backwards=True, return_sequences=True, seed=1)
    forwards = layers.GRU(4, return_sequences=True, seed=1)
    np.testing.assert_array_equal(backwards.forward(x), forwards.forward(x[:, ::-1].copy()))
    d_out = rng.normal(size=(3, 7, 4))
    np.testing.assert_allclose(backwards.backward(d_out), forwards.backward(d_out)[:, ::-1], rtol=1e-13)
    with pytest.raises(ValueError, match="go_backwards=False"):
        layers.Bidirectional(layers.LSTM(3, go_backwards=True))


@pytest.mark.parametrize("activation", [None, "linear", "tanh", "relu", "sigmoid", "softmax"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 3)], ids=["2-D", "3-D"])
def test_dense_gradients_every_activation(activation, shape, rng):
    from minirnn import gradcheck
    dense = layers.Dense(4, activation=activation)
    dense.build(3)
    randomize(dense, rng)  # the bias too
    errors = gradcheck(dense, rng.normal(size=shape))
    assert set(errors) == {"kernel", "bias", "x"} and max(errors.values()) <= 1e-6, errors


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_recorded_state_gradients_are_those_of_the_rest_of_the_sequence(variant, rng):
    """record_state_grads: the total dL/dh_t is the output gradient at t plus the gradient w.r.t. the
    initial state of the same layer run on x[t+1:] from h_t (a gradient the finite-difference tests
    check). For the LSTM, dL/dc_t adds to the rest's dL/dc0 the path through h_t = o_t tanh(c_t),
    where o_t = h_t / tanh(c_t) sees c_t through its peephole p_o."""
    layer = make_layer(variant, 3, 2, rng, return_sequences=True)
    x, G = rng.normal(size=(2, 6, 2)), rng.normal(size=(2, 6, 3))
    layer.record_state_grads = True
    layer.forward(x)
    layer.backward(G)
    recorded = {name: grads.copy() for name, grads in layer.state_grads.items()}
    layer.record_state_grads = False
    sequences = {name: getattr(layer.last_caches[0], name) for name in layer.state_names}  # (T+1, B, H), [0] initial
    read = x[:, ::-1] if layer.go_backwards else x  # steps count in the order the layer reads x
    for t in range(5):
        rest = read[:, t + 1:][:, ::-1] if layer.go_backwards else read[:, t + 1:]  # given as the layer takes it
        layer.forward(rest, initial_state=[sequences[name][t + 1].copy() for name in layer.state_names])
        layer.backward(G[:, t + 1:])
        dh_rest = layer.grad_initial_state[0]
        dh_total = dh_rest + G[:, t]
        np.testing.assert_allclose(recorded["h"][:, t], dh_total, rtol=1e-12, atol=1e-14)
        # h_t = o_t tanh(c_t) below is the plain LSTM's; with layer_norm h_t reads LN(c_t), and the
        # same dL/dc_t recursion is checked through dL/dc_0 by finite differences (test_gradcheck.py)
        if "c" in layer.state_names and not getattr(layer, "layer_norm", False):
            h_t, c_t = sequences["h"][t + 1], sequences["c"][t + 1]
            o_t, tanh_c = h_t / np.tanh(c_t), np.tanh(c_t)
            p_o = layer.params.get("output_gate_peephole_weights", np.zeros(3))
            dh_dc = o_t * (1 - tanh_c ** 2) + tanh_c * o_t * (1 - o_t) * p_o
            np.testing.assert_allclose(recorded["c"][:, t], layer.grad_initial_state[1] + dh_total * dh_dc,
                                       rtol=1e-9, atol=1e-12)


def test_bidirectional_runs_the_copy_backwards(rng):
    fwd = make_layer("lstm", 3, 2, rng, return_sequences=True)
    bi = layers.Bidirectional(fwd)
    bi.build(2)
    bi.backward_layer.params["kernel"][...] = fwd.params["kernel"]  # same weights in both directions
    bi.backward_layer.params["recurrent_kernel"][...] = fwd.params["recurrent_kernel"]
    bi.backward_layer.params["bias"][...] = fwd.params["bias"]
    x = rng.normal(size=(2, 6, 2))
    out = bi.forward(x)
    assert out.shape == (2, 6, 6)
    np.testing.assert_array_equal(out[..., :3], fwd.forward(x))
    np.testing.assert_array_equal(out[..., 3:], fwd.forward(x[:, ::-1])[:, ::-1])
    assert layers.Bidirectional(layers.LSTM(7)).output_shape((4, 5)) == (14,)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(TypeError, match="wraps"):
        layers.Bidirectional(layers.Dense(3))


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm", "gru-reset_after", "gru-reset_before"])
def test_recurrent_dropout_only_while_training(variant, rng):
    layer = make_layer(variant, 5, 2, rng, return_sequences=True, recurrent_dropout=0.5, seed=3)
    x = rng.normal(size=(4, 6, 2))
    inference = layer.forward(x)
    np.testing.assert_array_equal(inference, layer.forward(x, training=False))
    a, b = layer.forward(x, training=True), layer.forward(x, training=True)
    assert not np.allclose(a, inference) and not np.allclose(a, b)  # a new mask per call
    np.testing.assert_array_equal(a[:, 0], inference[:, 0])  # h_0 = 0: the first step has nothing to drop


def test_recurrent_dropout_rate_is_checked():
    with pytest.raises(ValueError, match="recurrent_dropout"):
        layers.LSTM(3, recurrent_dropout=1.0)


def test_initializers_of_the_long_memory_literature(rng):
    from minirnn import initializers
    irnn = layers.SimpleRNN(5, activation="relu", recurrent_initializer="identity")
    irnn.build(2)
    np.testing.assert_array_equal(irnn.params["recurrent_kernel"], np.eye(5))
    scaled = layers.SimpleRNN(5, recurrent_initializer=initializers.Identity(0.5))
    scaled.build(2)
    np.testing.assert_array_equal(scaled.params["recurrent_kernel"], 0.5 * np.eye(5))
    lstm = layers.LSTM(6, recurrent_initializer=initializers.Orthogonal(gain=2.0), seed=1)
    lstm.build(3)
    W = lstm.params["recurrent_kernel"]  # (6, 24): orthonormal rows, times the gain
    np.testing.assert_allclose(W @ W.T, 4.0 * np.eye(6), atol=1e-12)
    small = layers.SimpleRNN(400, kernel_initializer=initializers.RandomNormal(stddev=0.001), seed=4)
    small.build(50)  # IRNN's input weights: 20 000 draws of N(0, 0.001^2)
    kernel = small.params["kernel"]
    assert abs(kernel.mean()) < 5e-5 and kernel.std() == pytest.approx(0.001, rel=0.02)
    assert np.mean(np.abs(kernel) < 0.001) == pytest.approx(0.6827, abs=0.01)  # within one sd: the normal's 68%
    with pytest.raises(ValueError, match="stddev"):
        initializers.RandomNormal(stddev=-1)


def test_chrono_initialisation(rng):
    from minirnn import initializers
    t_max, H = 100, 4000
    lstm = layers.LSTM(H, bias_initializer=initializers.Chrono(t_max), seed=2)  # unit_forget_bias is ignored
    lstm.build(1)
    b = lstm.params["bias"]
    b_i, b_f, b_c, b_o = np.split(b, 4)
    np.testing.assert_array_equal(b_i, -b_f)
    assert (b_c == 0).all() and (b_o == 0).all()
    # e^{b_f} is uniform on [1, t_max - 1]: mean t_max / 2, quartiles at 1 + (t_max - 2) / 4 and 3/4
    spread = np.exp(b_f)
    assert spread.min() >= 1 and spread.max() <= t_max - 1
    np.testing.assert_allclose(np.quantile(spread, [0.25, 0.5, 0.75]), 1 + (t_max - 2) * np.array([0.25, 0.5, 0.75]),
                               rtol=0.05)
    gru = layers.GRU(H, bias_initializer=initializers.Chrono(t_max), seed=3)  # reset_after: bias (2, 3H)
    gru.build(1)
    b_z = gru.params["bias"][0, :H]
    assert (gru.params["bias"][0, H:] == 0).all() and (gru.params["bias"][1] == 0).all()
    assert np.median(np.exp(b_z)) == pytest.approx(1 + (t_max - 2) / 2, rel=0.05)
    gru_before = layers.GRU(4, reset_after=False, bias_initializer=initializers.Chrono(10))
    gru_before.build(1)  # (3H,) = (12,): read as a GRU's, not as an LSTM's with H = 3
    assert (gru_before.params["bias"][4:] == 0).all() and (gru_before.params["bias"][:4] > 0).all()
    with pytest.raises(ValueError, match="LSTM or a GRU"):
        layers.SimpleRNN(3, bias_initializer=initializers.Chrono(10)).build(1)
    with pytest.raises(ValueError, match="t_max"):
        initializers.Chrono(1)


def test_dropout_zeroes_a_fraction_and_scales_the_rest(rng):
    """Inverted dropout: while training, each entry is 0 with probability rate, else x / (1 - rate),
    so that the expected output is the input; at inference the input passes unchanged."""
    dropout = layers.Dropout(0.25, seed=1)
    x = rng.uniform(1, 2, size=(200, 50, 4))
    y = dropout.forward(x, training=True)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    assert abs(1 - kept.mean() - 0.25) < 0.01
    np.testing.assert_array_equal(dropout.backward(np.ones_like(x)), np.where(kept, 1 / 0.75, 0))
    assert dropout.forward(x) is x


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm-peephole", "gru-reset_after", "gru-reset_before", "indrnn-relu"])
def test_a_stateful_run_over_chunks_equals_one_run_over_the_whole_sequence(variant, rng):
    whole = make_layer(variant, 3, 2, rng, return_sequences=True)
    chunked = VARIANTS[variant](3, return_sequences=True, stateful=True)
    chunked.build(2)
    chunked.set_weights(whole.get_weights())
    x = rng.normal(size=(4, 12, 2))
    expected = whole.forward(x).copy()
    got = np.concatenate([chunked.forward(x[:, k:k + 4]).copy() for k in (0, 4, 8)], axis=1)
    np.testing.assert_array_equal(got, expected)
    chunked.reset_states()  # back to zeros: the first chunk again
    np.testing.assert_array_equal(chunked.forward(x[:, :4]), expected[:, :4])
    with pytest.raises(ValueError, match="holds states for batches of 4, got a batch of 3"):
        chunked.forward(x[:3, 4:8])


def test_stateful_gradients_are_truncated_bptt_by_finite_differences(rng):
    """Backward on the second chunk stops at the state carried in: the gradient is that of the
    chunk's loss with its initial state held constant (central differences, every weight)."""
    layer = make_layer("lstm", 3, 2, rng, return_sequences=True, stateful=True)
    x, G = rng.normal(size=(2, 10, 2)), rng.normal(size=(2, 5, 3))
    layer.forward(x[:, :5])
    carried = [s.copy() for s in layer.states]
    layer.forward(x[:, 5:])
    layer.backward(G)
    fresh = layers.LSTM(3, return_sequences=True)
    fresh.build(2)

    def chunk_loss():
        return float(np.sum(G * fresh.forward(x[:, 5:], initial_state=carried)))

    for name, value in layer.params.items():
        fresh.params[name] = value.copy()
    for name in layer.params:
        numeric = np.zeros_like(layer.params[name])
        for index in np.ndindex(numeric.shape):
            keep = fresh.params[name][index]
            fresh.params[name][index] = keep + 1e-6
            up = chunk_loss()
            fresh.params[name][index] = keep - 1e-6
            numeric[index] = (up - chunk_loss()) / 2e-6
            fresh.params[name][index] = keep
        np.testing.assert_allclose(layer.grads[name], numeric, rtol=1e-6, atol=1e-8)


def test_fitting_stateful_layers(rng, tmp_path):
    import minirnn as mr
    model = mr.Sequential([layers.GRU(4, stateful=True, input_shape=(5, 1)), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    x, y = rng.normal(size=(12, 5, 1)), rng.normal(size=(12, 1))
    with pytest.raises(ValueError, match="shuffle=False"):
        model.fit(x, y, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="the 12 samples of x are not a multiple of batch_size=5"):
        model.fit(x, y, batch_size=5, shuffle=False, verbose=0)
    seen = []

    class Watch(mr.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(model.layers[0].states)

    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=[Watch()])
    assert seen[0] is None and seen[1] is not None  # epoch 2 continues from where epoch 1 ended
    seen.clear()
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0,
              callbacks=[mr.callbacks.ResetStates(), Watch()])
    assert seen == [None, None]
    # validation during fit leaves the states where training left them
    final = {}
    for validation in (None, (x[:8], y[:8])):
        twin = mr.Sequential([layers.GRU(4, stateful=True, input_shape=(5, 1)), layers.Dense(1)], seed=0)
        twin.compile("adam", "mse")
        twin.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0, validation_data=validation)
        final[validation is None] = twin.layers[0].states[0]
    np.testing.assert_array_equal(final[True], final[False])
    twin.save(tmp_path / "stateful.npz")
    assert mr.load_model(tmp_path / "stateful.npz").layers[0].stateful
    with pytest.raises(ValueError, match="stateful=True"):
        layers.Bidirectional(layers.GRU(3, stateful=True))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_masked_steps_are_skipped(variant, rng):
    """Every sequence of a masked batch (conftest.mixed_mask) gives what the same layer gives on its
    unmasked steps alone: the same outputs there, the last output repeated at masked steps (zeros
    before the first unmasked one, as Keras), its final states; with a length of 0, the initial
    states. No gradient reaches a masked step's input."""
    mask = mixed_mask()
    layer = make_layer(variant, 3, 2, rng, return_sequences=True, return_state=True)
    x = rng.normal(size=(*mask.shape, 2))
    initial = random_states(layer, len(x), rng)
    output, *states = (a.copy() for a in layer.forward(x, initial_state=initial, mask=mask))
    G = rng.normal(size=output.shape)
    dx = layer.backward([G] + [None] * len(states))
    for b, steps in enumerate(mask):
        kept = steps[::-1] if layer.go_backwards else steps  # go_backwards: output step t is input step T-1-t
        alone = [initial[k][b:b + 1] for k in range(len(states))]
        if steps.any():
            alone_output, *alone = layer.forward(x[b:b + 1, steps], initial_state=alone)
            seen = np.cumsum(kept) - 1  # the output each step repeats: the last unmasked one's
            expected = np.where(seen[:, None] >= 0, alone_output[0][np.maximum(seen, 0)], 0)
            np.testing.assert_allclose(output[b], expected, rtol=0, atol=1e-14)
        else:
            np.testing.assert_array_equal(output[b], 0)
        for k, state in enumerate(states):
            np.testing.assert_allclose(state[b], alone[k][0], rtol=0, atol=1e-14)
    assert not dx[~mask].any()
    assert dx[mask].any()  # (not every entry: a dead relu unit passes none either)


def test_masked_steps_at_the_end_change_nothing_before_them(rng):
    """Padding after the data: the outputs at the data steps are the unmasked layer's, whatever the
    padding holds, and the many-to-one output is the last data step's."""
    layer = make_layer("lstm", 4, 2, rng, return_sequences=True)
    x = rng.normal(size=(3, 6, 2))
    mask = np.arange(6)[None, :] < np.array([[6], [4], [2]])
    plain = layer.forward(x).copy()
    noisy = np.where(mask[..., None], x, rng.normal(size=x.shape) * 100)
    masked = layer.forward(noisy, mask=mask)
    np.testing.assert_array_equal(masked[mask], plain[mask])
    last = make_layer("lstm", 4, 2, np.random.default_rng(0))
    last.set_weights(layer.get_weights())
    np.testing.assert_array_equal(last.forward(noisy, mask=mask), plain[[0, 1, 2], [5, 3, 1]])


@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_with_padding_after_or_before_the_data(return_sequences, rng):
    """Each direction reads only the data steps, so padding after the data or before it gives the
    same numbers at the data steps (and the same many-to-one output); masked steps output zeros."""
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=return_sequences))
    layer.build(2)
    randomize(layer.forward_layer, rng)
    randomize(layer.backward_layer, rng)
    lengths, T = np.array([5, 3, 1]), 5
    data = rng.normal(size=(3, T, 2))
    post = np.arange(T)[None, :] < lengths[:, None]
    pre = post[:, ::-1]
    x_post = np.where(post[..., None], data, 0.0)
    x_pre = np.stack([np.roll(x_post[b], T - n, axis=0) for b, n in enumerate(lengths)])
    out_post, out_pre = layer.forward(x_post, mask=post).copy(), layer.forward(x_pre, mask=pre).copy()
    for b, n in enumerate(lengths):
        alone = layer.forward(data[b:b + 1, :n])
        if return_sequences:
            np.testing.assert_allclose(out_post[b, :n], alone[0], rtol=0, atol=1e-14)
            np.testing.assert_allclose(out_pre[b, T - n:], alone[0], rtol=0, atol=1e-14)
            assert not out_post[b, n:].any() and not out_pre[b, :T - n].any()
        else:
            np.testing.assert_allclose(out_post[b], alone[0], rtol=0, atol=1e-14)
            np.testing.assert_allclose(out_pre[b], alone[0], rtol=0, atol=1e-14)


def test_masking_layer(rng):
    x = rng.normal(size=(2, 4, 3))
    x[0, 1] = -1.0                     # every feature is the mask value: masked
    x[1, 2, 0] = -1.0                  # one feature only: not masked
    masking = layers.Masking(mask_value=-1.0)
    out = masking.forward(x)
    expected_mask = np.array([[True, False, True, True], [True, True, True, True]])
    np.testing.assert_array_equal(masking.compute_mask(x), expected_mask)
    np.testing.assert_array_equal(out[~expected_mask], 0)
    np.testing.assert_array_equal(out[expected_mask], x[expected_mask])
    expected_grad = np.broadcast_to(expected_mask[..., None], x.shape).astype(float)  # 1 at kept steps, else 0
    np.testing.assert_array_equal(masking.backward(np.ones_like(x)), expected_grad)
    assert masking.count_params() == 0
    with pytest.raises(ValueError, match="mask_value must be a finite number"):
        layers.Masking(float("nan"))


@pytest.mark.parametrize("mask, error, match", [
    (np.ones((2, 4), dtype=int), TypeError, "mask must have dtype bool"),
    (np.ones((2, 5), dtype=bool), ValueError, r"mask must have shape \(batch, time\) = \(2, 4\), got \(2, 5\)"),
    (np.ones(4, dtype=bool), ValueError, "shape"),
    ([[True] * 4] * 2, TypeError, "mask must be a numpy.ndarray"),
])
@pytest.mark.parametrize("wrapped", [False, True])
def test_bad_masks(mask, error, match, wrapped, rng):
    layer = make_layer("lstm", 3, 2, rng)
    if wrapped:
        layer = layers.Bidirectional(layer)
    with pytest.raises(error, match=match):
        layer.forward(rng.normal(size=(2, 4, 2)), mask=mask)


def test_compute_mask_follows_keras(rng):
    mask = np.array([[True, False]])
    assert layers.LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert layers.LSTM(2).compute_mask(None, mask) is None
    assert layers.Bidirectional(layers.GRU(2)).compute_mask(None, mask) is None
    assert layers.Dense(2).compute_mask(None, mask) is mask
    assert layers.Dropout(0.5).compute_mask(None, mask) is mask


INITIALIZED = {  # every option a recurrent layer's copy must keep, with initialisers far from the defaults
    "kernel_initializer": "zeros", "recurrent_initializer": "identity", "recurrent_dropout": 0.25,
    "return_sequences": True,
}


@pytest.mark.parametrize("variant", sorted(v for v in VARIANTS if "go_backwards" not in v))
def test_bidirectional_copies_the_whole_layer(variant, rng):
    """The backward copy's configuration equals the forward layer's, initialisers included, and its
    weights come from the same initialisers (an IRNN runs backwards as an IRNN)."""
    from minirnn import initializers
    options = dict(INITIALIZED)
    if variant.startswith("indrnn"):
        options["recurrent_initializer"] = initializers.RandomUniform(0.5, 0.5)
    if variant.startswith(("lstm", "gru")):
        options["bias_initializer"] = initializers.Chrono(100)
    layer = VARIANTS[variant](3, **options)
    wrapper = layers.Bidirectional(layer)
    forward, backward = wrapper.forward_layer.get_config(), wrapper.backward_layer.get_config()
    assert backward.pop("name") == "backward_" + forward.pop("name")
    assert backward == forward and backward["recurrent_initializer"] == initializers.serialize(
        options["recurrent_initializer"])
    wrapper.build(2)
    for name in ("kernel", "recurrent_kernel"):
        np.testing.assert_array_equal(wrapper.params[f"backward_{name}"], wrapper.params[f"forward_{name}"])
    assert wrapper.backward_layer.params is not wrapper.forward_layer.params


def test_bidirectional_of_an_irnn_and_a_chrono_lstm(rng):
    from minirnn import initializers
    irnn = layers.Bidirectional(layers.SimpleRNN(4, activation="relu", recurrent_initializer="identity"))
    irnn.build(2)
    np.testing.assert_array_equal(irnn.params["backward_recurrent_kernel"], np.eye(4))
    chrono = layers.Bidirectional(layers.LSTM(3, bias_initializer=initializers.Chrono(100)), seed=1)
    chrono.build(2)
    b_f = np.split(chrono.params["backward_bias"], 4)[1]
    assert (b_f > 0).all() and not np.array_equal(b_f, np.split(chrono.params["forward_bias"], 4)[1])
