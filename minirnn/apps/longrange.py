"""Training runs on the long-range memory tasks: ``minirnn task`` and ``minirnn reproduce arjovsky``.

:func:`run` trains one cell on one task on freshly drawn batches (``fit`` on a batch function),
reports the final loss on held-out sequences beside the task's no-memory baseline, and draws
two panels: the learning curve with the baseline, and ||dC/dh_t|| per step at iteration 0 and
after 100 iterations, the figure Arjovsky, Shah & Bengio (2016) show.

:func:`arjovsky` is that paper's comparison at CPU scale: tanh RNN, IRNN, LSTM and GRU on the
adding problem and the copy task at several lengths (see the README for what it measured).
"""
import time

import numpy as np

from .. import callbacks, checks, diagnostics, initializers, layers, losses, optim, outputs, tasks
from ..model import NonFiniteLossError, Sequential

CELLS = {  # the applications' one registry of cells, by the names their options take
    "rnn": lambda units, **kw: layers.SimpleRNN(units, **kw),
    "rnn-relu": lambda units, **kw: layers.SimpleRNN(units, activation="relu", **kw),
    # IRNN (Le, Jaitly & Hinton 2015): relu, recurrent kernel = identity, bias 0, input weights N(0, 0.001^2)
    "irnn": lambda units, **kw: layers.SimpleRNN(units, activation="relu", recurrent_initializer="identity",
                                                 kernel_initializer=initializers.RandomNormal(stddev=0.001), **kw),
    "lstm": lambda units, **kw: layers.LSTM(units, **kw),
    "gru": lambda units, **kw: layers.GRU(units, **kw),
    # IndRNN (Li et al. 2018): relu, one recurrent weight per unit, |u| <= 2^(1/T) (see build_model)
    "indrnn": lambda units, **kw: layers.IndRNN(units, **kw),
}
OPTIMIZERS = {"adam": optim.Adam, "rmsprop": optim.RMSprop, "sgd": optim.SGD}
N_TEST = 2000  # held-out sequences for a run's final loss
EVALUATIONS = 25  # how many times a run measures its held-out loss (the learning curve's points)
TASKS = ("adding", "copy", "temporal-order")
GRADIENT_ITERATION = 100  # the second gradient-norm curve is drawn after this many iterations


class Task:
    """What a run needs to know about a task: how to draw it, the model's head and loss, the baseline.

    ``length`` is the sequence length (adding, temporal-order) or the copy task's delay.
    """

    def __init__(self, name, length):
        if name not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {name!r}")
        checks.check_int("length", length, 1)
        minimum = {"adding": 2, "copy": 1, "temporal-order": 20}[name]
        if length < minimum:
            raise ValueError(f"{name} needs --length >= {minimum}, got {length}")
        self.name, self.length = name, int(length)
        if name == "adding":
            self.features, self.classes, self.sequence_output = 2, None, False
            self.baseline = tasks.baseline("adding")
            self.title = f"adding problem, T = {length}"
        elif name == "copy":
            self.features, self.classes, self.sequence_output = 10, 9, True
            self.baseline = tasks.baseline("copy", delay=length)
            self.title = f"copy task, delay {length} (T = {length + 20})"
        else:
            self.features, self.classes, self.sequence_output = 8, 4, False
            self.baseline = tasks.baseline("temporal_order")
            self.title = f"temporal order, T = {length}"

    def draw(self, n, seed):
        """n sequences (x, y); ``seed`` an int, a list of ints or a numpy Generator."""
        if self.name == "adding":
            return tasks.adding_problem(n, self.length, seed=seed)
        if self.name == "copy":
            return tasks.copy_task(n, self.length, seed=seed)
        return tasks.temporal_order(n, self.length, seed=seed)

    def loss(self):
        return "mse" if self.classes is None else losses.SparseCategoricalCrossentropy(from_logits=True)

    def head(self):
        return layers.Dense(1 if self.classes is None else self.classes)

    @property
    def loss_name(self):
        return "MSE" if self.classes is None else "cross-entropy"


def build_model(task, cell="lstm", units=32, seed=0):
    """``cell`` (a key of CELLS) with ``units`` units and the task's head, seeded."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    length = task.length + 20 if task.name == "copy" else task.length
    options = {"recurrent_clip": 2 ** (1 / length)} if cell == "indrnn" else {}  # the paper's bound: u^T <= 2
    recurrent = CELLS[cell](units, input_shape=(length, task.features), return_sequences=task.sequence_output,
                            **options)
    return Sequential([recurrent, task.head()], seed=seed)


class _GradientSnapshot(callbacks.Callback):
    """Measure ||dC/dh_t|| on a fixed batch after the training step numbered ``at``."""

    def __init__(self, at, x, y):
        self.at, self.x, self.y, self.step, self.norms = at, x, y, 0, None

    def on_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == self.at:
            self.norms = _state_gradient_norms(self.model, self.x, self.y)


class _Progress(callbacks.Callback):
    """One line per evaluation: iteration, training loss, validation loss, the baseline, time so far."""

    def __init__(self, steps_per_epoch, total, baseline, echo):
        self.steps_per_epoch, self.total, self.baseline, self.echo = steps_per_epoch, total, baseline, echo
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.steps_per_epoch
        extra = f"  val accuracy {logs['val_accuracy']:.3f}" if "val_accuracy" in logs else ""
        self.echo(f"  iteration {step:>6}/{self.total}  loss {logs['loss']:.4g}  val loss {logs['val_loss']:.4g}"
                  f"{extra}  (baseline {self.baseline:.4g})  {time.perf_counter() - self.start:.1f} s")


def _state_gradient_norms(model, x, y):
    """(t, ||dC/dh_t||) of the recurrent layer, batch mean, t = 0 .. T-1."""
    states, _ = diagnostics.gradient_norms(model, x, y)
    h = states[states.state == "h"].sort_values("t")
    return h.t.to_numpy(), h.norm.to_numpy()


def run(task="adding", length=100, cell="lstm", units=32, steps=2000, batch_size=32, optimizer="adam", lr=1e-3,
        clipnorm=1.0, seed=0, out=None, n_test=N_TEST, evaluations=EVALUATIONS, echo=print, overwrite=False):
    """Train ``cell`` on ``task`` for ``steps`` iterations of fresh batches and report it.

    The held-out sequences (``n_test`` for the final loss, up to 500 of them for the curve) are
    drawn from other seeds than the training batches. Returns a dict with ``test_loss``,
    ``baseline``, ``test_accuracy`` (classification tasks), ``seconds`` (training wall time),
    ``history`` (``iteration``, ``loss``, ``val_loss`` lists), ``gradient_norms``
    ({iteration: (t, norms)}), ``diverged`` (None, or what stopped training: a run that diverges
    is reported with the weights from before that step, not raised) and ``figure`` (the PNG's
    path, with ``out``: ``task_<task>_<length>_<cell>_seed<seed>.png``, claimed before training, see
    :mod:`minirnn.outputs`).
    """
    spec = task if isinstance(task, Task) else Task(task, length)
    check_run_options(cell, units, steps, batch_size, optimizer, lr, clipnorm, n_test, evaluations)
    checks.check_seed(seed)
    figure = None
    if out is not None:
        figure = outputs.claim(out, [f"task_{spec.name}_{spec.length}_{cell}_seed{seed}.png"], overwrite)[0]
    model = build_model(spec, cell, units, seed)
    model.compile(OPTIMIZERS[optimizer](lr, clipnorm=clipnorm) if clipnorm else OPTIMIZERS[optimizer](lr),
                  spec.loss(), metrics=[] if spec.classes is None else ["accuracy"])
    x_test, y_test = spec.draw(n_test, [seed, 2])
    x_val, y_val = x_test[:500], y_test[:500]
    probe_x, probe_y = x_test[:128], y_test[:128]
    gradient_norms = {0: _state_gradient_norms(model, probe_x, probe_y)}
    snapshot = _GradientSnapshot(min(GRADIENT_ITERATION, steps), probe_x, probe_y)
    steps_per_epoch = -(-steps // evaluations)
    epochs = -(-steps // steps_per_epoch)
    train_rng = np.random.default_rng([seed, 1])
    echo(f"{spec.title}: {cell} with {units} units, {model.count_params()} parameters, "
         f"{epochs * steps_per_epoch} iterations of batch {batch_size}, {optimizer} lr {lr:g}"
         f"{f', clipnorm {clipnorm:g}' if clipnorm else ''}, seed {seed}")
    start, diverged = time.perf_counter(), None
    try:
        model.fit(lambda step: spec.draw(batch_size, train_rng), steps_per_epoch=steps_per_epoch, epochs=epochs,
                  validation_data=(x_val, y_val), verbose=0, seed=seed,
                  callbacks=[snapshot, _Progress(steps_per_epoch, epochs * steps_per_epoch, spec.baseline, echo)])
    except NonFiniteLossError as error:
        diverged = str(error).split(". The weights")[0]
        echo(f"  {diverged}")
    seconds = time.perf_counter() - start
    losses = model.history.history.get("loss", [])  # per evaluation, up to a divergence
    if snapshot.norms is not None:
        gradient_norms[snapshot.at] = snapshot.norms
    try:
        test = model.evaluate(x_test, y_test, batch_size=256, return_dict=True)
    except FloatingPointError:  # weights that make a layer overflow: the loss is as bad as it gets
        test = {"loss": float("inf")}
    result = {"task": spec.name, "length": spec.length, "cell": cell, "units": units,
              "iterations": epochs * steps_per_epoch, "batch_size": batch_size, "seed": seed,
              "test_loss": test["loss"], "baseline": spec.baseline, "test_accuracy": test.get("accuracy"),
              "seconds": seconds,
              "history": {"iteration": [steps_per_epoch * (k + 1) for k in range(len(losses))], "loss": losses,
                          "val_loss": model.history.history.get("val_loss", [])},
              "gradient_norms": gradient_norms, "diverged": diverged, "figure": None}
    accuracy = "" if result["test_accuracy"] is None else f", accuracy {result['test_accuracy']:.3f}"
    echo(f"test {spec.loss_name} {result['test_loss']:.4g} on {n_test} held-out sequences = "
         f"{result['test_loss'] / spec.baseline:.3g} x the no-memory baseline {spec.baseline:.4g}{accuracy}; "
         f"training took {seconds:.1f} s")
    if figure is not None:
        from . import plotting
        result["figure"] = plotting.plot_task_run(result, spec.title, spec.loss_name, figure)
        echo(f"figure: {result['figure']}")
    return result


def check_run_options(cell, units, steps, batch_size, optimizer, lr, clipnorm, n_test, evaluations):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    for name, value in (("units", units), ("steps", steps), ("batch_size", batch_size), ("n_test", n_test),
                        ("evaluations", evaluations)):
        checks.check_int(name, value, 1)
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if clipnorm is not None and not (isinstance(clipnorm, (int, float)) and np.isfinite(clipnorm) and clipnorm >= 0):
        raise ValueError(f"clipnorm must be a finite number >= 0 (0: no clipping), got {clipnorm!r}")


# ------------------------------------------------------------------ Arjovsky, Shah & Bengio (2016)

ARJOVSKY_STEPS = 3000  # iterations of batch 32 per run: the paper trains for up to 10^4 - 10^5
ARJOVSKY_GRID = (("adding", 100), ("adding", 200), ("adding", 400), ("copy", 100), ("copy", 200))
ARJOVSKY_CELLS = ("rnn", "irnn", "lstm", "gru")
# Adam's learning rate per cell. IRNN's identity recurrence with relu grows the state with every
# step; as in Le et al. (2015) and Arjovsky et al. it gets a smaller rate, or it diverges.
ARJOVSKY_LR = {"rnn": 5e-3, "irnn": 1e-4, "lstm": 5e-3, "gru": 5e-3}


def arjovsky(steps=ARJOVSKY_STEPS, seed=0, out=None, cells=ARJOVSKY_CELLS, grid=ARJOVSKY_GRID, units=32,
             learning_rates=None, echo=print, overwrite=False):
    """The comparison of Arjovsky, Shah & Bengio (2016), figures 2 and 4, at CPU scale.

    Every cell in ``cells`` (``units`` units, Adam with the cell's rate in ``learning_rates``,
    default ARJOVSKY_LR, clipnorm 1, batch 32, ``steps`` iterations of fresh sequences) on
    every (task, length) of ``grid``. Prints and returns a DataFrame with one row per run (test
    loss on 2000 held-out sequences, the baseline, their ratio, seconds, and what stopped a run
    that diverged: it stays in the table);
    with ``out``, writes it as ``arjovsky_seed<seed>.csv`` and draws ``arjovsky_seed<seed>.png``: the
    held-out loss against the iteration, one panel per task and length, one line per cell, the
    baseline dotted. Both are claimed before the first run (another seed's never replaced; the same
    seed's only with ``overwrite``), the table written atomically.
    """
    import pandas as pd

    if not grid or not cells:
        raise ValueError("arjovsky needs at least one cell and one (task, length)")
    rates = {**ARJOVSKY_LR, **(learning_rates or {})}
    for cell in cells:
        check_run_options(cell, units, steps, 32, "adam", rates.get(cell, 1e-3), 1.0, N_TEST, EVALUATIONS)
    specs = [Task(name, length) for name, length in grid]
    checks.check_seed(seed)
    files = outputs.claim(out, [f"arjovsky_seed{seed}.csv", f"arjovsky_seed{seed}.png"], overwrite) if out else None
    results = []
    for spec in specs:
        for cell in cells:
            results.append(run(spec, cell=cell, units=units, steps=steps, lr=rates.get(cell, 1e-3), seed=seed,
                               echo=echo))
            echo("")
    table = pd.DataFrame([{"seed": seed, "task": r["task"], "length": r["length"], "cell": r["cell"],
                           "test_loss": r["test_loss"],
                           "baseline": r["baseline"], "loss / baseline": r["test_loss"] / r["baseline"],
                           "test_accuracy": r["test_accuracy"], "seconds": r["seconds"],
                           "diverged": r["diverged"] or ""} for r in results])
    echo(f"Arjovsky et al. 2016 at CPU scale: {units} units, {steps} iterations of batch 32, Adam (learning rate "
         f"{', '.join(f'{cell} {rates.get(cell, 1e-3):g}' for cell in cells)}), clipnorm 1, seed {seed}")
    shown = table.assign(ratio=[f"{ratio:.3g}" if not diverged else "diverged"
                                for ratio, diverged in zip(table["loss / baseline"], table.diverged)])
    echo(shown.pivot_table(index="cell", columns=["task", "length"], values="ratio", aggfunc="first", sort=False)
         .to_string())
    echo("(held-out loss / no-memory baseline: below 1 means the cell learned to remember)")
    for row in table[table.diverged != ""].itertuples():
        echo(f"{row.cell} on {row.task} {row.length} diverged: {row.diverged}")
    echo(f"total training time {table.seconds.sum():.0f} s")
    if files is not None:
        from . import plotting
        outputs.write_atomically(files[0], lambda f: table.to_csv(f, index=False), text=True)
        figure = plotting.plot_arjovsky(results, [s.title for s in specs], files[1])
        echo(f"table: {files[0]}\nfigure: {figure}")
    return table
