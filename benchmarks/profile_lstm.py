"""Where an LSTM training step's time goes: the pieces of minirnn.cells.lstm timed one by one.

    python benchmarks/profile_lstm.py [--shape B T I H] [--dtype float32]     # default: W5, float32

Times (medians, milliseconds) the input projection, the forward loop and the per-step recurrent
GEMMs inside it, the backward loop and its GEMMs, and the weight-gradient GEMMs, so that
"gate math" = loop - its GEMMs. Same single-thread set-up as bench_step.py.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import reexec_single_threaded  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[64, 100, 64, 256], metavar=("B", "T", "I", "H"))
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    reexec_single_threaded(keep_openblas_env=False)
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import numba
    import numpy as np

    from minirnn.cells import _bptt, _gemm, _hoisted, _layout, lstm

    @numba.njit
    def recurrent_gemms(a, b_packed, out, steps):
        for _ in range(steps):
            _gemm.matmul(a, b_packed, out, False)

    B, T, I, H = args.shape
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    kernel = (rng.normal(size=(I, 4 * H)) / np.sqrt(I)).astype(dtype)
    recurrent_kernel = (rng.normal(size=(H, 4 * H)) / np.sqrt(H)).astype(dtype)
    bias = np.zeros(4 * H, dtype)
    dh_last = np.ones((B, H), dtype)
    weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}
    _, cache = lstm.forward(x, weights)
    h0, none, no_seq = np.zeros((B, H), dtype), np.zeros((0, H), dtype), np.zeros((0, B, H), dtype)
    all_valid = _bptt.valid_steps(None, B, T)  # no sequence mask
    x_tm = _layout.time_major(x)
    projection = _hoisted.input_projection(x_tm, kernel, bias)
    gates = projection.copy()

    dz = np.empty_like(cache.gates)
    h, c, tanh_c = np.empty_like(cache.h), np.empty_like(cache.c), np.empty_like(cache.tanh_c)

    def forward_loop():
        lstm.forward_sequence(gates, h0, h0, recurrent_kernel, none, none, all_valid, h, c, tanh_c)

    def backward_loop():
        lstm.backward_sequence(no_seq, dh_last, h0, cache.c, cache.tanh_c, cache.gates, recurrent_kernel, none, none,
                               all_valid, no_seq, no_seq, dz)

    backward_loop()
    packed, packed_T = _gemm.pack(recurrent_kernel, B), _gemm.pack_transposed(recurrent_kernel, B)
    pieces = {
        "forward (lstm.forward)": lambda: lstm.forward(x, weights),
        "  input projection": lambda: _hoisted.input_projection(x_tm, kernel, bias),
        "  forward loop": forward_loop,
        "    its GEMMs h W_h": lambda: recurrent_gemms(h0, packed, np.empty((B, 4 * H), dtype), T),
        "backward (lstm.backward)": lambda: lstm.backward(cache, dstates=[dh_last, None], input_grad=False),
        "  backward loop": backward_loop,
        "    its GEMMs dz W_h^T": lambda: recurrent_gemms(dz[0], packed_T, np.empty((B, H), dtype), T),
        "  dW_x, db": lambda: _hoisted.weight_and_input_grads(x_tm, dz, kernel, input_grad=False),
        "  dW_h": lambda: _layout.flat(cache.h[:-1]).T @ _layout.flat(dz),
        "  db, dX (a stacked layer)": lambda: _hoisted.input_grads(dz, kernel, input_grad=True),
    }
    times = {name: [] for name in pieces}
    for _ in range(args.reps):
        for name, piece in pieces.items():
            gates[...] = projection  # the forward loop overwrites its input with the gate activations
            start = time.perf_counter()
            piece()
            times[name].append(time.perf_counter() - start)
    print(f"LSTM B={B} T={T} I={I} H={H} {dtype}, one thread; milliseconds (median of {args.reps})")
    for name, values in times.items():
        print(f"{name:28} {1e3 * np.median(values):9.2f}")


if __name__ == "__main__":
    main()
