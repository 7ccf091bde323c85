"""minirnn/textbook: the specification, right on its own, and the engine its proven twin.

One table of cases (CASES: every cell and variant x sequence mask x recurrent dropout x initial
states x input width x dtype) drives both checks:

- the engine (minirnn.cells) equals the textbook on every case: the outputs, the final states,
  every weight's gradient, the input's and the initial states', the recorded dL/dh_t (and
  dL/dc_t), and the step Jacobians: to 1e-12 of each array's scale in float64, to float32's
  rounding (2e-5) in float32;
- the textbook's gradients equal central finite differences, in float64 (FD_CASES: every
  variant with everything off, and with a mask, dropout and initial states all on).
"""
import itertools

import numpy as np
import pytest

import minirnn as mr
from minirnn import cells, textbook
from minirnn.gradcheck import check_function

from conftest import VARIANTS, make_layer, mixed_mask

B, T, H = 6, 7, 3
CASES = list(itertools.product(sorted(v for v in VARIANTS if "go_backwards" not in v),
                               ["no mask", "mask"], ["no dropout", "dropout"], ["zero states", "states"], [3, 6],
                               ["float64", "float32"]))
TOL = {"float64": 1e-12, "float32": 2e-5}


def setting(variant, masked, dropout, states, input_dim, dtype, rng):
    """The cell's name and options, its weights (random, non-zero biases), and the arguments."""
    layer = make_layer(variant, H, input_dim, rng, dtype=np.float64)
    name, options = layer.CELL, {key: getattr(layer, key) for key in textbook.CELLS[layer.CELL].OPTIONS}
    cast = (lambda a: a.astype(dtype)) if dtype == "float32" else (lambda a: a)
    weights = {key: cast(w) for key, w in layer.params.items()}
    x = cast(rng.normal(size=(B, T, input_dim)))
    n_states = len(textbook.CELLS[name].STATES)
    initial = [cast(rng.normal(size=(B, H))) for _ in range(n_states)] if states == "states" else None
    mask = mixed_mask(T) if masked == "mask" else None
    keep = cast((rng.random((B, H)) > 0.3) / 0.7) if dropout == "dropout" else None
    return name, options, weights, x, initial, keep, mask


def run(package, name, options, weights, x, initial, keep, mask, G, G_states):
    cell = package.CELLS[name]
    h_seq, cache = cell.forward(x, weights, initial, keep, mask, **options)
    grads = cell.backward(cache, G, G_states, input_grad=True, record_state_grads=True)
    jacobians = [cell.step_jacobians(cache, sample) for sample in range(B)] if keep is None else None
    return np.array(h_seq), cell.final_states(cache), grads, jacobians


def assert_equal_to_scale(engine, book, tol, what):
    scale = max(float(np.abs(book).max()), 1e-30)
    assert np.abs(np.asarray(engine) - book).max() <= tol * scale, f"{what}: {np.abs(engine - book).max() / scale:.2e}"


@pytest.mark.parametrize("variant, masked, dropout, states, input_dim, dtype", CASES)
def test_the_engine_equals_the_textbook(variant, masked, dropout, states, input_dim, dtype, rng):
    args = setting(variant, masked, dropout, states, input_dim, dtype, rng)
    G = rng.normal(size=(B, T, H)).astype(dtype)
    G_states = [rng.normal(size=(B, H)).astype(dtype) for _ in textbook.CELLS[args[0]].STATES]
    engine, book = run(cells, *args, G, G_states), run(textbook, *args, G, G_states)
    tol = TOL[dtype]
    assert_equal_to_scale(engine[0], book[0], tol, "h_seq")
    assert engine[0].dtype == book[0].dtype == np.dtype(dtype)
    for k, (a, b) in enumerate(zip(engine[1], book[1])):
        assert_equal_to_scale(a, b, tol, f"final state {k}")
    assert set(engine[2]) == set(book[2])
    for key in book[2]:
        assert engine[2][key].dtype == np.dtype(dtype), key
        assert_equal_to_scale(engine[2][key], book[2][key], tol, key)
    if engine[3] is not None:
        for sample, (a, b) in enumerate(zip(engine[3], book[3])):
            assert_equal_to_scale(a, b, tol, f"step Jacobians of sequence {sample}")


FD_CASES = [(variant, on) for variant in sorted(v for v in VARIANTS if "go_backwards" not in v) for on in (False, True)]


@pytest.mark.parametrize("variant, everything_on", FD_CASES)
def test_the_textbook_gradients_equal_finite_differences(variant, everything_on, rng):
    """The loss sum(h_seq * G) + sum(final states * G_states); every weight (biases non-zero), the
    input and the initial states perturbed, through the textbook alone."""
    on = (lambda yes, no: yes) if everything_on else (lambda yes, no: no)
    name, options, weights, x, initial, keep, mask = setting(
        variant, on("mask", "no mask"), on("dropout", "no dropout"), on("states", "zero states"), 3, "float64", rng)
    cell = textbook.CELLS[name]
    x, mask, keep = x[:4, :5].copy(), None if mask is None else mask[:4, :5], None if keep is None else keep[:4]
    initial = None if initial is None else [s[:4].copy() for s in initial]
    G, G_states = rng.normal(size=(4, 5, H)), [rng.normal(size=(4, H)) for _ in cell.STATES]
    arrays = {**weights, "x": x, **({f"{s}0": v for s, v in zip(cell.STATES, initial)} if initial else {})}

    def fn(a):
        states = [a[f"{s}0"] for s in cell.STATES] if initial else None
        h_seq, cache = cell.forward(a["x"], {k: a[k] for k in weights}, states, keep, mask, **options)
        loss = float((h_seq * G).sum() + sum((s * g).sum() for s, g in zip(cell.final_states(cache), G_states)))
        return loss, cell.backward(cache, G, G_states)

    errors = check_function(fn, arrays)
    assert max(errors.values()) < 1e-8, errors


def test_the_readme_model_trains_to_the_same_weights_on_either_twin(rng, monkeypatch):
    """The README's Keras snippet, float64, three epochs on a little data: once on the engine, once on
    the textbook, from the same seed; and the textbook's LSTM step is where training goes (a
    breakpoint there would stop it)."""
    x, y = rng.normal(size=(48, 60, 1)), rng.normal(size=48)

    def train():
        model = mr.Sequential([mr.Input(shape=(60, 1)), mr.layers.LSTM(50, return_sequences=True),
                               mr.layers.Dropout(0.2), mr.layers.LSTM(50), mr.layers.Dropout(0.2),
                               mr.layers.Dense(1)], seed=0)
        model.compile(optimizer="rmsprop", loss="mean_squared_error", metrics=["mae"])
        history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                            callbacks=[mr.callbacks.EarlyStopping(patience=5, restore_best_weights=True)])
        return model.get_weights(), history.history

    engine = train()
    stops = []
    step_backward = textbook.lstm.step_backward
    monkeypatch.setattr(textbook.lstm, "step_backward", lambda *a: stops.append(1) or step_backward(*a))
    with mr.use("textbook"):
        assert mr.backends.active() == "textbook"
        book = train()
    assert mr.backends.active() == "engine"
    assert len(stops) == 3 * 3 * 2 * 60  # epochs x batches (36 training samples by 16) x layers x steps
    for a, b in zip(engine[0], book[0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(engine[1]["loss"], book[1]["loss"], rtol=1e-10)


def test_the_textbook_runs_whole_on_this_thread_and_use_checks_its_name(monkeypatch):
    layer = mr.layers.SimpleRNN(4)
    x = np.random.default_rng(0).normal(size=(512, 30, 8))  # big enough for the engine to split it
    with mr.use("textbook"):
        layer.forward(x)
        assert len(layer.last_caches) == 1 and layer.cell is textbook.rnn
    assert layer.cell is cells.rnn
    with pytest.raises(ValueError, match="backend must be one of 'engine', 'textbook', got 'numpy'"):
        mr.use("numpy")
    assert mr.backends.active() == "engine"
