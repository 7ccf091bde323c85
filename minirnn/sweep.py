"""Sweeps over seeds and settings, on all cores of this machine or on a Dask cluster.

    from minirnn import sweep
    df = sweep.run("task", {"task": ["adding"], "length": [100, 200], "cell": ["lstm", "gru"],
                            "seed": range(5)}, out="adding.csv")
    sweep.summarize(df, by=["length", "cell"], metric="test_loss")

:func:`run` calls ``fn(**point)`` once per point of a grid, each call a task on Dask
distributed. Without a scheduler it starts a ``LocalCluster`` of one single-threaded worker
process per core; with ``scheduler="tcp://host:8786"`` (or a ``distributed.Client``) the same
call runs on that cluster. Results come back as a DataFrame, one row per point: its
parameters, the numbers ``fn`` returned, and ``seconds``, ``worker``, ``status`` ("ok" or
"failed") and ``error``.

Nothing finished is lost: with ``out="results.csv"`` every row is appended to the file as it
arrives, and a rerun with the same ``out`` computes only the points that have no "ok" row there
yet (a crash, a Ctrl-C of the driver, a failed point). A task that raises is recorded as failed
with its message; a worker that dies (killed, out of memory) has its task started again on
another worker up to ``retries`` times.

Each worker runs one task at a time with Numba, BLAS and minirnn held to one thread, so that n
workers keep n cores busy without oversubscribing them, and compiles (or loads from Numba's
on-disk cache) minirnn's kernels once, when it starts. On a cluster of several machines each
machine needs minirnn installed, and compiles for its own CPU on first use: Numba's cache is
per machine (per CPU), never shared across hosts.

:func:`summarize` and :func:`compare` turn the rows into the numbers a seed study needs: per
group n, mean, sd, median, range and a bootstrap interval of the mean; for two groups the
ratio of their means with its bootstrap interval and the Mann-Whitney p-value.
"""
import contextlib
import csv
import inspect
import io
import itertools
import logging
import numbers
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import checks, outputs, threads

STATUS = ("seconds", "worker", "status", "error")
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMBA_NUM_THREADS", "MINIRNN_NUM_THREADS")}


# ------------------------------------------------------------------ the grid


def grid_points(grid):
    """A list of parameter dicts: a dict of lists is their cartesian product (in the order given),
    a list of dicts is taken as it is."""
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("the grid is empty: give a dict of lists, e.g. {'seed': range(5)}")
        values = {}
        for name, options in grid.items():
            if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__"):
                raise TypeError(f"grid[{name!r}] must be a list of values, got {type(options).__name__}")
            values[name] = list(options)
            if not values[name]:
                raise ValueError(f"grid[{name!r}] is an empty list: the grid would have no points")
        return [dict(zip(values, combination)) for combination in itertools.product(*values.values())]
    if isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("the grid is an empty list of points")
        for k, point in enumerate(grid):
            if not isinstance(point, dict):
                raise TypeError(f"grid[{k}] must be a dict of parameters, got {type(point).__name__}")
        return [dict(point) for point in grid]
    raise TypeError(f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}")


def _resolve(fn):
    """``fn`` itself, or the built-in experiment of that name (:mod:`minirnn.apps.experiments`)."""
    if isinstance(fn, str):
        from .apps import experiments  # the built-in experiments, by name (an application of the library)
        if fn not in experiments.EXPERIMENTS:
            raise ValueError(f"fn must be a function or one of the built-in experiments "
                             f"{', '.join(experiments.EXPERIMENTS)}, got {fn!r}")
        return experiments.EXPERIMENTS[fn]
    if not callable(fn):
        raise TypeError(f"fn must be a function (or the name of a built-in experiment), got {type(fn).__name__}")
    return fn


def _check_parameters(fn, points):
    """Every point's names are parameters of fn, and every parameter without a default is given."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    parameters = signature.parameters
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return
    required = {name for name, p in parameters.items() if p.default is p.empty
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    name = getattr(fn, "__name__", repr(fn))
    for point in points:
        unknown = sorted(set(point) - set(parameters))
        if unknown:
            raise ValueError(f"{name}() has no parameter {', '.join(map(repr, unknown))}; "
                             f"it takes {', '.join(parameters)}")
        missing = sorted(required - set(point))
        if missing:
            raise ValueError(f"{name}() needs {', '.join(map(repr, missing))}, which the grid does not give")


# ------------------------------------------------------------------ on the worker


def call(fn, point):
    """Run ``fn(**point)`` and return its row: the point, the numbers fn returned, seconds,
    worker, status, error. An exception is caught and recorded, not raised (on the worker)."""
    start = time.perf_counter()
    row = dict(point)
    try:
        result = fn(**point)
        if not isinstance(result, dict):
            raise TypeError(f"returned {type(result).__name__}, expected a dict of numbers")
        clash = sorted(set(result) & (set(point) | set(STATUS)))
        if clash:
            raise ValueError(f"returned keys that are also parameters or status columns: {clash}")
        not_numbers = {key: type(value).__name__ for key, value in result.items() if not _is_number(value)}
        if not_numbers:
            raise TypeError(f"returned values that are not numbers: {not_numbers} (a sweep records numbers: "
                            "return floats, ints or bools)")
        row.update({key: value.item() if isinstance(value, np.generic) else value for key, value in result.items()})
        status, error = "ok", ""
    except Exception as exception:  # noqa: BLE001 -- the point of a sweep: one failure does not stop it
        status, error = "failed", f"{type(exception).__name__}: {exception}"
    row.update(seconds=time.perf_counter() - start, worker=_worker_name(), status=status, error=error)
    return row


def _is_number(value):
    """A real number (NaN and inf included: a run may measure them), bool, or a NumPy scalar of one."""
    return isinstance(value, (numbers.Real, np.bool_)) or (isinstance(value, np.generic) and value.dtype.kind in "biuf")


def _worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def warm_up():
    """Compile (or load from Numba's cache) every cell's kernels, in float64 and float32: a tiny
    forward and backward each, so that a worker's first task does not pay for it."""
    from . import layers
    for dtype in (np.float64, np.float32):
        x = np.zeros((2, 3, 1), dtype=dtype)
        for layer in (layers.SimpleRNN(2), layers.LSTM(2), layers.GRU(2), layers.GRU(2, reset_after=False)):
            layer.build(1, dtype)
            h = layer.forward(x, training=True)
            layer.backward(np.ones_like(h))


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover -- dask is a dependency; without it run() says so
    WorkerPlugin = object


class WarmUp(WorkerPlugin):
    """Runs :func:`warm_up` on every worker when it starts, also on one that replaces a dead one."""

    def setup(self, worker):
        warm_up()


# ------------------------------------------------------------------ the driver


def run(fn, grid, *, scheduler=None, out=None, retries=1, progress=True, workers=None):
    """Run ``fn(**point)`` for every point of ``grid`` on Dask; return one row per point.

    Parameters
    ----------
    fn : a top-level function returning a dict of numbers, or the name of a built-in
        experiment (``"task"``, ``"ibm"``, ``"changes"``: :mod:`minirnn.apps.experiments`)
    grid : dict of lists (their cartesian product) or list of dicts
    scheduler : None (a LocalCluster on this machine), an address ``"tcp://host:8786"``, or a
        ``distributed.Client``
    out : a ``.csv`` file (or ``.parquet``, with pyarrow): rows are added as they finish; points
        with an "ok" row there are not run again
    retries : how many times a task whose worker died is started again elsewhere
    progress : print done/total, failures and the estimated time left (stderr)
    workers : worker processes of the LocalCluster (default: one per core)

    Returns a DataFrame with the points' parameters, fn's numbers, ``seconds``, ``worker``,
    ``status`` and ``error``, in the grid's order (rows from an earlier run with ``out`` included).
    """
    function = _resolve(fn)
    points = grid_points(grid)
    _check_parameters(function, points)
    checks.check_int("retries", retries, 0)
    if workers is not None:
        checks.check_int("workers", workers, 1)
    if scheduler is not None and not isinstance(scheduler, str) and type(scheduler).__name__ != "Client":
        raise TypeError(f"scheduler must be None, an address 'tcp://host:port' or a distributed.Client, "
                        f"got {type(scheduler).__name__}")
    names = list(dict.fromkeys(name for point in points for name in point))
    store = Results(out, names) if out is not None else None
    done = store.finished() if store else {}
    todo = [point for point in points if _key(point, names) not in done]
    rows = dict(done)
    if todo:
        with _quiet_dask():
            client, close = _connect(scheduler, workers)
            try:
                for row in _submit_all(client, function, todo, retries, Progress(len(todo), len(points), progress)):
                    rows[_key(row, names)] = row
                    if store:
                        store.append(row)
            finally:
                close()
    ordered = [rows[_key(point, names)] for point in points if _key(point, names) in rows]
    frame = pd.DataFrame(ordered)
    leading = names + [c for c in frame.columns if c not in names and c not in STATUS]
    return frame[leading + [c for c in STATUS if c in frame.columns]]


@contextlib.contextmanager
def _quiet_dask():
    """Dask's INFO lines (workers starting, closing) off the terminal while a sweep runs; warnings stay."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _key(point, names):
    """A point's identity: its values as text (:func:`_text`), in the grid's order."""
    return tuple(_text(point.get(name)) for name in names)


def _connect(scheduler, workers):
    """(client, close): a LocalCluster of single-threaded worker processes, or the given cluster."""
    try:
        from distributed import Client
    except ImportError as error:  # pragma: no cover
        raise ImportError("minirnn.sweep runs on Dask: pip install 'dask[distributed]'") from error
    if isinstance(scheduler, Client):
        scheduler.register_plugin(WarmUp(), name="minirnn-warm-up")
        return scheduler, lambda: None
    if scheduler is None:
        cluster = local_cluster(workers or threads.available_cores())
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()
    else:
        client = Client(scheduler, timeout="20s")
        close = client.close
    client.register_plugin(WarmUp(), name="minirnn-warm-up")
    return client, close


def local_cluster(workers):
    """The LocalCluster :func:`run` starts: ``workers`` single-threaded worker processes.

    Its scheduler gives a task whose worker died straight back (allowed-failures 0), for
    :func:`run` to start again up to ``retries`` times, as it does on any cluster. The workers
    keep glibc's own malloc settings: Dask's nannies set ``MALLOC_TRIM_THRESHOLD_`` (to hand
    freed memory back to the system), which turns off glibc's adaptive mmap threshold, so that
    every large array a training step allocates is a fresh mapping whose pages fault in anew:
    minirnn's training ran about twice as slow in such a worker. The dashboard gets a free port.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, env=dict(THREAD_ENV),
                            dashboard_address=":0", silence_logs=logging.ERROR)


def _submit_all(client, function, points, retries, progress):
    """Yield each point's row as it finishes.

    At most as many tasks are out as the cluster has threads (counted again as tasks finish, so
    workers that join later get work): the rest wait here, so a worker that dies takes only the
    task it was running with it, and that task is submitted again (up to ``retries`` times).
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    waiting = [(index, 0) for index in range(len(points))][::-1]  # (point, attempt), next one last
    running = {}
    futures = as_completed()

    def submit_more():
        capacity = max(1, sum(client.nthreads().values()))
        while waiting and len(running) < capacity:
            index, attempt = waiting.pop()
            future = client.submit(call, function, points[index], pure=False)
            running[future.key] = (index, attempt)
            futures.add(future)

    submit_more()
    for future in futures:
        index, attempt = running.pop(future.key)
        try:
            row = future.result()
        except (KilledWorker, FutureCancelledError, OSError) as error:
            if attempt < retries:
                waiting.append((index, attempt + 1))
                progress.retried()
                submit_more()
                continue
            row = dict(points[index], seconds=float("nan"), worker="", status="failed",
                       error=f"worker died {attempt + 1} times ({type(error).__name__}: {error})")
        submit_more()
        progress.finished(row)
        yield row


class Progress:
    """``sweep: 7/20 done (1 failed, 1 retried), 12 s, about 25 s left`` on stderr: rewritten in
    place on a terminal, a line every 10% of the points otherwise."""

    def __init__(self, total, grid_size, show=True, stream=None):
        self.total, self.done, self.failed, self.retries = total, 0, 0, 0
        self.show, self.stream = show, stream or sys.stderr
        self.start, self.next_line = time.perf_counter(), 0.0
        skipped = grid_size - total
        if show and skipped:
            self.stream.write(f"sweep: {skipped} of {grid_size} points already in the results file, "
                              f"{total} to run\n")

    def retried(self):
        self.retries += 1

    def finished(self, row):
        self.done += 1
        self.failed += row["status"] != "ok"
        if not self.show:
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        text = (f"sweep: {self.done}/{self.total} done ({self.failed} failed, {self.retries} retried), "
                f"{elapsed:.0f} s, about {left:.0f} s left")
        if self.stream.isatty():
            self.stream.write("\r" + text + ("\n" if self.done == self.total else ""))
        elif self.done >= self.next_line or self.done == self.total:
            self.stream.write(text + "\n")
            self.next_line = self.done + max(1, self.total // 10)
        self.stream.flush()


class Results:
    """The ``out`` file: read what is there, add each row as it arrives.

    A ``.csv`` file gets each row appended (and synced), so a crash loses nothing finished and
    the file can be read while the sweep runs. A row cut off by a write that was killed (no
    line end after it, or too few fields) is found when the file is opened again: it is dropped
    from the file, with a warning, and its point runs again. A ``.parquet`` file (with pyarrow)
    is written anew, atomically (:func:`minirnn.outputs.write_atomically`), at every row: just as
    safe, slower for sweeps of many thousands of points. Opening checks that the file can be
    written, before any point runs; a file that is not a results file is a ValueError naming it.
    """

    def __init__(self, path, names):
        self.path, self.names = Path(path), names
        self.parquet = self.path.suffix.lower() == ".parquet"
        if self.path.suffix.lower() not in (".csv", ".parquet"):
            raise ValueError(f"out must be a .csv (or, with pyarrow, .parquet) file, got {str(path)!r}")
        if self.parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ValueError(f"out={str(path)!r} needs pyarrow (pip install pyarrow); or give a .csv file") \
                    from None
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise FileNotFoundError(f"the folder of out does not exist: {str(folder)!r}")
        outputs.check_folder(folder)
        self.columns = None
        if self.path.exists():
            try:
                with open(self.path, "ab"):  # can it be added to? (opening to append changes nothing)
                    pass
            except OSError as error:
                raise OSError(f"cannot write the results file {str(self.path)!r}: {error.strerror or error}") \
                    from None
        if self.path.exists() and self.path.stat().st_size > 0:
            if not self.parquet:
                self._repair()
            self.columns = list(self._read().columns)
            missing = [name for name in names + ["status"] if name not in self.columns]
            if missing:
                raise ValueError(f"{str(path)!r} holds another sweep's results: it has no column "
                                 f"{', '.join(map(repr, missing))}")

    def _damaged(self, what):
        return ValueError(f"{str(self.path)!r} is not a file of sweep results ({what}): give another out, or "
                          "move it away")

    def _read(self):
        try:
            return pd.read_parquet(self.path) if self.parquet else pd.read_csv(self.path)
        except Exception as error:  # noqa: BLE001 -- a damaged file fails in many ways (encoding, parsing)
            raise self._damaged(f"{type(error).__name__}: {error}") from None

    def _repair(self):
        """Drop a torn last row from the CSV file (the rest must be whole), saying so."""
        raw = self.path.read_bytes()
        text = raw.decode("utf-8", errors="surrogateescape")
        records, torn = [], not text.endswith("\n")
        try:
            for record in csv.reader(io.StringIO(text, newline=""), strict=True):
                records.append(record)
        except csv.Error as error:
            if "end of data" not in str(error):
                raise self._damaged(f"line {len(records) + 1}: {error}") from None
            torn = True  # inside a quoted field at the end of the file: the last row was cut off
            records.append(None)
        header = records[0] if records else None
        if header is None or any("\udc80" <= c <= "\udcff" or c == "\x00" for field in header for c in field):
            raise self._damaged("its first line is not a header of column names")
        if records[-1] is None or (len(records) > 1 and len(records[-1]) != len(header)):
            torn = True
        for k, record in enumerate(records[1:-1], start=2):
            if len(record) != len(header):
                raise self._damaged(f"line {k} has {len(record)} fields, the header {len(header)}")
        if not torn or len(records) == 1:
            return
        kept = records[1:-1]

        def write(f):
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(kept)

        outputs.write_atomically(self.path, write, text=True)
        warnings.warn(f"{self.path}: its last row was cut off (a write that was killed) and is dropped; that "
                      "point runs again", stacklevel=3)

    def finished(self):
        """{key: row} of the points with an "ok" row in the file."""
        if self.columns is None:
            return {}
        typed = self._read()
        # each value as the text a point's key is made of (see _text): from the CSV's own text, which
        # keeps what the file says, or a parquet file's values
        text = typed if self.parquet else pd.read_csv(self.path, dtype=str, keep_default_na=False)
        for column in ("error", "worker"):  # text columns that a file of only successes reads as NaN
            if column in typed:
                typed[column] = typed[column].astype(object).where(typed[column].notna(), "")
        rows = {}
        for k in range(len(text)):
            if text.at[k, "status"] == "ok":
                rows[tuple(_text(text.at[k, name]) for name in self.names)] = typed.iloc[k].to_dict()
        return rows

    def append(self, row):
        new = [c for c in row if self.columns is None or c not in self.columns]
        if self.columns is None:
            self.columns = self.names + [c for c in row if c not in self.names and c not in STATUS] + list(STATUS)
        elif new:  # a result this file has no column for yet (the first success after failures)
            self.columns = self.columns[:-len(STATUS)] + new + list(STATUS)
        if self.parquet:
            old = [self._read()] if self.path.exists() else []
            frame = pd.concat(old + [pd.DataFrame([row])], ignore_index=True).reindex(columns=self.columns)
            outputs.write_atomically(self.path, lambda f: frame.to_parquet(f, index=False))
        elif new and self.path.exists() and self.path.stat().st_size > 0:
            old = pd.read_csv(self.path, dtype=str, keep_default_na=False).to_dict("records")
            outputs.write_atomically(self.path, lambda f: self._rows(f, old + [row], header=True), text=True)
        else:
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            with open(self.path, "w" if fresh else "a", newline="") as f:
                self._rows(f, [row], header=fresh)
                f.flush()
                os.fsync(f.fileno())

    def _rows(self, f, rows, header):
        writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
        if header:
            writer.writeheader()
        writer.writerows(rows)


def _text(value):
    """A grid value as the text a resume compares: None, NaN and empty text alike as "", numbers by
    their value (100, 100.0 and the file's "100.0" alike), anything else as ``str``."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (numbers.Real, np.number)):
        number = float(value)
        if number != number:
            return ""
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    return str(value)


# ------------------------------------------------------------------ the numbers a seed study needs


def bootstrap_mean_interval(values, level=0.95, resamples=10_000, seed=0):
    """Percentile bootstrap interval of the mean of ``values``: (low, high)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    return tuple(np.quantile(means, [(1 - level) / 2, (1 + level) / 2]))


def summarize(df, by, metric, level=0.95):
    """Per group of ``by`` (a column name or list), over the "ok" rows: n, mean, sd, median,
    min, max and the bootstrap interval of the mean of ``metric``."""
    by = [by] if isinstance(by, str) else list(by)
    ok = _ok_rows(df, by + [metric])
    rows = []
    for group, part in ok.groupby(by, sort=False):
        values = part[metric].to_numpy(dtype=float)
        low, high = bootstrap_mean_interval(values, level) if len(values) > 1 else (np.nan, np.nan)
        rows.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))), "n": len(values),
                     "mean": values.mean(), "sd": values.std(ddof=1) if len(values) > 1 else np.nan,
                     "median": np.median(values), "min": values.min(), "max": values.max(),
                     "mean_low": low, "mean_high": high})
    return pd.DataFrame(rows)


def compare(df, metric, a, b, level=0.95, resamples=10_000, seed=0):
    """Group ``a`` against group ``b`` (each a dict of column values, e.g. ``{"cell": "lstm"}``):
    the ratio of their means of ``metric`` with a bootstrap interval (each group resampled on its
    own) and the two-sided Mann-Whitney p-value. Returns a dict."""
    from scipy import stats

    groups = []
    for name, selection in (("a", a), ("b", b)):
        if not isinstance(selection, dict) or not selection:
            raise ValueError(f"{name} must be a dict of column values selecting a group, got {selection!r}")
        ok = _ok_rows(df, list(selection) + [metric])
        mask = np.logical_and.reduce([ok[column] == value for column, value in selection.items()])
        values = ok.loc[mask, metric].to_numpy(dtype=float)
        if len(values) < 2:
            raise ValueError(f"group {name} = {selection} has {len(values)} finished rows: need at least 2")
        groups.append(values)
    rng = np.random.default_rng(seed)
    resampled = [g[rng.integers(0, len(g), size=(resamples, len(g)))].mean(axis=1) for g in groups]
    low, high = np.quantile(resampled[0] / resampled[1], [(1 - level) / 2, (1 + level) / 2])
    test = stats.mannwhitneyu(groups[0], groups[1], alternative="two-sided")
    return {"metric": metric, "a": a, "b": b, "n_a": len(groups[0]), "n_b": len(groups[1]),
            "mean_a": float(groups[0].mean()), "mean_b": float(groups[1].mean()),
            "ratio": float(groups[0].mean() / groups[1].mean()), "ratio_low": float(low), "ratio_high": float(high),
            "mann_whitney_p": float(test.pvalue)}


def _ok_rows(df, columns):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"the results have no column {', '.join(map(repr, missing))}; "
                         f"they have {', '.join(df.columns)}")
    return df[df["status"] == "ok"] if "status" in df.columns else df
