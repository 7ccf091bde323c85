"""Train a small LSTM to predict the next value of a noisy sine wave, and watch the loss fall.

    python examples/demo.py [--epochs 20] [--seed 0]

Uses only the low-level layer protocol (forward / backward / params / grads)
and a few lines of Adam, so every step of training is visible here. The
Keras-style ``Sequential.fit`` comes on top of exactly this.
"""
import argparse
import time

import numpy as np

from minirnn import layers


def sine_windows(n_points=600, look_back=20, seed=0):
    """Sliding windows over a noisy sine: X (n, look_back, 1), y (n, 1) = the next value."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_points)
    series = np.sin(2 * np.pi * t / 50) + 0.1 * rng.normal(size=n_points)
    X = np.stack([series[i:i + look_back] for i in range(n_points - look_back)])[:, :, None]
    y = series[look_back:, None]
    return X, y


class Adam:
    """Kingma & Ba (2015) with Keras' defaults, enough for this demo."""

    def __init__(self, learning_rate=0.01, beta1=0.9, beta2=0.999, eps=1e-7):
        self.lr, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params_and_grads):
        self.t += 1
        for key, (p, g) in params_and_grads.items():
            m = self.m.setdefault(key, np.zeros_like(p))
            v = self.v.setdefault(key, np.zeros_like(p))
            m[...] = self.beta1 * m + (1 - self.beta1) * g
            v[...] = self.beta2 * v + (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)

    X, y = sine_windows(seed=args.seed)
    n_train = int(0.8 * len(X))
    lstm, dense = layers.LSTM(16, seed=args.seed), layers.Dense(1, seed=args.seed + 1)
    optimizer = Adam()
    rng = np.random.default_rng(args.seed)
    print(f"LSTM(16) + Dense(1) on {n_train} windows of a noisy sine wave (look_back 20)")
    start = time.perf_counter()
    lstm.backward(dense.backward(dense.forward(lstm.forward(X[:2]))), input_grad=False)
    print(f"Numba kernels ready in {time.perf_counter() - start:.1f} s "
          "(compiled on the first run after an install, then read from the cache)")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(n_train)
        losses = []
        for i in range(0, n_train, args.batch_size):
            batch = order[i:i + args.batch_size]
            pred = dense.forward(lstm.forward(X[batch], training=True))
            error = pred - y[batch]
            losses.append(float(np.mean(error ** 2)))
            lstm.backward(dense.backward(2 * error / error.size), input_grad=False)  # d(mse)/d(pred); x is data
            optimizer.step({(name, k): (layer.params[k], layer.grads[k])
                            for name, layer in (("lstm", lstm), ("dense", dense)) for k in layer.params})
        test_loss = float(np.mean((dense.forward(lstm.forward(X[n_train:])) - y[n_train:]) ** 2))
        print(f"epoch {epoch:3d}  train mse {np.mean(losses):.5f}  test mse {test_loss:.5f}")
    print(f"trained in {time.perf_counter() - start:.2f} s; the noise alone (std 0.1) costs mse 0.01")


if __name__ == "__main__":
    main()
