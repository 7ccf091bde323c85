"""minirnn/cells/_gemm.py: the packed recurrent product equals a @ w for every shape and layout it meets.

The panel width is 64 float32 or 32 float64 numbers and rows go four at a time, so the
shapes below cross both edges: N below, at and above a panel, M with every remainder mod 4.
Each product runs both ways, packed into panels for the kernel and left whole for np.dot
(what ``pack`` chooses for a small product, or on a CPU without AVX-512). The reference is
the product in long double.
"""
import os
import re
import subprocess
import sys

import numba
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


@pytest.mark.skipif(not _gemm.USE_PANELS, reason="the packed kernel is used only where Numba compiles for AVX-512")
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_compiles_to_a_register_block(dtype):
    """The kernel's speed rests on how LLVM vectorises it: over j, in zmm multiply-adds (at
    least the sixteen of one step of k), never with gather/scatter, which is what an early
    version of the block turned into, at 1/50 of the speed. (A guard against the collapse,
    not a measure of speed.)"""
    matmul = numba.njit(error_model="numpy", fastmath={"contract"})(_gemm.matmul.py_func)  # as _jit.jit, uncached
    a, c = np.ones((8, 300), dtype), np.zeros((8, 200), dtype)
    matmul(a, _gemm.pack_panels(np.ones((300, 200), dtype)), c, True)
    asm = next(iter(matmul.inspect_asm().values()))
    assert len(re.findall(r"vfmadd\w+\s+[^\n]*zmm", asm)) >= 16
    assert not re.findall(r"vgather|vscatter", asm)
