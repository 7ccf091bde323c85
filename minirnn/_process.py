"""What minirnn changes about the process it runs in, all of it in one place.

- glibc's malloc thresholds, once, on import (:func:`keep_freed_buffers_mapped`, below).
- Subnormal floats flushed to zero, when asked (:func:`set_flush_denormal`, below; off by default).
- How many threads BLAS uses while a recurrent layer runs: one (:mod:`minirnn.threads`, which
  also decides how many threads minirnn's own loops use).
- How Numba compiles minirnn's kernels, and their cache (:mod:`minirnn._jit`, :mod:`minirnn._cache`);
  other Numba code in the process keeps its own settings.
"""
import platform
import threading

import numpy as np


def keep_freed_buffers_mapped():
    """Allocate and free one 30 MiB block, so that glibc's malloc keeps the loops' buffers mapped.

    A training step allocates and frees the same buffers every time (gates, states, their
    gradients: a few MB each for a stacked LSTM of 50 units over 60 steps). glibc gives blocks
    above its mmap threshold, 128 KiB at start, pages of their own and hands memory back to the
    kernel when the free space at the top of its heap exceeds its trim threshold; the next step
    then takes fresh pages, which the kernel zeroes one page fault at a time (that LSTM: 2400
    faults a step, a third of its time). glibc raises the mmap threshold to the size of any
    mmapped block freed, up to 32 MiB, and the trim threshold to twice that: what freeing a big
    array would do in any NumPy program, done once here, on import. Buffers up to 30 MiB then
    come from the heap and stay mapped from one step to the next; above that NumPy asks for
    huge pages, whose faults are few. Elsewhere than glibc, or where the user has set malloc's
    MALLOC_* tunables (which turn the adjustment off), this changes nothing.
    """
    np.empty(30 << 20, dtype=np.uint8)  # never touched: no memory is used; freed at once


keep_freed_buffers_mapped()


# ------------------------------------------------------------------ subnormal numbers

FTZ_DAZ = 0x8040  # MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6)
_flush = [False]  # what the user asked for
_thread = threading.local()  # what this thread's MXCSR holds (``flush``), once set here


def set_flush_denormal(enabled):
    """Flush subnormal numbers to zero, as ``torch.set_flush_denormal``: results below the smallest
    normal float (1.2e-38 in float32, 2.2e-308 in float64) become 0, and such inputs are read as 0.

    Off by default. Where gradients vanish, float32 ones reach that range within a long sequence
    and this CPU's arithmetic on them runs many times slower (benchmarks/README.md); flushed, the
    backward pass keeps its speed. The price is in what is measured: with flushing on,
    :func:`minirnn.diagnostics.gradient_norms` reports 0 for ||dL/dh_t|| wherever the true value
    is below that smallest normal float (in float64 also, below 2.2e-308), and Jacobian products
    that small are 0. It sets the processor's MXCSR register of the calling thread, and minirnn's
    own worker threads follow it at their next task; other threads keep theirs (as with torch).

    Returns True where it is supported (x86-64), False elsewhere, where nothing changes.
    """
    if not isinstance(enabled, (bool, np.bool_)):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    _flush[0] = bool(enabled)
    follow_flush_denormal()
    return True


def get_flush_denormal():
    """Whether subnormal numbers are flushed to zero in this thread (see :func:`set_flush_denormal`)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    get, _ = _mxcsr()
    return bool(get() & FTZ_DAZ == FTZ_DAZ)


def follow_flush_denormal():
    """Make this thread's MXCSR follow :func:`set_flush_denormal` (minirnn's worker threads call it
    before each task; a thread that never saw the setting changed is left alone)."""
    if getattr(_thread, "flush", False) == _flush[0]:
        return
    get, load = _mxcsr()
    bits = get()
    load(bits | FTZ_DAZ if _flush[0] else bits & ~FTZ_DAZ)
    _thread.flush = _flush[0]


_functions = []


def _mxcsr():
    """(get, set) of the MXCSR register, compiled on first use: two LLVM intrinsics through Numba."""
    if not _functions:
        import numba
        from llvmlite import ir
        from numba.core import cgutils, types
        from numba.extending import intrinsic

        def mxcsr_call(builder, name, slot):
            byte_pointer = ir.PointerType(ir.IntType(8))
            function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer]),
                                                      name)
            builder.call(function, [builder.bitcast(slot, byte_pointer)])

        @intrinsic
        def stmxcsr(typingctx):
            def codegen(context, builder, signature, args):
                slot = cgutils.alloca_once(builder, ir.IntType(32))
                mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
                return builder.load(slot)
            return types.uint32(), codegen

        @intrinsic
        def ldmxcsr(typingctx, value):
            def codegen(context, builder, signature, args):
                slot = cgutils.alloca_once(builder, ir.IntType(32))
                builder.store(args[0], slot)
                mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
                return context.get_dummy_value()
            return types.none(types.uint32), codegen

        get = numba.njit(lambda: stmxcsr())
        load = numba.njit(lambda bits: ldmxcsr(np.uint32(bits)))
        _functions.extend([lambda: int(get()), lambda bits: load(bits)])
    return _functions
