"""minirnn/_jit.py: the jitted loops and the same code run as plain Python agree (<= 1e-12).

The un-jitted run happens in a subprocess with NUMBA_DISABLE_JIT=1, exactly
what a learner does to step through the cells in a debugger.
"""
import os
import subprocess
import sys

import numpy as np

SCRIPT = r"""
import sys
import numpy as np
from conftest import VARIANTS, make_layer, random_states

results = {}
for variant in sorted(VARIANTS):
    rng = np.random.default_rng(7)
    layer = make_layer(variant, units=4, input_dim=3, rng=rng, return_sequences=True)
    x = rng.normal(size=(3, 6, 3))
    out = layer.forward(x, initial_state=random_states(layer, 3, rng))
    dx = layer.backward(rng.normal(size=out.shape))
    results[variant + "/out"] = out
    results[variant + "/x"] = dx
    for name, g in layer.grads.items():
        results[variant + "/" + name] = g
    for k, g in enumerate(layer.grad_initial_state):
        results[variant + "/state%d" % k] = g
from minirnn.cells import lstm
results["jit_disabled"] = np.array(not hasattr(lstm.forward_sequence, "py_func"))
np.savez(sys.argv[1], **results)
"""


def run(tmp_path, name, disable_jit):
    env = dict(os.environ, NUMBA_DISABLE_JIT="1" if disable_jit else "0")
    path = tmp_path / f"{name}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True, env=env,
                   cwd=os.path.dirname(__file__))
    return dict(np.load(path))


def test_jitted_and_plain_python_agree(tmp_path):
    jitted, plain = run(tmp_path, "jit", False), run(tmp_path, "plain", True)
    assert plain.pop("jit_disabled") and not jitted.pop("jit_disabled")
    assert jitted.keys() == plain.keys() and len(jitted) > 40
    for key in jitted:
        scale = max(1.0, np.abs(plain[key]).max())
        assert np.abs(jitted[key] - plain[key]).max() <= 1e-12 * scale, key
