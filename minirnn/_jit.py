"""The one place where Numba is configured.

Every time loop in :mod:`minirnn.cells` is decorated with :func:`jit`.

Switches (environment variables, read once at import):

``MINIRNN_NUMBA_CACHE=0``
    Do not write or read Numba's on-disk cache. Use it on read-only installs or
    when a cache seems stale (it is keyed on the source file, so editing a cell
    invalidates it, but a changed dependency may not).
``NUMBA_DISABLE_JIT=1``
    Numba's own switch: every jitted function runs as plain Python, so a learner
    can step through ``step_forward``/``step_backward`` in a debugger. Same code,
    same results, about a thousand times slower.
"""
import os

import numba

CACHE = os.environ.get("MINIRNN_NUMBA_CACHE", "1") != "0"


def jit(function):
    """``numba.njit`` with the options every minirnn kernel uses.

    ``error_model="numpy"`` makes division by zero give inf/nan like NumPy
    instead of raising; the Python default adds a check to every division that
    stops LLVM from vectorising the gate loops.
    """
    return numba.njit(cache=CACHE, error_model="numpy")(function)

