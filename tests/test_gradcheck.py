"""Finite-difference checks of every cell x variant, and of minirnn.gradcheck itself."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minirnn import gradcheck
from minirnn.gradcheck import check_function, relative_error

from conftest import VARIANTS, make_layer, random_states

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
def test_gradients_of_returned_states(variant, rng):
    """return_state=True: the loss also sees h_T (and c_T); their gradients flow back.

    Six input features: the input projection goes through BLAS here, through a loop for <= 4.
    """
    layer = make_layer(variant, units=3, input_dim=6, rng=rng, return_sequences=True, return_state=True)
    x = rng.normal(size=(2, 5, 6))
    errors = gradcheck(layer, x, initial_state=random_states(layer, 2, rng))
    assert max(errors.values()) <= TOL, errors


@settings(max_examples=12, deadline=None)
@given(variant=st.sampled_from(sorted(VARIANTS)), batch=st.integers(1, 4), time=st.integers(1, 12),
       features=st.integers(1, 4), units=st.integers(1, 6), return_sequences=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_property_random_shapes_and_weights(variant, batch, time, features, units, return_sequences, seed):
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
