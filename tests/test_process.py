"""minirnn/_process.py: what minirnn changes about its process (here: glibc keeps the buffers mapped)."""
import os
import platform
import subprocess
import sys

import pytest

# Twenty training steps of a stacked-LSTM-sized layer (B32 T60 I50 H50, float64: gate buffers of
# 3 MB), then the page faults of the next twenty.
STEPS = """
import resource
import numpy as np
from minirnn.cells import lstm
rng = np.random.default_rng(0)
x = rng.standard_normal((32, 60, 50))
kernel, recurrent_kernel = rng.standard_normal((50, 200)) * 0.2, rng.standard_normal((50, 200)) * 0.2
bias, dh = np.zeros(200), np.ones((32, 50))
weights = {"kernel": kernel, "recurrent_kernel": recurrent_kernel, "bias": bias}
def step():
    _, cache = lstm.forward(x, weights)
    lstm.backward(cache, dstates=[dh, None])
for _ in range(20):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the malloc behaviour in question is glibc's")
def test_a_training_step_reuses_its_buffers_memory_instead_of_faulting_in_fresh_pages():
    # glibc's defaults (no MALLOC_* tunables, as a user has them) in a fresh process: without
    # keep_freed_buffers_mapped, each step here takes ~2400 page faults (its buffers unmapped and
    # mapped afresh every time)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = env["MINIRNN_NUM_THREADS"] = "1"
    run = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    faults_per_step = float(run.stdout.split()[-1])
    assert faults_per_step < 200, f"{faults_per_step:.0f} page faults a step"
