"""Keras' name for :mod:`minirnn.optim`: ``mr.optimizers.Adam(learning_rate=1e-3)`` is ``mr.optim.Adam``."""
from .optim import *  # noqa: F401,F403
from .optim import __all__  # noqa: F401
