"""A seed sweep on all cores against the same runs one after another in one process.

    python benchmarks/bench_sweep.py [--seeds 8] [--steps 1500] [--workers N]

Eight seeds of a short task (an LSTM(32) on the adding problem at T = 100, 1500 iterations of
batch 32: about 5 s each on one core). Each side runs in a fresh Python process and is timed from
its start to its end, imports and compilation (or loading Numba's cache) included:

- one after another: ``minirnn.apps.experiments.task`` for each seed in one process, one thread;
- sweep: ``minirnn.sweep.run("task", ...)`` on a LocalCluster of one single-threaded worker per
  core (``--workers``), whose start-up (cluster, workers, their warm-up) is timed on its own.

Prints both times, their ratio, and how much of the sweep's time is start-up.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import child_environment, machine_description  # noqa: E402


def grid(seeds, steps):
    return {"task": ["adding"], "length": [100], "cell": ["lstm"], "units": [32], "steps": [steps],
            "lr": [5e-3], "seed": list(range(seeds))}


def sequential(seeds, steps):
    import threadpoolctl

    import minirnn
    from minirnn import sweep
    from minirnn.apps import experiments
    minirnn.set_num_threads(1)
    with threadpoolctl.threadpool_limits(1):
        return [experiments.task(**point)["test_loss"] for point in sweep.grid_points(grid(seeds, steps))]


def on_cluster(seeds, steps, workers):
    from distributed import Client

    from minirnn import sweep
    start = time.perf_counter()
    cluster = sweep.local_cluster(workers)
    client = Client(cluster)
    client.register_plugin(sweep.WarmUp(), name="minirnn-warm-up")
    startup = time.perf_counter() - start
    try:
        df = sweep.run("task", grid(seeds, steps), scheduler=client, progress=False)
    finally:
        client.close()
        cluster.close()
    return list(df.test_loss), startup


def child(args):
    if args.child == "sequential":
        losses, startup = sequential(args.seeds, args.steps), 0.0
    else:
        losses, startup = on_cluster(args.seeds, args.steps, args.workers)
    print(json.dumps({"losses": losses, "startup": startup}))


def timed_child(kind, args, workers):
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--seeds", str(args.seeds),
               "--steps", str(args.steps), "--workers", str(workers)]
    env = child_environment("all", keep_openblas_env=False)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_sweep: the {kind} run failed:\n{done.stderr}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--child", choices=["sequential", "sweep"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    print("\n".join(machine_description(len(os.sched_getaffinity(0)))))
    print(f"{args.seeds} seeds of LSTM(32) on the adding problem, T = 100, {args.steps} iterations each\n")
    one, ours = timed_child("sequential", args, 1)
    many, theirs = timed_child("sweep", args, args.workers)
    same = ours["losses"] == theirs["losses"]
    print(f"one after another, one process, one thread: {one:6.1f} s")
    print(f"sweep on {args.workers} worker processes:        {many:6.1f} s, of which {theirs['startup']:.1f} s "
          f"starting the cluster and warming its workers")
    print(f"sweep / one after another: {many / one:.2f} (ideal {1 / args.workers:.2f} plus the start-up); "
          f"the same test losses on both sides: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
