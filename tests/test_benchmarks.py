"""benchmarks/: the scripts behind benchmarks/README.md still run against today's package.

They call the cells' loops directly, below the public API, so a change of a loop's arguments
breaks them without breaking anything else (profile_lstm.py did, when the loops gained the
sequence mask). Each runs here at a toy size, in a child process as a user runs it; what they
measure is not checked, only that they measure every piece they name.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script, *arguments):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_profile_lstm_times_every_piece():
    out = run("profile_lstm.py", "--shape", "3", "4", "5", "6", "--reps", "1", "--dtype", "float64")
    pieces = re.findall(r"^ *(\S.*?\S) +(\d+\.\d+)$", out, re.M)
    names = [name for name, _ in pieces]
    assert names == ["forward (lstm.forward)", "input projection", "forward loop", "its GEMMs h W_h",
                     "backward (lstm.backward)", "backward loop", "its GEMMs dz W_h^T", "dW_x, db", "dW_h",
                     "db, dX (a stacked layer)"], out


def test_bench_step_options_mode_times_each_option():
    """minirnn against itself (no torch needed): one row per option with both sides' times."""
    out = run("bench_step.py", "--options", "masked,stateful", "--workloads", "W1", "--cells", "rnn",
              "--dtypes", "float64", "--reps", "1", "--seconds", "0")
    assert "Numba" in out and "GEMM peak float64" in out
    rows = [line for line in out.splitlines() if line.startswith("W1")]
    assert len(rows) == 2 and all(len(re.findall(r"\d+\.\d+", row)) >= 3 for row in rows), out


def test_bench_step_against_torch_one_thread():
    pytest.importorskip("torch")
    out = run("bench_step.py", "--workloads", "W1", "--cells", "gru", "--dtypes", "float32", "--threads", "one",
              "--reps", "1", "--seconds", "0", "--no-compile-times")
    row = next(line for line in out.splitlines() if line.startswith("W1"))
    minirnn_ms, torch_ms, ratio, at_peak = (float(v) for v in re.findall(r"\d+\.\d+", row)[:4])
    assert minirnn_ms > 0 and torch_ms > 0 and ratio == pytest.approx(torch_ms / minirnn_ms, rel=0.05), row
    assert at_peak > ratio, row  # a small step runs far below the big-matmul peak


def test_bench_train_times_both_libraries():
    pytest.importorskip("torch")
    out = run("bench_train.py", "--seconds", "0", "--threads", "one", "--dtypes", "float32", "--no-epoch")
    rows = [line for line in out.splitlines() if re.match(r"W[23] ", line)]
    assert len(rows) == 2 and all(len(re.findall(r"\d+\.\d+", row)) >= 3 for row in rows), out


def test_bench_adding_times_minirnn_and_its_time_loops_alone():
    """Without the reference (kept outside the repository): minirnn's run and the loops' floor."""
    out = run("bench_adding.py", "--seeds", "0", "--reference-seeds", "", "--iterations", "20")
    assert re.search(r"^minirnn   seed 0: +\d+\.\d+ s, test MSE \d\.\d+", out, re.M), out
    assert re.search(r"^the LSTM's two time loops alone: \d+\.\d+ s for 20 iterations \(\d+ us each\)", out, re.M), out


def test_bench_step_against_another_tree_times_both(tmp_path):
    """--against: this tree against another one (here the same sources, copied), one row per case."""
    import shutil
    shutil.copytree(BENCHMARKS.parent / "minirnn", tmp_path / "minirnn", ignore=shutil.ignore_patterns("__pycache__"))
    out = run("bench_step.py", "--against", str(tmp_path), "--workloads", "W1", "--cells", "rnn", "--dtypes", "float64",
              "--rounds", "1", "--reps", "1", "--seconds", "0", "--no-compile-times")
    row = next(line for line in out.splitlines() if line.startswith("W1"))
    assert len(re.findall(r"\d+\.\d+", row)) == 3 and "slowest case new/old" in out, out


def test_bench_flush_times_the_three_backward_passes():
    out = run("bench_flush.py", "--steps", "40", "--units", "4", "--reps", "1")
    assert all(name in out for name in ("float64", "float32 ", "float32, flushed", "flushed float32 / float64")), out
