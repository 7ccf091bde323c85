"""The one place where Numba is configured.

Every jitted loop in minirnn (the cells' time loops, the optimizers' update rules, the finiteness
scans) is decorated with :func:`jit`.

Switches (environment variables, read once at import):

``MINIRNN_NUMBA_CACHE=0``
    Do not write or read the on-disk cache of compiled kernels (:mod:`minirnn._cache`:
    where it is, how it heals a damaged entry, ``minirnn cache`` to look at it or clear it).
    Without it, compiled kernels are stored next to the sources (``__pycache__``) and
    reused by the next process: the first run after an install compiles for tens of
    seconds, later imports take well under one.
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

Step functions (``@jit(step=True)``: each cell's ``step_forward``/``step_backward``) get two
more promises passed on to LLVM, because their loops run along one row of a (batch, units)
block at a time, a few to a few hundred numbers:

- *Their arrays do not overlap where written* (LLVM's ``noalias`` on the arrays' data).
  Otherwise LLVM cannot know that ``dz[j] = ... dh[j] ...`` does not write into ``dh``, and
  before every row it compares the bounds of every written array with every other one: with
  ten arrays, a hundred-odd instructions per row, more than the row's own arithmetic
  when it is short. Every caller keeps the promise: a step writes only into its outputs and
  scratch buffers, which are never views of its inputs (two read-only arguments may be the
  same array).
- *Their loops are vectorised without interleaving* (``llvm.loop.interleave.count`` 1).
  LLVM's default may run four vectors per iteration, so that a loop starts vectorised only
  from 32 doubles (64 floats) on and shorter rows run element by element. Out-of-order
  execution finds the parallelism across iterations that interleaving would have given the
  long rows.
"""
import functools
import os

import llvmlite.binding
import numba
from llvmlite import ir

from . import _cache

CACHE = os.environ.get("MINIRNN_NUMBA_CACHE", "1") != "0"


def target_features():
    """The CPU features Numba compiles for: ``NUMBA_CPU_FEATURES`` if set, else the host's."""
    features = numba.config.CPU_FEATURES
    if features is None:
        features = llvmlite.binding.get_host_cpu_features().flatten()
    return features.split(",")


AVX512 = "+avx512f" in target_features()  # the compiled code may use AVX-512


def jit(function=None, *, step=False):
    """``numba.njit`` with the options every minirnn kernel uses; ``@jit`` or ``@jit(step=True)``.

    ``error_model="numpy"`` makes division by zero give inf/nan like NumPy
    instead of raising; the Python default adds a check to every division that
    stops LLVM from vectorising the gate loops. ``fastmath={"contract"}`` lets
    LLVM fuse ``a * b + c`` into one multiply-add instruction (one rounding
    instead of two; the gate loops run faster); no other fast-math
    liberty is taken (no reassociation, NaN and inf behave as in NumPy).
    ``nogil=True`` lets :mod:`minirnn.threads` run the loops over parts of a
    batch on several cores at once. ``step=True`` marks a cell's step function (see the module
    docstring).
    """
    if function is None:
        return functools.partial(jit, step=step)
    if step:
        _STEP_FUNCTIONS.add(_mangled_prefix(function))
    compiled = numba.njit(error_model="numpy", fastmath={"contract"}, nogil=True)(function)
    return _cache.enable(compiled) if CACHE and not numba.config.DISABLE_JIT else compiled


_STEP_FUNCTIONS = set()  # mangled-name prefixes of the functions given step=True


def _mangled_prefix(function):
    """The start of Numba's (Itanium) mangled name of ``function``: _ZN, then each part of its qualified
    name prefixed by its length (``_ZN7minirnn5cells4lstm12step_forward``); ABI tags and argument
    types follow."""
    parts = f"{function.__module__}.{function.__qualname__}".split(".")
    return "_ZN" + "".join(f"{len(part)}{part}" for part in parts)


def _is_step_function(name):
    return any(name.startswith(prefix) and name[len(prefix):len(prefix) + 1] in ("B", "E")
               for prefix in _STEP_FUNCTIONS)


def _mark_functions(module):
    """Mark minirnn's functions in an LLVM module (llvmlite.ir) as the module docstring says."""
    for function in module.functions:
        if not function.name.startswith(_MANGLED_PREFIX) or function.is_declaration:
            continue
        if AVX512:
            # a string attribute; llvmlite's attribute set only admits LLVM's enum ones
            set.add(function.attributes, '"prefer-vector-width"="512"')
        if _is_step_function(function.name):
            _promise_distinct_arrays(function)
            _loops_without_interleaving(module, function)


_MANGLED_PREFIX = "_ZN7minirnn"  # Numba's (Itanium) mangling of the qualified name minirnn.*


def _promise_distinct_arrays(function):
    """``noalias`` on the data pointers of its float arrays (Numba passes each array as its fields:
    meminfo and parent, which arrays share with their views, then data, shape, strides)."""
    for argument in function.args:
        pointee = getattr(argument.type, "pointee", None)  # None where pointers are opaque: nothing marked
        if isinstance(pointee, (ir.FloatType, ir.DoubleType)):
            argument.add_attribute("noalias")


def _loops_without_interleaving(module, function):
    """``llvm.loop.interleave.count`` 1 on every loop: on each branch back to an earlier block
    (Numba lays out a loop's blocks in order, its header first)."""
    position = {block.name: k for k, block in enumerate(function.blocks)}
    option = module.add_metadata([ir.MetaDataString(module, "llvm.loop.interleave.count"), ir.IntType(32)(1)])
    for k, block in enumerate(function.blocks):
        branch = block.terminator
        targets = [op for op in getattr(branch, "operands", ()) if isinstance(op, ir.Block)]
        if any(position[target.name] <= k for target in targets):
            # Loop metadata is a node whose first operand is itself, one node per loop.
            loop = module.add_metadata([ir.MetaDataString(module, f"{function.name} loop {k}"), option])
            loop.operands = (loop, option)
            branch.set_metadata("llvm.loop", loop)


def _install_marking():
    """Have every minirnn function Numba lowers from now on marked (see the module docstring).

    Returns False (and changes nothing) where jitting is off or this Numba
    lacks the hook: the kernels then get LLVM's own choices.
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
        _mark_functions(module)
        lower_rest(self, module, library)

    post_lowering._minirnn = True
    cpu.CPUContext.post_lowering = post_lowering
    return True


MARKED = _install_marking()  # minirnn's functions are marked as the module docstring says
WIDE_VECTORS = AVX512 and MARKED  # minirnn's kernels are compiled for 512-bit vectors
