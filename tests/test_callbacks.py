"""minirnn/callbacks.py: the gradient-norm tracker (History and EarlyStopping: tests/test_model.py)."""
import numpy as np

import minirnn as mr
from minirnn import layers


def test_gradient_norm_tracker_records_every_step_and_sees_clipping_work():
    from minirnn import probe
    x, y = probe.first_input_task(128, 20)
    model = mr.Sequential([layers.SimpleRNN(8, input_shape=(20, 1)), layers.Dense(1)], seed=0)
    model.layers[0].params["recurrent_kernel"] *= 3.0  # exploding
    model.compile(mr.optim.SGD(0.05, clipnorm=1.0), "mse")
    tracker = mr.callbacks.GradientNormTracker()
    history = model.fit(x, y, epochs=2, batch_size=32, callbacks=[tracker], verbose=0)
    assert set(tracker.norms) == {"simplernn", "dense"} and len(tracker.norms["simplernn"]) == 8
    assert max(tracker.norms["simplernn"]) > 10  # raw gradients explode...
    assert np.isfinite(history.history["loss"]).all() and history.history["loss"][-1] < 10  # ...clipped steps do not
