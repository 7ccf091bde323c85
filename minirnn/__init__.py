"""minirnn: recurrent networks from scratch, readable and fast.

- :mod:`minirnn.cells`: the math, one file per cell (rnn, lstm, gru)
- :mod:`minirnn.layers`: Keras-style SimpleRNN, LSTM, GRU, Dense
- :func:`minirnn.gradcheck`: finite-difference checks of any layer or function
"""
from . import cells, layers
from .gradcheck import gradcheck

__version__ = "0.1.0"
__all__ = ["cells", "layers", "gradcheck"]
