"""minirnn/callbacks.py: the gradient-norm tracker (History and EarlyStopping: tests/test_model.py)."""
import numpy as np
import pytest

import minirnn as mr
from minirnn import layers


def test_gradient_norm_tracker_records_every_step_and_sees_clipping_work():
    from minirnn.apps import probe
    x, y = probe.first_input_task(128, 20)
    model = mr.Sequential([layers.SimpleRNN(8, input_shape=(20, 1)), layers.Dense(1)], seed=0)
    model.layers[0].params["recurrent_kernel"] *= 3.0  # exploding
    model.compile(mr.optim.SGD(0.05, clipnorm=1.0), "mse")
    tracker = mr.callbacks.GradientNormTracker()
    weights = []

    class Keep(mr.callbacks.Callback):
        def on_train_begin(self, logs=None):
            weights.append(self.model.get_weights())

        def on_batch_end(self, batch, logs=None):
            weights.append(self.model.get_weights())

    model.fit(x, y, epochs=2, batch_size=32, callbacks=[tracker, Keep()], verbose=0)
    assert set(tracker.norms) == {"simplernn", "dense"} and len(tracker.norms["simplernn"]) == 8
    assert max(tracker.norms["simplernn"]) > 10  # raw gradients explode...
    # ...clipped steps do not: each array moves by at most learning_rate * clipnorm per step
    steps = [max(np.linalg.norm(b - a) for a, b in zip(before, after)) for before, after in zip(weights, weights[1:])]
    assert len(steps) == 8 and max(steps) <= 0.05 * 1.0 * (1 + 1e-12) and max(steps) > 0.049


def test_learning_rate_scheduler_sets_the_rate_each_epoch():
    x, y = np.random.default_rng(0).normal(size=(16, 5, 1)), np.zeros(16)
    model = mr.Sequential([layers.SimpleRNN(2, input_shape=(5, 1)), layers.Dense(1)], seed=0)
    model.compile(mr.optim.SGD(0.08), "mse")
    seen = []

    class Watch(mr.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer.learning_rate)

    halve = mr.callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch and epoch % 2 == 0 else lr)
    model.fit(x, y, epochs=5, callbacks=[halve, Watch()], verbose=0)
    assert seen == [0.08, 0.08, 0.04, 0.04, 0.02]
    seen.clear()  # a schedule of the epoch alone, as Keras also takes
    model.fit(x, y, epochs=3, callbacks=[mr.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)),
                                         Watch()], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    with pytest.raises(ValueError, match="learning rate -1"):
        model.fit(x, y, callbacks=[mr.callbacks.LearningRateScheduler(lambda epoch, lr: -1)], verbose=0)
    with pytest.raises(TypeError, match="schedule must be a function"):
        mr.callbacks.LearningRateScheduler(0.1)


def test_gradient_norm_tracker_reports_norms_whose_squares_overflow():
    # Exploding gradients pass 1e154, where a sum of squares turns inf; the norm itself is finite.
    model = mr.Sequential([layers.Dense(2, input_shape=(3,))], seed=0)
    tracker = mr.callbacks.GradientNormTracker()
    tracker.model = model
    tracker.on_train_begin()
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]) * 1e170
    model.forward(x)
    model.backward(np.array([[1.0, -1.0], [0.5, 2.0]]))
    kernel, bias = model.layers[0].grads["kernel"], model.layers[0].grads["bias"]
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(kernel * kernel))  # the case is real
    expected = 1e170 * np.sqrt(np.sum((kernel / 1e170) ** 2) + np.sum((bias / 1e170) ** 2))
    tracker.on_batch_end(0)
    assert tracker.norms["dense"] == [pytest.approx(expected, rel=1e-12)]


@pytest.mark.parametrize("returned", [np.int64(1), np.array(0.5), np.float32(0.25), 2])
def test_a_schedule_may_return_any_real_number(returned):
    model = mr.Sequential([layers.SimpleRNN(2, input_shape=(3, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    x, y = np.ones((4, 3, 1)), np.ones(4)
    model.fit(x, y, verbose=0, callbacks=[mr.callbacks.LearningRateScheduler(lambda epoch: returned)])
    assert model.optimizer.learning_rate == float(returned) and isinstance(model.optimizer.learning_rate, float)


@pytest.mark.parametrize("returned", [True, np.array([0.1]), "0.1", 0.0, np.nan, None])
def test_a_schedule_returning_no_rate_is_refused(returned):
    model = mr.Sequential([layers.SimpleRNN(2, input_shape=(3, 1)), layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="the schedule returned the learning rate .* for epoch 0"):
        model.fit(np.ones((4, 3, 1)), np.ones(4), verbose=0,
                  callbacks=[mr.callbacks.LearningRateScheduler(lambda epoch: returned)])
