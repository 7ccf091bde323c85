"""Mutation testing: plant plausible one-line bugs, one at a time, and check that the tests catch each.

    python tools/mutate.py                 # every mutant, two at a time; a table at the end
    python tools/mutate.py --list          # what the mutants are
    python tools/mutate.py --only lstm-dc-record,huber-delta --jobs 1

Each mutant is a (file, text, replacement) edit of the package. For each, the repository is
copied to a temporary folder, the edit applied there, and the README's test command
(``python -m pytest -q``, with ``-x`` to stop at the first failure) run in the copy with
PyTorch and Keras hidden: finite differences and hand-computed values must catch every bug, the
reference frameworks are a second line. First the unmutated copy must pass (the baseline);
then a mutant is *killed* when a test fails, *survived* when the suite passes. The Numba cache
of the copied sources comes along, so a mutant outside ``minirnn/cells`` runs on compiled
kernels; one inside recompiles them (the cache is keyed on the cells' sources).

Why not mutmut or cosmic-ray: they mutate every operator they find (thousands of mutants, most
of them in error messages) and run the suite in the checkout itself, where Numba's on-disk
cache would have to be invalidated by hand for every mutant of a jitted file. A short list of
bugs a person could write, in a copy each, is the test we want here.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (name, file, text, replacement, what the bug is). The text must occur exactly once in the file.
MUTANTS = [
    # cells
    ("rnn-tanh-derivative", "minirnn/cells/rnn.py", "(one - h_t[b, j] * h_t[b, j])", "(one - h_t[b, j])",
     "SimpleRNN: tanh' written as 1 - h instead of 1 - h^2"),
    ("rnn-leaky-slope", "minirnn/cells/rnn.py", "dh[b, j] if h_t[b, j] > zero else alpha * dh[b, j]",
     "dh[b, j] if h_t[b, j] > zero else dh[b, j]", "SimpleRNN: leaky_relu's negative slope dropped backward"),
    ("rnn-dWh-shift", "minirnn/cells/rnn.py", "_hoisted.masked_states(h[:-1], cache.mask)",
     "_hoisted.masked_states(h[1:], cache.mask)", "SimpleRNN: dW_h from h_t instead of h_{t-1}"),
    ("lstm-forget-cprev", "minirnn/cells/lstm.py", "dz_f[j] = dc_j * c_p[j] * f[j] * (one - f[j])",
     "dz_f[j] = dc_j * f[j] * (one - f[j])", "LSTM: forget-gate gradient without c_{t-1}"),
    ("lstm-dc-carry", "minirnn/cells/lstm.py", "dc_b[j] = dc_j * f[j]  # dc_{t-1}, without peepholes",
     "dc_b[j] = dc_j  # dc_{t-1}, without peepholes", "LSTM: dc_{t-1} not multiplied by f"),
    ("lstm-dc-record", "minirnn/cells/lstm.py", "_bptt.record(t, dc_total, dc_record)", "_bptt.record(t, dc, dc_record)",
     "LSTM: recorded dL/dc_t taken from the carried part only"),
    ("lstm-peephole-f", "minirnn/cells/lstm.py", "(dz_f * c[:-1]).sum(axis=(0, 1))", "(dz_f * c[1:]).sum(axis=(0, 1))",
     "LSTM: forget peephole gradient against c_t instead of c_{t-1}"),
    ("lstm-output-peephole-back", "minirnn/cells/lstm.py",
     "dc_b[j] += dh_b[j] * tanh_c[j] * o[j] * (one - o[j]) * p_o[j]",
     "dc_b[j] += dh_b[j] * tanh_c[j] * (one - o[j]) * p_o[j]",
     "LSTM: the output peephole's path into dc_t without o (its sigmoid's derivative halved)"),
    ("lstm-peephole-pass-skipped", "minirnn/cells/lstm.py",
     "    if with_peepholes:  # the output gate looks at c_t", "    if False:  # the output gate looks at c_t",
     "LSTM: the forward pass forgets the output gate's peephole"),
    ("gru-after-reset", "minirnn/cells/gru.py", "da_r[j] = da_h[j] * u_h[j] * r[j] * (one - r[j])",
     "da_r[j] = da_h[j] * r[j] * (one - r[j])", "GRU reset_after: reset-gate gradient without u_h = h W_hh + b_hh"),
    ("gru-after-dr", "minirnn/cells/gru.py", "dr_h[j] = da_h[j] * r[j]", "dr_h[j] = da_h[j]",
     "GRU reset_after: candidate's recurrent gradient not gated by r"),
    ("gru-before-z", "minirnn/cells/gru.py",
     "            da_z[j] = dh_b[j] * (h_p[j] - hh[j]) * z[j] * (one - z[j])\n            da_hb[j]",
     "            da_z[j] = dh_b[j] * (hh[j] - h_p[j]) * z[j] * (one - z[j])\n            da_hb[j]",
     "GRU reset_before: update-gate gradient with the sign of (h_prev - hh) flipped"),
    ("lstm-forget-not-squashed", "minirnn/cells/lstm.py", "for j in range(2 * H):  # i and f side by side",
     "for j in range(H):  # i and f side by side", "LSTM: the forget gate left without its sigmoid"),
    ("gru-reset-not-squashed", "minirnn/cells/gru.py",
     "        for j in range(2 * H):  # z and r side by side: one loop\n            zr[j] = sigmoid(zr[j] + hw_zr[j] + b_zr",
     "        for j in range(H):  # z and r side by side: one loop\n            zr[j] = sigmoid(zr[j] + hw_zr[j] + b_zr",
     "GRU reset_after: the reset gate left without its sigmoid (and its recurrent term)"),
    ("common-small-projection-bias", "minirnn/cells/_hoisted.py", "            row[g] = bias[g]\n        for i in range(I):",
     "            row[g] = 0\n        for i in range(I):", "few input features: the input projection without the bias"),
    ("common-packed-dx-last-step", "minirnn/cells/_hoisted.py",
     "    for t in range(dz.shape[0]):\n        _gemm.matmul(dz[t], kernel_T_packed, dx[t]",
     "    for t in range(dz.shape[0] - 1):\n        _gemm.matmul(dz[t], kernel_T_packed, dx[t]",
     "many input features: dX of the last step never computed"),
    ("jit-step-noalias-dropped", "minirnn/_jit.py", 'argument.add_attribute("noalias")', "pass",
     "step functions: the distinct-arrays promise no longer reaches LLVM"),
    ("jit-step-interleave-dropped", "minirnn/_jit.py", 'branch.set_metadata("llvm.loop", loop)', "pass",
     "step functions: their loops interleaved again"),
    ("checks-nan-only", "minirnn/checks.py", "count += flat[i] - flat[i] != 0", "count += flat[i] != flat[i]",
     "the finiteness check lets +-inf through"),
    ("lnlstm-mean-term", "minirnn/cells/lnlstm.py",
     "dv[row, j] = scale[row] * (dy[row, j] * gamma[j] - mean_u - v_hat[row, j] * mean_u_hat)",
     "dv[row, j] = scale[row] * (dy[row, j] * gamma[j] - v_hat[row, j] * mean_u_hat)",
     "layer-normalised LSTM: LN's backward without the mean's term"),
    ("lnlstm-cell-norm-skipped", "minirnn/cells/lnlstm.py",
     "    normalise_rows(c_t, gammas[2], betas[2], c_hat, c_scale, k_t)  # k_t holds LN_c(c_t) for now",
     "    k_t[:] = c_t  # k_t holds LN_c(c_t) for now",
     "layer-normalised LSTM: h_t reads c_t itself, not LN(c_t)"),
    ("stateful-not-carried", "minirnn/layers/recurrent.py", "            initial_state = self.states",
     "            initial_state = None", "stateful layers: each call starts from zeros"),
    ("go-backwards-dx", "minirnn/layers/recurrent.py",
     "return dx[:, ::-1] if self.go_backwards and dx is not None else dx", "return dx",
     "go_backwards: the input gradient left in reading order"),
    ("indrnn-recurrent-back", "minirnn/cells/indrnn.py", "dh_p[j] = dz[j] * u[j]", "dh_p[j] = dz[j]",
     "IndRNN: dh_{t-1} without the recurrent weight u"),
    ("indrnn-du-shift", "minirnn/cells/indrnn.py", "(dz * _hoisted.masked_states(h[:-1], cache.mask))",
     "(dz * _hoisted.masked_states(h[1:], cache.mask))", "IndRNN: du from h_t instead of h_{t-1}"),
    ("indrnn-clip-ignored", "minirnn/layers/recurrent.py", "        if self.recurrent_clip is not None:\n            np.clip",
     "        if False:\n            np.clip", "IndRNN: recurrent_clip never applied"),
    ("sweep-resume-failed", "minirnn/sweep.py", 'if text.at[k, "status"] == "ok":', "if True:",
     "sweep: a rerun skips failed points too, so they are never retried"),
    ("sweep-retry-none", "minirnn/sweep.py", "if attempt < retries:", "if attempt < 0:",
     "sweep: a task whose worker died is never run again"),
    ("dm-sign", "minirnn/data.py", "d = (y_pred - y_true) ** 2 - (y_baseline - y_true) ** 2",
     "d = (y_baseline - y_true) ** 2 - (y_pred - y_true) ** 2", "Diebold-Mariano: the loss difference reversed"),
    ("gemm-accumulate", "minirnn/cells/_gemm.py", "                        c_row[j] += acc[j]",
     "                        c_row[j] = acc[j]", "packed kernel: 'accumulate' overwrites (AVX-512 hosts only)"),
    ("gemm-last-row", "minirnn/cells/_gemm.py", "rows = min(4, M - m)", "rows = min(4, M - m - 1)",
     "packed kernel: the last row of a block of four not stored (AVX-512 hosts only)"),
    ("math-sigmoid", "minirnn/cells/_math.py", "ftype(1.0) / (ftype(1.0) + exp(-x, ftype))",
     "ftype(1.0) / (ftype(1.0) + exp(x, ftype))", "sigmoid(x) computed as sigmoid(-x)"),
    ("math-exp-degree", "minirnn/cells/_math.py", "p = (((p89 * r2 + p67) * r2", "p = (((p67) * r2",
     "float64 exp: the top two terms of its polynomial dropped"),
    ("math-exp-shifter", "minirnn/cells/_math.py", "SHIFTER64, SHIFTER32 = 6755399441055744.0, 12582912.0",
     "SHIFTER64, SHIFTER32 = 4503599627370496.0, 8388608.0", "exp: round(x / ln 2) by adding 2^52 (2^23), no 1.5"),
    # layers
    ("dense-relu-derivative", "minirnn/layers/core.py", "grad_output = grad_output * (y > 0)",
     "grad_output = grad_output",
     "Dense: relu's derivative dropped"),
    ("dense-sigmoid-derivative", "minirnn/layers/core.py", "grad_output = grad_output * y * (1 - y)",
     "grad_output = grad_output * (1 - y)", "Dense: sigmoid' written as 1 - y"),
    ("return-state-sum", "minirnn/layers/recurrent.py", "dh_last = d_output if dh_last is None else d_output + dh_last",
     "dh_last = d_output if dh_last is None else dh_last",
     "return_state without return_sequences: the output's gradient dropped when h_T's is given"),
    ("dropout-backward-mask", "minirnn/layers/core.py",
     "return grad_output if self._mask is None else grad_output * self._mask", "return grad_output",
     "Dropout.backward ignores its mask"),
    ("dropout-scale", "minirnn/layers/core.py", "self._mask = keep.astype(self.dtype) / self.dtype.type(1 - self.rate)",
     "self._mask = keep.astype(self.dtype)", "Dropout: kept units not scaled by 1 / (1 - rate)"),
    ("recurrent-dropout-scale", "minirnn/layers/recurrent.py",
     "return keep.astype(self.dtype) / self.dtype.type(1 - self.recurrent_dropout)", "return keep.astype(self.dtype)",
     "recurrent dropout: kept units not scaled by 1 / (1 - rate)"),
    ("bidirectional-reverse", "minirnn/layers/wrappers.py", "return dx_f + dx_b[:, ::-1] if input_grad else None",
     "return dx_f + dx_b if input_grad else None", "Bidirectional: the backward copy's dx not put back in time order"),
    ("bidirectional-ave", "minirnn/layers/wrappers.py", "g_f = g_b = grad_output / 2", "g_f = g_b = grad_output",
     "Bidirectional 'ave': gradient not halved"),
    ("threads-sum-parts", "minirnn/layers/recurrent.py", "else sum([part[name] for part in parts[1:]], parts[0][name])",
     "else parts[0][name]", "batch split across threads: only the first part's weight gradient kept"),
    # losses and metrics
    ("huber-delta", "minirnn/losses.py", "grad = np.where(small, error, delta * np.sign(error))",
     "grad = np.where(small, error, np.sign(error))", "Huber: linear-region gradient without delta"),
    ("mae-mean", "minirnn/losses.py", "np.sign(error) / error.size", "np.sign(error)",
     "MAE: gradient of the sum, not the mean"),
    ("metric-rmse", "minirnn/metrics.py", '"rmse": (_squared_error, np.sqrt)', '"rmse": (_squared_error, float)',
     "rmse metric reported as mse"),
    # optimizers
    ("adam-first-moment", "minirnn/optim.py", "m[k] = beta_1 * m[k] + (1 - beta_1) * g",
     "m[k] = (1 - beta_1) * g", "Adam: first moment not accumulated"),
    ("adam-bias-correction", "minirnn/optim.py", "math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)",
     "math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1)", "Adam: bias correction with beta_1 instead of beta_1^t"),
    ("rmsprop-epsilon", "minirnn/optim.py", "g / np.sqrt(v[k] + epsilon)", "g / (np.sqrt(v[k]) + epsilon)",
     "RMSprop: epsilon outside the square root (PyTorch's, not Keras' rule)"),
    ("nesterov", "minirnn/optim.py", "w[k] += momentum * m[k] - lr * g", "w[k] += m[k] - lr * g",
     "SGD nesterov: the look-ahead without the momentum factor"),
    ("sgd-decay", "minirnn/optim.py", "lr = self.learning_rate / (1.0 + self.decay * self.iterations)",
     "lr = self.learning_rate", "SGD: decay ignored"),
    ("adagrad-initial", "minirnn/optim.py", 'self.slot(state, "accumulator", param, self.initial_accumulator_value)',
     'self.slot(state, "accumulator", param)', "Adagrad: initial accumulator value ignored"),
    ("clipvalue", "minirnn/optim.py", "np.clip(g, -self.clipvalue, self.clipvalue)", "np.clip(g, 0, self.clipvalue)",
     "clipvalue: negative gradients clipped to zero"),
    ("clipnorm-factor-dropped", "minirnn/optim.py", "self.update(param, grads[key], scales[key],",
     "self.update(param, grads[key], 1.0,", "clipnorm/global_clipnorm: the clipping factor never applied"),
    ("norm-overflow", "minirnn/optim.py", "    if math.isfinite(total):\n        return math.sqrt(total)",
     "    if True:\n        return math.sqrt(total)", "clipnorm: a gradient whose squares overflow clipped to zero"),
    # model
    ("validation-split-first", "minirnn/model.py", "x, y, x_val, y_val = x[:split], y[:split], x[split:], y[split:]",
     "x, y, x_val, y_val = x[len(x) - split:], y[len(x) - split:], x[:len(x) - split], y[:len(x) - split]",
     "validation_split holds out the first samples, not the last (Keras: the last)"),
    ("no-shuffle", "minirnn/model.py", "order = rng.permutation(len(x)) if shuffle else np.arange(len(x))",
     "order = np.arange(len(x))", "fit: shuffle=True does not shuffle"),
    ("evaluate-weighting", "minirnn/model.py",
     "            total, weight = total + value * self._loss_weight(pred), weight + self._loss_weight(pred)\n"
     "            running.add",
     "            total, weight = total + value * batch_size, weight + batch_size\n            running.add",
     "evaluate: a short last batch weighted as a full one"),
    ("early-stopping-restore", "minirnn/callbacks.py", "self.model.set_weights(self.best_weights)", "pass",
     "EarlyStopping: best weights not restored"),
    # gradient norms past 1e154 (exploding gradients), where a sum of squares overflows
    ("tracker-norm-overflow", "minirnn/callbacks.py", "optim.global_norm(layer.grads.values())",
     "float(np.sqrt(sum(np.sum(g * g) for g in layer.grads.values())))",
     "GradientNormTracker: a layer's norm as the root of a sum of squares (inf past 1e154)"),
    ("state-norm-overflow", "minirnn/diagnostics.py", "optim.norm(values, axis=2)",
     "np.linalg.norm(values, axis=2)", "gradient_norms: ||dL/dh_t|| through squares (inf past 1e154)"),
    ("param-norm-overflow", "minirnn/diagnostics.py", '"norm": optim.norm(g)}',
     '"norm": float(np.linalg.norm(g))}', "gradient_norms: parameter norms through squares (inf past 1e154)"),
    ("frobenius-overflow", "minirnn/diagnostics.py", "optim.norm(s)", "float(np.sqrt(np.sum(s * s)))",
     "jacobian_products: the Frobenius norm through squares (inf past 1e154)"),
    # data
    ("windows-offset", "minirnn/data.py", "y = values[look_back + horizon - 1:look_back + horizon - 1 + n]",
     "y = values[look_back + horizon - 2:look_back + horizon - 2 + n]", "sliding_windows: target one step early"),
    ("scaler-inverse", "minirnn/data.py", "return self._restore(values, table / self.scale_ + self.offset_)",
     "return self._restore(values, table * self.scale_ + self.offset_)", "scalers: inverse multiplies"),
    ("naive-first-day", "minirnn/data.py", "np.concatenate([train[-1:], test[:-1]])",
     "np.concatenate([test[:1], test[:-1]])", "naive baseline: the first test day predicted by itself"),
    ("prices-fill-backward", "minirnn/data.py", "series = series.ffill()", "series = series.bfill()",
     "price gaps filled with the next day's price (a look into the future)"),
    ("decimal-comma", "minirnn/data.py", "raw.where(~raw.str.match(_THOUSANDS),", "raw.where(~raw.str.contains(','),",
     "price files: any comma read as a thousands separator ('1,5' -> 15)"),
    # classification, tasks, schedules (issue 14)
    ("softmax-backward", "minirnn/layers/core.py",
     "grad_output = y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))", "grad_output = y * grad_output",
     "Dense softmax: the Jacobian's off-diagonal part dropped"),
    ("crossentropy-normalisation", "minirnn/losses.py",
     "grad = ((targets * inside).sum(axis=1, keepdims=True) - weights) / (total * n)", "grad = -weights / (total * n)",
     "categorical cross-entropy: the gradient of dividing by the sum forgotten"),
    ("bce-logits-sign", "minirnn/losses.py", "(1 / (1 + np.exp(-y_pred)) - y) / n",
     "(1 / (1 + np.exp(y_pred)) - y) / n",
     "binary cross-entropy from logits: sigmoid(-z) for sigmoid(z)"),
    ("accuracy-argmin", "minirnn/metrics.py", "hits = y_pred.argmax(axis=-1) == y_true\n",
     "hits = y_pred.argmin(axis=-1) == y_true\n", "accuracy: the least likely class counted"),
    ("chrono-input-sign", "minirnn/initializers.py", "input_bias[H:2 * H], input_bias[:H] = keep, -keep",
     "input_bias[H:2 * H], input_bias[:H] = keep, keep", "Chrono: the LSTM input bias not the forget bias' negative"),
    ("generator-same-batches", "minirnn/model.py", "(checked(epoch * steps + k) for k in range(steps))",
     "(checked(k) for k in range(steps))", "fit on a batch function: every epoch draws the first epoch's batches"),
    ("hochreiter-target", "minirnn/tasks.py", "target = 0.5 + (values[rows, first] + values[rows, second]) / 4",
     "target = 0.5 + (values[rows, first] + values[rows, second]) / 2",
     "adding problem (Hochreiter): target scaled by 1/2"),
    ("copy-delimiter", "minirnn/tasks.py", "codes[:, n_symbols + delay - 1] = n_categories + 1",
     "codes[:, n_symbols + delay] = n_categories + 1", "copy task: the delimiter one step late"),
    ("lr-scheduler", "minirnn/callbacks.py", "self.model.optimizer.learning_rate = float(rate)", "pass",
     "LearningRateScheduler: the new rate never set"),
    # masking
    ("mask-c-not-carried", "minirnn/cells/lstm.py", "        _bptt.carry(t, valid, c[t], c[t + 1])\n",
     "", "LSTM: a masked step carries h through but not c"),
    ("mask-gradient-not-held", "minirnn/cells/gru.py",
     "        _bptt.arrive(t, dh, dh_seq, dh_record, valid, dh_held)\n        step_backward_reset_after",
     "        _bptt.arrive(t, dh, dh_seq, dh_record, valid[:0], dh_held)\n        step_backward_reset_after",
     "GRU: a masked step's backward runs on the arriving gradient"),
    ("mask-held-not-zeroed", "minirnn/cells/_bptt.py", "                grad[b, j] = zero", "                pass",
     "masked steps: the gradient held aside is also left in the step's input"),
    ("mask-not-reversed", "minirnn/layers/recurrent.py",
     "x, mask = x[:, ::-1], None if mask is None else mask[:, ::-1]", "x = x[:, ::-1]",
     "go_backwards: the sequence reversed but not its mask"),
    ("mask-bidirectional-outputs", "minirnn/layers/wrappers.py",
     "out_f, out_b = out_f * self._zeroed, out_b * self._zeroed", "pass",
     "Bidirectional: masked steps output the carried states, not zeros"),
    ("mask-outputs-before-start", "minirnn/layers/recurrent.py",
     "h_seq = np.where(self._not_started[..., None], 0, h_seq)", "pass",
     "masked steps before the first real one output the initial state, not zeros"),
    ("mask-loss", "minirnn/model.py", "if mask is not None and pred.ndim == 3:", "if False:",
     "the loss averages over masked steps too"),
    ("mask-metrics", "minirnn/model.py", "    return pred[mask], y[mask]", "    return pred, y",
     "the metrics count masked steps too"),
    ("masking-all-features", "minirnn/layers/core.py", "steps = np.any(x != self.mask_value, axis=-1)",
     "steps = np.all(x != self.mask_value, axis=-1)", "Masking: a step masked when any feature is the mask value"),
    # saving
    ("saving-iterations", "minirnn/saving.py", 'optimizer.iterations = spec["iterations"]', "optimizer.iterations = 0",
     "load_model: the optimizer's step count not restored"),
    ("saving-dtype", "minirnn/model.py", 'seed=config["seed"], dtype=config["dtype"], name=config["name"])',
     'seed=config["seed"], name=config["name"])', "load_model: a float32 model comes back float64"),
    # failure paths (issue 27): nothing a run writes is lost
    ("claim-overwrites", "minirnn/outputs.py", "    if existing and not overwrite:", "    if False:",
     "a run replaces an earlier run's files without being asked"),
    ("sweep-torn-row-kept", "minirnn/sweep.py", "        if not torn or len(records) == 1:\n            return",
     "        if True:\n            return", "sweep results: a torn last row is left in the file"),
    ("sweep-none-key", "minirnn/sweep.py", '    if value is None:\n        return ""', '    if value is None:\n        return "None"',
     "sweep resume: a grid value None never matches its row, so it runs again every time"),
    ("sweep-text-results", "minirnn/sweep.py", "        if not_numbers:", "        if False:",
     "sweep: a function returning text or lists recorded as ok"),
    ("sweep-out-unchecked", "minirnn/sweep.py", "        outputs.check_folder(folder)\n", "",
     "sweep: an unwritable out found only at the first row, after the work"),
    ("saving-loss-class", "minirnn/saving.py", "loss = losses.serialize(model.loss) if compiled else None",
     "loss = losses.serialize(model.loss) if compiled and not isinstance(model.loss, losses.Loss) else None",
     "a model compiled with a loss class saved as if its loss were custom"),
    ("saving-metrics", "minirnn/saving.py", '"metrics": [m.name for m in model.metrics if m.builtin],', '"metrics": [],',
     "compiled metrics not saved"),
    ("bidirectional-config-copy", "minirnn/layers/wrappers.py", "self.backward_layer = copy.deepcopy(layer)",
     "self.backward_layer = type(layer)(**{k: v for k, v in layer.get_config().items() "
     "if k != 'name' and not k.endswith('_initializer')})",
     "Bidirectional: the backward copy forgets the initialisers"),
    # padding is never an error
    ("masked-loss-per-sample", "minirnn/model.py", "            return int(self.output_mask.sum())",
     "            return len(pred)", "masked loss: batches weighted by samples, so evaluate depends on batch_size"),
    ("divergence-zero-reference", "minirnn/model.py",
     '        if not watch["first_loss"]:  # the reference: the first batch with a loss above 0 (all padding has 0)\n'
     '            watch["first_loss"] = loss if loss > 0 else None',
     '        if watch["first_loss"] is None:\n            watch["first_loss"] = loss',
     "divergence watch: a first batch of padding (loss 0) makes every later loss a divergence"),
    ("metrics-no-positions", "minirnn/metrics.py", " if c else 0.0", "", "metrics over padding alone divide by zero"),
    # checks of settings and data
    ("stateful-validation-late", "minirnn/model.py",
     '            self._check_stateful_batches(len(x_val), batch_size, False, "validation_data")', "            pass",
     "stateful fit: validation of another size found only after an epoch of training"),
    ("binary-targets-unchecked", "minirnn/losses.py", '    _check_probabilities("targets", y, 0, 1, "binary_crossentropy")\n',
     "", "binary_crossentropy trains on targets outside [0, 1]"),
    ("binary-probabilities-unchecked", "minirnn/losses.py",
     '    _check_probabilities(_PROBABILITIES, y_pred, 0, 1, "binary_crossentropy")\n', "",
     "binary_crossentropy: outputs outside [0, 1] reported as divergence, not as what they are"),
    ("accuracy-logits-threshold", "minirnn/metrics.py", "            total = _correct_from_logits", "            pass",
     "accuracy with a from-logits loss thresholds the scores at 0.5"),
    ("orthogonal-vector", "minirnn/initializers.py", '    _matrix("orthogonal", shape)\n', "",
     "orthogonal for a vector: Python's unpacking error instead of one naming the argument"),
    ("callback-class-uncalled", "minirnn/model.py", "        if isinstance(callback, type):", "        if False:",
     "callbacks given as classes are not made: AttributeError on None"),
    ("gradcheck-stateful", "minirnn/gradcheck.py",
     "            layer.states = None if carried is None else [s.copy() for s in carried]", "            pass",
     "gradcheck on a stateful layer: each evaluation starts where the last ended"),
    ("gradcheck-directions", "minirnn/gradcheck.py", "or directions < 1:", "or directions < 0:",
     "gradcheck: directions=0 scores a perfect 0.0"),
    ("gradcheck-eps-zero", "minirnn/gradcheck.py", "np.isfinite(eps) and eps > 0)", "np.isfinite(eps) and eps >= 0)",
     "gradcheck: eps=0 divides by zero"),
    ("gradcheck-shape", "minirnn/gradcheck.py", "        if g.shape != a.shape:", "        if False:",
     "gradcheck: a gradient of the wrong shape gives a number"),
    ("dm-constant-difference", "minirnn/data.py",
     "        return (0.0, 1.0) if d[0] == 0 else (float(np.copysign(np.inf, d[0])), 0.0)", "        return (0.0, 1.0)",
     "Diebold-Mariano: a forecast worse by the same amount every day reported as no difference"),
    ("dm-baseline-name", "minirnn/data.py", '_, y_baseline = series(y_true, y_baseline, ("y_true", "y_baseline"))',
     "_, y_baseline = series(y_true, y_baseline)", "Diebold-Mariano: a short y_baseline blamed on y_pred"),
    ("adding-int-dtype", "minirnn/tasks.py", "    dtype = _dtype(dtype)\n    if variant not in", "    if variant not in",
     "adding_problem(dtype=int) truncates every value to 0"),
    ("temporal-order-overlap", "minirnn/tasks.py", "all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))", "True",
     "temporal_order: symbols whose windows overlap make labels that disagree with their sequences"),
    ("baseline-misspelt", "minirnn/tasks.py", "    if unknown:\n", "    if False:\n",
     "tasks.baseline answers for the default when a setting is misspelt"),
    ("schedule-numpy-rate", "minirnn/callbacks.py", "        number = isinstance(rate, numbers.Real) or",
     "        number = type(rate) in (int, float) or", "a schedule returning np.int64(1) refused"),
    ("masked-array-layer", "minirnn/checks.py", "    if type(a) is not np.ndarray and isinstance(a, np.ma.MaskedArray):\n        raise",
     "    if False:\n        raise",
     "layers take masked arrays and use their hidden entries"),
    ("overflow-blames-weights", "minirnn/layers/core.py", "            if largest_input > max(1e4, largest_weight):",
     "            if False:", "extreme input that overflows a layer blamed on its weights"),
    ("cli-seed-unchecked", "minirnn/apps/cli.py", 'parser.add_argument("--seed", type=count(0)',
     'parser.add_argument("--seed", type=int', "the CLI takes --seed -1 and fails late"),
    # the textbook (the specification: its finite-difference checks must catch these) and the engine's
    # equality to it (bugs the engine's own gradient checks cannot see)
    ("textbook-lstm-forget-cprev", "minirnn/textbook/lstm.py", "    dz_f = dc * c_prev * f * (1 - f)",
     "    dz_f = dc * f * (1 - f)", "textbook LSTM: the forget gate's gradient without c_{t-1}"),
    ("textbook-gru-reset-before", "minirnn/textbook/gru.py", "        da_r = dq * m * h_prev * r * (1 - r)",
     "        da_r = dq * h_prev * r * (1 - r)", "textbook GRU reset_before: the reset gate's gradient without the dropout mask"),
    ("textbook-rnn-masked-pass", "minirnn/textbook/rnn.py", "        dh = np.where(real, dh_prev, dh)  # a masked step passes it on",
     "        dh = dh_prev", "textbook SimpleRNN: a masked step passes zeros back instead of dh"),
    ("textbook-lnlstm-ln-backward", "minirnn/textbook/lnlstm.py",
     "    dv = s * (u - u.mean(axis=-1, keepdims=True) - v_hat * (u * v_hat).mean(axis=-1, keepdims=True))",
     "    dv = s * (u - u.mean(axis=-1, keepdims=True))", "textbook layer norm: the variance's path dropped backward"),
    ("textbook-indrnn-dropout", "minirnn/textbook/indrnn.py", '    dh_prev = dz_t * weights["recurrent_kernel"] * m',
     '    dh_prev = dz_t * weights["recurrent_kernel"]', "textbook IndRNN: dh_{t-1} without the dropout mask"),
    ("textbook-lstm-dc-record", "minirnn/textbook/lstm.py", 'record["dc"][:, t] = dh, np.where(real, dc_t, dc)',
     'record["dc"][:, t] = dh, dc', "textbook LSTM: the recorded dL/dc_t without the path through h_t"),
    ("engine-record-before-output", "minirnn/cells/_bptt.py",
     "    if present(dh_seq):\n        dh += dh_seq[t]\n    record(t, dh, dh_record)",
     "    record(t, dh, dh_record)\n    if present(dh_seq):\n        dh += dh_seq[t]",
     "engine: dL/dh_t recorded before the output's gradient at t joins it"),
    ("engine-gru-dropout-in-carry", "minirnn/cells/gru.py",
     "        step_forward_reset_after(gates[t], h[t], h_in, recurrent_kernel_packed",
     "        step_forward_reset_after(gates[t], h_in, h_in, recurrent_kernel_packed",
     "engine GRU: z * h_{t-1} takes the dropped-out state (Keras keeps the true one)"),
    # the compiled-kernel cache
    ("cache-data-reraises", "minirnn/_cache.py", "            _damaged(path, error)\n            return None\n        if stamp",
     "            raise\n        if stamp", "kernel cache: an unreadable data file raises (Numba's behaviour)"),
    ("cache-index-reraises", "minirnn/_cache.py",
     "            _damaged(self._index_path, error)\n            return {}\n        if not",
     "            raise\n        if not", "kernel cache: an unreadable index file raises"),
    ("cache-no-checksum", "minirnn/_cache.py", "if hashlib.sha256(payload).digest() != digest:", "if False:",
     "kernel cache: data files loaded without checking their checksum"),
    ("cache-no-key-check", "minirnn/_cache.py", "if stamp != self._source_stamp or stored_key != key:",
     "if stamp != self._source_stamp:", "kernel cache: a data file holding another kernel's entry is loaded as this one"),
    ("cache-write-raises", "minirnn/_cache.py", "        except OSError as error:\n            _unwritable(",
     "        except ImportError as error:\n            _unwritable(", "kernel cache: a folder that cannot be written fails the run"),
    ("cache-warns-always", "minirnn/_cache.py", "    if kind in _said:\n        return\n", "",
     "kernel cache: a warning for every damaged entry, not one per process"),
]

BLOCKED = ("torch", "keras")  # hidden from the mutants' test runs
DATA = Path(os.environ.get("MINIRNN_DATA", ROOT.parent / "shared" / "data")).resolve()  # as tests/conftest.py


def apply(root, mutant):
    name, file, text, replacement, _ = mutant
    path = root / file
    source = path.read_text()
    if source.count(text) != 1:
        raise SystemExit(f"mutant {name}: the text occurs {source.count(text)} times in {file}, not once")
    path.write_text(source.replace(text, replacement))


def copy_repository(destination):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for file in files:
        if (ROOT / file).is_file():
            (destination / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / file, destination / file)
    cache = ROOT / "minirnn" / "cells" / "__pycache__"
    if cache.exists():
        shutil.copytree(cache, destination / "minirnn" / "cells" / "__pycache__", dirs_exist_ok=True)


def blocker(folder):
    """A folder whose torch and keras packages fail to import, for the front of PYTHONPATH."""
    for module in BLOCKED:
        package = folder / module
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(  # what "not installed" raises, which pytest.importorskip skips on
            f'raise ModuleNotFoundError("No module named {module!r} (hidden from mutation runs)", name={module!r})\n')
    return folder


BASELINE = ("baseline", None, None, None, "no mutation: the suite must pass here, or no kill means anything")


def run(mutant, timeout):
    name = mutant[0]
    with tempfile.TemporaryDirectory(prefix=f"minirnn-mutant-{name}-") as tmp:
        root = Path(tmp) / "repo"
        copy_repository(root)
        if mutant is not BASELINE:
            apply(root, mutant)
        # the README's command as a user runs it: the environment as it is, minus the frameworks
        env = dict(os.environ, PYTHONPATH=f"{blocker(Path(tmp) / 'blocked')}{os.pathsep}{root}", MINIRNN_DATA=str(DATA),
                   PYTHONDONTWRITEBYTECODE="1")
        check = subprocess.run([sys.executable, "-c", "import minirnn; print(minirnn.__file__)"], cwd=root, env=env,
                               capture_output=True, text=True)
        if not check.stdout.startswith(str(root)):
            raise SystemExit(f"mutant {name}: the copy's minirnn is not the one imported "
                             f"({check.stdout or check.stderr})")
        start = time.perf_counter()
        try:
            command = [sys.executable, "-m", "pytest", "-q", "-x", "-rfE", "-p", "no:cacheprovider"]
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return name, "timeout", time.perf_counter() - start, ""
        seconds = time.perf_counter() - start
        failed = re.search(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.M)
        if os.environ.get("MUTATE_DEBUG"):
            print(done.returncode, done.stdout[-3000:])
        if done.returncode == 0:
            return name, "survived", seconds, ""
        if done.returncode == 1 and failed:
            return name, "killed", seconds, failed.group(1)
        return name, "error", seconds, (done.stdout + done.stderr)[-400:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--only", help="comma-separated mutant names")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutant's test run (default 900)")
    args = parser.parse_args()
    mutants = MUTANTS
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - {m[0] for m in MUTANTS})
        if unknown:
            parser.error(f"unknown mutants {unknown}; see --list")
        mutants = [m for m in MUTANTS if m[0] in wanted]
    if args.list:
        for name, file, _, _, what in mutants:
            print(f"{name:28} {file:28} {what}")
        return 0
    for mutant in mutants:  # every edit must apply before anything runs
        if (ROOT / mutant[1]).read_text().count(mutant[2]) != 1:
            apply(ROOT, mutant)  # raises with the reason
    print(f"{len(mutants)} mutants, {args.jobs} at a time, torch and keras hidden", flush=True)
    _, status, seconds, detail = run(BASELINE, args.timeout)
    print(f"{'baseline':28} {'passed' if status == 'survived' else status:9} {seconds:6.0f} s  {detail}", flush=True)
    if status != "survived":
        print("the unmutated suite does not pass in a copy with torch and keras hidden: fix that first")
        return 2
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for name, status, seconds, detail in pool.map(lambda m: run(m, args.timeout), mutants):
            results[name] = status
            print(f"{name:28} {status:9} {seconds:6.0f} s  {detail}", flush=True)
    counts = {status: list(results.values()).count(status) for status in ("killed", "survived", "timeout", "error")}
    print(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    return 0 if counts["killed"] == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
