"""``Sequential``: a Keras-style stack of layers with compile / fit / evaluate / predict.

    model = Sequential([layers.LSTM(50, input_shape=(60, 1)), layers.Dropout(0.2), layers.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    history = model.fit(X_train, y_train, epochs=50, batch_size=32)
    y_pred = model.predict(X_test)

Training is the layer protocol and nothing more: ``forward`` through the
layers, the loss and its gradient, ``backward`` in reverse order (the first
layer skips the gradient w.r.t. the data), one optimizer step.

Data and dtypes, as in Keras: ``fit``, ``evaluate`` and ``predict`` cast
float, integer and boolean arrays to the model's dtype (the layers themselves
are strict: a float32 array into a float64 layer is a ``TypeError``). The
model's dtype is the one its layers (or ``Input``, or ``Sequential(dtype=)``)
were given when they agree, a ``ValueError`` when they disagree, else the
first training data's float dtype, else float64.

Randomness: ``Sequential(seed=...)`` seeds the weights of every layer built
without a seed of its own; ``fit(seed=...)`` (default: the model's seed)
seeds shuffling and dropout. Same seed, same data: bit-identical history and
weights.
"""
import numbers
import time
import warnings

import numpy as np

from . import callbacks as callbacks_module
from . import checks
from . import layers as layers_module
from . import losses, metrics as metrics_module, optim, saving
from .layers.core import child_seed


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss or gradient; the weights are those from before that step."""


class Sequential:
    """A linear stack of layers. ``layers`` may be given now or one by one with :meth:`add`."""

    def __init__(self, layers=None, seed=None, dtype=None, name="sequential"):
        self.layers = []
        self.seed = checks.check_seed(seed)
        self.dtype_given = self.dtype = checks.check_dtype(dtype)
        self.name = name
        self.optimizer = self.loss = None
        self.metrics = []
        self.input_shape = self.output_shape = None
        self.stop_training = False
        self._input = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure

    def add(self, layer):
        if isinstance(layer, layers_module.Input):
            if self.layers or self._input is not None:
                raise ValueError("Input(shape=...) must be the first element of a Sequential, and only one")
            self._input = layer
            self._declared_dtype(layer)
            return
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"Sequential takes minirnn layers, got {type(layer).__name__}")
        self._declared_dtype(layer)
        if getattr(layer, "return_state", False):
            raise ValueError(f"{layer.name}: return_state=True gives several outputs, which a Sequential "
                             "cannot pass on; use the layer API directly")
        taken = {existing.name for existing in self.layers}
        base, k = layer.name, 1
        while layer.name in taken:
            layer.name, k = f"{base}_{k}", k + 1
        self.layers.append(layer)
        if len(self.layers) == 1 and (layer.input_shape is not None or self._input is not None):
            self.build(layer.input_shape if self._input is None else self._input.shape)
        elif self.built:
            self.build(self.input_shape, self.dtype)

    def _declared_dtype(self, new=None):
        """The dtype the model, its Input and its layers were given (None if none was); a
        ValueError naming them when they disagree. ``new``: an element about to be added."""
        owners = self._dtype_owners(new)
        return checks.dtype_of(owners) if any(dtype is not None for _, dtype in owners) else None

    def _dtype_owners(self, new=None):
        """(owner, dtype) of everything that may declare the model's dtype (see checks.dtype_of)."""
        return [("Sequential(dtype=...)", self.dtype_given), *(
            (f"layer {e.name!r}" if isinstance(e, layers_module.Layer) else "Input", e.dtype)
            for e in [self._input, *self.layers, new] if e is not None)]

    @property
    def built(self):
        return self.input_shape is not None

    def build(self, input_shape, dtype=None):
        """Create every layer's weights for samples of ``input_shape`` = (time, features)."""
        if not self.layers:
            raise ValueError("the model has no layers: add some before building it")
        shape = tuple(int(d) for d in input_shape)
        self.dtype = checks.dtype_of(self._dtype_owners(), data=checks.check_dtype(dtype) or self.dtype)
        for k, layer in enumerate(self.layers):
            if not layer.built or layer.input_dim != shape[-1] or layer.dtype != self.dtype:
                if layer.seed is None and self.seed is not None:
                    layer.seed = child_seed(self.seed, k)
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
        """Overwrite every parameter: a list in :meth:`get_weights`' order and shapes."""
        counts = [len(layer.params) for layer in self.layers]
        if not isinstance(weights, (list, tuple)) or len(weights) != sum(counts):
            raise ValueError(f"set_weights needs a list of {sum(counts)} arrays (get_weights' order), got "
                             f"{len(weights) if isinstance(weights, (list, tuple)) else type(weights).__name__}")
        start = 0
        for layer, count in zip(self.layers, counts):
            if count:
                layer.set_weights(list(weights[start:start + count]))
            start += count

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

    def save(self, path, include_optimizer=True, overwrite=True):
        """Write architecture, weights, compile settings and optimizer state to one file, atomically; as
        Keras, an existing ``path`` is replaced unless ``overwrite=False``. See :mod:`minirnn.saving`.

        The file is minirnn's own (a NumPy ``.npz`` archive); Keras' ``.keras`` and ``.h5`` names are
        refused, since Keras could not read it. :mod:`minirnn.interop` moves weights into Keras.
        """
        self._require_built("save")
        saving.save_model(self, path, include_optimizer, overwrite)

    # ------------------------------------------------------------------ running

    def forward(self, x, training=False):
        """Run the layers in order, each handing the next its sequence mask (a ``Masking`` layer
        starts one; the output's is kept in ``output_mask``). An activation that overflows to inf
        or NaN raises :class:`NonFiniteLossError` naming the layer (the weights have diverged)."""
        mask = None
        for layer in self.layers:
            try:
                output = layer.forward(x, training=training, mask=mask)
                x, mask = output, layer.compute_mask(x, mask)  # the output's mask, from the layer's input
            except FloatingPointError as error:
                raise NonFiniteLossError(str(error)) from None
        self.output_mask = mask
        return x

    output_mask = None  # the last forward's: (batch, time) bools for a sequence output, or None

    def backward(self, grad):
        for k in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[k].backward(grad, input_grad=k > 0)

    def compile(self, optimizer="rmsprop", loss="mse", metrics=None):
        """``optimizer``: an object from :mod:`minirnn.optim`, one of its classes (called with Keras'
        defaults) or "sgd", "rmsprop", "adam", "adagrad"; ``loss``: a name of :mod:`minirnn.losses`
        ("mse"/"mean_squared_error", "mae", "huber", the cross-entropies), one of its classes
        (``Huber(delta=2.0)``, ``BinaryCrossentropy(from_logits=True)``, or uncalled) or a callable
        ``f(y_pred, y_true) -> (value, grad)``; ``metrics``: a list of names from
        :mod:`minirnn.metrics` ("mae", "mse", "rmse", ...) or callables ``f(y_pred, y_true) -> number``,
        reported by ``fit`` (and ``val_`` ones) and returned by ``evaluate`` after the loss. As in
        Keras, ``fit``'s training metrics are measured on the training batches as the model saw
        them, dropout on and weights changing; ``val_`` ones and ``evaluate``'s without dropout."""
        self.optimizer = optim.get(optimizer)
        self.loss = losses.get(loss)
        self.metrics = metrics_module.get_all(metrics, loss=self.loss)

    def fit(self, x, y=None, epochs=1, batch_size=32, shuffle=True, validation_split=0.0, validation_data=None,
            callbacks=None, verbose=1, seed=None, on_divergence="raise", steps_per_epoch=None):
        """Train; returns a :class:`~minirnn.callbacks.History` (``.history["loss"]``, ``["val_loss"]``).

        A model that starts with ``Masking`` leaves the masked steps of a sequence output out of the
        loss and the metrics, as Keras does. The rule: each training step minimises the mean loss
        over its batch's real (unmasked) steps; the epoch's ``loss`` (and ``evaluate``'s) is the mean
        over all the real steps of the data, whatever the batch size, as the metrics are; data
        with no real step at all has loss 0 and metrics 0 (empty sums), and a batch of padding
        alone takes no step's worth of gradient and raises no divergence alarm.

        Data: arrays ``x``, ``y``; or, as Keras takes a generator, freshly drawn batches: ``x`` an
        iterator of ``(x_batch, y_batch)`` pairs or a function ``batch(step) -> (x_batch, y_batch)``
        (``step`` counts from 0 over the whole run), with ``steps_per_epoch`` batches an epoch and
        no ``y``. Arrays are checked once per fit, a generator's batches each as they come.

        ``validation_split`` holds out the *last* fraction of ``x``/``y`` (before
        shuffling), as Keras does; ``validation_data=(x_val, y_val)`` takes precedence.

        Divergence: a NaN or infinite loss, gradient or weight always stops training
        with :class:`NonFiniteLossError` and the weights from before that step. So,
        with ``on_divergence="raise"`` (default), does a batch loss above
        ``divergence_factor`` (10^4) times the first batch's loss: a run that still
        has finite numbers but has left the data behind. ``"warn"`` warns once and
        goes on; ``"ignore"`` goes on silently.
        """
        if on_divergence not in ("raise", "warn", "ignore"):
            raise ValueError(f"on_divergence must be 'raise', 'warn' or 'ignore', got {on_divergence!r}")
        if self.optimizer is None:
            raise ValueError("compile the model before fit: model.compile(optimizer=..., loss=...)")
        callbacks = _callbacks(callbacks)
        epochs = checks.check_int("epochs", epochs, 0)
        batch_size = checks.check_int("batch_size", batch_size, 1)
        if not (isinstance(validation_split, numbers.Real) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
        generated = _is_batch_source(x, steps_per_epoch)
        if generated:
            batches = self._generated_batches(x, y, steps_per_epoch, validation_split)
            steps = steps_per_epoch
        else:
            if steps_per_epoch is not None:
                raise ValueError("steps_per_epoch is for a generator of batches; with arrays, batch_size sets it")
            self._build_for(x)
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

        base = self.seed if seed is None else checks.check_seed(seed)
        rng = np.random.default_rng(None if base is None else child_seed(base, 1 << 20))
        for layer in self.layers:  # dropout and recurrent dropout draw from the fit's seed
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(rng.integers(2**63))
        if not generated:
            self._check_stateful_batches(len(x), batch_size, shuffle)
            steps = -(-len(x) // batch_size)
            batches = _array_batches(x, y, batch_size, shuffle, rng)
        if x_val is not None:
            self._check_stateful_batches(len(x_val), batch_size, False, "validation_data")
        history = callbacks_module.History()
        hooks = [history, *callbacks]
        if verbose:
            hooks.append(callbacks_module.ProgressLine(epochs, steps))
        for hook in hooks:
            hook.model = self
        self.history, self.stop_training = history, False
        watch = {"action": on_divergence, "first_loss": None}
        self._call(hooks, "on_train_begin", None)
        for epoch in range(epochs):
            self._call(hooks, "on_epoch_begin", epoch, None)
            total, weight = 0.0, 0
            running = metrics_module.Running(self.metrics)
            for batch, (x_batch, y_batch) in zip(range(steps), batches(epoch, steps)):
                loss, pred = self._train_step(x_batch, y_batch, epoch, batch, watch)
                total, weight = total + loss * self._loss_weight(pred), weight + self._loss_weight(pred)
                running.add(*_unmasked(pred, y_batch, self.output_mask))
                self._call(hooks, "on_batch_end", batch, {"loss": loss, "size": len(x_batch)})
            logs = {"loss": total / weight if weight else 0.0, **running.results()}
            if x_val is not None:
                carried = [getattr(layer, "states", None) for layer in self.layers]
                val_logs = self._evaluate(x_val, y_val, batch_size)
                for layer, states in zip(self.layers, carried):  # validation leaves training's states as they were
                    if getattr(layer, "stateful", False):
                        layer.states = states
                logs.update({"val_" + name: value for name, value in val_logs.items()})
            self._call(hooks, "on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        self._call(hooks, "on_train_end", None)
        return history

    def _generated_batches(self, source, y, steps_per_epoch, validation_split):
        """``batches(epoch, steps)`` over a generator or a ``batch(step)`` function, each batch checked
        (the first one builds the model if it is not built)."""
        if y is not None:
            raise ValueError("with a generator of (x, y) batches, give no y: each batch carries its targets")
        checks.check_positive_int("steps_per_epoch", steps_per_epoch)
        if validation_split:
            raise ValueError("validation_split needs arrays to split; with a generator, give validation_data")
        draw = source if callable(source) else (lambda step, it=iter(source): next(it))

        def checked(step):
            try:
                pair = draw(step)
            except StopIteration:
                raise ValueError(f"the generator of batches ran out at step {step}: give more batches "
                                 "or fewer epochs or steps_per_epoch") from None
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"each batch must be a pair (x, y), got {type(pair).__name__} at step {step}")
            self._build_for(pair[0], name=f"x of batch {step}")
            return self._check_xy(*pair, names=(f"x of batch {step}", f"y of batch {step}"))

        return lambda epoch, steps: (checked(epoch * steps + k) for k in range(steps))

    def evaluate(self, x, y, batch_size=32, verbose=0, return_dict=False):
        """Mean loss over ``x``/``y`` (no dropout); with metrics compiled, ``[loss, *metrics]`` as Keras
        returns them (``return_dict=True``: ``{"loss": .., "mae": ..}``). ``verbose=1`` prints them."""
        if self.loss is None:
            raise ValueError("compile the model before evaluate: it needs a loss")
        self._require_built("evaluate")
        x, y = self._check_xy(x, y)
        start = time.perf_counter()
        logs = self._evaluate(x, y, checks.check_int("batch_size", batch_size, 1))
        if verbose:
            values = " - ".join(f"{name}: {value:.4g}" for name, value in logs.items())
            print(f"{len(x)} samples - {time.perf_counter() - start:.1f}s - {values}")
        return _as_returned(logs, return_dict)

    def train_on_batch(self, x, y, return_dict=False):
        """One optimizer step on one batch, as Keras' ``train_on_batch``: returns the batch's loss
        (computed before the step), ``[loss, *metrics]`` with metrics compiled, or with
        ``return_dict=True`` a dict. Training mode (dropout on). As in :meth:`fit`, a NaN or
        infinite loss, gradient or weight raises :class:`NonFiniteLossError` with the weights from
        before the step, and so does a loss 10^4 times the first call's (the message's "batch"
        counts the optimizer's steps)."""
        if self.optimizer is None:
            raise ValueError("compile the model before train_on_batch: model.compile(optimizer=..., loss=...)")
        self._build_for(x)
        x, y = self._check_xy(x, y)
        if self._batch_watch is None:
            self._batch_watch = {"action": "raise", "first_loss": None}
        loss, pred = self._train_step(x, y, 0, self.optimizer.iterations, self._batch_watch)
        running = metrics_module.Running(self.metrics)
        running.add(*_unmasked(pred, y, self.output_mask))
        return _as_returned({"loss": loss, **running.results()}, return_dict)

    _batch_watch = None  # train_on_batch's divergence watch, from its first call on

    def predict(self, x, batch_size=32, verbose=0):
        """Outputs for ``x`` (no dropout), computed ``batch_size`` samples at a time.
        ``verbose=1`` prints how many samples took how long."""
        self._require_built("predict")
        x = self._check_x(x)
        batch_size = checks.check_int("batch_size", batch_size, 1)
        start = time.perf_counter()
        y = np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        if verbose:
            print(f"{len(x)} samples - {time.perf_counter() - start:.1f}s")
        return y

    # ------------------------------------------------------------------ internals

    def reset_states(self):
        """Forget every stateful layer's carried states (Keras' ``model.reset_states()``)."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def _check_stateful_batches(self, samples, batch_size, shuffle, what="x"):
        """Stateful layers carry sample i of one batch into sample i of the next: the order of the
        samples is the data, and every batch must have the same size (``what``: whose samples)."""
        stateful = [layer.name for layer in self.layers if getattr(layer, "stateful", False)]
        if not stateful:
            return
        names, (is_, needs) = ", ".join(stateful), (("is", "needs") if len(stateful) == 1 else ("are", "need"))
        if shuffle:
            raise ValueError(f"{names} {is_} stateful: the batches continue each other, so fit with shuffle=False")
        if samples % batch_size:
            raise ValueError(f"{names} {is_} stateful and {needs} every batch of the same size: the {samples} "
                             f"samples of {what} are not a multiple of batch_size={batch_size}")

    def _train_step(self, x, y, epoch, batch, watch):
        """One optimizer step on a batch; returns its loss and the prediction it was computed from.
        ``watch`` is the divergence watch of the run (see :meth:`_check_growth`)."""
        try:
            pred = self.forward(x, training=True)
        except NonFiniteLossError as error:
            self._diverged(epoch, batch, str(error))
        loss, grad = self._loss_and_grad(pred, y, self.output_mask)
        if np.isfinite(loss):
            self._check_growth(loss, epoch, batch, watch)
            self.backward(grad.astype(self.dtype, copy=False))
        params_and_grads = {(k, name): (layer.params[name], layer.grads[name])
                            for k, layer in enumerate(self.layers) for name in layer.params}
        if not np.isfinite(loss):
            self._diverged(epoch, batch, "the loss is NaN or infinite")
        if not all(np.isfinite(g).all() for _, g in params_and_grads.values()):
            self._diverged(epoch, batch, "a gradient is NaN or infinite")
        saved = self.get_weights()
        self.optimizer.step(params_and_grads)
        for layer in self.layers:
            layer.apply_constraints()
        if not all(np.isfinite(p).all() for p, _ in params_and_grads.values()):
            self.set_weights(saved)
            self._diverged(epoch, batch, "the update made a weight NaN or infinite")
        return loss, pred

    def _loss_and_grad(self, pred, y, mask=None):
        """The compiled loss, held to its contract: (a number, an array shaped like the prediction).
        With a sequence mask, the loss of the unmasked steps only (0 if all are masked), and no
        gradient into the masked ones."""
        if mask is not None and pred.ndim == 3:
            grad = np.zeros_like(pred)
            if not mask.any():
                return 0.0, grad
            value, grad[mask] = self._loss_and_grad(pred[mask], y[mask])
            return value, grad
        result = self.loss(pred, y)
        contract = (f"a loss function must return (value, grad): the mean loss as a number and its gradient "
                    f"w.r.t. y_pred as an array of y_pred's shape {pred.shape}")
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{contract}; got {type(result).__name__}")
        value, grad = result
        if not isinstance(value, (numbers.Real, np.ndarray)) or np.ndim(value) != 0:
            raise TypeError(f"{contract}; the value is {type(value).__name__}")
        if not isinstance(grad, np.ndarray) or grad.shape != pred.shape:
            got = f"shape {grad.shape}" if isinstance(grad, np.ndarray) else type(grad).__name__
            raise TypeError(f"{contract}; the gradient is {got}")
        return float(value), grad

    divergence_factor = 1e4  # a batch loss this many times the first one: training has diverged

    def _check_growth(self, loss, epoch, batch, watch):
        """Stop (or warn, see fit's ``on_divergence``) when the loss has grown by orders of magnitude.
        ``watch`` is {"action": on_divergence, "first_loss": the run's first batch loss or None}."""
        if not watch["first_loss"]:  # the reference: the first batch with a loss above 0 (all padding has 0)
            watch["first_loss"] = loss if loss > 0 else None
            return
        if watch["action"] == "ignore" or not loss > self.divergence_factor * watch["first_loss"]:
            return
        what = (f"the loss grew from {watch['first_loss']:.3g} (first batch) to {loss:.3g}, more than "
                f"{self.divergence_factor:g} times")
        if watch["action"] == "raise":
            self._diverged(epoch, batch, what)
        warnings.warn(f"training is diverging at epoch {epoch + 1}, batch {batch + 1}: {what}", stacklevel=4)
        watch["action"] = "ignore"  # warn once

    def _diverged(self, epoch, batch, what):
        raise NonFiniteLossError(
            f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. The weights are those "
            "from before this step. Try a smaller learning rate or gradient clipping, e.g. "
            "optimizer=minirnn.optim.RMSprop(clipnorm=1.0)")

    def _evaluate(self, x, y, batch_size):
        """{"loss": mean loss, metric name: value, ...} over x, y without dropout."""
        total, weight = 0.0, 0
        running = metrics_module.Running(self.metrics)
        for i in range(0, len(x), batch_size):
            pred, y_batch = self.forward(x[i:i + batch_size]), y[i:i + batch_size]
            value, _ = self._loss_and_grad(pred, y_batch, self.output_mask)
            total, weight = total + value * self._loss_weight(pred), weight + self._loss_weight(pred)
            running.add(*_unmasked(pred, y_batch, self.output_mask))
        return {"loss": total / weight if weight else 0.0, **running.results()}

    def _loss_weight(self, pred):
        """What a batch's mean loss counts for in a mean over batches: its samples, or with a
        sequence mask its real steps, so that the mean is over the same positions whatever the
        batch size (the last forward's mask, of ``pred``)."""
        if self.output_mask is not None and pred.ndim == 3:
            return int(self.output_mask.sum())
        return len(pred)

    def _build_for(self, x, name="x"):
        """Build the model for the samples of ``x`` (its first data) unless it is built already."""
        if not self.built:
            first = self._check_x(x, building=True, name=name)
            self.build(first.shape[1:], first.dtype)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"{what}: the model is not built. Give the first layer input_shape=(time, "
                             "features), call model.build(input_shape), or fit it first")

    def _check_x(self, x, building=False, name="x"):
        """x as the model's dtype (on ``building``: its own float dtype, or float64), checked."""
        dtype = checks.dtype_of(self._dtype_owners(), data=getattr(x, "dtype", None)) if building else self.dtype
        x = _as_numbers(name, x, dtype)
        if self.built and x.ndim != len(self.input_shape) + 1:
            raise ValueError(f"{name} must be {len(self.input_shape) + 1}-D (samples, *{self.input_shape}), "
                             f"got shape {x.shape}")
        if len(x) == 0:
            raise ValueError(f"{name} is empty")
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"{name} has {x.shape[-1]} features (last axis) but the model was built for "
                             f"{self.input_shape[-1]}: samples of shape {self.input_shape}")
        return x

    def _check_xy(self, x, y, names=("x", "y")):
        x = self._check_x(x, name=names[0])
        if getattr(self.loss, "sparse_labels", False):
            return x, self._check_labels(x, y, names)
        y = _as_numbers(names[1], y, self.dtype)  # targets follow the model's dtype
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"{names[0]} has {len(x)} samples but {names[1]} has "
                             f"{len(y) if y.ndim else 'none (a scalar)'}")
        expected = (len(x), *self._output_shape_for(x))
        if y.shape != expected and y.reshape(len(y), -1).shape == (len(x), int(np.prod(expected[1:]))):
            y = y.reshape(expected)  # (n,) targets for a (n, 1) output, as Keras accepts
        if y.shape != expected:
            raise ValueError(f"{names[1]} must have shape {expected} to match the model's output, got {y.shape}")
        return x, y

    def _check_labels(self, x, y, names):
        """Integer class labels for a sparse loss: the output's shape without its last axis
        ((n, 1) taken for (n,)), each in 0 .. classes - 1."""
        if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" and not (
                y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all()):
            raise TypeError(f"{names[1]} must be an array of integer class labels for the loss "
                            f"{getattr(self.loss, '__name__', type(self.loss).__name__)}, got "
                            f"{type(y).__name__ if not isinstance(y, np.ndarray) else y.dtype}")
        output = (len(x), *self._output_shape_for(x))
        expected = output[:-1]
        if y.shape != expected and y.shape == expected + (1,):
            y = y.reshape(expected)
        if y.shape != expected:
            raise ValueError(f"{names[1]} must hold one label per output position, shape {expected}, got {y.shape}")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= output[-1]):
            bad = y.min() if y.min() < 0 else y.max()
            raise ValueError(f"{names[1]} has the label {bad}, but the model's output has {output[-1]} classes "
                             f"(labels 0 .. {output[-1] - 1})")
        return y

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


def _as_returned(logs, return_dict):
    """What evaluate and train_on_batch return, as Keras: the loss alone, ``[loss, *metrics]`` with
    metrics, or (``return_dict=True``) the dict."""
    if return_dict:
        return logs
    return logs["loss"] if len(logs) == 1 else list(logs.values())


def _as_numbers(name, a, dtype):
    """``a`` (an ndarray of floats, ints or bools) as a finite array of ``dtype``, as Keras casts its data.

    Anything else is a TypeError; a NaN or inf (also one a masked array hides,
    or one the cast to float32 makes) a ValueError giving its index.
    """
    if isinstance(a, np.ma.MaskedArray):
        if np.ma.getmaskarray(a).any():
            index = tuple(int(i) for i in np.argwhere(np.ma.getmaskarray(a))[0])
            raise ValueError(f"{name} is a masked array with masked entries (the first at index {index}); "
                             "minirnn does not mask: fill them (e.g. a.filled(0.0)) or drop those samples")
        a = np.ma.getdata(a)
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__} (convert with np.asarray)")
    if a.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers (float, int or bool), got dtype {a.dtype}")
    checks.check_finite(name, a)
    with np.errstate(over="ignore"):  # an overflow is reported below, with its index
        cast = a.astype(dtype, copy=False)
    if cast is not a:
        checks.check_finite(name, cast, f" once cast to {np.dtype(dtype)} (a value too large for it)")
    return cast


def load_model(path):
    """The model saved at ``path`` by :meth:`Sequential.save`: the same layers, weights bit for bit,
    and, if it was compiled when saved, its loss, optimizer and optimizer state."""
    config, arrays = saving.read(path)
    try:
        model = Sequential([saving.layer_from_spec(spec) for spec in config["layers"]],
                           seed=config["seed"], dtype=config["dtype"], name=config["name"])
        model.build(tuple(config["input_shape"]))
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path}: the model description does not match its contents ({error!r})") from None
    saving.restore(model, config, arrays, path)
    return model


def _unmasked(pred, y, mask):
    """The prediction and targets at the unmasked steps of a sequence output ((n, features) and
    y's rows), for the metrics; as they are when there is no mask."""
    if mask is None or pred.ndim != 3:
        return pred, y
    return pred[mask], y[mask]


def _is_batch_source(x, steps_per_epoch=None):
    """A generator, iterator or ``batch(step)`` function of (x, y) batches, rather than an array.
    The forms that look like one and are not are a TypeError that says what to give instead."""
    import inspect
    if inspect.isgeneratorfunction(x):
        raise TypeError(f"x is the generator function {x.__name__}, not a generator: call it, "
                        f"fit({x.__name__}(...), steps_per_epoch=...)")
    if callable(x):
        try:
            inspect.signature(x).bind(0)
        except TypeError:
            raise TypeError(f"x is a function that does not take one argument: a batch source function is "
                            f"batch(step) -> (x_batch, y_batch), called with the step number") from None
        except ValueError:  # no signature to read (a builtin): take it as it is
            pass
        return True
    if isinstance(x, (list, tuple)) and steps_per_epoch is not None:
        raise TypeError(f"x is a {type(x).__name__} of {len(x)} items; a source of batches is an iterator or "
                        f"a function batch(step): give iter(x) (fit(iter(batches), steps_per_epoch=...)), or "
                        "arrays x, y with batch_size")
    return hasattr(x, "__next__") and not isinstance(x, np.ndarray)


def _callbacks(callbacks):
    """The callbacks of ``fit``: a list, each a callback object; a class given uncalled is made
    with its defaults, as Keras does."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of callbacks, got {type(callbacks).__name__}: wrap it in [ ]")
    made = []
    for k, callback in enumerate(callbacks):
        if isinstance(callback, type):
            try:
                callback = callback()
            except TypeError as error:
                raise TypeError(f"callbacks[{k}] is the class {callback.__name__}, which needs arguments: "
                                f"give {callback.__name__}(...) ({error})") from None
        made.append(callback)
    return made


def _array_batches(x, y, batch_size, shuffle, rng):
    """``batches(epoch, steps)`` over arrays: shuffled afresh each epoch (unless ``shuffle`` is False)."""
    def batches(epoch, steps):
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for k in range(steps):
            index = order[k * batch_size:(k + 1) * batch_size]
            yield x[index], y[index]
    return batches
