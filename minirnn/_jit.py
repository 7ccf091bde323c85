"""The one place where Numba is configured.

Every time loop in :mod:`minirnn.cells` is decorated with :func:`jit`.

Switches (environment variables, read once at import):

``MINIRNN_NUMBA_CACHE=0``
    Do not write or read Numba's on-disk cache. Use it on read-only installs or
    when a cache seems stale. Without it, compiled kernels are stored next to
    the sources (``__pycache__``) and reused by the next process: the first
    run after an install compiles for tens of seconds, later imports take well under
    one (benchmarks/README.md has the times).
``NUMBA_DISABLE_JIT=1``
    Numba's own switch: every jitted function runs as plain Python, so a learner
    can step through ``step_forward``/``step_backward`` in a debugger. Same code,
    same results, about a thousand times slower.
``NUMBA_CPU_NAME``, ``NUMBA_CPU_FEATURES``
    Numba's own switches for the CPU it compiles for (default: this one). The
    kernels follow them, so one machine can build and test the code another
    class of CPU would run (see :data:`WIDE_VECTORS`).

Vector width. Where the compiled code may use AVX-512, every minirnn kernel is
compiled for 512-bit vectors. LLVM's tuning for Intel's AVX-512 cores (and
any CPU given ``+prefer-256-bit``) would otherwise pick 256-bit vectors for
them: half the numbers per instruction, and a register block sized for 512-bit
registers (``cells/_gemm.py``) no longer fits and spills to memory. That
tuning guards mixed code against the clock penalty of wide vectors; minirnn's
time loops are dense floating-point loops from end to end, the case where
wide vectors pay. The choice is made per function (LLVM's
``prefer-vector-width`` attribute), so other Numba code in the process keeps
its own tuning.
"""
import functools
import os
import pathlib
import hashlib

import llvmlite.binding
import numba

CACHE = os.environ.get("MINIRNN_NUMBA_CACHE", "1") != "0"
PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def target_features():
    """The CPU features Numba compiles for: ``NUMBA_CPU_FEATURES`` if set, else the host's."""
    features = numba.config.CPU_FEATURES
    if features is None:
        features = llvmlite.binding.get_host_cpu_features().flatten()
    return features.split(",")


AVX512 = "+avx512f" in target_features()  # the compiled code may use AVX-512


def jit(function):
    """``numba.njit`` with the options every minirnn kernel uses.

    ``error_model="numpy"`` makes division by zero give inf/nan like NumPy
    instead of raising; the Python default adds a check to every division that
    stops LLVM from vectorising the gate loops. ``fastmath={"contract"}`` lets
    LLVM fuse ``a * b + c`` into one multiply-add instruction (one rounding
    instead of two; the gate loops run faster); no other fast-math
    liberty is taken (no reassociation, NaN and inf behave as in NumPy).
    ``nogil=True`` lets :mod:`minirnn.threads` run the loops over parts of a
    batch on several cores at once.
    """
    return numba.njit(cache=CACHE, error_model="numpy", fastmath={"contract"}, nogil=True)(function)


def _prefer_512_bit_vectors(module):
    """Mark minirnn's functions in an LLVM module (llvmlite.ir) for 512-bit vectors."""
    for function in module.functions:
        if function.name.startswith(_MANGLED_PREFIX) and not function.is_declaration:
            # a string attribute; llvmlite's attribute set only admits LLVM's enum ones
            set.add(function.attributes, '"prefer-vector-width"="512"')


_MANGLED_PREFIX = "_ZN7minirnn"  # Numba's (Itanium) mangling of the qualified name minirnn.*


def _ask_for_512_bit_vectors():
    """Have every minirnn function Numba lowers from now on marked for 512-bit vectors.

    Returns False (and changes nothing) where jitting is off or this Numba
    lacks the hook: the kernels then get LLVM's own choice of width.
    """
    if numba.config.DISABLE_JIT:
        return False
    try:
        from numba.core import cpu
        lower_rest = cpu.CPUContext.post_lowering
    except (ImportError, AttributeError):
        return False
    if getattr(lower_rest, "_minirnn", False):  # installed already (a reload of this module)
        return True

    def post_lowering(self, module, library):
        _prefer_512_bit_vectors(module)
        lower_rest(self, module, library)

    post_lowering._minirnn = True
    cpu.CPUContext.post_lowering = post_lowering
    return True


WIDE_VECTORS = AVX512 and _ask_for_512_bit_vectors()  # minirnn's kernels are compiled for 512-bit vectors


@functools.lru_cache(maxsize=None)
def package_source_hash():
    """sha256 of every file jitted code is compiled from: this one, checks.py and minirnn/cells/*.py."""
    digest = hashlib.sha256()
    for path in [PACKAGE_DIR / "_jit.py", PACKAGE_DIR / "checks.py", *sorted((PACKAGE_DIR / "cells").glob("*.py"))]:
        digest.update(path.read_bytes())
    return digest.digest()


try:
    from numba.core import caching

    class PackageCacheLocator(caching.InTreeCacheLocator):
        """Key every cached minirnn kernel on the source of all the kernels.

        Numba keys a cached function on its own file only, so a kernel in
        lstm.py that inlined a helper from _math.py would outlive an edit of
        _math.py and silently run the old maths.
        """

        def get_source_stamp(self):
            return package_source_hash()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.abspath(py_file).startswith(str(PACKAGE_DIR)):
                return None
            return super().from_function(py_func, py_file)

    if CACHE and PackageCacheLocator not in caching.CacheImpl._locator_classes:
        caching.CacheImpl._locator_classes.insert(0, PackageCacheLocator)
except (ImportError, AttributeError):  # a Numba without this internal API: its own per-file keys
    pass
