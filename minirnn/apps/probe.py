"""Gradient-flow experiments: how dL/dh_t shrinks or grows with the distance from the loss.

The task is "remember the first input": a sequence of T random values whose target is its
first value, so all the signal the loss needs sits T - 1 steps back. At initialisation and
after training, :func:`gradient_flow` measures the batch-mean ||dL/dh_t|| at every step
(:func:`minirnn.diagnostics.gradient_norms`) and fits the decay rate per step.
"""
import numpy as np

from .. import callbacks, diagnostics, layers, optim, outputs, tasks
from . import longrange, plotting
from ..model import Sequential

first_input_task = tasks.first_input  # its old name here: x (n, length, 1), y = x[:, 0, 0] to remember


def decay_rate(distances, norms):
    """Per-step factor r of a fit norms ~ C r^distance (r < 1: vanishing, r > 1: exploding)."""
    keep = norms > 0
    slope = np.polyfit(distances[keep], np.log(norms[keep]), 1)[0]
    return float(np.exp(slope))


def gradient_flow(cell="rnn", length=50, units=32, epochs=0, recurrent_scale=1.0, clipnorm=None, seed=0, n=512):
    """Build ``cell`` + Dense(1), optionally train it on the first-input task, and measure
    ||dL/dh_t|| (and ||dL/dc_t||) per step. ``recurrent_scale`` multiplies the (orthogonal)
    recurrent kernel: above 1 the tanh RNN's gradients can explode. Returns (model, states
    DataFrame, decay rate of ||dL/dh_t||)."""
    model = Sequential([longrange.CELLS[cell](units, input_shape=(length, 1)), layers.Dense(1)], seed=seed)
    model.layers[0].params["recurrent_kernel"] *= recurrent_scale
    model.compile(optim.Adam(0.003, clipnorm=clipnorm) if clipnorm else optim.Adam(0.003), "mse")
    x, y = first_input_task(n, length, seed)
    if epochs:
        model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, seed=seed)
    states, _ = diagnostics.gradient_norms(model, x[:64], y[:64])
    h = states[states.state == "h"]
    return model, states, decay_rate(h.distance.to_numpy(), h.norm.to_numpy())


def probe(cells=("rnn", "rnn-relu", "lstm", "gru"), length=50, units=32, epochs=0, seed=0, out=None, echo=print,
          overwrite=False):
    """Print the per-step decay rate of ||dL/dh_t|| for each cell; plot the curves into
    ``<out>/gradient_flow_seed<seed>.png`` if ``out`` (claimed first: see :mod:`minirnn.outputs`)."""
    figure = outputs.claim(out, [f"gradient_flow_seed{seed}.png"], overwrite)[0] if out is not None else None
    echo(f"first-input task, T = {length}, {units} units, {'after %d epochs' % epochs if epochs else 'at init'}")
    echo(f"{'cell':<10}{'decay per step':>16}{'||dL/dh_0|| / ||dL/dh_T-1||':>30}{'recurrent spectral radius':>28}")
    curves = {}
    for cell in cells:
        model, states, rate = gradient_flow(cell, length, units, epochs, seed=seed)
        for state, part in states.groupby("state"):
            part = part.sort_values("distance")
            curves[cell if state == "h" else f"{cell}, dL/dc_t"] = (part.distance.to_numpy(), part.norm.to_numpy())
        norms = curves[cell][1]
        radius = max(g["spectral_radius"] for g in diagnostics.recurrent_spectrum(model.layers[0]).values())
        echo(f"{cell:<10}{rate:>16.3f}{norms[-1] / norms[0]:>30.2e}{radius:>28.3f}")
    if figure is not None:
        path = plotting.plot_gradient_flow(curves, figure,
                                           f"gradient flow, T = {length}, {'trained' if epochs else 'at init'}")
        echo(f"figure: {path}")
    return curves


def exploding(length=50, units=32, epochs=3, seed=0, out=None, echo=print, overwrite=False):
    """A tanh RNN with its recurrent kernel scaled by 3: train with and without clipnorm=1 and
    report the largest gradient norm seen (GradientNormTracker) and the final loss."""
    figure = outputs.claim(out, [f"exploding_seed{seed}.png"], overwrite)[0] if out is not None else None
    x, y = first_input_task(512, length, seed)
    histories = {}
    for clip in (None, 1.0):
        model = Sequential([layers.SimpleRNN(units, input_shape=(length, 1)), layers.Dense(1)], seed=seed)
        model.layers[0].params["recurrent_kernel"] *= 3.0
        model.compile(optim.SGD(0.05, clipnorm=clip), "mse")
        tracker = callbacks.GradientNormTracker()
        history = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, seed=seed, callbacks=[tracker])
        label = f"clipnorm={clip}"
        histories[label] = tracker.norms["simplernn"]
        echo(f"{label:<15} largest gradient norm {max(tracker.norms['simplernn']):10.3g}, "
             f"final loss {history.history['loss'][-1]:.4f}")
    if figure is not None:
        echo("figure: " + str(plotting.plot_gradient_history(histories, figure, "tanh RNN, recurrent kernel x 3")))
    return histories


def decay_vs_radius(radii=(0.5, 0.7, 0.9, 1.0, 1.1, 1.3), activations=("tanh", "relu"), length=40, units=32,
                    seed=0, out=None, echo=print, overwrite=False):
    """The per-step decay rate of ||dL/dh_t|| of an untrained SimpleRNN whose recurrent kernel is an
    orthogonal matrix times ``radius`` (so its spectral radius and all singular values equal
    ``radius``). For a linear RNN the rate would be ``radius`` itself; tanh and relu multiply it
    by their average slope (below 1), so the gradient can vanish even at radius 1."""
    figure = outputs.claim(out, [f"decay_vs_radius_seed{seed}.png"], overwrite)[0] if out is not None else None
    x, y = first_input_task(64, length, seed)
    table = {}
    echo(f"{'radius':>8}" + "".join(f"{a:>10}" for a in activations))
    for radius in radii:
        rates = []
        for activation in activations:
            model = Sequential([layers.SimpleRNN(units, activation=activation, input_shape=(length, 1)),
                                layers.Dense(1)], seed=seed)
            model.layers[0].params["recurrent_kernel"] *= radius
            model.compile("sgd", "mse")
            states, _ = diagnostics.gradient_norms(model, x, y)
            rates.append(decay_rate(states.distance.to_numpy(), states.norm.to_numpy()))
        table[radius] = rates
        echo(f"{radius:>8.2f}" + "".join(f"{r:>10.3f}" for r in rates))
    if figure is not None:
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4.5))
        ax.plot(radii, radii, color="gray", ls=":", label="linear RNN: rate = radius")
        for k, activation in enumerate(activations):
            ax.plot(radii, [table[r][k] for r in radii], marker="o", label=activation)
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_xlabel("spectral radius of the recurrent kernel")
        ax.set_ylabel("decay of ||dL/dh_t|| per step")
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        echo(f"figure: {outputs.save_figure(fig, figure, dpi=100)}")
    return table
