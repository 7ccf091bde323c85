"""exp, sigmoid and tanh for the gate loops, written so that LLVM vectorises them.

Why not ``np.exp``/``np.tanh``? Inside Numba they become one scalar libm call per
element (pip's llvmlite has no vector math library), about 16 ns each: for
hidden sizes up to a few hundred the gate nonlinearities then cost more than
the matrix products. The versions here are branch-free arithmetic (both sides
of every ``if`` are computed and one is selected), so a loop over a row of
gates runs 4-16 elements per instruction.

Accuracy: float64 within a few ulp of NumPy's (the gradient checks and the
1e-10 PyTorch parity depend on it); float32 is computed in float32 throughout
(Cephes ``expf``/``tanhf``), within a few float32 ulp.

They are separate jitted functions for reading; LLVM inlines them into the
gate loops, where they vectorise.

Every function takes ``ftype``, the scalar type of the arrays (``a.dtype.type``):
constants are written ``ftype(0.5)``, because a bare ``0.5`` is a float64 and would
silently promote float32 arithmetic to float64.

Method (as Cephes): exp(x) = 2^n * exp(r) with n = round(x / ln 2) and
|r| <= ln(2)/2; exp(r) - 1 is a polynomial and 2^n is built directly from its
exponent bits. tanh(x) = expm1(2x) / (expm1(2x) + 2), accurate near 0 too,
where the textbook 1 - 2 / (exp(2x) + 1) loses digits to cancellation.
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import jit

LOG2E = 1.4426950408889634


@intrinsic
def _pow2_bits(typingctx, n):
    """2.0**n for an integral float n in the normal range, by writing n + bias into the exponent bits."""
    if n not in (types.float32, types.float64):
        return None
    bits, mantissa, bias = (64, 52, 1023) if n == types.float64 else (32, 23, 127)

    def codegen(context, builder, signature, args):
        int_type = ir.IntType(bits)
        exponent = builder.add(builder.fptosi(args[0], int_type), ir.Constant(int_type, bias))
        return builder.bitcast(builder.shl(exponent, ir.Constant(int_type, mantissa)), args[0].type)
    return n(n), codegen


def _pow2_python(n):
    """The same 2.0**n in plain Python, for NUMBA_DISABLE_JIT=1 (exact, so results are identical)."""
    return type(n)(np.ldexp(1.0, int(n)))


pow2 = _pow2_python if numba.config.DISABLE_JIT else _pow2_bits


@jit
def exp_parts(x, ftype):
    """(s, q) with e^x = s * (1 + q): s = 2^n exactly and q = e^r - 1 for |r| <= ln(2)/2.

    Keeping q = e^r - 1 apart, rather than e^r, is what makes expm1 accurate
    near 0, which tanh needs. x is clamped to the range where 2^n is a normal
    float (beyond it e^x is 0 or huge, never inf).
    """
    if ftype(0.5) == 0.5 and ftype(1e-10) == 1e-10:  # float64 (resolved at compile time)
        x = min(max(x, ftype(-708.0)), ftype(708.0))
        n = np.floor(x * ftype(LOG2E) + ftype(0.5))
        r = x - n * ftype(6.93145751953125e-1) - n * ftype(1.42860682030941723212e-6)  # ln 2 split in two
        # Taylor series of e^r - 1 to r^13 (the remainder is below 1e-17 for |r| <= 0.347):
        # e^r - 1 = r + r^2 p(r) with p(r) = sum_k r^k / (k+2)!, k = 0..11, in Estrin's form (pairs
        # of terms combined with r^2, r^4, r^8). Horner's form is a chain of 13 dependent
        # multiply-adds, Estrin's is 5 deep, so more of them run at once.
        # Adding r last keeps the rounding errors of p(r) a factor r smaller than the result.
        r2 = r * r
        r4 = r2 * r2
        r8 = r4 * r4
        p01 = ftype(1 / 6) * r + ftype(1 / 2)
        p23 = ftype(1 / 120) * r + ftype(1 / 24)
        p45 = ftype(1 / 5040) * r + ftype(1 / 720)
        p67 = ftype(1 / 362880) * r + ftype(1 / 40320)
        p89 = ftype(1 / 39916800) * r + ftype(1 / 3628800)
        p1011 = ftype(1 / 6227020800) * r + ftype(1 / 479001600)
        p0_3 = p23 * r2 + p01
        p4_7 = p67 * r2 + p45
        p8_11 = p1011 * r2 + p89
        p = p8_11 * r8 + (p4_7 * r4 + p0_3)
        q = p * r2 + r
    else:  # float32: the polynomial of Cephes expf
        x = min(max(x, ftype(-87.0)), ftype(87.0))
        n = np.floor(x * ftype(LOG2E) + ftype(0.5))
        r = x - n * ftype(0.693359375) + n * ftype(2.12194440e-4)
        q = ftype(1.9875691500e-4) * r + ftype(1.3981999507e-3)
        q = q * r + ftype(8.3334519073e-3)
        q = q * r + ftype(4.1665795894e-2)
        q = q * r + ftype(1.6666665459e-1)
        q = q * r + ftype(5.0000001201e-1)
        q = q * r * r + r
    return pow2(n), q


@jit
def exp(x, ftype):
    """e^x = s (1 + q)."""
    s, q = exp_parts(x, ftype)
    return s * q + s


@jit
def expm1(x, ftype):
    """e^x - 1 = s q + (s - 1), exact in the subtraction and accurate near 0 (s = 1 there)."""
    s, q = exp_parts(x, ftype)
    return s * q + (s - ftype(1.0))


@jit
def sigmoid(x, ftype):
    """sigma(x) = 1 / (1 + e^-x)."""
    return ftype(1.0) / (ftype(1.0) + exp(-x, ftype))


@jit
def tanh(x, ftype):
    """tanh(x) = sign(x) e / (e + 2) with e = e^{2|x|} - 1: one expm1 and one division."""
    ax = abs(x)
    e = expm1(ax + ax, ftype)
    t = e / (e + ftype(2.0))
    return t if x >= 0 else -t
