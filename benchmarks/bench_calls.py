"""The fixed cost of a call: what minirnn spends on a step that has no arithmetic to speak of.

    python benchmarks/bench_calls.py [--reps 2000]

Three numbers, one thread, each the best of several runs (microseconds):

- a recurrent layer's forward plus backward on one step of one unit (SimpleRNN, LSTM, GRU);
- ``train_on_batch`` of a one-layer model, LSTM(1) + Dense(1), on a batch of one step;
- ``fit``'s cost per batch beyond that: an epoch of many such batches, over the batch count, minus
  ``train_on_batch``'s time.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_step  # noqa: E402  (the one-thread environment and the machine's description)


def best_microseconds(function, reps, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            function()
        best = min(best, (time.perf_counter() - start) / reps * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    args = parser.parse_args()
    bench_step.reexec_single_threaded(keep_openblas_env=False)
    import numpy as np

    import minirnn as mr
    print("\n".join(bench_step.machine_description(1)))
    x = np.ones((1, 1, 1))
    print("\nmicroseconds, one thread (best of 7 runs):")
    for name, Layer in (("SimpleRNN", mr.layers.SimpleRNN), ("LSTM", mr.layers.LSTM), ("GRU", mr.layers.GRU)):
        layer = Layer(1)
        grad = np.ones_like(layer.forward(x))

        def step():
            layer.forward(x, training=True)
            layer.backward(grad)

        print(f"  {name + '(1)':10} forward + backward, one step: {best_microseconds(step, args.reps):8.1f}")
    model = mr.Sequential([mr.layers.LSTM(1, input_shape=(1, 1)), mr.layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    y = np.zeros((1, 1))
    batch = best_microseconds(lambda: model.train_on_batch(x, y), args.reps)
    print(f"  train_on_batch, LSTM(1) + Dense(1), one step:      {batch:8.1f}")
    n = args.reps
    xs, ys = np.ones((n, 1, 1)), np.zeros((n, 1))
    epoch = best_microseconds(lambda: model.fit(xs, ys, batch_size=1, epochs=1, verbose=0, shuffle=False), 1, 3)
    print(f"  fit, per batch of one ({n} batches an epoch):        {epoch / n:8.1f}  "
          f"(beyond train_on_batch: {epoch / n - batch:.1f})")


if __name__ == "__main__":
    main()
