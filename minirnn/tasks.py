"""Synthetic long-range memory tasks: the benchmarks of the vanishing/exploding-gradient papers.

Each generator draws fresh, seeded data (``seed`` -> ``numpy.random.default_rng``) and
returns NumPy arrays, float64 unless ``dtype`` says otherwise (integer labels stay int64).
Each has a *no-memory baseline*: the best loss a model reaches without remembering the signal
that lies far back, which every report should print beside the model's (:func:`baseline`).

- :func:`adding_problem`: two marked values to add, far apart (regression).
- :func:`copy_task`: a short sequence to reproduce after a long delay (classification per step).
- :func:`temporal_order`: the order of two (or three) relevant symbols among distractors
  (classification).
- :func:`first_input`: remember the first value (what ``minirnn probe`` measures with).
"""
import numpy as np

from . import checks


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (list, tuple)):
        checks.check_seed(seed)
    return np.random.default_rng(seed)


def _check_counts(**counts):
    for name, (value, minimum) in counts.items():
        checks.check_int(name, value, minimum)


def _dtype(dtype):
    """The data's dtype: float32 or float64 (an integer dtype would round every value away)."""
    checked = checks.check_dtype(dtype)
    if checked is None:
        raise TypeError("dtype must be 'float32' or 'float64', got None")
    return checked


def adding_problem(n, length, variant="arjovsky", seed=None, dtype=np.float64):
    """The adding problem: X (n, length, 2) = [value, marker]; y (n, 1) from the two marked values.

    ``variant="arjovsky"`` (Arjovsky, Shah & Bengio 2016; Le, Jaitly & Hinton 2015): values
    U[0, 1], one marker uniformly in each half of the sequence, y = the sum of the two marked
    values. Predicting the mean, 1, always gives MSE Var(X1 + X2) = 2/12 = 1/6.

    ``variant="hochreiter"`` (Hochreiter & Schmidhuber 1997, experiment 4): values U[-1, 1], the
    first marker in the first ten steps, the second elsewhere in the first half, y = 0.5 +
    (X1 + X2) / 4. Predicting 0.5 gives MSE 2 (1/3) / 16 = 1/24; the paper counts a sequence
    solved when |error| < 0.04. (The paper also marks the first and last steps with -1 when they
    are not chosen; here the marker channel is 1 at the two chosen steps and 0 elsewhere.)

    ``variant="signed"`` (the set-up of many NumPy reproductions, and of minirnn's speed record in
    ``benchmarks/bench_adding.py``): values U[-1, 1], one marker uniformly in each half, y = the
    sum of the two marked values. Predicting 0 gives MSE 2 (1/3) = 2/3.
    """
    _check_counts(n=(n, 1), length=(length, 12 if variant == "hochreiter" else 2))
    dtype = _dtype(dtype)
    if variant not in ADDING_BASELINES:
        raise ValueError(f"variant must be 'arjovsky', 'hochreiter' or 'signed', got {variant!r}")
    rng = _rng(seed)
    rows = np.arange(n)
    if variant in ("arjovsky", "signed"):
        values = rng.uniform(0 if variant == "arjovsky" else -1, 1, size=(n, length))
        first = rng.integers(0, length // 2, size=n)
        second = rng.integers(length // 2, length, size=n)
        target = values[rows, first] + values[rows, second]
    elif variant == "hochreiter":
        values = rng.uniform(-1, 1, size=(n, length))
        first = rng.integers(0, 10, size=n)
        # the second: uniform over the rest of the first half, never on the first
        second = rng.integers(0, length // 2 - 1, size=n)
        second += second >= first
        target = 0.5 + (values[rows, first] + values[rows, second]) / 4
    X = np.zeros((n, length, 2), dtype=dtype)  # filled in place: this runs once per batch of a long run
    X[:, :, 0] = values
    X[rows, first, 1] = 1
    X[rows, second, 1] = 1
    return X, target[:, None].astype(dtype)


def copy_task(n, delay, n_symbols=10, n_categories=8, seed=None, dtype=np.float64):
    """The copy task (Arjovsky, Shah & Bengio 2016): remember ``n_symbols`` symbols over ``delay`` steps.

    Input, one-hot over n_categories + 2 codes (0 blank, 1..n_categories the symbols,
    n_categories + 1 the delimiter), length delay + 2 n_symbols: the symbols, delay - 1 blanks,
    the delimiter, n_symbols blanks. Target, integer labels (n, delay + 2 n_symbols) over
    n_categories + 1 classes (0 blank, 1..n_categories): blanks, then the symbols again in the
    last n_symbols steps.

    No memory: blank with certainty where it is due, uniform guesses for the symbols:
    cross-entropy n_symbols log(n_categories) / (delay + 2 n_symbols) per step.
    """
    _check_counts(n=(n, 1), delay=(delay, 1), n_symbols=(n_symbols, 1), n_categories=(n_categories, 2))
    dtype = _dtype(dtype)
    rng = _rng(seed)
    length = delay + 2 * n_symbols
    symbols = rng.integers(1, n_categories + 1, size=(n, n_symbols))
    codes = np.zeros((n, length), dtype=np.int64)
    codes[:, :n_symbols] = symbols
    codes[:, n_symbols + delay - 1] = n_categories + 1  # the delimiter: recall now
    X = np.eye(n_categories + 2, dtype=dtype)[codes]
    y = np.zeros((n, length), dtype=np.int64)
    y[:, -n_symbols:] = symbols
    return X, y


TEMPORAL_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "E", "B")  # distractors, the two relevant, start, end


def temporal_order(n, length, n_bits=2, seed=None, dtype=np.float64):
    """The temporal order problem (Hochreiter & Schmidhuber 1997, experiments 6a and 6b).

    Sequences of distractors a, b, c, d between a start symbol E and an end symbol B; ``n_bits``
    relevant symbols, each X or Y, at random steps in windows spread over the sequence (for
    length 100: 10-20 and 50-60; with three, 10-20, 33-43 and 66-76, as the paper's). The class
    is their order read as a binary number (X = 0, Y = 1): 2^n_bits classes. Input one-hot over
    the eight symbols of TEMPORAL_SYMBOLS; labels (n,) int64.

    No memory: chance, cross-entropy log(2^n_bits) and accuracy 2^-n_bits.
    """
    _check_counts(n=(n, 1), length=(length, 20), n_bits=(n_bits, 1))
    dtype = _dtype(dtype)
    windows = temporal_order_windows(length, n_bits)
    rng = _rng(seed)
    codes = rng.integers(0, 4, size=(n, length))
    codes[:, 0], codes[:, -1] = 6, 7
    bits = rng.integers(0, 2, size=(n, n_bits))
    for k, (lo, hi) in enumerate(windows):
        positions = rng.integers(lo, hi, size=n)
        codes[np.arange(n), positions] = 4 + bits[:, k]
    labels = (bits * (2 ** np.arange(n_bits - 1, -1, -1))).sum(axis=1)
    return np.eye(len(TEMPORAL_SYMBOLS), dtype=dtype)[codes], labels.astype(np.int64)


def temporal_order_windows(length, n_bits):
    """The steps [lo, hi) where each relevant symbol of :func:`temporal_order` may fall: windows
    of length // 10 steps starting at fractions 0.1 and 0.5 of the sequence (three: 0.1, 0.33,
    0.66; more: spread over 0.1 .. 0.7). They must not overlap one another, nor the start and end
    symbols, or two relevant symbols could land on one step and the label would disagree with
    the sequence: a ValueError saying how many fit."""
    windows = _windows(length, n_bits)
    if windows is None:
        most = max((k for k in range(1, n_bits) if _windows(length, k) is not None), default=0)
        raise ValueError(f"temporal_order: {n_bits} relevant symbols do not fit apart in sequences of length "
                         f"{length} (their windows of {max(1, length // 10)} steps would overlap); at this length "
                         f"at most {most}, or make the sequences longer")
    return windows


def _windows(length, n_bits):
    """The windows of :func:`temporal_order_windows`, or None where they do not fit apart."""
    starts = {2: (0.1, 0.5), 3: (0.1, 0.33, 0.66)}.get(n_bits) or tuple(np.linspace(0.1, 0.7, n_bits))
    width = max(1, length // 10)
    windows = [(max(1, int(start * length)), min(int(start * length) + width, length - 1)) for start in starts]
    fits = all(lo < hi for lo, hi in windows) and all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))
    return windows if fits else None


def first_input(n, length, seed=0, dtype=np.float64):
    """x (n, length, 1) uniform in [-1, 1]; y (n,) = x[:, 0, 0], the value to remember.
    No memory: predicting 0 gives MSE Var(U[-1, 1]) = 1/3."""
    _check_counts(n=(n, 1), length=(length, 1))
    x = _rng(seed).uniform(-1, 1, size=(n, length, 1)).astype(_dtype(dtype))
    return x, x[:, 0, 0].copy()


ADDING_BASELINES = {"arjovsky": 1 / 6, "hochreiter": 1 / 24, "signed": 2 / 3}
BASELINE_SETTINGS = {"adding": ("variant",), "copy": ("delay", "n_symbols", "n_categories"),
                     "temporal_order": ("n_bits",), "first_input": ()}


def baseline(task, **settings):
    """The no-memory loss of ``task`` ("adding", "copy", "temporal_order", "first_input") with the
    generator's settings that matter (adding: variant; copy: delay, n_symbols, n_categories;
    temporal_order: n_bits): MSE for the regression tasks, cross-entropy (nats) for the others.
    A setting the task does not have is a TypeError naming it; a value out of range a ValueError."""
    if task not in BASELINE_SETTINGS:
        raise ValueError(f"task must be one of {', '.join(map(repr, BASELINE_SETTINGS))}, got {task!r}")
    unknown = sorted(set(settings) - set(BASELINE_SETTINGS[task]))
    if unknown:
        takes = ", ".join(BASELINE_SETTINGS[task]) or "none"
        raise TypeError(f"baseline({task!r}) has no setting {', '.join(map(repr, unknown))}; it takes {takes}")
    if task == "adding":
        variant = settings.get("variant", "arjovsky")
        if variant not in ADDING_BASELINES:
            raise ValueError(f"variant must be one of {', '.join(map(repr, ADDING_BASELINES))}, got {variant!r}")
        return ADDING_BASELINES[variant]
    if task == "copy":
        if "delay" not in settings:
            raise TypeError("baseline('copy') needs delay=, the copy task's delay (it sets the sequence length)")
        delay, n_symbols, n_categories = settings["delay"], settings.get("n_symbols", 10), settings.get("n_categories", 8)
        _check_counts(delay=(delay, 1), n_symbols=(n_symbols, 1), n_categories=(n_categories, 2))
        return n_symbols * np.log(n_categories) / (delay + 2 * n_symbols)
    if task == "temporal_order":
        n_bits = settings.get("n_bits", 2)
        _check_counts(n_bits=(n_bits, 1))
        return float(np.log(2 ** n_bits))
    return 1 / 3
