"""Matplotlib figures for the examples: predictions against the real prices, learning curves."""
import textwrap

import matplotlib

matplotlib.use("Agg")  # files only: the examples run on machines without a screen
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..outputs import save_figure  # noqa: E402


def _wrapped(title):
    return "\n".join(textwrap.wrap(title, 70))


def _save(fig, ax, path, title, legend=True):
    ax.set_title(_wrapped(title))
    ax.grid(alpha=0.3, which="both")
    if legend:
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_predictions(dates, actual, predictions, path, title=""):
    """One panel per model: the actual test prices and that model's predictions. Returns ``path``."""
    fig, axes = plt.subplots(len(predictions), 1, figsize=(10, 3 * len(predictions)), sharex=True, squeeze=False)
    for ax, (name, predicted) in zip(axes[:, 0], predictions.items()):
        ax.plot(dates, actual, color="black", lw=1.2, label="actual")
        ax.plot(dates, predicted, color="tab:red", lw=1.0, label=f"{name} prediction")
        ax.set_ylabel("price")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    axes[0, 0].set_title(_wrapped(title))
    fig.autofmt_xdate()
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_learning_curves(histories, path, title="", units="scaled prices"):
    """loss (and val_loss, dashed) per epoch for every model, on a log scale; ``units``: what the
    models were trained on. Returns ``path``."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, (name, history) in enumerate(histories.items()):
        style = {"color": f"C{k}", "marker": "o" if len(history["loss"]) <= 20 else None}  # one epoch is a dot
        ax.plot(range(1, len(history["loss"]) + 1), history["loss"], label=f"{name} loss", **style)
        if "val_loss" in history:
            ax.plot(range(1, len(history["val_loss"]) + 1), history["val_loss"], ls="--",
                    label=f"{name} val_loss", **style)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"mean squared error ({units})")
    return _save(fig, ax, path, title)


def plot_gradient_flow(curves, path, title=""):
    """log ||dL/dh_t|| against the distance from the loss, one line per labelled curve.

    ``curves``: {label: (distances, norms)}. Returns ``path``."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, (distance, norms) in curves.items():
        ax.semilogy(distance, norms, label=label)
    ax.set_xlabel("steps back from the loss (t = T - 1 - distance)")
    ax.set_ylabel("batch mean of ||dL/dh_t||")
    return _save(fig, ax, path, title)


def plot_gradient_history(norms, path, title=""):
    """Per-layer gradient norm at every training step (from ``GradientNormTracker.norms``)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in norms.items():
        ax.semilogy(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel("gradient norm")
    return _save(fig, ax, path, title)


def plot_task_run(result, title, loss_name, path):
    """Two panels for one long-range task run (:func:`minirnn.apps.longrange.run`): the learning curve
    with the no-memory baseline, and ||dC/dh_t|| against t at each iteration measured."""
    fig, (curve, flow) = plt.subplots(1, 2, figsize=(12, 4.5))
    history = result["history"]
    curve.plot(history["iteration"], history["loss"], marker="o", ms=3, label="training batches")
    curve.plot(history["iteration"], history["val_loss"], marker="o", ms=3, ls="--", label="held-out sequences")
    curve.axhline(result["baseline"], color="black", ls=":", label=f"no-memory baseline {result['baseline']:.3g}")
    curve.set_yscale("log")
    curve.set_xlabel("iteration")
    curve.set_ylabel(loss_name)
    curve.set_title("learning curve")
    curve.grid(alpha=0.3, which="both")
    curve.legend()
    for iteration, (t, norms) in sorted(result["gradient_norms"].items()):
        flow.semilogy(t, norms, label=f"iteration {iteration}")
    flow.set_xlabel("time step t")
    flow.set_ylabel("batch mean of ||dC/dh_t||")
    flow.set_title("gradient reaching each step")
    flow.grid(alpha=0.3, which="both")
    flow.legend()
    fig.suptitle(_wrapped(f"{title}: {result['cell']}, {result['units']} units, seed {result['seed']}"))
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_arjovsky(results, titles, path):
    """Held-out loss against the iteration, one panel per (task, length) in the order of ``titles``,
    one line per cell, the no-memory baseline dotted (:func:`minirnn.apps.longrange.arjovsky`)."""
    keys = list(dict.fromkeys((r["task"], r["length"]) for r in results))
    columns = min(3, len(keys))
    rows = -(-len(keys) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for ax, key, title in zip(axes.flat, keys, titles):
        runs = [r for r in results if (r["task"], r["length"]) == key]
        for k, r in enumerate(runs):
            ax.plot(r["history"]["iteration"], r["history"]["val_loss"], color=f"C{k}", label=r["cell"])
        ax.axhline(runs[0]["baseline"], color="black", ls=":", label="no memory")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.set_ylabel("MSE" if key[0] == "adding" else "cross-entropy")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def plot_sweep(df, groups, metric, path, title="", reference=None):
    """The spread of ``metric`` over a sweep's runs: a box per group of ``groups`` with every run as a
    dot on it; ``reference`` (e.g. 1 for a ratio to a baseline) as a dotted line. Returns ``path``."""
    parts = list(df.groupby(groups, sort=False))
    labels = [", ".join(map(str, key)) if isinstance(key, tuple) else str(key) for key, _ in parts]
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(parts) + 2), 4.5))
    values = [part[metric].to_numpy(dtype=float) for _, part in parts]
    ax.boxplot(values, widths=0.5, showfliers=False)
    jitter = np.random.default_rng(0)
    for k, v in enumerate(values, start=1):
        ax.plot(k + jitter.uniform(-0.12, 0.12, len(v)), v, "o", ms=4, alpha=0.7, color=f"C{k - 1}")
    ax.set_xticks(range(1, len(parts) + 1), labels, rotation=20 if len(parts) > 4 else 0)
    if reference is not None:
        ax.axhline(reference, color="black", ls=":", lw=1)
    ax.set_ylabel(metric)
    return _save(fig, ax, path, title, legend=False)
