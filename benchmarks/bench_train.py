"""Time full training steps of Keras-style models (optimizer update included) against PyTorch.

    python benchmarks/bench_train.py [--seconds 2] [--dtypes float64,float32] [--threads one,all] [--no-epoch]

W2: batch 32, T 60, 4 stacked LSTM(50) each followed by Dropout(0.2), Dense(1), RMSprop (the IBM
    tutorial's first model); W3: batch 150, T 60, 4 stacked GRU(50), Dense(1), SGD(0.01,
    momentum 0.9) (its second). Torch gets the same layers as separate modules, the same
    dropout and an optimizer with the same update rule. Steps alternate between the two
    libraries; medians are reported. Then one epoch of the IBM set-up (2709 windows of 60
    steps, batch 32, W2's model) is timed for both, as `fit` runs it (shuffling included).
Each library trains as it does for a user: neither is asked for the gradient w.r.t. the data;
minirnn skips it, torch's float32 LSTM (oneDNN) computes it anyway (bench_step.py has both
compute it, for equal work).
Each case runs in its own child process, on one thread and with each library's defaults on all
cores, as in bench_step.py (whose header and environment this shares).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import check_choices, run_child, time_steps, timed  # noqa: E402

WORKLOADS = {"W2": ("lstm", 32, 60, 50, 0.2, "rmsprop"), "W3": ("gru", 150, 60, 50, 0.0, "sgd")}


def minirnn_model(cell, H, dropout, optimizer, dtype):
    import minirnn as mr

    Layer = {"lstm": mr.layers.LSTM, "gru": mr.layers.GRU}[cell]
    stack = []
    for k in range(4):
        stack.append(Layer(H, return_sequences=k < 3))
        if dropout:
            stack.append(mr.layers.Dropout(dropout))
    model = mr.Sequential([*stack, mr.layers.Dense(1)], seed=0, dtype=dtype)
    opt = mr.optim.RMSprop() if optimizer == "rmsprop" else mr.optim.SGD(0.01, momentum=0.9)
    model.compile(opt, "mse")
    return model


def torch_model(cell, H, dropout, optimizer, dtype):
    import torch

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            Cell = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
            self.rnns = torch.nn.ModuleList([Cell(1 if k == 0 else H, H, batch_first=True) for k in range(4)])
            self.dropout = torch.nn.Dropout(dropout)
            self.dense = torch.nn.Linear(H, 1)

        def forward(self, x):
            for rnn in self.rnns:
                x = self.dropout(rnn(x)[0])
            return self.dense(x[:, -1])

    model = TorchModel().to({"float32": torch.float32, "float64": torch.float64}[dtype])
    if optimizer == "rmsprop":  # Keras' RMSprop: rho 0.9, epsilon 1e-7
        opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, opt


def torch_step(model, opt, x, y):
    import torch

    opt.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()
    opt.step()


def time_model_steps(name, dtype, seconds):
    import numpy as np
    import torch

    cell, B, T, H, dropout, optimizer = WORKLOADS[name]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, 1)).astype(dtype)
    y = rng.normal(size=(B, 1)).astype(dtype)
    ours = minirnn_model(cell, H, dropout, optimizer, dtype)
    ours.build((T, 1))
    tm, topt = torch_model(cell, H, dropout, optimizer, dtype)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    return time_steps(lambda: ours.train_on_batch(x, y),  # one optimizer step, as fit takes them
                      lambda: torch_step(tm, topt, xt, yt), 10, seconds)


def time_epoch(dtype):
    """One epoch of the IBM set-up for each library (after a warm-up)."""
    import numpy as np
    import torch

    n, T = 2709, 60
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, T, 1)).astype(dtype)
    y = rng.normal(size=(n, 1)).astype(dtype)
    ours = minirnn_model("lstm", 50, 0.2, "rmsprop", dtype)
    ours.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)  # compile/warm up
    mine = timed(lambda: ours.fit(x, y, epochs=1, batch_size=32, verbose=0))
    tm, topt = torch_model("lstm", 50, 0.2, "rmsprop", dtype)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_epoch():
        order = torch.randperm(n)
        for i in range(0, n, 32):
            index = order[i:i + 32]
            torch_step(tm, topt, xt[index], yt[index])
    torch_epoch()
    return mine, timed(torch_epoch)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per library and case")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--threads", default="one,all", help="'one', 'all' or both")
    parser.add_argument("--no-epoch", action="store_true", help="skip the IBM epoch")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--tune-malloc-all", action="store_true",
                        help="tune glibc's malloc for the all-cores children too, as for one thread")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # workload,dtype or epoch,dtype: time it here
    args = parser.parse_args()
    check_choices(parser, "--threads", args.threads, ("one", "all"))
    check_choices(parser, "--dtypes", args.dtypes, ("float32", "float64"))

    if args.child:
        name, dtype = args.child.split(",")
        if name == "epoch":
            mine, theirs = time_epoch(dtype)
            print(json.dumps({"minirnn": mine, "torch": theirs}))
        else:
            print(json.dumps(time_model_steps(name, dtype, args.seconds)))
        return

    script = os.path.abspath(__file__)
    bench_step = os.path.join(os.path.dirname(script), "bench_step.py")
    cores = len(os.sched_getaffinity(0))
    machine = run_child(bench_step, ["--dtypes", args.dtypes, "--child", "machine", "--cores", str(cores)],
                        "one", args.keep_openblas_env)
    print("\n".join(machine["lines"]))
    settings = args.threads.split(",")
    header = f"{'workload':9} {'dtype':8}"
    for threads in settings:
        label = "one thread" if threads == "one" else f"{cores} cores"
        header += f" | {label + ': minirnn':>19} {'torch':>9} {'torch/minirnn':>14}"
        if threads == "all":
            header += f" {'minirnn 1 thread':>17}"
    cases = [(name, dtype) for name in WORKLOADS for dtype in args.dtypes.split(",")]
    if not args.no_epoch:
        cases += [("epoch", dtype) for dtype in args.dtypes.split(",")]
    print(header + "     (ms per step; s per IBM epoch: 2709 windows, batch 32, W2's model)")
    for name, dtype in cases:
        row = f"{name:9} {dtype:8}"
        for threads in settings:
            t = run_child(script, ["--seconds", str(args.seconds), "--child", f"{name},{dtype}"], threads,
                          args.keep_openblas_env, args.tune_malloc_all or None)
            scale, unit = (1, "s") if name == "epoch" else (1e3, "ms")
            row += f" | {t['minirnn'] * scale:16.2f} {unit:2} {t['torch'] * scale:9.2f} {t['torch'] / t['minirnn']:14.2f}"
            if threads == "all":
                one = t.get("minirnn_one_thread")
                row += f" {one * scale:17.2f}" if one else f" {'-':>17}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
