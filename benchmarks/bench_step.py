"""Time one training step of minirnn against PyTorch on the CPU, in the same process.

    python benchmarks/bench_step.py [--reps 20] [--workloads W1,W5] [--cells lstm] [--dtypes float64]

A step is: the recurrent layer (W2: four stacked layers, torch's num_layers=4)
forward over the whole sequence, Dense(1) on the last step, mean squared error,
backward through all of it (no optimizer update; no gradient for the input
data, as in torch). Both libraries get identical shapes; minirnn and torch
alternate, rep by rep, so that machine noise hits both alike; we report medians.

The script pins itself to one core and re-executes itself with every thread
variable set to 1 before anything is imported, and with glibc's
MALLOC_MMAP_THRESHOLD_ fixed (torch's step times otherwise jump around by 2x as
large buffers go to and from mmap). It also removes OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which some machines set to force an old OpenBLAS kernel and
which slow NumPy's GEMMs (pass --keep-openblas-env to keep them).

Columns: milliseconds per step for each, the ratio torch/minirnn (> 1: minirnn
faster), and the fraction of this machine's single-thread GEMM peak minirnn
reached, counting forward as 2*B*T*(I+H)*G*H flops (G gates; I = H for stacked
layers after the first) and backward as twice that; the peak is a large NumPy
matmul measured in the same run (minirnn's own kernel for the per-step products
can beat it: above 100% is possible).
"""
import argparse
import os
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

WORKLOADS = {  # name: (batch, time, input, hidden, layers)
    "W1": (32, 10, 1, 50, 1),
    "W2": (32, 60, 1, 50, 4),  # four stacked layers, the first three returning sequences
    "W5": (64, 100, 64, 256, 1),
    "W6": (128, 50, 128, 512, 1),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def reexec_single_threaded(keep_openblas_env):
    if os.environ.get("MINIRNN_BENCH_CHILD") == "1":
        return
    env = dict(os.environ, MINIRNN_BENCH_CHILD="1", MALLOC_MMAP_THRESHOLD_="1073741824",
               MALLOC_TRIM_THRESHOLD_="1073741824")
    env.update({var: "1" for var in THREAD_VARS})
    if not keep_openblas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="at least this many timed steps each")
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="and enough steps to fill this many seconds per library and case")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--no-compile-times", action="store_true", help="skip the cold/warm start measurements")
    return parser.parse_args()


def main():
    args = parse_args()
    reexec_single_threaded(args.keep_openblas_env)
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import subprocess
    import time

    import numpy as np
    import torch

    from minirnn import layers
    from minirnn.cells import _gemm

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    def gemm_peak(dtype, n=2048, reps=5):
        a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
        a @ a
        best = min(timed(lambda: a @ a) for _ in range(reps))
        return 2 * n**3 / best

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def minirnn_step(cell, B, T, I, H, L, dtype):
        rng = np.random.default_rng(0)
        Layer = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
        stack = [Layer(H, return_sequences=k < L - 1, seed=k) for k in range(L)]
        dense = layers.Dense(1, seed=L)
        x = rng.normal(size=(B, T, I)).astype(dtype)
        y = rng.normal(size=(B, 1)).astype(dtype)

        def step():
            out = x
            for layer in stack:
                out = layer.forward(out, training=True)
            grad = dense.backward(2 * (dense.forward(out) - y) / y.size)
            for k in range(L - 1, -1, -1):
                grad = stack[k].backward(grad, input_grad=k > 0)  # x is data: no gradient, as in torch
        return step

    def torch_step(cell, B, T, I, H, L, dtype):
        torch.manual_seed(0)
        tdtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
        rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H, num_layers=L,
                                                                                   batch_first=True)
        dense = torch.nn.Linear(H, 1)
        rnn.to(tdtype)
        dense.to(tdtype)
        x = torch.randn(B, T, I, dtype=tdtype)
        y = torch.randn(B, 1, dtype=tdtype)
        params = list(rnn.parameters()) + list(dense.parameters())

        def step():
            for p in params:
                p.grad = None
            out, _ = rnn(x)
            loss = torch.nn.functional.mse_loss(dense(out[:, -1]), y)
            loss.backward()
        return step

    print(f"numpy {np.__version__}, torch {torch.__version__}, one thread, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print("minirnn's products above 1e6 multiply-adds: "
          + ("its packed AVX-512 kernel" if _gemm.USE_PANELS else "np.dot (Numba does not compile for AVX-512 here)"))
    peaks = {}
    for dtype in args.dtypes.split(","):
        peaks[dtype] = gemm_peak(dtype)
        print(f"GEMM peak {dtype}: {peaks[dtype] / 1e9:.1f} GFLOP/s (numpy 2048x2048 matmul)")
    print()
    print(f"{'workload':9} {'cell':5} {'dtype':8} {'minirnn ms':>11} {'torch ms':>9} {'torch/minirnn':>14} "
          f"{'% GEMM peak':>12}")
    for name in args.workloads.split(","):
        B, T, I, H, L = WORKLOADS[name]
        for cell in args.cells.split(","):
            for dtype in args.dtypes.split(","):
                ours, theirs = minirnn_step(cell, B, T, I, H, L, dtype), torch_step(cell, B, T, I, H, L, dtype)
                ours(), theirs(), ours(), theirs()  # compile, warm caches and allocators
                reps = max(args.reps, int(args.seconds / max(timed(ours), timed(theirs))))
                t_ours, t_theirs = [], []
                for _ in range(reps):
                    t_ours.append(timed(ours))
                    t_theirs.append(timed(theirs))
                mo, mt = np.median(t_ours), np.median(t_theirs)
                flops = 3 * 2 * B * T * ((I + H) + (L - 1) * 2 * H) * GATES[cell] * H
                print(f"{name:9} {cell:5} {dtype:8} {mo * 1e3:11.2f} {mt * 1e3:9.2f} {mt / mo:14.2f} "
                      f"{100 * flops / mo / peaks[dtype]:11.0f}%", flush=True)

    if not args.no_compile_times:
        print()
        code = ("import time; t = time.perf_counter(); import numpy as np; from minirnn import layers; "
                "x = np.ones((2, 3, 1)); [l.backward(np.ones((2, 4))) for l in (layers.SimpleRNN(4), layers.LSTM(4),"
                " layers.GRU(4), layers.GRU(4, reset_after=False)) if l.forward(x) is not None]; "
                "print(time.perf_counter() - t)")
        cold = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, MINIRNN_NUMBA_CACHE="0"),
                              capture_output=True, text=True, check=True).stdout.strip()
        subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)  # fill the cache
        warm = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        print(f"import + first forward/backward of every cell (float64): cold, no cache {float(cold):.2f} s; "
              f"warm cache {float(warm):.2f} s")


if __name__ == "__main__":
    main()
