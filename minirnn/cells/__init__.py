"""The engine: the jitted twin of every cell of :mod:`minirnn.textbook`, one file each: :mod:`.rnn`,
:mod:`.lstm` (and :mod:`.lnlstm`, its layer-normalised variant), :mod:`.gru`, :mod:`.indrnn`.

Each offers the textbook's contract (``forward``, ``backward``, ``final_states``,
``step_jacobians``, ``STATES``, ``OPTIONS``; see :mod:`minirnn.textbook`) and is tested equal to
its textbook twin on every option. Inside, ``step_forward``/``step_backward`` for one time step
and the jitted ``forward_sequence``/``backward_sequence`` loops that call them, shaped for LLVM;
the shared pieces by concern: ``_layout`` (time-major buffers, optional arrays), ``_hoisted`` (the
products done outside the loop), ``_bptt`` (the skeleton around every step: dropout, masked
steps, records), ``_gemm`` (the in-loop product) and ``_math`` (exp, sigmoid, tanh).
"""
import numba

from .. import _process  # noqa: F401 -- the process tuning, before the first buffers (its docstring)
from . import gru, indrnn, lnlstm, lstm, rnn

CELLS = {"rnn": rnn, "lstm": lstm, "lnlstm": lnlstm, "gru": gru, "indrnn": indrnn}

__all__ = ["rnn", "lstm", "lnlstm", "gru", "indrnn", "CELLS", "compiled"]


def compiled():
    """True when Numba's on-disk cache holds the time loops of the Keras cells (SimpleRNN, LSTM,
    GRU: what the demo and the tutorials run) for the current sources; False when the first use
    will compile them (or when this Numba cannot tell). IndRNN's compile on its first use."""
    if numba.config.DISABLE_JIT:
        return True
    loops = [m.forward_sequence for m in (rnn, lstm)] + [gru.forward_sequence_reset_after]
    try:
        return all(loop._cache._cache_file._load_index() for loop in loops)
    except (AttributeError, OSError, EOFError, ValueError):
        return False

