"""The adding-problem speed record: minirnn's fit against a hand-written NumPy LSTM, same set-up.

    python benchmarks/bench_adding.py [--seeds 0-4] [--reference-seeds 0] [--iterations 8000]
                                      [--reference PATH]

The reference is the fastest published hand-written-BPTT NumPy reproduction we know, kept
outside this repository (``../shared/anchors/adding_problem.py``, public domain). Both train
an LSTM of 8 units with a linear read-out on the adding problem at T = 100 (values U[-1, 1],
one marker in each half, target the sum of the two marked values: ``tasks.adding_problem(...,
variant="signed")``, where predicting 0 scores MSE 2/3): batch 32 of fresh sequences per
iteration, Adam(5e-3) halved every 1500 iterations, gradient norm clipped at 1, forget-gate
bias 1, 8000 iterations, float64. minirnn runs it as a user would: ``fit`` on a batch function,
``callbacks.LearningRateScheduler`` for the halving, then ``evaluate`` on 2000 fresh sequences.
The reference runs as it ships (its own test evaluation every 100 iterations included).

One thread, one core, both in this process, alternating: minirnn's seeds first, then the
reference's. Prints each run and the ratio of median wall times, and the time of the LSTM's two
time loops alone (``lstm.forward_sequence`` and ``backward_sequence`` on one batch, times the
iterations): the reference's time over that is what the ratio could reach if everything else a
training step does (data, input projection, weight gradients, Dense, loss, Adam, Python) cost
nothing.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import machine_description, reexec_single_threaded  # noqa: E402

from minirnn.apps import sweep_command  # noqa: E402

DEFAULT_REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "anchors",
                                 "adding_problem.py")
LENGTH, UNITS, BATCH, LR, HALVE_EVERY = 100, 8, 32, 5e-3, 1500


def minirnn_run(seed, iterations):
    """Train as the module docstring says; return (seconds, test MSE on 2000 fresh sequences)."""
    import numpy as np

    import minirnn as mr
    from minirnn import tasks

    model = mr.Sequential([mr.layers.LSTM(UNITS, input_shape=(LENGTH, 2)), mr.layers.Dense(1)], seed=seed)
    model.compile(mr.optim.Adam(LR, clipnorm=1.0), "mse")
    steps_per_epoch = HALVE_EVERY // 3  # three epochs per halving
    schedule = mr.callbacks.LearningRateScheduler(lambda epoch: LR * 0.5 ** (epoch // 3))
    rng = np.random.default_rng([seed, 1])
    start = time.perf_counter()
    model.fit(lambda step: tasks.adding_problem(BATCH, LENGTH, variant="signed", seed=rng),
              steps_per_epoch=steps_per_epoch, epochs=-(-iterations // steps_per_epoch), verbose=0,
              callbacks=[schedule])
    seconds = time.perf_counter() - start
    x_test, y_test = tasks.adding_problem(2000, LENGTH, variant="signed", seed=[seed, 2])
    return seconds, model.evaluate(x_test, y_test, batch_size=500)


def loops_alone(iterations, repeats=300):
    """Seconds the two time loops of one batch take, times ``iterations`` (median of ``repeats``)."""
    import numpy as np

    from minirnn import tasks
    from minirnn.cells import _layout, lstm

    rng = np.random.default_rng(0)
    x, _ = tasks.adding_problem(BATCH, LENGTH, variant="signed", seed=rng)
    kernel, recurrent_kernel = rng.normal(size=(2, 4 * UNITS)) * 0.3, rng.normal(size=(UNITS, 4 * UNITS)) * 0.3
    _, cache = lstm.forward(x, {"kernel": kernel, "recurrent_kernel": recurrent_kernel,
                                "bias": rng.normal(size=4 * UNITS) * 0.1})
    h0, dh_last = np.zeros((BATCH, UNITS)), rng.normal(size=(BATCH, UNITS))
    none_bh = _layout.absent((BATCH, UNITS), np.float64)
    dz = np.empty_like(cache.gates)
    times = []
    for _ in range(repeats):
        # forward_sequence turns the projection in cache.gates into gate values in place; run again on
        # those it does the same arithmetic (the loops have no data-dependent branches)
        start = time.perf_counter()
        lstm.forward_sequence(cache.gates, h0, h0, recurrent_kernel, cache.peepholes, cache.mask, cache.valid,
                              cache.h, cache.c, cache.tanh_c)
        lstm.backward_sequence(none_bh, dh_last, h0, cache.c, cache.tanh_c, cache.gates, recurrent_kernel,
                               cache.peepholes, cache.mask, cache.valid, none_bh, none_bh, dz)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * iterations


def reference_run(module, seed, iterations):
    start = time.perf_counter()
    _, history, _ = module.train("lstm", T=LENGTH, hidden=UNITS, seed=seed, n_iters=iterations, batch_size=BATCH,
                                 lr=LR, eval_every=100, lr_decay_every=HALVE_EVERY, verbose=False)
    return time.perf_counter() - start, history.test_mse[-1]


def load_reference(path):
    spec = importlib.util.spec_from_file_location("adding_problem_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-4", help="minirnn seeds (default 0-4)")
    parser.add_argument("--reference-seeds", default="0", help="reference seeds (default 0; each takes ~1 min)")
    parser.add_argument("--iterations", type=int, default=8000)
    parser.add_argument("--reference", default=DEFAULT_REFERENCE, help="path of adding_problem.py")
    parser.add_argument("--keep-openblas-env", action="store_true")
    args = parser.parse_args()
    try:
        seeds = sweep_command.seeds(args.seeds)
        reference_seeds = sweep_command.seeds(args.reference_seeds) if args.reference_seeds else []
    except ValueError as error:
        parser.error(str(error))
    if not seeds or args.iterations < 1:
        parser.error("need at least one minirnn seed and one iteration")
    if reference_seeds and not os.path.isfile(args.reference):
        sys.exit(f"bench_adding: reference script not found: {args.reference} (give --reference PATH)")
    reexec_single_threaded(args.keep_openblas_env)
    module = load_reference(os.path.abspath(args.reference)) if reference_seeds else None
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print("\n".join(machine_description(1)))
    print(f"adding problem T = {LENGTH}, LSTM({UNITS}), batch {BATCH}, {args.iterations} iterations, float64, "
          "one thread\n")
    minirnn_run(seeds[0], 20)  # compile and warm up outside the timings
    ours = []
    for seed in seeds:
        seconds, mse = minirnn_run(seed, args.iterations)
        ours.append(seconds)
        print(f"minirnn   seed {seed}: {seconds:6.2f} s, test MSE {mse:.5f} (2000 sequences; <= 0.002: "
              f"{'yes' if mse <= 0.002 else 'NO'})", flush=True)
    theirs = []
    for seed in reference_seeds:
        seconds, mse = reference_run(module, seed, args.iterations)
        theirs.append(seconds)
        print(f"reference seed {seed}: {seconds:6.2f} s, test MSE {mse:.5f} (its own 512 sequences)", flush=True)
    loops = loops_alone(args.iterations)
    print(f"\nthe LSTM's two time loops alone: {loops:.2f} s for {args.iterations} iterations "
          f"({1e6 * loops / args.iterations:.0f} us each)")
    if theirs:
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"reference / minirnn, median wall time: {ratio:.1f}x")
        print(f"reference / the time loops alone: {statistics.median(theirs) / loops:.1f}x (the ratio's ceiling)")


if __name__ == "__main__":
    main()
