"""Finite-difference checks of every cell x variant, and of minirnn.gradcheck itself."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minirnn import gradcheck
from minirnn.gradcheck import check_directions, check_function, relative_error

from conftest import VARIANTS, make_layer, mixed_mask, random_states

TOL = 1e-6


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("with_initial_state", [False, True])
def test_every_gradient_matches_finite_differences(variant, return_sequences, with_initial_state, rng):
    layer = make_layer(variant, units=3, input_dim=2, rng=rng, return_sequences=return_sequences)
    x = rng.normal(size=(2, 4, 2))
    state = random_states(layer, 2, rng) if with_initial_state else None
    errors = gradcheck(layer, x, initial_state=state)
    expected = set(layer.params) | {"x"} | ({f"initial_state[{k}]" for k in range(len(layer.state_names))}
                                           if with_initial_state else set())
    assert set(errors) == expected
    assert max(errors.values()) <= TOL, errors


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_of_returned_states(variant, return_sequences, rng):
    """return_state=True: the loss also sees h_T (and c_T); their gradients flow back. Without
    return_sequences the output is h_T itself, and its two gradients add up.

    Six input features: the input projection goes through BLAS here, through a loop for <= 4.
    """
    layer = make_layer(variant, units=3, input_dim=6, rng=rng, return_sequences=return_sequences,
                       return_state=True)
    x = rng.normal(size=(2, 5, 6))
    errors = gradcheck(layer, x, initial_state=random_states(layer, 2, rng))
    assert max(errors.values()) <= TOL, errors


# derandomize: the same examples on every run, so CI cannot fail by drawing a
# relu pre-activation within the finite-difference step of its kink.
@settings(max_examples=32, deadline=None, derandomize=True)
@given(variant=st.sampled_from(sorted(VARIANTS)), batch=st.integers(1, 4), time=st.integers(1, 12),
       features=st.integers(1, 8), units=st.integers(1, 6), return_sequences=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_property_random_shapes_and_weights(variant, batch, time, features, units, return_sequences, seed):
    """Up to eight features: both input-projection paths (a loop up to four, BLAS beyond)."""
    check_random_case(variant, batch, time, features, units, return_sequences, seed)


def check_random_case(variant, batch, time, features, units, return_sequences, seed):
    rng = np.random.default_rng(seed)
    layer = make_layer(variant, units, features, rng, return_sequences=return_sequences)
    x = rng.normal(size=(batch, time, features))
    errors = gradcheck(layer, x, initial_state=random_states(layer, batch, rng))
    assert max(errors.values()) <= TOL, errors


def test_gradcheck_catches_a_wrong_gradient(rng):
    """The checker must be able to fail: a gradient off by 1% is reported."""
    w = rng.normal(size=(3, 2))

    def fn(arrays):
        return float((arrays["w"] ** 2).sum()), {"w": 2 * arrays["w"] * 1.01}

    assert check_function(fn, {"w": w})["w"] > 1e-3


def test_gradcheck_of_a_function(rng):
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4,))

    def fn(arrays):
        y = np.tanh(arrays["a"] @ arrays["b"])
        dy = 1 - y**2
        return float(y.sum()), {"a": np.outer(dy, arrays["b"]), "b": arrays["a"].T @ dy}

    errors = gradcheck(fn, {"a": a, "b": b})
    assert set(errors) == {"a", "b"} and max(errors.values()) < 1e-8
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # tiny gradients are judged against the floor: 1e-10 absolute is FD noise, 1e-7 is a bug
    assert relative_error(np.array([5e-6]), np.array([5e-6 + 5e-11])) <= 1e-6
    assert relative_error(np.array([5e-6]), np.array([5e-6 + 1e-7])) > 1e-4


def test_gradcheck_refuses_float32(rng):
    with pytest.raises(TypeError, match="float64"):
        check_function(lambda a: (0.0, {"w": a["w"]}), {"w": np.ones(3, np.float32)})
    layer = make_layer("lstm", 2, 1, rng, dtype=np.float32)
    with pytest.raises(TypeError, match="float64"):
        gradcheck(layer, np.ones((1, 2, 1)))


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_long_sequences_wide_layers(variant, rng):
    """Forty steps, eight units, seven features (BLAS input path): errors must not grow with T."""
    layer = make_layer(variant, units=8, input_dim=7, rng=rng, scale=0.3, return_sequences=True)
    x = rng.normal(size=(3, 40, 7))
    # relu has kinks: the five-point stencil's +-2e-4 reaches across one of 960
    # pre-activations here; the two-point one with 1e-6 steps does not.
    kinked = variant in ("rnn-relu", "rnn-leaky_relu")
    errors = gradcheck(layer, x, initial_state=random_states(layer, 3, rng), order=2 if kinked else 4)
    assert max(errors.values()) <= TOL, errors


@pytest.mark.slow
@settings(max_examples=200, deadline=None, derandomize=True)
@given(variant=st.sampled_from(sorted(VARIANTS)), batch=st.integers(1, 4), time=st.integers(1, 12),
       features=st.integers(1, 6), units=st.integers(1, 6), return_sequences=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_property_many_examples(variant, batch, time, features, units, return_sequences, seed):
    """The property above with 200 examples and up to six features (both input-projection paths)."""
    check_random_case(variant, batch, time, features, units, return_sequences, seed)


@pytest.mark.parametrize("order, tol", [(2, 1e-8), (4, 1e-10)])
def test_numeric_gradient_stencils(order, tol, rng):
    from minirnn.gradcheck import numeric_gradient
    w = rng.normal(size=(4, 3))
    numeric = numeric_gradient(lambda: float(np.sin(w).sum() * 3), w, order=order)
    np.testing.assert_allclose(numeric, 3 * np.cos(w), rtol=0, atol=tol)
    with pytest.raises(ValueError, match="order"):
        numeric_gradient(lambda: 0.0, w, order=3)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_recurrent_dropout_gradients(variant, rng):
    """A fixed recurrent-dropout mask: every gradient still matches finite differences."""
    layer = make_layer(variant, units=4, input_dim=3, rng=rng, return_sequences=True, recurrent_dropout=0.4,
                       seed=7)  # a fixed mask: a random one could put a relu pre-activation within 2h of its kink
    x = rng.normal(size=(3, 6, 3))
    mask = layer._recurrent_mask(3, training=True)
    assert (mask == 0).any() and (mask > 1).any()
    layer._recurrent_mask = lambda batch, training: mask  # the same mask for every evaluation
    errors = gradcheck(layer, x, initial_state=random_states(layer, 3, rng))
    assert max(errors.values()) <= TOL, errors


@pytest.mark.parametrize("variant", ["rnn-tanh", "lstm-peephole", "gru-reset_after", "gru-reset_before"])
def test_wide_layers_through_the_packed_kernel(variant, rng):
    """256-512 units, 260 features, batch 8: the recurrent products, the input projection and dX
    are above _gemm.SMALL_PRODUCT, so on a CPU where minirnn compiles for AVX-512 they run in the
    packed kernel (elsewhere in np.dot).
    Too many weights to perturb one by one: finite differences along random directions."""
    from minirnn.cells import _gemm
    units, features = (512 if variant.startswith("rnn") else 256), 260
    layer = make_layer(variant, units=units, input_dim=features, rng=rng, scale=0.05, return_sequences=True)
    assert 8 * units * layer.gates * min(units, features) > _gemm.SMALL_PRODUCT
    x = rng.normal(size=(8, 3, features))
    states = random_states(layer, 8, rng)
    G = rng.normal(size=(8, 3, units))

    def fn(arrays):
        out = layer.forward(arrays["x"], initial_state=[arrays[f"s{k}"] for k in range(len(states))])
        dx = layer.backward(G)
        grads = dict(layer.grads, x=dx, **{f"s{k}": g for k, g in enumerate(layer.grad_initial_state)})
        return float((out * G).sum()), grads

    arrays = dict(layer.params, x=x, **{f"s{k}": s for k, s in enumerate(states)})
    assert check_directions(fn, arrays) <= 1e-7


def test_check_directions_catches_one_wrong_entry(rng):
    w = rng.normal(size=(300, 200))

    def fn(arrays, wrong):
        grad = 2 * arrays["w"]
        grad[17, 3] += wrong * abs(grad).max()
        return float((arrays["w"] ** 2).sum()), {"w": grad}

    assert check_directions(lambda a: fn(a, 0.0), {"w": w}) < 1e-9
    assert check_directions(lambda a: fn(a, 0.01), {"w": w}) > 1e-6


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_float32_gradients_agree_with_float64(variant, rng):
    """The same weights, input and output gradient in float32 and float64: every float32 gradient
    (parameters, input, initial states) within 2e-5 of the float64 one, relative to its scale.
    float32 rounding gives ~1e-6 here; a wrong equation is off by far more than 1e-4."""
    layer64 = make_layer(variant, units=5, input_dim=6, rng=rng, return_sequences=True)
    layer32 = VARIANTS[variant](5, return_sequences=True)
    layer32.build(6, np.float32)
    for name, value in layer64.params.items():
        layer32.params[name][...] = value
    x, G = rng.normal(size=(3, 7, 6)), rng.normal(size=(3, 7, 5))
    states = random_states(layer64, 3, rng)
    grads = {}
    for layer, dtype in ((layer64, np.float64), (layer32, np.float32)):
        out = layer.forward(x.astype(dtype), initial_state=[s.astype(dtype) for s in states])
        dx = layer.backward(G.astype(dtype))
        assert out.dtype == dx.dtype == dtype
        grads[dtype] = dict(layer.grads, x=dx, **{f"s{k}": g for k, g in enumerate(layer.grad_initial_state)})
    errors = {name: relative_error(grads[np.float32][name], grads[np.float64][name]) for name in grads[np.float64]}
    assert set(errors) == set(layer64.params) | {"x"} | {f"s{k}" for k in range(len(states))}
    assert max(errors.values()) <= 2e-5, errors


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_with_masked_steps(variant, return_sequences, rng):
    """Sequences of every length in one batch (conftest.mixed_mask: full, padded after or before the
    data, length 1, all padding, holes), from non-zero initial states."""
    mask = mixed_mask()
    layer = make_layer(variant, units=3, input_dim=2, rng=rng, return_sequences=return_sequences)
    x = rng.normal(size=(*mask.shape, 2))
    errors = gradcheck(layer, x, initial_state=random_states(layer, len(x), rng), mask=mask)
    assert set(errors) == set(layer.params) | {"x"} | {f"initial_state[{k}]" for k in range(len(layer.state_names))}
    assert max(errors.values()) <= TOL, errors


def test_a_stateful_layer_is_checked_from_the_states_it_holds_and_keeps_them(rng):
    layer = make_layer("lstm", units=3, input_dim=2, rng=rng, stateful=True, return_sequences=True)
    x = rng.normal(size=(2, 4, 2))
    layer.forward(rng.normal(size=(2, 5, 2)))  # carries states from an earlier chunk
    held = [s.copy() for s in layer.states]
    errors = gradcheck(layer, x)
    assert max(errors.values()) < TOL, errors
    assert all(np.array_equal(a, b) for a, b in zip(layer.states, held))


def test_gradcheck_refuses_what_it_cannot_check(rng):
    from minirnn import layers
    unbuilt = layers.GRU(3, dtype="float32")
    with pytest.raises(TypeError, match="needs a float64 layer, got gru in float32"):
        gradcheck(unbuilt, rng.normal(size=(2, 3, 2)))
    assert not unbuilt.built and unbuilt.dtype == np.float32  # the user's layer left as it was
    layer = make_layer("rnn-tanh", units=2, input_dim=2, rng=rng)
    for eps in (0, -1e-4, float("nan"), True):
        with pytest.raises(ValueError, match="eps must be a finite number > 0"):
            gradcheck(layer, rng.normal(size=(2, 3, 2)), eps=eps)
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        gradcheck(layer, np.full((1, 3, 2), np.nan))
    w = rng.normal(size=(3, 2))

    def square(arrays):
        return float((arrays["w"] ** 2).sum()), {"w": 2 * arrays["w"]}

    for directions in (0, -1, 1.5):
        with pytest.raises(ValueError, match="directions must be an int >= 1"):
            check_directions(square, {"w": w}, directions=directions)
    with pytest.raises(ValueError, match="the gradient for 'w' has shape \\(2, 3\\), but 'w' has shape \\(3, 2\\)"):
        check_function(lambda a: (0.0, {"w": a["w"].T}), {"w": w})
    with pytest.raises(ValueError, match="returned no gradient for 'w'"):
        check_function(lambda a: (0.0, {"v": a["w"]}), {"w": w})
    with pytest.raises(TypeError, match="must return \\(loss, \\{name: gradient\\}\\)"):
        check_function(lambda a: a["w"], {"w": w})
    with pytest.raises(TypeError, match="must be the loss, one number"):
        check_function(lambda a: (a["w"], {"w": a["w"]}), {"w": w})
    assert check_directions(square, {"w": w}, directions=2) < 1e-8
