"""Time one training step of minirnn against PyTorch on the CPU, on one thread and on all cores.

    python benchmarks/bench_step.py [--reps 20] [--workloads W1,W5] [--cells lstm] [--dtypes float64]
                                    [--threads one,all]
    python benchmarks/bench_step.py --options masked,stateful --workloads W5 --cells lstm

A step is: the recurrent layer (W2: four stacked layers, torch's num_layers=4)
forward over the whole sequence, Dense(1) on the last step, mean squared error,
backward through all of it, including the gradient w.r.t. the input (no
optimizer update). Both libraries do the same work: torch's float32 LSTM (oneDNN)
computes the input gradient whether it is asked for or not, so here both always
do (bench_train.py times training as each library does it, where minirnn skips
it for the data). Both get identical shapes; minirnn and torch alternate, rep by
rep (in turn first), so that machine noise hits both alike; we report medians.

Each case runs in a fresh child process per thread setting:

one  pinned to one core, every thread variable set to 1 before anything is
     imported (torch, OpenBLAS and minirnn.threads all on one thread).
all  each library with its defaults on all the cores this process may use:
     torch's intra-op threads, minirnn's batch split (minirnn.threads) and
     OpenBLAS's threads outside the recurrent layers. A third column times
     minirnn held to one thread in the same process, in turn with the others:
     its defaults should never be slower than that.

The one-thread child fixes glibc's MALLOC_MMAP_THRESHOLD_ (torch's step times
otherwise jump around by 2x as large buffers go to and from mmap); the
all-cores child leaves malloc as a user has it (--tune-malloc-all tunes it
there too: with it, glibc's per-thread arenas slow minirnn's second thread and
speed up torch's float32 LSTM). Both drop OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which some machines set to force an old OpenBLAS kernel and
which slow NumPy's GEMMs (--keep-openblas-env keeps them).

Columns: milliseconds per step for each, the ratio torch/minirnn (> 1: minirnn
faster), and, on one thread, the fraction of this machine's single-thread GEMM
peak minirnn reached, counting forward as 2*B*T*(I+H)*G*H flops (G gates; I = H
for stacked layers after the first) and backward as twice that (the weight
gradients, dh_{t-1} and dx: the work done); the peak is a 2048x2048 NumPy matmul (minirnn's own kernel for the per-step products can beat it:
above 100% is possible). The last column, "at peak", is the ratio minirnn would reach if its whole
step ran at that peak with nothing else (torch's time over the flops' time at the peak): a target
near or above it cannot be met on this machine by trimming, only by beating the big-matmul peak.

``--against TREE`` times this checkout's minirnn against the one in TREE (``git worktree add
TREE <commit>``), on one thread, the two in alternating child processes: a change's cost, case
by case (new/old), and the cold and warm start of each.

``--options`` times minirnn against itself instead, on one thread: the same step with a layer
option on and off, alternating in one process (torch is not run). ``masked``: a sequence mask on
every layer, each sequence padded after a length drawn from [T/2, T] (what a Masking layer hands
on); ``stateful``: stateful=True, each step starting from the last one's final states. The ratio
option/plain is the option's cost; the plain step is the one the main table times.

The header says which CPU this is and what Numba compiles for. To measure
another class of CPU's code on this one, set NUMBA_CPU_NAME / NUMBA_CPU_FEATURES
(e.g. ``NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES="$(python benchmarks/bench_step.py
--avx2-features)"`` for AVX2 only).
"""
import argparse
import json
import os
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "MINIRNN_NUM_THREADS")

WORKLOADS = {  # name: (batch, time, input, hidden, layers)
    "W1": (32, 10, 1, 50, 1),
    "W2": (32, 60, 1, 50, 4),  # four stacked layers, the first three returning sequences
    "W5": (64, 100, 64, 256, 1),
    "W6": (128, 50, 128, 512, 1),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def child_environment(threads, keep_openblas_env, tune_malloc=None):
    """The environment of a timing child: 'one' thread or 'all' cores with each library's defaults.

    glibc's malloc is tuned (big blocks kept instead of returned to the system)
    for 'one', where it steadies the times, and left as a user has it for 'all'
    unless ``tune_malloc``.
    """
    env = dict(os.environ)
    if tune_malloc or (tune_malloc is None and threads == "one"):
        env.update(MALLOC_MMAP_THRESHOLD_="1073741824", MALLOC_TRIM_THRESHOLD_="1073741824")
    for var in THREAD_VARS:
        env.pop(var, None)
    if threads == "one":
        env.update({var: "1" for var in THREAD_VARS})
    if not keep_openblas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    return env


def reexec_single_threaded(keep_openblas_env):
    """Re-execute this script in the 'one' thread environment (for scripts that time in one process)."""
    if os.environ.get("MINIRNN_BENCH_CHILD") == "1":
        return
    env = dict(child_environment("one", keep_openblas_env), MINIRNN_BENCH_CHILD="1")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def run_child(script, arguments, threads, keep_openblas_env, tune_malloc=None, pythonpath=None):
    """Run ``script`` with ``arguments`` in a child process (importing minirnn from ``pythonpath``
    if given); return the JSON it prints last."""
    command = [sys.executable, script, *arguments]
    if threads == "one":
        first_core = sorted(os.sched_getaffinity(0))[0]
        command = ["taskset", "-c", str(first_core)] + command
    env = child_environment(threads, keep_openblas_env, tune_malloc)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"benchmark child failed ({' '.join(command)}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine_description(cores):
    """Lines naming the CPU, what Numba compiles for, and the library versions."""
    import llvmlite.binding
    import numba
    import numpy as np

    from minirnn import _jit
    from minirnn.cells import _gemm

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    target = numba.config.CPU_NAME or llvmlite.binding.get_host_cpu_name()
    features = _jit.target_features()
    simd = [f[1:] for f in features if f in ("+avx2", "+fma", "+avx512f", "+prefer-256-bit")]
    width = "512-bit vectors" if _jit.WIDE_VECTORS else "LLVM's own choice of vector width"
    features_set = "NUMBA_CPU_FEATURES" if numba.config.CPU_FEATURES is not None else "the host's features"
    return [f"CPU: {model}, {cores} cores available",
            f"Numba {numba.__version__} compiles for target '{target}' with {features_set} "
            f"({', '.join(simd) or 'no AVX2/AVX-512'}): minirnn's kernels at {width}; products above "
            f"{_gemm.SMALL_PRODUCT:.0e} multiply-adds in the time loop "
            + ("by its packed kernel" if _gemm.USE_PANELS else "by np.dot"),
            f"numpy {np.__version__}, {torch_description()}, "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"]


def torch_description():
    """torch's version and CPU capability; the --options mode and bench_adding.py run without it."""
    try:
        import torch
    except ImportError:
        return "torch not installed"
    return f"torch {torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()})"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="at least this many timed steps each")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="and enough steps to fill this many seconds per library and case")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", default="one,all", help="'one', 'all' or both")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--tune-malloc-all", action="store_true",
                        help="tune glibc's malloc for the all-cores children too, as for one thread")
    parser.add_argument("--no-compile-times", action="store_true", help="skip the cold/warm start measurements")
    parser.add_argument("--options", help=f"time minirnn with these options against without: {', '.join(OPTIONS)}")
    parser.add_argument("--against", metavar="TREE",
                        help="time this tree's minirnn against the one in TREE (a checkout of another commit), "
                             "one thread, in alternating processes")
    parser.add_argument("--rounds", type=int, default=3, help="--against: alternations per case (default 3)")
    parser.add_argument("--avx2-features", action="store_true",
                        help="print this host's features with everything past AVX2 switched off, and exit")
    parser.add_argument("--cores", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # workload,cell,dtype: time that case here
    args = parser.parse_args()
    check_choices(parser, "--workloads", args.workloads, WORKLOADS)
    check_choices(parser, "--cells", args.cells, GATES)
    check_choices(parser, "--dtypes", args.dtypes, ("float32", "float64"))
    check_choices(parser, "--threads", args.threads, ("one", "all"))
    if args.options:
        check_choices(parser, "--options", args.options, OPTIONS)
    return args


def check_choices(parser, option, value, choices):
    """Exit with a usage error unless every comma-separated item of ``value`` is one of ``choices``."""
    for item in value.split(","):
        if item not in choices:
            parser.error(f"{option}: unknown value {item!r}; choose from {', '.join(choices)}")


def avx2_features():
    """The host's LLVM features with AVX-512 (and everything newer) off: an AVX2-only CPU's code."""
    import llvmlite.binding

    newer = ("avx512", "avx10", "amx", "evex512", "avxvnni", "avxifma", "avxneconvert")
    features = llvmlite.binding.get_host_cpu_features().flatten().split(",")
    return ",".join("-" + f[1:] if f[1:].startswith(newer) else f for f in features)


def timed(fn):
    import time
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


OPTIONS = ("masked", "stateful")


def minirnn_step(cell, B, T, I, H, L, dtype, option=None):
    """A step of minirnn; ``option`` one of OPTIONS, or None for the plain layers."""
    import numpy as np

    from minirnn import layers

    rng = np.random.default_rng(0)
    Layer = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    stack = [Layer(H, return_sequences=k < L - 1, seed=k, stateful=option == "stateful") for k in range(L)]
    dense = layers.Dense(1, seed=L)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    y = rng.normal(size=(B, 1)).astype(dtype)
    lengths = rng.integers(T // 2, T + 1, size=B)
    mask = np.arange(T)[None, :] < lengths[:, None] if option == "masked" else None

    def step():
        out = x
        for layer in stack:
            out = layer.forward(out, training=True, mask=mask)
        grad = dense.backward(2 * (dense.forward(out) - y) / y.size)
        for k in range(L - 1, -1, -1):
            grad = stack[k].backward(grad)  # down to the input: torch's float32 LSTM computes it always
    return step


def torch_step(cell, B, T, I, H, L, dtype):
    import torch

    torch.manual_seed(0)
    tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H, num_layers=L,
                                                                               batch_first=True)
    dense = torch.nn.Linear(H, 1)
    rnn.to(tdtype)
    dense.to(tdtype)
    x = torch.randn(B, T, I, dtype=tdtype, requires_grad=True)  # the input gradient too, as minirnn's step
    y = torch.randn(B, 1, dtype=tdtype)
    params = list(rnn.parameters()) + list(dense.parameters()) + [x]

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(x)
        loss = torch.nn.functional.mse_loss(dense(out[:, -1]), y)
        loss.backward()
    return step


def alternate(functions, reps, seconds):
    """Median seconds of each of ``functions``, run in turn, rep by rep, after a warm-up. The order
    reverses every rep (A B, B A, ...): what one leaves behind (caches, freed memory) then
    falls on each of the others alike."""
    import numpy as np

    for _ in range(2):
        for fn in functions:  # compile, warm caches and allocators
            fn()
    reps = max(reps, int(seconds / max(timed(fn) for fn in functions)))
    times = [[] for _ in functions]
    order = list(range(len(functions)))
    for _ in range(reps):
        for k in order:
            times[k].append(timed(functions[k]))
        order.reverse()
    return [float(np.median(t)) for t in times]


def on_one_thread(step):
    """``step`` with minirnn and BLAS held to one thread, in a process that has more."""
    import threadpoolctl

    from minirnn import threads

    blas = threadpoolctl.ThreadpoolController()

    def run():
        threads.set_num_threads(1)
        try:
            with blas.limit(limits=1, user_api="blas"):
                step()
        finally:
            threads.set_num_threads(None)
    return run


def time_steps(ours, theirs, reps, seconds):
    """{'minirnn', 'torch'} median seconds; where minirnn has more than one thread, also
    'minirnn_one_thread': the same step held to one thread, in the same process."""
    from minirnn import threads

    if threads.get_num_threads() == 1:
        mine, torch_time = alternate([ours, theirs], reps, seconds)
        return {"minirnn": mine, "torch": torch_time}
    mine, torch_time, mine_one = alternate([ours, theirs, on_one_thread(ours)], reps, seconds)
    return {"minirnn": mine, "torch": torch_time, "minirnn_one_thread": mine_one}


def time_case(args):
    """Child: time one workload,cell,dtype with the threads this process was given; print JSON.
    With a fourth field, an option: minirnn with it against minirnn without, one thread."""
    name, cell, dtype, *option = args.child.split(",")
    B, T, I, H, L = WORKLOADS[name]
    if option == ["alone"]:  # --against: minirnn's step only, from whichever tree this child imports
        [alone] = alternate([minirnn_step(cell, B, T, I, H, L, dtype)], args.reps, args.seconds)
        print(json.dumps({"minirnn": alone}))
        return
    if option:
        with_option, plain = alternate([minirnn_step(cell, B, T, I, H, L, dtype, option[0]),
                                        minirnn_step(cell, B, T, I, H, L, dtype)], args.reps, args.seconds)
        print(json.dumps({"option": with_option, "plain": plain}))
        return
    print(json.dumps(time_steps(minirnn_step(cell, B, T, I, H, L, dtype), torch_step(cell, B, T, I, H, L, dtype),
                                args.reps, args.seconds)))


def time_options(args, script):
    """The table of --options: minirnn with each option against minirnn without, one thread."""
    print(f"{'workload':9} {'cell':5} {'dtype':8} {'option':9} | {'plain ms':>9} {'with option ms':>15} "
          f"{'option/plain':>13}")
    common = ["--reps", str(args.reps), "--seconds", str(args.seconds)]
    for name in args.workloads.split(","):
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                for option in args.options.split(","):
                    t = run_child(script, common + ["--child", f"{name},{cell},{dtype},{option}"], "one",
                                  args.keep_openblas_env)
                    print(f"{name:9} {cell:5} {dtype:8} {option:9} | {t['plain'] * 1e3:9.2f} "
                          f"{t['option'] * 1e3:15.2f} {t['option'] / t['plain']:13.2f}", flush=True)


def time_against(args, script):
    """The table of --against: this tree's minirnn step against another tree's, one thread, the two in
    alternating child processes (``--rounds`` each, the order reversed every round: A B, B A, ...)."""
    import statistics

    trees = {"old": os.path.abspath(args.against), "new": os.path.dirname(os.path.dirname(script))}
    print(f"old: {trees['old']}\nnew: {trees['new']}\n")
    print(f"{'workload':9} {'cell':5} {'dtype':8} | {'old ms':>8} {'new ms':>8} {'new/old':>8}")
    common = ["--reps", str(args.reps), "--seconds", str(args.seconds)]
    worst = 0.0
    for name in args.workloads.split(","):
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                times, order = {"old": [], "new": []}, ["old", "new"]
                for _ in range(args.rounds):
                    for tree in order:
                        t = run_child(script, common + ["--child", f"{name},{cell},{dtype},alone"], "one",
                                      args.keep_openblas_env, pythonpath=trees[tree])
                        times[tree].append(t["minirnn"])
                    order.reverse()
                old, new = (statistics.median(times[tree]) for tree in ("old", "new"))
                worst = max(worst, new / old)
                print(f"{name:9} {cell:5} {dtype:8} | {old * 1e3:8.2f} {new * 1e3:8.2f} {new / old:8.3f}", flush=True)
    print(f"\nslowest case new/old: {worst:.3f}")
    if not args.no_compile_times:
        for tree, path in trees.items():
            cold, warm = compile_times(pythonpath=path)
            print(f"{tree}: import + first forward/backward of every cell, cold {cold:.2f} s, warm {warm:.2f} s")


def gemm_peak(dtype, n=2048, reps=5):
    import numpy as np
    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    a @ a
    best = min(timed(lambda: a @ a) for _ in range(reps))
    return 2 * n**3 / best


def time_machine(args):
    """Child: describe the machine and measure the one-thread GEMM peak per dtype; print JSON."""
    print(json.dumps({"lines": machine_description(args.cores),
                      "peaks": {dtype: gemm_peak(dtype) for dtype in args.dtypes.split(",")}}))


def compile_times(pythonpath=None):
    code = ("import time; t = time.perf_counter(); import numpy as np; from minirnn import layers; "
            "x = np.ones((2, 3, 1)); [l.backward(np.ones((2, 4))) for l in (layers.SimpleRNN(4), layers.LSTM(4),"
            " layers.GRU(4), layers.GRU(4, reset_after=False)) if l.forward(x) is not None]; "
            "print(time.perf_counter() - t)")
    env = child_environment("one", keep_openblas_env=False)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    run = lambda extra: subprocess.run([sys.executable, "-c", code], env=dict(env, **extra),  # noqa: E731
                                       capture_output=True, text=True, check=True).stdout.strip()
    cold = run({"MINIRNN_NUMBA_CACHE": "0"})
    run({})  # fill the cache
    warm = run({})
    return float(cold), float(warm)


def main():
    args = parse_args()
    if args.avx2_features:
        print(avx2_features())
        return
    if args.child == "machine":
        return time_machine(args)
    if args.child:
        return time_case(args)

    script = os.path.abspath(__file__)
    common = ["--reps", str(args.reps), "--seconds", str(args.seconds), "--dtypes", args.dtypes]
    cores = len(os.sched_getaffinity(0))
    machine = run_child(script, common + ["--child", "machine", "--cores", str(cores)], "one",
                        args.keep_openblas_env)
    print("\n".join(machine["lines"]))
    peaks = machine["peaks"]
    for dtype, peak in peaks.items():
        print(f"GEMM peak {dtype}, one thread: {peak / 1e9:.1f} GFLOP/s (numpy 2048x2048 matmul)")
    if args.options:
        print()
        return time_options(args, script)
    if args.against:
        return time_against(args, script)
    settings = args.threads.split(",")
    print()
    header = f"{'workload':9} {'cell':5} {'dtype':8}"
    if "one" in settings:
        header += (f" | {'one thread: minirnn ms':>22} {'torch ms':>9} {'torch/minirnn':>14} {'% GEMM peak':>12}"
                   f" {'at peak':>8}")
    if "all" in settings:
        header += (f" | {f'{cores} cores: minirnn ms':>20} {'torch ms':>9} {'torch/minirnn':>14}"
                   f" {'minirnn 1 thread ms':>20}")
    print(header)
    for name in args.workloads.split(","):
        B, T, I, H, L = WORKLOADS[name]
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                row = f"{name:9} {cell:5} {dtype:8}"
                for threads in settings:
                    t = run_child(script, common + ["--child", f"{name},{cell},{dtype}"], threads,
                                  args.keep_openblas_env, args.tune_malloc_all or None)
                    mo, mt = t["minirnn"], t["torch"]
                    if threads == "one":
                        flops = 3 * 2 * B * T * ((I + H) + (L - 1) * 2 * H) * GATES[cell] * H
                        row += (f" | {mo * 1e3:22.2f} {mt * 1e3:9.2f} {mt / mo:14.2f}"
                                f" {100 * flops / mo / peaks[dtype]:11.0f}% {mt * peaks[dtype] / flops:8.2f}")
                    else:
                        one = t.get("minirnn_one_thread")
                        row += (f" | {mo * 1e3:20.2f} {mt * 1e3:9.2f} {mt / mo:14.2f}"
                                + (f" {one * 1e3:20.2f}" if one else f" {'-':>20}"))
                print(row, flush=True)

    if not args.no_compile_times:
        cold, warm = compile_times()
        print(f"\nimport + first forward/backward of every cell (float64): cold, no cache {cold:.2f} s; "
              f"warm cache {warm:.2f} s")


if __name__ == "__main__":
    main()
