"""The three recurrent cells, one file each: :mod:`.rnn`, :mod:`.lstm`, :mod:`.gru`.

Each module has the equations in its docstring and, under them, the same
equations as code: ``step_forward``/``step_backward`` for one time step, the
jitted ``forward_sequence``/``backward_sequence`` loops that call them, and
batch-major ``forward``/``backward`` entry points.
"""
from . import gru, lstm, rnn

__all__ = ["rnn", "lstm", "gru"]
