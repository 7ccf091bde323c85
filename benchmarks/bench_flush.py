"""The backward pass where gradients vanish into float32's subnormal range, with and without
``minirnn.set_flush_denormal``.

    python benchmarks/bench_flush.py [--steps 300] [--units 32] [--reps 20]

An LSTM layer of ``--units`` over ``--steps`` steps, batch 32, its forget gates nearly closed
(forget bias -2) and small recurrent weights, so that dL/dh_t falls by orders of magnitude a step
back from the loss at the last step: in float32 it passes 1.2e-38, float32's smallest normal
number, within the sequence, and every operation on the subnormal numbers below that is slow on
many CPUs. Printed: the layer's backward time in float64, in float32, and in float32 with
subnormals flushed to zero (alternating, one thread, medians), and how many of the recorded
dL/dh_t are subnormal.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_step  # noqa: E402  (the one-thread environment and the machine's description)


def layer(dtype, units, steps, rng):
    import numpy as np

    from minirnn import layers
    lstm = layers.LSTM(units, return_sequences=True, seed=0)
    lstm.build(8, dtype)
    lstm.params["recurrent_kernel"] *= 0.3
    lstm.params["bias"][units:2 * units] = -2.0
    x = rng.normal(size=(32, steps, 8)).astype(dtype)
    grad = np.zeros((32, steps, units), dtype)
    grad[:, -1] = 1.0  # the loss sees the last step only
    return lstm, x, grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    bench_step.reexec_single_threaded(keep_openblas_env=False)
    import numpy as np

    import minirnn as mr
    print("\n".join(bench_step.machine_description(1)))
    rng = np.random.default_rng(0)
    cases = {"float64": layer(np.float64, args.units, args.steps, rng), "float32": layer(np.float32, args.units,
                                                                                         args.steps, rng)}
    cases["float32, flushed"] = cases["float32"]
    times = {name: [] for name in cases}
    subnormal = {}
    for rep in range(args.reps + 2):
        for name, (lstm, x, grad) in cases.items():
            mr.set_flush_denormal(name.endswith("flushed"))
            lstm.record_state_grads = True
            lstm.forward(x)
            start = time.perf_counter()
            lstm.backward(grad, input_grad=False)
            if rep >= 2:
                times[name].append(time.perf_counter() - start)
            dh = lstm.state_grads["h"]
            tiny = np.finfo(dh.dtype).tiny
            subnormal[name] = float(np.mean((dh != 0) & (np.abs(dh) < tiny)))
    mr.set_flush_denormal(False)
    print(f"\nLSTM({args.units}), batch 32, {args.steps} steps, forget bias -2; backward, one thread:")
    for name, values in times.items():
        print(f"  {name:18} {statistics.median(values) * 1e3:8.2f} ms   recorded dL/dh_t subnormal: "
              f"{100 * subnormal[name]:5.1f}%")
    base = statistics.median(times["float64"])
    print(f"float32 / float64: {statistics.median(times['float32']) / base:.2f}; flushed float32 / float64: "
          f"{statistics.median(times['float32, flushed']) / base:.2f}")


if __name__ == "__main__":
    main()
