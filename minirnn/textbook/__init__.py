"""The textbook: every cell in plain NumPy, one file each, read like the book.

:mod:`.rnn` (SimpleRNN: tanh, relu, leaky_relu, linear), :mod:`.lstm` (with peepholes),
:mod:`.gru` (both reset placements), :mod:`.lnlstm` (layer-normalised LSTM), :mod:`.indrnn`.
Each file opens with its equations, forward and backward, and the code under them uses the same
symbols, one line per equation: ``step_forward`` returns the new state and what backward needs,
``step_backward`` consumes it, and ``forward``/``backward`` run them over a sequence with a
Python loop, recurrent dropout and sequence masks included. Nothing but NumPy is imported.

These files are the specification: the finite-difference checks run on them, and the jitted
engine (:mod:`minirnn.cells`) is tested equal to them, option by option
(``tests/test_textbook.py``). ``minirnn.use("textbook")`` runs every layer on them, so that a
breakpoint in ``step_backward`` stops inside a model's training.

The contract, the same for the engine's cells (so that a layer calls either one way):

``forward(x, weights, states=None, recurrent_mask=None, sequence_mask=None, **options)``
    x (B, T, I); weights: a dict by Keras' names (``kernel``, ``recurrent_kernel``, ``bias``, and
    the options' own, such as ``input_gate_peephole_weights``); states: a list with one (B, H)
    array (or None for zeros) per name in ``STATES``; recurrent_mask (B, H) or None;
    sequence_mask (B, T) bools, False at padding, or None; options: the names in ``OPTIONS``.
    Returns ``(h_seq, cache)``: every h_t, (B, T, H), and what backward reads.
``backward(cache, dh_seq=None, dstates=None, input_grad=True, record_state_grads=False)``
    dh_seq (B, T, H) the loss gradient at every h_t, or None; dstates: one gradient (or None) per
    state at the last step. Returns a dict: every weight's gradient by its name, ``x`` (or None
    without ``input_grad``), each initial state's (``h0``, ``c0``), and with
    ``record_state_grads`` the total dL/dh_t (``dh``) and dL/dc_t (``dc``) at every step, (B, T, H).
``final_states(cache)``
    the states after the last step, a list in ``STATES``' order.
``step_jacobians(cache, sample=0)``
    (T, S, S): d(states_t) / d(states_{t-1}) of one sequence, S the states' total width, from the
    cell's own step_backward.
"""
from . import gru, indrnn, lnlstm, lstm, rnn

CELLS = {"rnn": rnn, "lstm": lstm, "lnlstm": lnlstm, "gru": gru, "indrnn": indrnn}

__all__ = ["rnn", "lstm", "lnlstm", "gru", "indrnn", "CELLS"]
