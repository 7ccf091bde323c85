"""Which twin of the cells the layers run: the engine (:mod:`minirnn.cells`, the default) or the
textbook (:mod:`minirnn.textbook`).

    import minirnn as mr
    mr.use("textbook")            # every layer runs the plain NumPy cells from now on
    with mr.use("textbook"):      # or for a block only
        model.fit(x, y)

Both offer the same functions (the contract in :mod:`minirnn.textbook`'s docstring) and are
tested equal on every option; so a model trains on either to the same weights. The textbook
runs at NumPy's speed, on one thread, and a debugger stops in its ``step_backward``.
"""
from . import cells, textbook

BACKENDS = {"engine": cells.CELLS, "textbook": textbook.CELLS}
_active = ["engine"]


class use:
    """Switch every layer to ``backend`` ("engine" or "textbook") now; as a context manager, back
    to the one before at the end of the block."""

    def __init__(self, backend):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
        self.backend, self.previous = backend, _active[0]
        _active[0] = backend

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        _active[0] = self.previous


def active():
    """The name of the backend the layers run now."""
    return _active[0]


def cell(name):
    """The module of cell ``name`` ("rnn", "lstm", "lnlstm", "gru", "indrnn") in the active backend."""
    return BACKENDS[_active[0]][name]
