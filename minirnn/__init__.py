"""minirnn: recurrent networks from scratch, readable and fast.

- :mod:`minirnn.textbook`: every cell in plain NumPy, one file each, the equations line by line
- :mod:`minirnn.cells`: the engine, the textbook's jitted twin (tested equal on every option);
  :func:`minirnn.use` ("textbook" or "engine") chooses which one the layers run
- :mod:`minirnn.layers`: Keras-style SimpleRNN, LSTM, GRU, Dense, Dropout, Masking, Bidirectional, and IndRNN
- :class:`minirnn.Sequential`: compile / fit / evaluate / predict / summary
- :mod:`minirnn.optim` (also as Keras' :mod:`minirnn.optimizers`), :mod:`minirnn.losses`,
  :mod:`minirnn.metrics`, :mod:`minirnn.callbacks`
- :mod:`minirnn.interop`: weights to and from PyTorch and Keras
- :func:`minirnn.gradcheck`: finite-difference checks of any layer or function
- :func:`minirnn.set_num_threads`: how many cores a recurrent layer may use (:mod:`minirnn.threads`);
  :func:`minirnn.set_flush_denormal`: subnormal numbers flushed to zero (off by default)
- :mod:`minirnn.tasks`: the long-range memory tasks and their baselines (imported on its own)
- :mod:`minirnn.sweep`: many seeds and settings on all cores or a Dask cluster (imported on its own)
- :mod:`minirnn.apps`: the applications built on all that, apart from it: the ``minirnn`` command,
  the stock-price tutorials, the long-range runs, the probes and their figures
"""
from . import backends, callbacks, cells, interop, layers, losses, metrics, optim, optimizers, saving, textbook, threads
from .backends import use
from .gradcheck import gradcheck
from .layers import Input
from .model import NonFiniteLossError, Sequential, load_model
from ._process import get_flush_denormal, set_flush_denormal
from .threads import get_num_threads, set_num_threads

saving.load_model = load_model  # deprecated: its old home, kept working (saving itself does not know the model)

__version__ = "0.1.0"
__all__ = ["cells", "textbook", "use", "backends", "layers", "Input", "optim", "optimizers", "losses", "metrics", "callbacks", "interop",
           "Sequential", "NonFiniteLossError", "load_model", "gradcheck", "threads", "get_num_threads",
           "set_num_threads", "set_flush_denormal", "get_flush_denormal"]
