"""``Sequential``: a Keras-style stack of layers with compile / fit / evaluate / predict.

    model = Sequential([layers.LSTM(50, input_shape=(60, 1)), layers.Dropout(0.2), layers.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    history = model.fit(X_train, y_train, epochs=50, batch_size=32)
    y_pred = model.predict(X_test)

Training is the layer protocol and nothing more: ``forward`` through the
layers, the loss and its gradient, ``backward`` in reverse order (the first
layer skips the gradient w.r.t. the data), one optimizer step.

Randomness: ``Sequential(seed=...)`` seeds the weights of every layer built
without a seed of its own; ``fit(seed=...)`` (default: the model's seed)
seeds shuffling and dropout. Same seed, same data: bit-identical history and
weights.
"""
import numbers

import numpy as np

from . import callbacks as callbacks_module
from . import layers as layers_module
from . import losses, optim
from .cells import _common


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss or gradient; the weights are those from before that step."""


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class Sequential:
    """A linear stack of layers. ``layers`` may be given now or one by one with :meth:`add`."""

    def __init__(self, layers=None, seed=None, dtype=None, name="sequential"):
        self.layers = []
        self.seed = seed
        self.dtype = layers_module._check_dtype(dtype)
        self.name = name
        self.optimizer = self.loss = self.loss_name = None
        self.input_shape = self.output_shape = None
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure

    def add(self, layer):
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"Sequential takes minirnn layers, got {type(layer).__name__}")
        if getattr(layer, "return_state", False):
            raise ValueError(f"{layer.name}: return_state=True gives several outputs, which a Sequential "
                             "cannot pass on; use the layer API directly")
        taken = {existing.name for existing in self.layers}
        base, k = layer.name, 1
        while layer.name in taken:
            layer.name, k = f"{base}_{k}", k + 1
        self.layers.append(layer)
        if len(self.layers) == 1 and layer.input_shape is not None:
            self.build(layer.input_shape)
        elif self.built:
            self.build(self.input_shape, self.dtype)

    @property
    def built(self):
        return self.input_shape is not None

    def build(self, input_shape, dtype=None):
        """Create every layer's weights for samples of ``input_shape`` = (time, features)."""
        if not self.layers:
            raise ValueError("the model has no layers: add some before building it")
        shape = tuple(int(d) for d in input_shape)
        self.dtype = layers_module._check_dtype(dtype) or self.dtype or np.dtype(np.float64)
        for k, layer in enumerate(self.layers):
            if not layer.built or layer.input_dim != shape[-1] or layer.dtype != self.dtype:
                if layer.seed is None and self.seed is not None:
                    layer.seed = layers_module.child_seed(self.seed, k)
                layer.build(shape[-1], self.dtype)
            shape = layer.output_shape(shape)
        self.input_shape, self.output_shape = tuple(int(d) for d in input_shape), shape

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self):
        """Copies of every parameter, layer by layer, in Keras' order."""
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights):
        params = [p for layer in self.layers for p in layer.params.values()]
        if len(weights) != len(params):
            raise ValueError(f"set_weights needs {len(params)} arrays, got {len(weights)}")
        for k, (p, w) in enumerate(zip(params, weights)):
            if np.shape(w) != p.shape:
                raise ValueError(f"weights[{k}] must have shape {p.shape}, got {np.shape(w)}")
            p[...] = w

    def summary(self, print_fn=print):
        """Print a Keras-like table: layer (type), output shape, parameter count, totals."""
        self._require_built("summary")
        rule = "_" * 65
        lines = [f'Model: "{self.name}"', rule, f" {'Layer (type)':<28}{'Output Shape':<26}Param #", "=" * 65]
        shape = self.input_shape
        for layer in self.layers:
            shape = layer.output_shape(shape)
            lines.append(f" {layer.name + ' (' + type(layer).__name__ + ')':<28}{str((None, *shape)):<26}"
                         f"{layer.count_params()}")
        total = self.count_params()
        lines += ["=" * 65, f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0",
                  rule]
        print_fn("\n".join(lines))

    def save(self, path, include_optimizer=True):
        """Write architecture, weights (and optimizer state) to one file, atomically. See :mod:`minirnn.saving`."""
        from .saving import save_model
        save_model(self, path, include_optimizer)

    # ------------------------------------------------------------------ running

    def forward(self, x, training=False):
        """Run the layers in order. An activation that overflows to inf or NaN raises
        :class:`NonFiniteLossError` naming the layer (the weights have diverged)."""
        for layer in self.layers:
            x = layer.forward(x, training=training)
            if not np.isfinite(x).all():
                raise NonFiniteLossError(f"the output of layer {layer.name!r} is NaN or infinite")
        return x

    def backward(self, grad):
        for k in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[k].backward(grad, input_grad=k > 0)

    def compile(self, optimizer="rmsprop", loss="mse"):
        """``optimizer``: an object from :mod:`minirnn.optim` or "sgd", "rmsprop", "adam", "adagrad"
        (Keras defaults); ``loss``: "mse"/"mean_squared_error", "mae", "huber" or a callable."""
        self.optimizer = optim.get(optimizer)
        self.loss = losses.get(loss)
        self.loss_name = loss if isinstance(loss, str) else None  # a callable loss cannot be saved

    def fit(self, x, y, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
            callbacks=None, verbose=1, seed=None):
        """Train; returns a :class:`~minirnn.callbacks.History` (``.history["loss"]``, ``["val_loss"]``).

        ``validation_split`` holds out the *last* fraction of ``x``/``y`` (before
        shuffling), as Keras does; ``validation_data=(x_val, y_val)`` takes precedence.
        """
        if self.optimizer is None:
            raise ValueError("compile the model before fit: model.compile(optimizer=..., loss=...)")
        epochs = _check_int("epochs", epochs, 0)
        batch_size = _check_int("batch_size", batch_size, 1)
        if not (isinstance(validation_split, numbers.Real) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        if not self.built:
            self._check_x(x, building=True)
            self.build(x.shape[1:], x.dtype)
        x, y = self._check_xy(x, y)
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            x_val, y_val = self._check_xy(*validation_data, names=("validation x", "validation y"))
        elif validation_split > 0:
            split = int(np.floor(len(x) * (1 - validation_split)))
            if split == 0 or split == len(x):
                raise ValueError(f"validation_split={validation_split} of {len(x)} samples leaves "
                                 f"{split} for training and {len(x) - split} for validation: need >= 1 each")
            x, y, x_val, y_val = x[:split], y[:split], x[split:], y[split:]
        else:
            x_val = y_val = None

        base = self.seed if seed is None else seed
        rng = np.random.default_rng(None if base is None else layers_module.child_seed(base, 1 << 20))
        for layer in self.layers:  # dropout and recurrent dropout draw from the fit's seed
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(rng.integers(2**63))
        steps = -(-len(x) // batch_size)
        history = callbacks_module.History()
        hooks = [history, *(callbacks or [])]
        if verbose:
            hooks.append(callbacks_module.ProgressLine(epochs, steps))
        for hook in hooks:
            hook.model = self
        self.history, self.stop_training = history, False
        self._call(hooks, "on_train_begin", None)
        for epoch in range(epochs):
            self._call(hooks, "on_epoch_begin", epoch, None)
            order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
            total = 0.0
            for batch in range(steps):
                index = order[batch * batch_size:(batch + 1) * batch_size]
                loss = self._train_step(x[index], y[index], epoch, batch)
                total += loss * len(index)
                self._call(hooks, "on_batch_end", batch, {"loss": loss, "size": len(index)})
            logs = {"loss": total / len(x)}
            if x_val is not None:
                logs["val_loss"] = self._evaluate(x_val, y_val, batch_size)
            self._call(hooks, "on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        self._call(hooks, "on_train_end", None)
        return history

    def evaluate(self, x, y, batch_size=32, verbose=0):
        """Mean loss over ``x``/``y`` (no dropout)."""
        if self.loss is None:
            raise ValueError("compile the model before evaluate: it needs a loss")
        self._require_built("evaluate")
        x, y = self._check_xy(x, y)
        value = self._evaluate(x, y, _check_int("batch_size", batch_size, 1))
        if verbose:
            print(f"loss: {value:.4g}")
        return value

    def predict(self, x, batch_size=32):
        """Outputs for ``x`` (no dropout), computed ``batch_size`` samples at a time."""
        self._require_built("predict")
        x = self._check_x(x)
        batch_size = _check_int("batch_size", batch_size, 1)
        return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])

    # ------------------------------------------------------------------ internals

    def _train_step(self, x, y, epoch, batch):
        try:
            pred = self.forward(x, training=True)
        except NonFiniteLossError as error:
            self._diverged(epoch, batch, str(error))
        loss, grad = self.loss(pred, y)
        if np.isfinite(loss):
            self.backward(grad.astype(self.dtype, copy=False))
        params_and_grads = {(k, name): (layer.params[name], layer.grads[name])
                            for k, layer in enumerate(self.layers) for name in layer.params}
        if not np.isfinite(loss):
            self._diverged(epoch, batch, "the loss is NaN or infinite")
        if not all(np.isfinite(g).all() for _, g in params_and_grads.values()):
            self._diverged(epoch, batch, "a gradient is NaN or infinite")
        saved = self.get_weights()
        self.optimizer.step(params_and_grads)
        if not all(np.isfinite(p).all() for p, _ in params_and_grads.values()):
            self.set_weights(saved)
            self._diverged(epoch, batch, "the update made a weight NaN or infinite")
        return loss

    def _diverged(self, epoch, batch, what):
        raise NonFiniteLossError(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. The weights are those "
            "from before this step. Try a smaller learning rate or gradient clipping, e.g. "
            "optimizer=minirnn.optim.RMSprop(clipnorm=1.0)")

    def _evaluate(self, x, y, batch_size):
        total = 0.0
        for i in range(0, len(x), batch_size):
            value, _ = self.loss(self.forward(x[i:i + batch_size]), y[i:i + batch_size])
            total += value * len(x[i:i + batch_size])
        return total / len(x)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: the model is not built. Give the first layer input_shape=(time, "
                             "features), call model.build(input_shape), or fit it first")

    def _check_x(self, x, building=False, name="x"):
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
        dtype = None if building else self.dtype
        _common.check_array(name, x, len(self.input_shape) + 1 if self.built else x.ndim, dtype)
        if len(x) == 0:
            raise ValueError(f"{name} is empty")
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"{name} has {x.shape[-1]} features (last axis) but the model was built for "
                             f"{self.input_shape[-1]}: samples of shape {self.input_shape}")
        return x

    def _check_xy(self, x, y, names=("x", "y")):
        x = self._check_x(x, name=names[0])
        if not isinstance(y, np.ndarray):
            raise TypeError(f"{names[1]} must be a numpy.ndarray, got {type(y).__name__}")
        if len(y) != len(x):
            raise ValueError(f"{names[0]} has {len(x)} samples but {names[1]} has {len(y)}")
        if y.dtype.kind not in "fiu":
            raise TypeError(f"{names[1]} must be numeric, got dtype {y.dtype}")
        y = y.astype(self.dtype, copy=False)  # targets follow the model's dtype
        if not np.isfinite(y).all():
            raise ValueError(f"{names[1]} contains NaN or inf")
        expected = (len(x), *self._output_shape_for(x))
        if y.shape != expected and y.reshape(len(y), -1).shape == (len(x), int(np.prod(expected[1:]))):
            y = y.reshape(expected)  # (n,) targets for a (n, 1) output, as Keras accepts
        if y.shape != expected:
            raise ValueError(f"{names[1]} must have shape {expected} to match the model's output, got {y.shape}")
        return x, y

    def _output_shape_for(self, x):
        shape = x.shape[1:]
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    @staticmethod
    def _call(hooks, method, *args):
        for hook in hooks:
            fn = getattr(hook, method, None)
            if fn is not None:
                fn(*args)
