"""The recurrent cells, one file each: :mod:`.rnn`, :mod:`.lstm` (and :mod:`.lnlstm`, its
layer-normalised variant), :mod:`.gru`, :mod:`.indrnn`.

Each module has the equations in its docstring and, under them, the same
equations as code: ``step_forward``/``step_backward`` for one time step, the
jitted ``forward_sequence``/``backward_sequence`` loops that call them, and
batch-major ``forward``/``backward`` entry points.
"""
import numba

from . import gru, indrnn, lnlstm, lstm, rnn

__all__ = ["rnn", "lstm", "lnlstm", "gru", "indrnn", "compiled"]


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

