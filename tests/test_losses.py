"""minirnn/losses.py: values by hand, gradients by finite differences."""
import numpy as np
import pytest

from minirnn import losses
from minirnn.gradcheck import check_function


@pytest.mark.parametrize("name, delta", [("mse", None), ("mae", None), ("huber", None), ("huber", 0.3),
                                         ("huber", 2.5)])
def test_loss_gradients_match_finite_differences(name, delta, rng):
    loss = losses.get(name) if delta is None else (lambda p, t: losses.huber(p, t, delta=delta))
    y_true = rng.normal(size=(5, 3))
    y_pred = y_true + rng.normal(scale=2.0, size=(5, 3))  # huber: errors on both sides of delta
    if delta is not None:
        error = np.abs(y_pred - y_true)
        assert (error < delta).any() and (error > delta).any()

    def fn(arrays):
        value, grad = loss(arrays["y_pred"], y_true)
        return value, {"y_pred": grad}

    assert check_function(fn, {"y_pred": y_pred}, order=2)["y_pred"] < 1e-7


def test_loss_values_by_hand():
    y_pred, y_true = np.array([[0.5], [3.0]]), np.array([[0.0], [0.0]])
    assert losses.get("mean_squared_error")(y_pred, y_true)[0] == pytest.approx((0.25 + 9) / 2)
    assert losses.get("mae")(y_pred, y_true)[0] == pytest.approx((0.5 + 3) / 2)
    # huber, delta 1: 0.5 * 0.5^2 = 0.125 and 1 * (3 - 0.5) = 2.5
    assert losses.get("huber")(y_pred, y_true)[0] == pytest.approx((0.125 + 2.5) / 2)
    # delta 2: 0.125 and 2 * (3 - 1) = 4; gradients 0.5 / 2 and delta * sign / 2
    value, grad = losses.huber(y_pred, y_true, delta=2.0)
    assert value == pytest.approx((0.125 + 4) / 2) and grad.ravel() == pytest.approx([0.25, 1.0])


def test_unknown_loss():
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get("crossentropy")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4)], ids=["(n, C)", "(n, T, C)"])
def test_crossentropy_gradients_match_finite_differences(from_logits, shape, rng):
    z = rng.normal(size=shape)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    soft = softmax(rng.normal(size=shape))  # soft targets too, for the categorical form
    bits = rng.random(size=shape) > 0.5
    cases = {
        "sparse": lambda p: losses.sparse_categorical_crossentropy(p, labels, from_logits),
        "categorical": lambda p: losses.categorical_crossentropy(p, soft, from_logits),
        "binary": lambda p: losses.binary_crossentropy(p, bits, from_logits),
    }
    for name, loss in cases.items():
        y_pred = z if from_logits else (softmax(z) if name != "binary" else 1 / (1 + np.exp(-z)))
        if not from_logits and name != "binary":
            y_pred = y_pred * rng.uniform(0.5, 2.0, size=shape[:-1] + (1,))  # unnormalised: Keras divides by the sum

        def fn(arrays):
            value, grad = loss(arrays["p"])
            return value, {"p": grad}

        assert check_function(fn, {"p": y_pred.copy()})["p"] < 1e-8, name


def test_crossentropy_values_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, 2])
    expected = -(np.log(0.7) + np.log(0.8)) / 2
    assert losses.sparse_categorical_crossentropy(p, labels)[0] == pytest.approx(expected)
    assert losses.categorical_crossentropy(p, np.eye(3)[labels])[0] == pytest.approx(expected)
    assert losses.sparse_categorical_crossentropy(np.log(p), labels, from_logits=True)[0] == pytest.approx(expected)
    assert losses.sparse_categorical_crossentropy(2 * p, labels)[0] == pytest.approx(expected)  # normalised first
    q, y = np.array([0.9, 0.2]), np.array([1.0, 0.0])
    assert losses.binary_crossentropy(q, y)[0] == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert losses.binary_crossentropy(np.log(q / (1 - q)), y, from_logits=True)[0] == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2)
    # a confident wrong answer is clipped at 1e-7, as Keras: -log(1e-7), and passes no gradient
    value, grad = losses.sparse_categorical_crossentropy(np.array([[1.0, 0.0]]), np.array([1]))
    assert value == pytest.approx(-np.log(1e-7)) and grad[0, 1] == 0
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(np.log(p), labels)[0] == pytest.approx(expected)
    assert losses.get("binary_crossentropy") is losses.binary_crossentropy


@pytest.mark.parametrize("targets, message", [
    (np.array([[-1.0], [1.0]]), "binary_crossentropy takes targets \\[0, 1\\], got values from -1 to 1"),
    (np.array([[0.0], [2.0]]), "binary_crossentropy takes targets \\[0, 1\\], got values from 0 to 2"),
])
def test_binary_targets_outside_zero_one_are_refused(targets, message):
    for from_logits in (False, True):
        with pytest.raises(ValueError, match=message):
            losses.binary_crossentropy(np.array([[0.3], [0.6]]), targets, from_logits)


def test_outputs_that_are_not_probabilities_are_refused_saying_so():
    with pytest.raises(ValueError, match="takes probabilities \\(from_logits=False\\).*sigmoid.*from_logits=True"):
        losses.binary_crossentropy(np.array([[-0.5], [1.5]]), np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="categorical_crossentropy takes probabilities"):
        losses.categorical_crossentropy(np.array([[-0.2, 1.2]]), np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="with a positive sum over the classes; row 0 sums to 0"):
        losses.categorical_crossentropy(np.zeros((1, 2)), np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="the row at \\(1,\\) sums to 2"):
        losses.categorical_crossentropy(np.full((2, 2), 0.5), np.array([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="integer labels 0 .. 2 \\(the output has 3 classes\\), got 3"):
        losses.sparse_categorical_crossentropy(np.full((2, 3), 1 / 3), np.array([0, 3]))
    # scores are fine where they are scores
    assert np.isfinite(losses.binary_crossentropy(np.array([[-3.0], [4.0]]), np.array([[0.0], [1.0]]), True)[0])


def test_a_model_whose_outputs_are_no_probabilities_is_told_before_its_first_step(rng):
    import minirnn as mr
    model = mr.Sequential([mr.layers.SimpleRNN(3, input_shape=(4, 1)), mr.layers.Dense(1)], seed=0)
    model.compile("sgd", "binary_crossentropy")
    before = model.get_weights()
    x, y = rng.normal(size=(16, 4, 1)) * 5, (rng.random(16) > 0.5).astype(float)
    with pytest.raises(ValueError, match="takes probabilities") as error:
        model.fit(x, y, epochs=1, verbose=0)
    assert "diverged" not in str(error.value) and "learning rate" not in str(error.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_loss_classes_carry_their_settings_and_are_stored_by_them():
    assert losses.get(losses.Huber).delta == 1.0  # uncalled, as Keras takes it: the defaults
    huber = losses.get(losses.serialize(losses.Huber(delta=0.3)))
    y_pred, y_true = np.array([[0.1], [2.0]]), np.zeros((2, 1))
    (value, grad), (expected, expected_grad) = huber(y_pred, y_true), losses.huber(y_pred, y_true, delta=0.3)
    assert value == expected and np.array_equal(grad, expected_grad)
    assert losses.serialize(losses.MeanSquaredError()) == {"class": "MeanSquaredError", "config": {}}
    assert losses.serialize(losses.mean_absolute_error) == "mae"
    assert losses.serialize(lambda p, t: (0.0, p)) is None
    logits = losses.get({"class": "BinaryCrossentropy", "config": {"from_logits": True}})
    assert logits.from_logits and isinstance(logits, losses.BinaryCrossentropy)
    for bad, error in ((losses.Huber(1.0).__class__.__bases__[0], TypeError), ({"class": "Focal", "config": {}},
                                                                              ValueError)):
        with pytest.raises(error):
            losses.get(bad)
    with pytest.raises(ValueError, match="delta must be a finite number > 0"):
        losses.Huber(delta=0)
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        losses.BinaryCrossentropy(from_logits="yes")


def test_accuracy_of_logits_compares_them_with_zero(rng):
    from minirnn import metrics
    logits, labels = np.array([[0.2], [-0.3], [0.7]]), np.array([[1.0], [0.0], [0.0]])
    probabilities = metrics.get("accuracy")
    from_logits = metrics.get("accuracy", loss=losses.BinaryCrossentropy(from_logits=True))
    assert from_logits.total(logits, labels) == (2.0, 3)  # sigmoid > 0.5 exactly where the score > 0
    assert probabilities.total(logits, labels) == (1.0, 3)  # scores read as probabilities: 0.2 counts as 0
    assert probabilities.total(np.array([[0.4], [-0.3], [0.7]]), labels) == (1.0, 3)  # 0.4 < 0.5: wrong
    assert from_logits.total(np.array([[0.4], [-0.3], [0.7]]), labels) == (2.0, 3)
