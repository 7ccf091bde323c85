"""minirnn/threads.py: a batch split across threads gives the unsplit results, and pools do not multiply."""
import multiprocessing
import threading

import numpy as np
import pytest
import threadpoolctl

from minirnn import gradcheck, threads
from minirnn.cells import _bptt, _gemm, _hoisted, _layout, gru, lstm, rnn

from conftest import VARIANTS, make_layer, random_states


@pytest.fixture
def split_everything(monkeypatch):
    """Split any batch, however small, into as many parts as it has rows (up to three)."""
    monkeypatch.setattr(threads, "MIN_STEP_WORK_PER_THREAD", 1)
    monkeypatch.setattr(threads, "MIN_WORK_PER_THREAD", 1)
    monkeypatch.setattr(threads, "MIN_ROWS_PER_THREAD", 1)
    threads.set_num_threads(3)
    yield
    threads.set_num_threads(None)


@pytest.fixture(autouse=True)
def default_thread_count():
    yield
    threads.set_num_threads(None)


def run(layer, x, states, grad_seed, training):
    """Forward with everything returned, backward with a random gradient on every output."""
    layer.rng = np.random.default_rng(7)  # the same recurrent-dropout mask on every run
    outputs = layer.forward(x, training=training, initial_state=states)
    grad_rng = np.random.default_rng(grad_seed)
    dx = layer.backward([grad_rng.normal(size=o.shape) for o in outputs])
    return outputs, dx, dict(layer.grads), layer.grad_initial_state, dict(layer.state_grads)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("return_sequences", [False, True])
def test_split_batch_equals_whole_batch(variant, return_sequences, monkeypatch, rng):
    layer = make_layer(variant, units=5, input_dim=6, rng=rng, return_sequences=return_sequences,
                       return_state=True, recurrent_dropout=0.3)
    layer.record_state_grads = True
    x = rng.normal(size=(7, 4, 6))
    states = random_states(layer, 7, rng)
    whole = run(layer, x, states, 1, training=True)
    assert len(layer._chunks) == 1
    monkeypatch.setattr(threads, "MIN_STEP_WORK_PER_THREAD", 1)
    monkeypatch.setattr(threads, "MIN_WORK_PER_THREAD", 1)
    monkeypatch.setattr(threads, "MIN_ROWS_PER_THREAD", 1)
    threads.set_num_threads(3)
    split = run(layer, x, states, 1, training=True)
    assert [(c.start, c.stop) for c in layer._chunks] == [(0, 2), (2, 4), (4, 7)]
    (out_w, dx_w, grads_w, dstate_w, record_w), (out_s, dx_s, grads_s, dstate_s, record_s) = whole, split
    for a, b in zip(out_w + [dx_w] + dstate_w, out_s + [dx_s] + dstate_s):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    assert grads_s.keys() == grads_w.keys() and record_s.keys() == record_w.keys()
    for name in grads_w:  # sums of the parts' gradients: equal up to the order of additions
        np.testing.assert_allclose(grads_s[name], grads_w[name], rtol=1e-12, atol=1e-13)
    for name in record_w:
        np.testing.assert_allclose(record_s[name], record_w[name], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("variant", ["lstm-peephole", "gru-reset_before", "rnn-tanh"])
def test_split_batch_gradients_match_finite_differences(variant, split_everything, rng):
    layer = make_layer(variant, units=3, input_dim=2, rng=rng, return_sequences=True)
    x = rng.normal(size=(3, 4, 2))
    errors = gradcheck(layer, x, initial_state=random_states(layer, 3, rng))
    assert len(layer._chunks) == 3
    assert max(errors.values()) <= 1e-6, errors


def test_an_error_in_any_part_reaches_the_caller(split_everything, rng):
    layer = make_layer("lstm", units=3, input_dim=2, rng=rng)
    x = rng.normal(size=(3, 4, 2))
    x[2, 1, 0] = np.nan                              # in the last part, run by a pool thread
    before = blas_threads()
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        layer.forward(x)
    assert blas_threads() == before                  # the BLAS limit was lifted
    x[2, 1, 0] = 0.0
    assert layer.forward(x).shape == (3, 3)          # the pool still works


def test_chunks_cover_the_batch_in_order_and_only_when_worth_it():
    threads.set_num_threads(2)
    step = 2 * threads.MIN_STEP_WORK_PER_THREAD          # enough per step for two threads ...
    T = -(-2 * threads.MIN_WORK_PER_THREAD // step)       # ... and over T steps
    assert threads.batch_chunks(64, T, step, np.float64) == [slice(0, 32), slice(32, 64)]
    assert threads.batch_chunks(65, T, step, np.float64) == [slice(0, 32), slice(32, 65)]
    assert threads.batch_chunks(64, T, step - 1, np.float64) == [slice(0, 64)]           # too little per step
    assert threads.batch_chunks(64, T - 1, step, np.float64) == [slice(0, 64)]           # too little in all
    assert threads.batch_chunks(64, T, step, np.float32) == [slice(0, 64)]               # float32: half as much
    assert threads.batch_chunks(64, 2 * T, 2 * step, np.float32) == [slice(0, 32), slice(32, 64)]
    few = 2 * threads.MIN_ROWS_PER_THREAD - 1
    assert threads.batch_chunks(few, 10**6, 10**9, np.float64) == [slice(0, few)]        # too few rows
    threads.set_num_threads(1)
    assert threads.batch_chunks(64, 10**6, 10**9, np.float64) == [slice(0, 64)]


def test_thread_count_precedence_and_errors(monkeypatch):
    monkeypatch.setenv("MINIRNN_NUM_THREADS", "3")
    assert threads.get_num_threads() == 3
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1            # the call wins over the environment
    threads.set_num_threads(None)
    monkeypatch.delenv("MINIRNN_NUM_THREADS")
    assert threads.get_num_threads() >= 1
    for bad in ["0", "two", "-1"]:
        monkeypatch.setenv("MINIRNN_NUM_THREADS", bad)
        with pytest.raises(ValueError, match="MINIRNN_NUM_THREADS must be a positive integer"):
            threads.get_num_threads()
    for bad in [0, 1.5, True, "2"]:
        with pytest.raises(ValueError, match="n must be a positive int or None"):
            threads.set_num_threads(bad)


def blas_threads():
    return {lib["filepath"]: lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"}


def test_blas_holds_to_one_thread_only_while_parts_run(split_everything):
    with threadpoolctl.threadpool_limits(2, user_api="blas"):  # as on any machine with two cores or more
        before = blas_threads()
        if set(before.values()) == {1}:  # OPENBLAS_NUM_THREADS=1 at start-up caps OpenBLAS's pool for good
            pytest.skip("BLAS is capped at one thread in this process: nothing to hold down")
        assert before and set(before.values()) == {2}
        together = threading.Barrier(3, timeout=10)  # each part waits for the others: three threads at once

        def part(chunk):
            together.wait()
            return threading.get_ident(), blas_threads()

        inside = threads.map_chunks(part, [0, 1, 2])
        assert len({ident for ident, _ in inside}) == 3       # three threads ran the three parts
        assert all(set(counts.values()) == {1} for _, counts in inside)
        assert blas_threads() == before


def test_every_kernel_releases_the_gil():
    kernels = [getattr(module, name) for module in (rnn, lstm, gru, _bptt, _hoisted, _layout, _gemm) for name in dir(module)
               if hasattr(getattr(module, name), "targetoptions")]
    assert len(kernels) >= 15
    assert all(kernel.targetoptions.get("nogil") for kernel in kernels)


def _split_forward_in_child(queue):
    layer = VARIANTS["lstm"](4, seed=0)
    x = np.random.default_rng(0).normal(size=(6, 3, 2))
    queue.put((layer.forward(x), len(layer._chunks)))


def test_a_forked_child_gets_a_fresh_pool(split_everything, rng):
    layer = VARIANTS["lstm"](4, seed=0)
    x = np.random.default_rng(0).normal(size=(6, 3, 2))
    expected = layer.forward(x)                       # the parent's pool now has threads
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_split_forward_in_child, args=(queue,))
    child.start()
    output, chunks = queue.get(timeout=60)            # hangs (and fails) if the child reused dead threads
    child.join(timeout=60)
    assert chunks == 3
    np.testing.assert_allclose(output, expected, rtol=1e-12)
