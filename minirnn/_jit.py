"""The one place where Numba is configured.

Every time loop in :mod:`minirnn.cells` is decorated with :func:`jit`.

Switches (environment variables, read once at import):

``MINIRNN_NUMBA_CACHE=0``
    Do not write or read Numba's on-disk cache. Use it on read-only installs or
    when a cache seems stale. Without it, compiled kernels are stored next to
    the sources (``__pycache__``) and reused by the next process: the first
    run after an install compiles for ~25 s, later imports take well under 1 s.
``NUMBA_DISABLE_JIT=1``
    Numba's own switch: every jitted function runs as plain Python, so a learner
    can step through ``step_forward``/``step_backward`` in a debugger. Same code,
    same results, about a thousand times slower.
"""
import functools
import os
import pathlib
import hashlib

import numba

CACHE = os.environ.get("MINIRNN_NUMBA_CACHE", "1") != "0"
PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def jit(function):
    """``numba.njit`` with the options every minirnn kernel uses.

    ``error_model="numpy"`` makes division by zero give inf/nan like NumPy
    instead of raising; the Python default adds a check to every division that
    stops LLVM from vectorising the gate loops. ``fastmath={"contract"}`` lets
    LLVM fuse ``a * b + c`` into one multiply-add instruction (one rounding
    instead of two; the gate loops run ~15% faster); no other fast-math
    liberty is taken (no reassociation, NaN and inf behave as in NumPy).
    """
    return numba.njit(cache=CACHE, error_model="numpy", fastmath={"contract"})(function)


@functools.lru_cache(maxsize=None)
def package_source_hash():
    """sha256 of every file the kernels are compiled from: this one and minirnn/cells/*.py."""
    digest = hashlib.sha256()
    for path in [PACKAGE_DIR / "_jit.py", *sorted((PACKAGE_DIR / "cells").glob("*.py"))]:
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
