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
exponent bits. The gate loops are bound by the number of arithmetic operations
(the multiply-add units are busy, not waiting), so each step here is written
with as few as the accuracy allows. tanh(x) = expm1(2x) / (expm1(2x) + 2), accurate near 0 too,
where the textbook 1 - 2 / (exp(2x) + 1) loses digits to cancellation.
"""
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .._jit import jit

LOG2E = 1.4426950408889634


# n = round(x / ln 2) is found by adding SHIFTER = 1.5 * 2^52 (float32: 2^23) to x / ln 2: the sum
# is rounded to a whole number, which then sits in the low bits of its mantissa (the 1.5 keeps
# them clear of the sign for negative n). Subtracting SHIFTER again gives n as a float; the
# bits of the sum give 2^n (:func:`pow2_of_shifted`). Two operations fewer than floor() and
# a float-to-integer conversion.
SHIFTER64, SHIFTER32 = 6755399441055744.0, 12582912.0


@intrinsic
def _pow2_of_shifted_bits(typingctx, shifted):
    """2.0**n from shifted = n + SHIFTER (n integral, in the normal range): the low bits of its
    mantissa, n + bias, shifted into the exponent bits."""
    if shifted not in (types.float32, types.float64):
        return None
    bits, mantissa, bias = (64, 52, 1023) if shifted == types.float64 else (32, 23, 127)

    def codegen(context, builder, signature, args):
        int_type = ir.IntType(bits)
        exponent = builder.add(builder.bitcast(args[0], int_type), ir.Constant(int_type, bias))
        return builder.bitcast(builder.shl(exponent, ir.Constant(int_type, mantissa)), args[0].type)
    return shifted(shifted), codegen


def _pow2_of_shifted_python(shifted):
    """The same 2.0**n in plain Python, for NUMBA_DISABLE_JIT=1 (exact, so results are identical)."""
    ftype = type(shifted)
    n = shifted - ftype(SHIFTER64 if ftype is np.float64 else SHIFTER32)
    return ftype(np.ldexp(1.0, int(n)))


pow2_of_shifted = _pow2_of_shifted_python if numba.config.DISABLE_JIT else _pow2_of_shifted_bits


@jit
def exp_parts(x, ftype):
    """(s, q) with e^x = s * (1 + q): s = 2^n exactly and q = e^r - 1 for |r| <= ln(2)/2.

    Keeping q = e^r - 1 apart, rather than e^r, is what makes expm1 accurate
    near 0, which tanh needs. x is clamped to the range where 2^n is a normal
    float (beyond it e^x is 0 or huge, never inf).
    """
    if ftype(0.5) == 0.5 and ftype(1e-10) == 1e-10:  # float64 (resolved at compile time)
        x = min(max(x, ftype(-708.0)), ftype(708.0))
        shifted = x * ftype(LOG2E) + ftype(SHIFTER64)
        n = shifted - ftype(SHIFTER64)  # round(x / ln 2)
        r = x - n * ftype(6.93145751953125e-1) - n * ftype(1.42860682030941723212e-6)  # ln 2 split in two
        # e^r - 1 = r + r^2 p(r), p a polynomial of degree 9 close to (e^r - 1 - r) / r^2: its Taylor
        # series to r^19 with the Chebyshev terms of degree 10 and up dropped (economised on
        # |r| <= ln(2)/2; what is dropped is below 1.1e-16 in p, so below 4e-17 r in e^r - 1).
        # Evaluated as five pairs c_k + c_{k+1} r, joined by Horner's rule in r^2: ten multiply-adds
        # and one multiply, fewer operations than Estrin's form, and the loops that call it are bound
        # by how many there are, not by how long one chain is.
        # Adding r last keeps the rounding errors of p(r) a factor r smaller than the result.
        r2 = r * r
        p01 = ftype(0.1666666666666667) * r + ftype(0.5000000000000001)
        p23 = ftype(0.008333333333326141) * r + ftype(0.04166666666662416)
        p45 = ftype(0.00019841269874802173) * r + ftype(0.0013888888917198588)
        p67 = ftype(2.755725542387984e-06) * r + ftype(2.4801521319879672e-05)
        p89 = ftype(2.510520706464424e-08) * r + ftype(2.762007691611333e-07)
        p = (((p89 * r2 + p67) * r2 + p45) * r2 + p23) * r2 + p01
        q = p * r2 + r
    else:  # float32: the polynomial of Cephes expf
        x = min(max(x, ftype(-87.0)), ftype(87.0))
        shifted = x * ftype(LOG2E) + ftype(SHIFTER32)
        n = shifted - ftype(SHIFTER32)
        r = x - n * ftype(0.693359375) + n * ftype(2.12194440e-4)
        q = ftype(1.9875691500e-4) * r + ftype(1.3981999507e-3)
        q = q * r + ftype(8.3334519073e-3)
        q = q * r + ftype(4.1665795894e-2)
        q = q * r + ftype(1.6666665459e-1)
        q = q * r + ftype(5.0000001201e-1)
        q = q * r * r + r
    return pow2_of_shifted(shifted), q


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
