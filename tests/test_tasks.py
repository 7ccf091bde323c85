"""minirnn/tasks.py: each generator's structure and statistics, and its no-memory baseline measured."""
import numpy as np
import pytest

from minirnn import tasks


def test_adding_problem_arjovsky():
    X, y = tasks.adding_problem(50_000, 40, seed=0)
    assert X.shape == (50_000, 40, 2) and y.shape == (50_000, 1) and X.dtype == y.dtype == np.float64
    markers = X[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :20].sum(axis=1) == 1).all() and (markers[:, 20:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * markers).sum(axis=1), rtol=1e-14)
    assert 0 <= X[..., 0].min() and X[..., 0].max() <= 1
    assert np.mean((y - 1) ** 2) == pytest.approx(tasks.baseline("adding"), abs=0.003)  # predicting 1: 1/6
    assert tasks.adding_problem(3, 10, seed=5)[0].tobytes() == tasks.adding_problem(3, 10, seed=5)[0].tobytes()


def test_adding_problem_signed():
    X, y = tasks.adding_problem(50_000, 30, variant="signed", seed=3)
    markers = X[..., 1]
    assert (markers[:, :15].sum(axis=1) == 1).all() and (markers[:, 15:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (X[..., 0] * markers).sum(axis=1), rtol=1e-14)
    assert -1 <= X[..., 0].min() < -0.99 and 0.99 < X[..., 0].max() <= 1
    assert np.mean(y ** 2) == pytest.approx(tasks.baseline("adding", variant="signed"), abs=0.01)  # predicting 0


def test_adding_problem_hochreiter():
    X, y = tasks.adding_problem(50_000, 100, variant="hochreiter", seed=1, dtype=np.float32)
    assert X.dtype == y.dtype == np.float32
    markers = X[..., 1]
    first = markers.argmax(axis=1)
    second = 99 - markers[:, ::-1].argmax(axis=1)
    assert (markers.sum(axis=1) == 2).all() and (first < 10).all() and (second < 50).all()
    np.testing.assert_allclose(y[:, 0], 0.5 + (X[..., 0] * markers).sum(axis=1) / 4, atol=1e-6)
    assert np.mean((y - 0.5) ** 2) == pytest.approx(tasks.baseline("adding", variant="hochreiter"), abs=0.001)
    with pytest.raises(ValueError, match="variant"):
        tasks.adding_problem(2, 20, variant="le")


def test_copy_task_layout_and_its_memoryless_baseline():
    delay, n_symbols, n_categories = 30, 5, 4
    X, y = tasks.copy_task(20_000, delay, n_symbols, n_categories, seed=2)
    length = delay + 2 * n_symbols
    assert X.shape == (20_000, length, n_categories + 2) and y.shape == (20_000, length) and y.dtype == np.int64
    codes = X.argmax(axis=2)
    assert (X.sum(axis=2) == 1).all()  # one-hot
    assert (codes[:, n_symbols + delay - 1] == n_categories + 1).all()  # the delimiter, once
    assert ((codes == n_categories + 1).sum(axis=1) == 1).all()
    np.testing.assert_array_equal(y[:, -n_symbols:], codes[:, :n_symbols])  # recall what was shown
    assert (y[:, :-n_symbols] == 0).all() and (codes[:, n_symbols:n_symbols + delay - 1] == 0).all()
    # the best memoryless predictor guesses each step's label distribution: its cross-entropy is
    # the mean over steps of that distribution's entropy
    entropy = 0.0
    for t in range(length):
        p = np.bincount(y[:, t], minlength=n_categories + 1) / len(y)
        entropy -= np.sum(p[p > 0] * np.log(p[p > 0]))
    assert entropy / length == pytest.approx(tasks.baseline("copy", delay=delay, n_symbols=n_symbols,
                                                            n_categories=n_categories), rel=0.01)


@pytest.mark.parametrize("n_bits", [2, 3])
def test_temporal_order(n_bits):
    n, length = 40_000, 100
    X, labels = tasks.temporal_order(n, length, n_bits, seed=3)
    assert X.shape == (n, length, 8) and labels.shape == (n,) and (X.sum(axis=2) == 1).all()
    codes = X.argmax(axis=2)
    assert (codes[:, 0] == 6).all() and (codes[:, -1] == 7).all()  # E ... B
    relevant = codes >= 4
    relevant[:, 0] = relevant[:, -1] = False
    assert (relevant.sum(axis=1) == n_bits).all()
    rows, steps = np.nonzero(relevant)
    bits = (codes[rows, steps] - 4).reshape(n, n_bits)  # in order of position: X = 0, Y = 1
    np.testing.assert_array_equal(labels, bits @ (2 ** np.arange(n_bits - 1, -1, -1)))
    first_window = steps.reshape(n, n_bits)[:, 0]
    assert first_window.min() >= 10 and first_window.max() < 20
    counts = np.bincount(labels, minlength=2 ** n_bits) / n
    np.testing.assert_allclose(counts, 2.0 ** -n_bits, atol=0.01)  # balanced: chance is 2^-n_bits
    assert tasks.baseline("temporal_order", n_bits=n_bits) == pytest.approx(np.log(2 ** n_bits))


def test_first_input_and_bad_arguments():
    x, y = tasks.first_input(20_000, 7, seed=4)
    np.testing.assert_array_equal(y, x[:, 0, 0])
    assert np.mean(y ** 2) == pytest.approx(tasks.baseline("first_input"), abs=0.01)
    for call in (lambda: tasks.adding_problem(0, 10), lambda: tasks.copy_task(5, 0),
                 lambda: tasks.temporal_order(5, 10), lambda: tasks.first_input(5, 2.5)):
        with pytest.raises(ValueError, match="must be an int"):
            call()
    with pytest.raises(ValueError, match="task must be"):
        tasks.baseline("parity")


def test_temporal_order_with_more_symbols_than_fit_is_refused():
    with pytest.raises(ValueError, match="30 relevant symbols do not fit apart in sequences of length 20.*at most"):
        tasks.temporal_order(4, 20, n_bits=30)
    assert tasks.temporal_order_windows(100, 3) == [(10, 20), (33, 43), (66, 76)]


@pytest.mark.parametrize("length, n_bits", [(20, 2), (40, 3), (100, 5), (200, 7)])
def test_temporal_order_labels_agree_with_their_sequences(length, n_bits):
    """Read the relevant symbols back from the one-hot input, in order: their bits are the label."""
    x, labels = tasks.temporal_order(64, length, n_bits=n_bits, seed=1)
    codes = x.argmax(axis=-1)
    for row, label in zip(codes, labels):
        relevant = row[(row == 4) | (row == 5)]
        assert len(relevant) == n_bits
        assert int("".join(str(code - 4) for code in relevant), 2) == label


@pytest.mark.parametrize("call, error, message", [
    (lambda: tasks.adding_problem(4, 10, dtype=int), TypeError, "dtype must be 'float32' or 'float64'"),
    (lambda: tasks.copy_task(4, 10, dtype="int32"), TypeError, "dtype must be"),
    (lambda: tasks.first_input(4, 10, dtype=None), TypeError, "dtype must be"),
    (lambda: tasks.adding_problem(4, 10, variant="Arjovsky"), ValueError, "variant must be"),
    (lambda: tasks.adding_problem(4, 10, seed=-1), TypeError, "seed must be None or an int >= 0"),
    (lambda: tasks.baseline("copy", dealy=100), TypeError, "has no setting 'dealy'; it takes delay"),
    (lambda: tasks.baseline("copy"), TypeError, "needs delay="),
    (lambda: tasks.baseline("adding", varient="signed"), TypeError, "has no setting 'varient'"),
    (lambda: tasks.baseline("adding", variant="sined"), ValueError, "variant must be one of"),
    (lambda: tasks.baseline("temporal_order", n_bits=0), ValueError, "n_bits must be an int >= 1"),
    (lambda: tasks.baseline("first_input", length=5), TypeError, "it takes none"),
    (lambda: tasks.baseline("adding_problem"), ValueError, "task must be one of"),
])
def test_task_settings_are_checked(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_baselines_answer_for_the_settings_given():
    assert tasks.baseline("adding", variant="signed") == 2 / 3
    assert tasks.baseline("copy", delay=100, n_symbols=5, n_categories=4) == pytest.approx(5 * np.log(4) / 110)
    assert tasks.baseline("temporal_order", n_bits=3) == pytest.approx(np.log(8))
