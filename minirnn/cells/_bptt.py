"""The skeleton every engine time loop shares around its cell's step: dropout, masked steps,
the output gradients, records, step Jacobians.

Each cell's loops are its step and these, in this order (the textbook's loops, shaped for LLVM)::

    forward, step t:   h_in = recurrent_input(h[t], mask, ...)      m * h_{t-1} with recurrent dropout
                       step_forward(...)
                       carry(t, valid, h[t], h[t + 1])              a masked step keeps the states
    backward, step t:  arrive(t, dh, dh_seq, dh_record, valid, held)
                       hold(t, valid, dc, dc_held)                  (a second state: the LSTM's c)
                       step_backward(...)
                       leave(t, dh_prev, mask, valid, held)
                       carry(t, valid, dc_held, dc); record(t, dc_total, dc_record)

Masked (padding) steps, Keras' semantics: the step leaves the states as they were. Forward, the
step runs on the whole batch and the previous state is then copied over the new one in the rows
of the masked sequences. Backward, a masked step is the identity: the gradient arriving at its
states is held aside and the step runs on zeros in those rows (so it sends nothing into its
gates, weights and input), then handed on unchanged to the step before. No branch per row inside
the step's own loops, which would stop LLVM vectorising them.
"""
import numpy as np

from .. import checks
from .._jit import jit
from ._layout import absent, copy_into, multiply_into, present, time_major


@jit
def recurrent_input(h_prev, mask, scratch):
    """What multiplies the recurrent kernel: h_prev, or mask * h_prev (written to scratch)."""
    if not present(mask):
        return h_prev
    multiply_into(h_prev, mask, scratch)
    return scratch


@jit
def carry(t, valid, previous, new):
    """new[b] = previous[b] for every sequence b masked at step t (``valid`` (T, B) False there)."""
    if present(valid):
        valid_t = valid[t]
        for b in range(valid_t.shape[0]):
            if not valid_t[b]:
                for j in range(new.shape[1]):
                    new[b, j] = previous[b, j]


@jit
def hold(t, valid, grad, held):
    """Move the rows of the sequences masked at step t from grad into held, leaving zeros in grad."""
    if present(valid):
        valid_t = valid[t]
        zero = grad.dtype.type(0)
        for b in range(valid_t.shape[0]):
            if not valid_t[b]:
                for j in range(grad.shape[1]):
                    held[b, j] = grad[b, j]
                    grad[b, j] = zero


@jit
def record(t, value, records):
    """records[t] = value, when records are kept (``records`` present)."""
    if present(records):
        copy_into(value, records[t])


@jit
def arrive(t, dh, dh_seq, dh_record, valid, dh_held):
    """Arriving at step t on the way back: dh, what step t+1 sent, plus the output's gradient at t
    (``dh_seq`` present) is all of dL/dh_t; recorded; the masked sequences' rows held aside."""
    if present(dh_seq):
        dh += dh_seq[t]
    record(t, dh, dh_record)
    hold(t, valid, dh, dh_held)


@jit
def leave(t, dh_prev, mask, valid, dh_held):
    """Leaving step t for t-1: dh_{t-1} times the recurrent-dropout mask (``mask`` present; a cell
    that applies it inside its step passes it absent), and the masked sequences' rows handed on."""
    if present(mask):
        multiply_into(dh_prev, mask, dh_prev)
    carry(t, valid, dh_held, dh_prev)


def valid_steps(sequence_mask, batch, steps):
    """Keras' sequence mask (B, T), True where a step is data, checked and made time-major:
    ``valid`` (T, B). Absent, (0, B), for None or a mask with no padding (the plain loop runs)."""
    if sequence_mask is None:
        return absent((batch,), np.bool_)
    checks.check_sequence_mask("sequence_mask", sequence_mask, batch, steps)
    if sequence_mask.all():
        return absent((batch,), np.bool_)
    return np.ascontiguousarray(sequence_mask.T)


def dropout_mask(mask, batch, units, dtype):
    """A recurrent-dropout mask (batch, units), checked; absent for None (no dropout)."""
    mask = checks.check_optional("recurrent_mask", mask, batch, units, dtype)
    return absent((units,), dtype) if mask is None else mask


def output_grads(dh_seq, dh_last, h):
    """The loss gradients backward receives, checked: time-major dh_seq (or an absent (0, B, H)
    stand-in: many-to-one training adds no (T, B, H) array of zeros) and dh_last (zeros for None).

    ``h`` is the cached (T+1, B, H) state sequence.
    """
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    dh_last = checks.check_state("dh_last", dh_last, B, H, h.dtype)
    if dh_seq is None:
        return absent((B, H), h.dtype), dh_last
    checks.check_array("dh_seq", dh_seq, 3, h.dtype, (B, T, H))
    return time_major(dh_seq), dh_last


def state_grad_record(h, record_state_grads):
    """Where a backward loop writes dL/dh_t per step: (T, B, H), or absent when not recording."""
    T, B, H = h.shape[0] - 1, h.shape[1], h.shape[2]
    return np.empty((T, B, H), dtype=h.dtype) if record_state_grads else absent((B, H), h.dtype)


def check_no_dropout(cache):
    if present(cache.mask):
        raise ValueError("step Jacobians are of a forward pass without recurrent dropout (training=False)")


def identity_at_masked_steps(jacobians, valid, sample):
    """A masked step's Jacobian is the identity: set it so for sequence ``sample``."""
    if present(valid):
        jacobians[~valid[:, sample]] = np.eye(jacobians.shape[1], dtype=jacobians.dtype)
    return jacobians
