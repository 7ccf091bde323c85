"""minirnn/_process.py: what minirnn changes about its process: glibc keeps the buffers mapped; subnormals flushed when asked."""
import os
import platform
import subprocess
import sys

import numpy as np
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


SUBNORMAL = np.float32(1e-39)  # below float32's smallest normal number, 1.18e-38


@pytest.fixture
def flush_restored():
    import minirnn
    yield minirnn
    minirnn.set_flush_denormal(False)


def test_flush_denormal_flushes_this_thread_and_minirnns_workers(flush_restored):
    from minirnn import threads
    mr = flush_restored
    if platform.machine().lower() not in ("x86_64", "amd64"):
        assert mr.set_flush_denormal(True) is False  # elsewhere: said, and nothing changes
        return

    def subnormal_product(chunk):
        return float(np.float32(SUBNORMAL * np.float32(1.0)))

    assert not mr.get_flush_denormal() and SUBNORMAL * np.float32(1.0) > 0
    assert mr.set_flush_denormal(True) is True and mr.get_flush_denormal()
    assert SUBNORMAL * np.float32(1.0) == 0 and np.float64(1e-310) * 1.0 == 0  # float64's subnormals too
    assert threads.map_chunks(subnormal_product, [0, 1, 2]) == [0.0, 0.0, 0.0]  # the pool's threads follow
    mr.set_flush_denormal(False)
    assert not mr.get_flush_denormal() and SUBNORMAL * np.float32(1.0) > 0
    assert all(v > 0 for v in threads.map_chunks(subnormal_product, [0, 1, 2]))
    with pytest.raises(TypeError, match="enabled must be True or False"):
        mr.set_flush_denormal("yes")
