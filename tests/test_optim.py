"""minirnn/optim.py: one step of each update rule by hand, convergence on a quadratic, clipping."""
import numpy as np
import pytest

from minirnn import optim


def one_step(optimizer, w, g, steps=1):
    w = np.array(w, dtype=float)
    for _ in range(steps):
        optimizer.step({"w": (w, np.array(g, dtype=float))})
    return w


def test_sgd_plain_momentum_nesterov_decay():
    assert one_step(optim.SGD(), [1.0], [2.0])[0] == pytest.approx(1 - 0.01 * 2)
    # momentum 0.9, two steps with g = 1: m1 = -0.1, w1 = 0.9; m2 = -0.09 - 0.1 = -0.19, w2 = 0.71
    assert one_step(optim.SGD(0.1, momentum=0.9), [1.0], [1.0], steps=2)[0] == pytest.approx(0.71)
    # nesterov: w += 0.9 m - lr g: step 1: m = -0.1, w = 1 - 0.09 - 0.1 = 0.81
    assert one_step(optim.SGD(0.1, momentum=0.9, nesterov=True), [1.0], [1.0])[0] == pytest.approx(0.81)
    # decay 1: lr 0.1 then 0.1 / 2
    assert one_step(optim.SGD(0.1, decay=1.0), [1.0], [1.0], steps=2)[0] == pytest.approx(1 - 0.1 - 0.05)


def test_rmsprop_step():
    # v = 0.1 * 4 = 0.4; w -= 0.001 * 2 / sqrt(0.4 + 1e-7)
    assert one_step(optim.RMSprop(), [1.0], [2.0])[0] == pytest.approx(1 - 0.002 / np.sqrt(0.4 + 1e-7))


def test_adam_step():
    # t = 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1; step = alpha m / (sqrt(v) + eps)
    g = 3.0
    alpha = 0.001 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = 1 - alpha * 0.1 * g / (np.sqrt(0.001 * g * g) + 1e-7)
    assert one_step(optim.Adam(), [1.0], [g])[0] == pytest.approx(expected, rel=1e-12)


def test_adagrad_step():
    # a = 0.1 + 4; w -= 0.001 * 2 / sqrt(4.1 + 1e-7)
    assert one_step(optim.Adagrad(), [1.0], [2.0])[0] == pytest.approx(1 - 0.002 / np.sqrt(4.1 + 1e-7))


@pytest.mark.parametrize("optimizer, steps", [
    (optim.SGD(0.1), 300), (optim.SGD(0.05, momentum=0.9, nesterov=True), 300),
    (optim.RMSprop(0.01), 2000), (optim.Adam(0.05), 2000), (optim.Adagrad(0.5), 2000),
])
def test_drives_a_quadratic_to_its_minimum(optimizer, steps):
    """f(w) = 0.5 sum a (w - w*)^2 with different curvatures per coordinate."""
    a, w_star = np.array([1.0, 4.0, 0.5]), np.array([1.0, -2.0, 3.0])
    w = np.zeros(3)
    for _ in range(steps):
        optimizer.step({"w": (w, a * (w - w_star))})
    np.testing.assert_allclose(w, w_star, atol=1e-2)


def test_clipping():
    g = {"a": np.array([3.0, 4.0]), "b": np.array([0.0, 12.0])}
    clipped = optim.SGD(clipnorm=1.0).clip(g)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.8])
    np.testing.assert_allclose(clipped["b"], [0.0, 1.0])
    np.testing.assert_allclose(optim.SGD(clipvalue=3.5).clip(g)["b"], [0.0, 3.5])
    negative = {"c": np.array([-5.0, -1.0, 2.0])}
    np.testing.assert_allclose(optim.SGD(clipvalue=3.5).clip(negative)["c"], [-3.5, -1.0, 2.0])
    clipped = optim.SGD(global_clipnorm=6.5).clip(g)  # joint norm sqrt(9 + 16 + 144) = 13
    np.testing.assert_allclose(clipped["a"], [1.5, 2.0])
    np.testing.assert_allclose(clipped["b"], [0.0, 6.0])
    np.testing.assert_array_equal(optim.SGD(clipnorm=100.0).clip(g)["a"], g["a"])  # below the norm: unchanged
    np.testing.assert_array_equal(optim.SGD(clipnorm=100.0).clip(g)["b"], g["b"])


def test_clipnorm_of_a_gradient_whose_squares_overflow_keeps_its_direction():
    # 3e200^2 overflows a float64: the norm must come out as 5e200, not inf (which would clip to 0)
    w = one_step(optim.SGD(1.0, clipnorm=1.0), [0.0, 0.0], [3e200, 4e200])
    np.testing.assert_allclose(w, [-0.6, -0.8])
    w = one_step(optim.Adam(0.1, global_clipnorm=1.0), [0.0, 0.0], [3e200, -4e200])
    assert np.all(np.isfinite(w)) and w[0] < 0 < w[1]


def test_float32_parameters_follow_the_float64_rule_to_float32_rounding():
    w64, w32 = np.array([1.0, -2.0, 0.5]), np.array([1.0, -2.0, 0.5], dtype=np.float32)
    opt64, opt32 = optim.Adam(0.1, clipnorm=0.5), optim.Adam(0.1, clipnorm=0.5)
    for k in range(20):
        g = np.array([3.0, -1.0, 0.25]) * (k + 1)
        opt64.step({"w": (w64, g)})
        opt32.step({"w": (w32, g.astype(np.float32))})
    assert w32.dtype == np.float32 and opt32.state["w"]["m"].dtype == np.float32
    np.testing.assert_allclose(w32, w64, rtol=1e-5, atol=1e-6)


def test_a_parameter_that_is_not_contiguous_is_refused():
    w = np.zeros((3, 4))[:, 1]  # updated in place through a flat view: a strided one cannot be
    with pytest.raises(ValueError, match="C-contiguous"):
        optim.Adam().step({"w": (w, np.ones(3))})
    with pytest.raises(TypeError, match="float arrays.*int64"):
        optim.SGD().step({"w": (np.zeros(3, dtype=np.int64), np.ones(3))})


def test_names_defaults_and_bad_arguments():
    assert isinstance(optim.get("adam"), optim.Adam) and optim.get("rmsprop").learning_rate == 0.001
    assert optim.get("sgd").learning_rate == 0.01
    with pytest.raises(ValueError, match="optimizer must be"):
        optim.get("lbfgs")
    with pytest.raises(ValueError, match="at most one"):
        optim.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        optim.SGD(learning_rate=-1)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(momentum=1.5)


# ---------------------------------------------------------------- many steps, against independent references
# Each reference is Keras' update rule for one number, written out as in its documentation, in
# plain Python floats. The gradients come from a quadratic at the current weights, so any
# difference in one step changes every later gradient.

A, W_STAR, W0 = [1.0, 4.0, 0.5, 2.0], [1.0, -2.0, 3.0, 0.5], [0.3, 0.8, -1.0, 2.0]
STEPS = 60


def reference_run(update, state):
    w = list(W0)
    states = [dict(state) for _ in w]
    for t in range(1, STEPS + 1):
        grads = [a * (wi - ws) for a, wi, ws in zip(A, w, W_STAR)]
        w = [update(wi, g, s, t) for wi, g, s in zip(w, grads, states)]
    return np.array(w)


def minirnn_run(optimizer):
    w = np.array(W0)
    for _ in range(STEPS):
        optimizer.step({"w": (w, np.array(A) * (w - np.array(W_STAR)))})
    return w


def sgd_reference(lr, momentum=0.0, nesterov=False, decay=0.0):
    def update(w, g, s, t):
        lr_t = lr / (1 + decay * (t - 1))
        if momentum == 0:
            return w - lr_t * g
        s["v"] = momentum * s["v"] - lr_t * g
        return w + (momentum * s["v"] - lr_t * g if nesterov else s["v"])
    return update


def rmsprop_reference(lr, rho, eps):
    def update(w, g, s, t):
        s["v"] = rho * s["v"] + (1 - rho) * g * g
        return w - lr * g / (s["v"] + eps) ** 0.5
    return update


def adam_reference(lr, b1, b2, eps):
    def update(w, g, s, t):
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        lr_t = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)
        return w - lr_t * s["m"] / (s["v"] ** 0.5 + eps)
    return update


def adagrad_reference(lr, initial, eps):
    def update(w, g, s, t):
        s["a"] = s.get("a", initial) + g * g
        return w - lr * g / (s["a"] + eps) ** 0.5
    return update


@pytest.mark.parametrize("optimizer, update, state", [
    (lambda: optim.SGD(0.05), sgd_reference(0.05), {}),
    (lambda: optim.SGD(0.05, momentum=0.8), sgd_reference(0.05, 0.8), {"v": 0.0}),
    (lambda: optim.SGD(0.05, momentum=0.8, nesterov=True), sgd_reference(0.05, 0.8, True), {"v": 0.0}),
    (lambda: optim.SGD(0.1, momentum=0.5, decay=0.05), sgd_reference(0.1, 0.5, decay=0.05), {"v": 0.0}),
    (lambda: optim.RMSprop(0.01), rmsprop_reference(0.01, 0.9, 1e-7), {"v": 0.0}),
    (lambda: optim.RMSprop(0.02, rho=0.7, epsilon=1e-3), rmsprop_reference(0.02, 0.7, 1e-3), {"v": 0.0}),
    (lambda: optim.Adam(0.05), adam_reference(0.05, 0.9, 0.999, 1e-7), {"m": 0.0, "v": 0.0}),
    (lambda: optim.Adam(0.02, beta_1=0.7, beta_2=0.95, epsilon=1e-4), adam_reference(0.02, 0.7, 0.95, 1e-4),
     {"m": 0.0, "v": 0.0}),
    (lambda: optim.Adagrad(0.3), adagrad_reference(0.3, 0.1, 1e-7), {}),
    (lambda: optim.Adagrad(0.3, initial_accumulator_value=1.0, epsilon=1e-2), adagrad_reference(0.3, 1.0, 1e-2), {}),
], ids=["sgd", "momentum", "nesterov", "decay", "rmsprop", "rmsprop-args", "adam", "adam-args", "adagrad",
        "adagrad-args"])
def test_sixty_steps_match_the_rule_computed_by_hand(optimizer, update, state):
    expected = reference_run(update, state)
    np.testing.assert_allclose(minirnn_run(optimizer()), expected, rtol=1e-12, atol=1e-14)
    assert np.abs(expected - np.array(W0)).min() > 1e-3  # every coordinate moved: the run tests something
