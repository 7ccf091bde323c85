"""minirnn/cells/_gemm.py: the packed recurrent product equals a @ w for every shape and layout it meets.

The panel width is 64 float32 or 32 float64 numbers and rows go four at a time, so the
shapes below cross both edges: N below, at and above a panel, M with every remainder mod 4.
Each product runs both ways, packed into panels for the kernel and left whole for np.dot
(what ``pack`` chooses for a small product, or on a CPU without AVX-512). The reference is
the product in long double.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minirnn.cells import _gemm

DTYPES = [np.float32, np.float64]
PREPARE = {"panels": _gemm.pack_panels, "whole": lambda w: _gemm.pack(w, 1)}


def reference(a, w):
    return a.astype(np.longdouble) @ w.astype(np.longdouble)


def assert_close(got, exact, dtype, k):
    # k products summed in dtype, in the same order as a naive loop: error grows at most ~k eps
    scale = np.abs(exact).max() + 1
    tolerance = 4 * k * np.finfo(dtype).eps * scale
    assert np.abs(got.astype(np.longdouble) - exact).max() <= tolerance


@pytest.mark.parametrize("prepare", PREPARE)
@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 9), k=st.integers(1, 70), n=st.integers(1, 140), seed=st.integers(0, 2**16))
def test_matmul_equals_product_for_any_shape(dtype, prepare, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a, w = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    c = np.full((m, n), np.nan, dtype=dtype)  # overwritten everywhere, or the NaN shows
    _gemm.matmul(a, PREPARE[prepare](w), c, False)
    assert_close(c, reference(a, w), dtype, k)


@pytest.mark.parametrize("prepare", PREPARE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_accumulates_into_c(dtype, prepare):
    rng = np.random.default_rng(1)
    a, w, c0 = rng.normal(size=(6, 33)), rng.normal(size=(33, 70)), rng.normal(size=(6, 70))
    a, w, c0 = a.astype(dtype), w.astype(dtype), c0.astype(dtype)
    c = c0.copy()
    _gemm.matmul(a, PREPARE[prepare](w), c, True)
    assert_close(c, c0.astype(np.longdouble) + reference(a, w), dtype, 34)


@pytest.mark.parametrize("prepare", PREPARE)
@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_views_as_the_cells_pass_them(dtype, prepare):
    """Transposed and column-sliced recurrent kernels (the backward pass, GRU's [W_hz | W_hr])
    and a row of a 3-D buffer as c."""
    rng = np.random.default_rng(2)
    recurrent_kernel = rng.normal(size=(7, 21)).astype(dtype)
    h = rng.normal(size=(5, 7)).astype(dtype)
    dz = rng.normal(size=(5, 21)).astype(dtype)
    out = np.zeros((3, 5, 14), dtype=dtype)
    _gemm.matmul(h, PREPARE[prepare](recurrent_kernel[:, :14]), out[1], False)
    assert_close(out[1], reference(h, recurrent_kernel[:, :14]), dtype, 7)
    assert not out[0].any() and not out[2].any()
    dh = np.empty((5, 7), dtype=dtype)
    _gemm.matmul(dz, PREPARE[prepare](recurrent_kernel.T), dh, False)
    assert_close(dh, reference(dz, recurrent_kernel.T), dtype, 21)


def test_pack_keeps_the_dtype_and_pads_with_zeros():
    w = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    panels = _gemm.pack_panels(w)
    assert panels.dtype == np.float32 and panels.shape == (1, 2, 64)
    assert np.array_equal(panels[0, :, :3], w) and not panels[0, :, 3:].any()
    assert _gemm.pack_panels(w.astype(np.float64)).shape == (1, 2, 32)


def test_pack_packs_only_big_products_and_only_for_avx512():
    w = np.ones((100, 400))
    assert _gemm.pack(w, 25).shape == (1, 100, 400)  # 25 * 100 * 400 = SMALL_PRODUCT: np.dot's
    assert _gemm.pack(w, 26).shape == ((13, 100, 32) if _gemm.USE_PANELS else (1, 100, 400))


@pytest.mark.parametrize("features, expected", [("+avx,+avx2,+fma", "False"), ("+avx,+avx2,+fma,+avx512f", "True")])
def test_panels_only_when_numba_compiles_for_avx512(features, expected):
    """The kernel's register block needs AVX-512; NUMBA_CPU_FEATURES (or else the host) decides."""
    env = dict(os.environ, NUMBA_CPU_FEATURES=features)
    code = "from minirnn.cells import _gemm; print(_gemm.USE_PANELS)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected


# Compiled, never run: the code Numba generates for another class of CPU can be read on any host.
CODEGEN = r"""
import json, re
import numba
from numba import types
from minirnn import _jit
from minirnn.cells import _gemm, lstm

def asm_of(dispatcher, signature):
    again = numba.njit(error_model="numpy", fastmath={"contract"})(dispatcher.py_func)  # as _jit.jit, uncached
    again.compile(signature)
    return again.inspect_asm(signature)

def count(pattern, asm):
    return len(re.findall(pattern, asm))

result = {"wide": _jit.WIDE_VECTORS, "panels": _gemm.USE_PANELS}
for name in ("float32", "float64"):
    f = getattr(types, name)
    a2, a3 = types.Array(f, 2, "C"), types.Array(f, 3, "C")
    kernel = asm_of(_gemm._matmul, (a2, a3, a2, types.boolean))
    gates = asm_of(lstm.step_forward, (a2, a2, a2, a3, a2, a2, a2, a2))
    result[name] = {"kernel_zmm_fma": count(r"vfmadd\w+\s+[^\n]*zmm", kernel),
                    "kernel_gather": count(r"vgather|vscatter", kernel),
                    "gates_zmm": count(r"zmm", gates), "gates_ymm_fma": count(r"vfmadd\w+\s+[^\n]*ymm", gates)}
print(json.dumps(result))
"""
AVX512_FEATURES = "+avx512f,+avx512vl,+avx512bw,+avx512dq,+avx512cd"
AVX2_FEATURES = "+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+popcnt,+sse4.2,-avx512f"


def compiled_for(cpu_name, features):
    env = dict(os.environ, NUMBA_CPU_NAME=cpu_name, NUMBA_CPU_FEATURES=features)
    out = subprocess.run([sys.executable, "-c", CODEGEN], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("cpu_name, features", [
    ("sapphirerapids", AVX512_FEATURES),                  # Intel: LLVM's tuning prefers 256-bit vectors
    ("znver4", AVX512_FEATURES),                          # AMD
    ("znver4", AVX512_FEATURES + ",+prefer-256-bit"),      # any AVX-512 CPU told to prefer 256 bits
])
def test_every_avx512_target_gets_512_bit_kernels(cpu_name, features):
    """The kernel's speed rests on how LLVM vectorises it: over j, in zmm multiply-adds (at
    least the sixteen of one step of k), never with gather/scatter (an early version of the
    block turned into that, at 1/50 of the speed). minirnn asks for 512-bit vectors wherever
    AVX-512 exists, whatever the CPU's tuning prefers; the gate loops get them too. (A guard
    against the collapse, not a measure of speed.)"""
    result = compiled_for(cpu_name, features)
    assert result["wide"] and result["panels"]
    for dtype in ("float32", "float64"):
        assert result[dtype]["kernel_zmm_fma"] >= 16, result
        assert result[dtype]["kernel_gather"] == 0, result
        assert result[dtype]["gates_zmm"] > 0, result


def test_avx2_target_gets_avx2_code_and_np_dot():
    result = compiled_for("haswell", AVX2_FEATURES)
    assert not result["wide"] and not result["panels"]
    for dtype in ("float32", "float64"):
        assert result[dtype]["kernel_zmm_fma"] == 0 and result[dtype]["gates_zmm"] == 0, result
        assert result[dtype]["gates_ymm_fma"] > 0, result  # the gate loops are vectorised
