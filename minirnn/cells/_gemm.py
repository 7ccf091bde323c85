"""The recurrent product ``h_{t-1} @ W_h`` inside the time loops, with W_h packed once per sequence.

Why not ``np.dot``: OpenBLAS copies ("packs") both operands into its own
layout on every call, and inside a time loop that means re-packing the same
(H, G*H) recurrent kernel T times. Packed once per sequence, the product is
left with nothing but multiply-adds (benchmarks/README.md has the rates).

The kernel is the innermost loop of Goto & van de Geijn's GEMM in its simplest
form. ``pack_panels`` cuts W (K, N) into panels of NR columns, each stored k by k, so
that the NR weights a step of the k loop needs are contiguous. For four rows
of A at a time, a 4 x NR block of C is accumulated over all k::

    acc_r[j] += A[m + r, k] * panel[k, j]        r = 0..3,  j = 0..NR-1

NR is 256 bytes of numbers (64 float32 or 32 float64): the 4 x NR block is
sixteen 64-byte (AVX-512) registers of the thirty-two there are, which LLVM
keeps in registers for the whole k loop because the accumulators live on the
stack (``_register_row``), each row written as its own statement so that the
only loop left to vectorise is the one over j. It needs 512-bit vectors:
``minirnn._jit`` compiles every kernel for them wherever AVX-512 exists, also
on CPUs whose tuning would prefer 256-bit ones (Intel's), where the same block
would take all thirty-two registers and spill.

So the panels are used only where Numba compiles for AVX-512. On AVX2 (sixteen
32-byte registers) this block cannot fit, and everything goes to ``np.dot``.
Small products (at most SMALL_PRODUCT multiply-adds: H up to ~60 with batch
32) go to ``np.dot`` everywhere: at that size OpenBLAS uses its small-matrix
kernels, which pack nothing, so its per-call cost is gone, while this kernel
would still pad W's last panel to NR columns.

With ``NUMBA_DISABLE_JIT=1`` ``pack`` returns W unchanged and ``matmul`` is
``a @ w``: the packing is a speed detail, the maths is one line.
"""
import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .. import _jit
from .._jit import jit

PANEL_BYTES = 256  # NR * itemsize: one row of the 4 x NR block fills four 64-byte registers
# rows * K * N at or below which np.dot does the product: OpenBLAS's small-matrix
# threshold (M * N * K <= 100**3, on its AVX-512 kernels), below which it packs nothing.
SMALL_PRODUCT = 1_000_000

USE_PANELS = _jit.WIDE_VECTORS  # the 4 x NR block fits in registers only at 512 bits

# matmul's last argument: what happens to c
OVERWRITE = False   # c = a @ w
ACCUMULATE = True   # c += a @ w


def _numbers_per_panel_row(context, dtype):
    return PANEL_BYTES // context.get_abi_sizeof(context.get_value_type(dtype))


@intrinsic
def _panel_width(typingctx, like):
    """NR for ``like``'s dtype as a compile-time constant (``array.itemsize`` is a run-time field)."""
    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, _numbers_per_panel_row(context, like.dtype))

    return types.intp(like), codegen


@intrinsic
def _register_row(typingctx, like):
    """Stack space for NR numbers of ``like``'s dtype: an alloca LLVM can promote to registers."""
    def codegen(context, builder, signature, args):
        count = context.get_constant(types.intp, _numbers_per_panel_row(context, like.dtype))
        return cgutils.alloca_once(builder, context.get_value_type(like.dtype), size=count)

    return types.CPointer(like.dtype)(like), codegen


@jit
def _pack(w, rows):
    """W (K, N) for products with ``rows``-row matrices: (ceil(N / NR), K, NR) column panels,
    zero-padded on the right; or, for a small product, W itself as a (1, K, N) array. The loops
    hand it C-contiguous arrays only (W^T through :func:`_pack_transposed`)."""
    K, N = w.shape
    if not USE_PANELS or rows * K * N <= SMALL_PRODUCT:
        return np.ascontiguousarray(w).reshape(1, K, N)
    return pack_panels(w)


@jit
def pack_panels(w):
    """(K, N) -> (ceil(N / NR), K, NR): column panels of w, zero-padded on the right."""
    K, N = w.shape
    nr = _panel_width(w)
    packed = np.zeros(((N + nr - 1) // nr, K, nr), dtype=w.dtype)
    for p in range(packed.shape[0]):
        width = min(nr, N - p * nr)
        for k in range(K):
            for j in range(width):
                packed[p, k, j] = w[k, p * nr + j]
    return packed


@jit
def _pack_transposed(w, rows):
    """pack(W^T, rows) for W (N, K): W^T copied to C order first, so that pack and its panels are
    compiled for one memory layout only (each layout is another compilation)."""
    return _pack(np.ascontiguousarray(w.T), rows)


@jit
def _matmul(a, w_packed, c, accumulate):
    """c = a @ w (``accumulate`` = OVERWRITE), or c += a @ w (ACCUMULATE); ``w_packed`` = pack(w, M).
    a (M, K), c (M, N)."""
    M, K = a.shape
    N = c.shape[1]
    nr = _panel_width(c)
    if w_packed.shape[2] != nr:                       # a small product: w was left whole
        if accumulate:  # (c += np.dot(...) would compile an error message's string machinery: seconds)
            product = np.dot(a, w_packed[0])
            for i in range(M):
                for j in range(N):
                    c[i, j] += product[i, j]
        else:
            np.dot(a, w_packed[0], c)
        return
    acc0 = numba.carray(_register_row(c), nr)
    acc1 = numba.carray(_register_row(c), nr)
    acc2 = numba.carray(_register_row(c), nr)
    acc3 = numba.carray(_register_row(c), nr)
    last = M - 1
    for p in range(w_packed.shape[0]):
        panel = w_packed[p]
        n0 = p * nr
        width = min(nr, N - n0)
        for m in range(0, M, 4):                      # four rows of c at a time
            # Past the last row (M not a multiple of 4) the block repeats it; only real rows are stored.
            a0, a1, a2, a3 = a[m], a[min(m + 1, last)], a[min(m + 2, last)], a[min(m + 3, last)]
            for j in range(nr):
                acc0[j] = 0
                acc1[j] = 0
                acc2[j] = 0
                acc3[j] = 0
            for k in range(K):
                w = panel[k]
                a0k, a1k, a2k, a3k = a0[k], a1[k], a2[k], a3[k]
                for j in range(nr):
                    acc0[j] += a0k * w[j]
                    acc1[j] += a1k * w[j]
                    acc2[j] += a2k * w[j]
                    acc3[j] += a3k * w[j]
            rows = min(4, M - m)
            for r in range(rows):
                acc = acc0 if r == 0 else acc1 if r == 1 else acc2 if r == 2 else acc3
                c_row = c[m + r, n0:]
                if accumulate:
                    for j in range(width):
                        c_row[j] += acc[j]
                else:
                    for j in range(width):
                        c_row[j] = acc[j]


def _pack_python(w, rows):
    return w


def _matmul_python(a, w, c, accumulate):
    if accumulate:
        c += a @ w
    else:
        c[...] = a @ w


pack = _pack_python if numba.config.DISABLE_JIT else _pack
pack_transposed = (lambda w, rows: w.T) if numba.config.DISABLE_JIT else _pack_transposed
matmul = _matmul_python if numba.config.DISABLE_JIT else _matmul
