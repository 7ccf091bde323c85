"""Keras-style layers over the cells: ``SimpleRNN``, ``LSTM``, ``GRU``, ``IndRNN``, ``Dense``, ``Dropout``,
``Masking``, ``Bidirectional``, and ``Input`` to start a ``Sequential`` with.

Every layer speaks one low-level protocol:

``build(input_dim, dtype=None)``
    create the weights (called by the first ``forward`` if you do not).
``forward(x, training=False, mask=None)`` (recurrent layers also ``initial_state=None``)
    ``x`` is batch-major (batch, time, features). Returns the output, or with
    ``return_state=True`` the list ``[output, h_T]`` (``[output, h_T, c_T]`` for LSTM).
    ``mask`` is Keras' sequence mask, (batch, time) bools, False at padding steps.
``compute_mask(x, mask=None)``
    the mask of the output (what ``Sequential`` hands the next layer): ``Masking`` makes
    one, recurrent layers keep it only with ``return_sequences``, the rest pass it on.
``backward(grad_output, input_grad=True)``
    the gradient of the loss w.r.t. the output (a list matching the outputs when
    ``return_state=True``; ``None`` entries mean zero). Fills ``grads`` and
    ``grad_initial_state`` and returns the gradient w.r.t. ``x``; with
    ``input_grad=False`` (the input is data, as for a model's first layer) that
    product is skipped and None returned.
``params`` / ``grads``
    dicts of arrays keyed by Keras names (``kernel``, ``recurrent_kernel``, ``bias``, ...).
``get_weights()`` / ``set_weights(list)``
    copies of the parameters in that order, and back, as in Keras.
``count_params()``
    the number Keras' ``model.summary()`` shows.
``output_shape(input_shape)``, ``get_config()``
    one sample's output shape; the constructor arguments (for saving).

A layer's dtype is float32 or float64. With ``dtype=None`` it takes the dtype of
the first input it sees (NumPy's float64 by default); after that, an input of
the other float type raises ``TypeError`` instead of being cast silently. Layers
are strict on purpose (they are the building blocks); ``Sequential``'s fit,
evaluate and predict cast their data to the model's dtype, as Keras does.

A layer whose output overflows to inf or NaN from a finite input raises
``FloatingPointError`` naming it when its weights are out of scale (training diverged), and
``ValueError`` when its input is (data that needs scaling).

The recurrent layers name their cell module (``layer.cell``: :mod:`minirnn.cells.lstm`, ...)
and hand what their last forward pass computed to whoever wants to look
(``layer.last_caches``, as :mod:`minirnn.diagnostics` does). Their outputs are views of
those caches, as the cells' are: copy one before writing into it.
"""
from .core import Dense, Dropout, Input, Layer, Masking
from .recurrent import GRU, LSTM, IndRNN, Recurrent, SimpleRNN
from .wrappers import Bidirectional

__all__ = ["Layer", "Input", "Dense", "Dropout", "Masking", "Recurrent", "SimpleRNN", "LSTM", "GRU", "IndRNN",
           "Bidirectional"]
