"""Time full training steps of Keras-style models (optimizer update included) against PyTorch.

    python benchmarks/bench_train.py [--seconds 2] [--dtypes float64,float32] [--no-epoch]

W2: batch 32, T 60, 4 stacked LSTM(50) each followed by Dropout(0.2), Dense(1), RMSprop (the IBM
    tutorial's first model); W3: batch 150, T 60, 4 stacked GRU(50), Dense(1), SGD(0.01,
    momentum 0.9) (its second). Torch gets the same layers as separate modules, the same
    dropout and an optimizer with the same update rule. Steps alternate between the two
    libraries; medians are reported. Then one epoch of the IBM set-up (2709 windows of 60
    steps, batch 32, W2's model) is timed for both, as `fit` runs it (shuffling included).
Same single-thread environment as bench_step.py.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_step import reexec_single_threaded  # noqa: E402

WORKLOADS = {"W2": ("lstm", 32, 60, 50, 0.2, "rmsprop"), "W3": ("gru", 150, 60, 50, 0.0, "sgd")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per library and case")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--no-epoch", action="store_true", help="skip the IBM epoch")
    parser.add_argument("--keep-openblas-env", action="store_true")
    args = parser.parse_args()
    reexec_single_threaded(args.keep_openblas_env)
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    import time

    import numpy as np
    import torch

    import minirnn as mr

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    def timed(fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    def minirnn_model(cell, H, dropout, optimizer, dtype):
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

    class TorchModel(torch.nn.Module):
        def __init__(self, cell, H, dropout):
            super().__init__()
            Cell = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
            self.rnns = torch.nn.ModuleList([Cell(1 if k == 0 else H, H, batch_first=True) for k in range(4)])
            self.dropout = torch.nn.Dropout(dropout)
            self.dense = torch.nn.Linear(H, 1)

        def forward(self, x):
            for rnn in self.rnns:
                x = self.dropout(rnn(x)[0])
            return self.dense(x[:, -1])

    def torch_model(cell, H, dropout, optimizer, dtype):
        model = TorchModel(cell, H, dropout).to({"float32": torch.float32, "float64": torch.float64}[dtype])
        if optimizer == "rmsprop":  # Keras' RMSprop: rho 0.9, epsilon 1e-7
            opt = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return model, opt

    def torch_step(model, opt, x, y):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    print(f"numpy {np.__version__}, torch {torch.__version__}, one thread")
    print(f"{'workload':9} {'dtype':8} {'minirnn ms':>11} {'torch ms':>9} {'torch/minirnn':>14}")
    rng = np.random.default_rng(0)
    for name, (cell, B, T, H, dropout, optimizer) in WORKLOADS.items():
        for dtype in args.dtypes.split(","):
            x = rng.normal(size=(B, T, 1)).astype(dtype)
            y = rng.normal(size=(B, 1)).astype(dtype)
            ours = minirnn_model(cell, H, dropout, optimizer, dtype)
            ours.build((T, 1))
            tm, topt = torch_model(cell, H, dropout, optimizer, dtype)
            xt, yt = torch.from_numpy(x), torch.from_numpy(y)
            mine = lambda: ours._train_step(x, y, 0, 0)  # noqa: E731  (fit's own step, optimizer included)
            theirs = lambda: torch_step(tm, topt, xt, yt)  # noqa: E731
            for _ in range(3):
                mine(), theirs()
            reps = max(10, int(args.seconds / max(timed(mine), timed(theirs))))
            t_mine, t_theirs = [], []
            for _ in range(reps):
                t_mine.append(timed(mine))
                t_theirs.append(timed(theirs))
            a, b = np.median(t_mine), np.median(t_theirs)
            print(f"{name:9} {dtype:8} {a * 1e3:11.2f} {b * 1e3:9.2f} {b / a:14.2f}", flush=True)

    if args.no_epoch:
        return
    print("\nIBM set-up, one epoch: 2709 windows of 60 steps, batch 32, 4 x (LSTM(50) + Dropout(0.2)) + Dense(1)")
    n, T = 2709, 60
    for dtype in args.dtypes.split(","):
        x = rng.normal(size=(n, T, 1)).astype(dtype)
        y = rng.normal(size=(n, 1)).astype(dtype)
        ours = minirnn_model("lstm", 50, 0.2, "rmsprop", dtype)
        ours.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)  # compile/warm up
        t_mine = timed(lambda: ours.fit(x, y, epochs=1, batch_size=32, verbose=0))
        tm, topt = torch_model("lstm", 50, 0.2, "rmsprop", dtype)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def torch_epoch():
            order = torch.randperm(n)
            for i in range(0, n, 32):
                index = order[i:i + 32]
                torch_step(tm, topt, xt[index], yt[index])
        torch_epoch()
        t_theirs = timed(torch_epoch)
        print(f"  {dtype}: minirnn {t_mine:.2f} s, torch {t_theirs:.2f} s (torch/minirnn {t_theirs / t_mine:.2f})")


if __name__ == "__main__":
    main()
