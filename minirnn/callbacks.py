"""Training callbacks: the protocol, ``History``, ``EarlyStopping``, ``LearningRateScheduler`` and the
progress line.

A callback is any object with some of these methods (all optional);
``Sequential.fit`` sets ``callback.model`` before training starts::

    on_train_begin(logs)            on_train_end(logs)
    on_epoch_begin(epoch, logs)     on_epoch_end(epoch, logs)    logs: {"loss": .., "val_loss": ..}
    on_batch_end(batch, logs)                                    logs: {"loss": .., "size": ..}

Setting ``model.stop_training = True`` ends training after the current epoch.
"""
import inspect
import numbers
import sys
import time

import numpy as np

from . import optim


class Callback:
    """Base class with every hook doing nothing; subclass and override what you need."""

    model = None

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """``history[metric]`` is the list of per-epoch values (``loss``, ``val_loss``); ``epoch`` the epochs run."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Keras semantics: lower is better (losses); with ``restore_best_weights`` the
    weights of the best epoch are put back when training ends.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, restore_best_weights=False):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if not np.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.best_epoch, self.best_weights = np.inf, 0, None, None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if not logs or self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, but the logs only have "
                             f"{sorted(logs or {})}: give fit validation data, or monitor='loss'")
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.wait, self.best_epoch = value, 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Keras' scheduler: at the start of each epoch, ``optimizer.learning_rate = schedule(epoch, lr)``
    (``epoch`` from 0, ``lr`` the current rate), or ``schedule(epoch)`` for a function of one
    argument, as Keras also takes. E.g. halve every three epochs:
    ``LearningRateScheduler(lambda epoch, lr: lr / 2 if epoch and epoch % 3 == 0 else lr)``."""

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"schedule must be a function (epoch, lr) -> lr, got {type(schedule).__name__}")
        self.schedule = schedule
        self.takes_rate = _positional_count(schedule) != 1

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.model.optimizer.learning_rate
        rate = self.schedule(epoch, lr) if self.takes_rate else self.schedule(epoch)
        number = isinstance(rate, numbers.Real) or (isinstance(rate, np.ndarray) and rate.shape == ()
                                                     and rate.dtype.kind in "iuf")
        if isinstance(rate, (bool, np.bool_)) or not (number and np.isfinite(rate) and rate > 0):
            raise ValueError(f"the schedule returned the learning rate {rate!r} for epoch {epoch}: "
                             "it must be a finite number > 0")
        self.model.optimizer.learning_rate = float(rate)


class ResetStates(Callback):
    """Reset the model's stateful layers at the start of every epoch (each epoch reads the series
    from its beginning again)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()


def _positional_count(function):
    """How many positional arguments ``function`` takes (None when it cannot be told or is unbounded)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


class ProgressLine(Callback):
    """One Keras-like line per epoch: ``Epoch 3/50 - 85/85 - 0.4s 5ms/step - loss: 0.0123 - val_loss: ..``.

    On a terminal the line also counts batches while the epoch runs.
    """

    def __init__(self, epochs, steps, stream=None):
        self.epochs, self.steps = epochs, steps
        self.stream = stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.batch, self.epoch = time.perf_counter(), 0, epoch

    def on_batch_end(self, batch, logs=None):
        self.batch = batch + 1
        if self.stream.isatty():
            self.stream.write(f"\rEpoch {self.epoch + 1}/{self.epochs} - {self.batch}/{self.steps}")
            self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self.start
        metrics = " - ".join(f"{k}: {v:.4g}" for k, v in (logs or {}).items())
        per_step = 1000 * elapsed / max(self.batch, 1)
        self.stream.write(f"\rEpoch {epoch + 1}/{self.epochs} - {self.batch}/{self.steps} - {elapsed:.1f}s "
                          f"{per_step:.0f}ms/step - {metrics}\n")
        self.stream.flush()


class GradientNormTracker(Callback):
    """Record every layer's gradient norm after each batch: ``norms[layer_name]`` is a list,
    one value per training step (the norm over all of that layer's parameters, finite also where
    an exploding gradient's squares would overflow). Use it to
    watch gradients explode or vanish while training, e.g. with
    :func:`minirnn.apps.plotting.plot_gradient_history`."""

    def on_train_begin(self, logs=None):
        self.norms = {layer.name: [] for layer in self.model.layers if layer.params}

    def on_batch_end(self, batch, logs=None):
        for layer in self.model.layers:
            if layer.params:
                self.norms[layer.name].append(optim.global_norm(layer.grads.values()))
