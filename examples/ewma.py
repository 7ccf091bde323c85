"""The leaky unit the LSTM story starts from: an exponentially weighted moving average is a linear RNN.

    python examples/ewma.py [--out minirnn-output]

s_t = beta s_{t-1} + (1 - beta) x_t is h_t = x_t W_x + h_{t-1} W_h with one unit, W_h = beta,
W_x = 1 - beta, no bias and a linear activation: a SimpleRNN(1, activation="linear"). Its
gradient dh_t/dh_{t-k} = beta^k: how much the past counts is one fixed number per step. On a
noisy hat function, beta = 0.8 smooths more and lags more; beta = 0.5 follows closely and keeps
more noise. An LSTM's forget gate is this beta, computed from the data at every step.
"""
import argparse
from pathlib import Path

import numpy as np

from minirnn import layers


def noisy_hat(n=200, seed=0):
    """A triangle rising from 0 to 1 and back, plus Gaussian noise (std 0.1)."""
    t = np.linspace(0, 1, n)
    return 1 - np.abs(2 * t - 1) + np.random.default_rng(seed).normal(0, 0.1, n)


def ewma(x, beta):
    """s_t = beta s_{t-1} + (1 - beta) x_t, s_{-1} = 0, written out."""
    s, out = 0.0, np.empty(len(x))
    for t, value in enumerate(x):
        s = beta * s + (1 - beta) * value
        out[t] = s
    return out


def ewma_rnn(x, beta):
    """The same average computed by a one-unit linear SimpleRNN."""
    rnn = layers.SimpleRNN(1, activation="linear", return_sequences=True)
    rnn.build(1)
    rnn.params["kernel"][...] = 1 - beta
    rnn.params["recurrent_kernel"][...] = beta
    rnn.params["bias"][...] = 0
    return rnn.forward(np.asarray(x, dtype=float).reshape(1, -1, 1))[0, :, 0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="minirnn-output")
    args = parser.parse_args(argv)
    from minirnn.apps import plotting  # noqa: F401  (selects the file-only matplotlib backend)
    import matplotlib.pyplot as plt
    x = noisy_hat()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(x, color="lightgray", label="noisy hat function")
    for beta in (0.8, 0.5):
        s = ewma_rnn(x, beta)
        assert np.allclose(s, ewma(x, beta), rtol=1e-12, atol=1e-12)
        ax.plot(s, label=f"EWMA beta = {beta} (SimpleRNN(1), linear)")
        print(f"beta = {beta}: the RNN's output equals the EWMA; dh_t/dh_(t-10) = {beta ** 10:.3g}")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_xlabel("t")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "ewma.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"figure: {path}")


if __name__ == "__main__":
    main()
