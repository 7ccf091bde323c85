"""minirnn/_jit.py: the jitted loops and the same code run as plain Python agree (<= 1e-12);
the cache is keyed on the whole package; step functions carry their promises to LLVM.

The un-jitted run happens in a subprocess with NUMBA_DISABLE_JIT=1, exactly
what a learner does to step through the cells in a debugger.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

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
    layer.recurrent_dropout, layer.rng = 0.3, np.random.default_rng(1)  # the recurrent-dropout paths too
    out = layer.forward(x, training=True)
    results[variant + "/dropout_out"] = out
    results[variant + "/dropout_x"] = layer.backward(rng.normal(size=out.shape))
    mask = np.arange(6)[None, :] < np.array([[6], [3], [0]])  # the masked-step paths
    out = layer.forward(x, mask=mask, initial_state=random_states(layer, 3, rng))
    results[variant + "/masked_out"] = out
    results[variant + "/masked_x"] = layer.backward(rng.normal(size=out.shape))
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
    assert jitted.keys() == plain.keys() and len(jitted) > 50
    for key in jitted:
        scale = max(1.0, np.abs(plain[key]).max())
        assert np.abs(jitted[key] - plain[key]).max() <= 1e-12 * scale, key


def test_cached_kernels_are_keyed_on_the_whole_package():
    """Numba alone would keep lstm.py's cached kernels after an edit of _math.py, which they inline."""
    from minirnn import _cache, _jit, optim
    from minirnn.cells import lstm
    if not _jit.CACHE:
        pytest.skip("MINIRNN_NUMBA_CACHE=0: nothing is cached")
    lstm.forward(np.ones((1, 2, 1)), {"kernel": np.ones((1, 4)), "recurrent_kernel": np.ones((1, 4)), "bias": np.ones(4)})
    for kernel in (lstm.forward_sequence, optim._adam):
        locator = kernel._cache._impl._locator
        assert isinstance(locator, _cache.Locator)
        assert locator.get_source_stamp() == _cache.source_hash()
    hashed = {path.name for pattern in _cache.KERNEL_SOURCES for path in _cache.PACKAGE_DIR.glob(pattern)}
    assert {"_math.py", "lstm.py", "_jit.py", "checks.py", "optim.py"} <= hashed


def defining_line(function, *args):
    """The LLVM ``define`` line of ``function`` compiled afresh for ``args`` (a kernel that another
    one calls has no compiled code of its own when that one came from the cache), and all the IR."""
    import numba

    from minirnn import _jit
    fresh = numba.njit(function.py_func)
    fresh(*args)
    ir = fresh.inspect_llvm(fresh.signatures[0])
    prefix = _jit._mangled_prefix(function.py_func)
    return ir, next(line for line in ir.splitlines() if line.startswith("define") and f"@{prefix}B" in line)


def test_step_functions_pass_their_promises_to_llvm():
    """@jit(step=True) (see minirnn/_jit.py): noalias on the data of every array argument and no
    interleaving on the loops; a plain @jit function gets neither. The library's own choice, the
    same on every CPU."""
    import re

    from minirnn import _jit
    from minirnn.cells import _gemm, _layout, lstm
    assert _jit.MARKED
    B, H = 2, 3
    rows, gates = np.ones((B, H)), np.ones((B, 4 * H))
    arrays = {"dh": rows, "dc": rows.copy(), "c_prev": rows, "gates_t": gates, "tanh_c_t": rows,
              "recurrent_kernel_T_packed": _gemm.pack_transposed(np.ones((H, 4 * H)), B),
              "peepholes": _layout.absent((H,), rows.dtype), "dz_t": np.empty_like(gates),
              "dh_prev": np.empty_like(rows), "dc_total_t": np.empty_like(rows)}
    ir, step = defining_line(lstm.step_backward, *arrays.values())
    for name in arrays:  # field 4 of an array argument is its data pointer
        assert re.search(rf"ptr noalias[^,%]*%arg\.{name}\.4\b", step), name
    assert not re.search(r"noalias[^,%]*%arg\.\w+\.[0-3]\b", step)  # meminfo, parent, sizes: shared by views
    assert '!"llvm.loop.interleave.count", i32 1' in ir
    _, plain = defining_line(_layout.copy_into, rows, np.empty_like(rows))
    assert "%arg.target.4" in plain and not re.search(r"noalias[^,%]*%arg\.", plain)
