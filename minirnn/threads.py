"""How many cores minirnn's recurrent layers use, and the batch split that uses them.

The sequences of a batch are independent until their weight gradients are
added up: h_t of sample i never reads sample j. So a recurrent layer can run
its time loop over the first half of the batch on one core and the second
half on another, with no synchronisation inside the loop, and add the halves'
weight gradients at the end (data parallelism, as across GPUs, here across
cores). The jitted loops release the GIL (``nogil``), so plain Python threads
run them truly in parallel.

The number of threads is, in order of precedence: ``set_num_threads(n)``, the
``MINIRNN_NUM_THREADS`` environment variable, the number of cores this process
may run on. A batch is split only when each part keeps enough work per step and in all
to pay for handing it to a thread (:data:`MIN_STEP_WORK_PER_THREAD`,
:data:`MIN_WORK_PER_THREAD`) and at least :data:`MIN_ROWS_PER_THREAD`
sequences; small models stay on one thread, where they are fastest.

While a recurrent layer runs, the BLAS libraries in the process (NumPy's and
SciPy's OpenBLAS, which Numba's ``np.dot`` calls) are held to one thread each
(threadpoolctl), so thread pools do not multiply: two parts each calling a
two-threaded OpenBLAS would put four busy threads on two cores, and
OpenBLAS's waiting threads spin. Outside the layers (Dense, the optimizers,
the user's code) BLAS keeps its own setting. (While a layer runs, the limit
holds for any thread of the process that calls BLAS.)

Results with n threads equal those with one up to rounding: the weight
gradients are sums in another order. The same number of threads gives the
same bits.
"""
import concurrent.futures
import os
import threading

import numpy as np
import threadpoolctl

from . import _process

# Multiply-adds per time step and thread, b*(I+H)*G*H for b rows, in float64
# (float32 counts half: it runs about twice as fast), below which a part is not
# worth a thread; and the same over the whole sequence. Each part pays the
# fixed costs of a step (calls, loop set-up) in full, and handing a part to a
# thread and back costs a wake-up on another core, each way, for forward and
# backward. Below these sizes those costs eat what the split saves (the
# measurements behind them: benchmarks/README.md); slower cores gain more from it.
# Erring high is the safe side: a layer left on one thread is never slower than
# one thread, a split below break-even is; and the faster the loops, the higher
# the break-even.
MIN_STEP_WORK_PER_THREAD = 200_000
MIN_WORK_PER_THREAD = 2_000_000
# The in-loop product handles rows four at a time; fewer rows than this per
# thread would leave its register block mostly idle.
MIN_ROWS_PER_THREAD = 8

_requested = None   # set_num_threads
_pool = None
_pool_size = 0
_blas = None                # threadpoolctl's controllers of the BLAS libraries, found on first use
_blas_lock = threading.Lock()
_blas_depth = 0             # how many threads are inside one_blas_thread()
_blas_saved = []


def _from_environment():
    value = os.environ.get("MINIRNN_NUM_THREADS")
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"MINIRNN_NUM_THREADS must be a positive integer, got {value!r}")
    return n


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def get_num_threads():
    """The number of threads a recurrent layer may use (see the module docstring)."""
    if _requested is not None:
        return _requested
    return _from_environment() or available_cores()


def set_num_threads(n):
    """Use at most ``n`` threads per recurrent layer from now on; ``None`` restores the default."""
    global _requested
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"n must be a positive int or None, got {n!r}")
    _requested = n


def batch_chunks(batch, steps, step_multiply_adds, dtype):
    """Split ``batch`` rows into one slice per thread worth using.

    ``step_multiply_adds`` is the work of one time step for the whole batch
    in ``dtype``, ``steps`` the number of steps. Slices are contiguous, as
    equal as possible, and the same for the same arguments and thread count.
    """
    step_work = step_multiply_adds * np.dtype(dtype).itemsize // 8  # in float64 multiply-adds
    n = min(get_num_threads(), batch // MIN_ROWS_PER_THREAD, step_work // MIN_STEP_WORK_PER_THREAD,
            steps * step_work // MIN_WORK_PER_THREAD)
    if n <= 1:
        return [slice(0, batch)]
    bounds = [batch * k // n for k in range(n + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def map_chunks(function, chunks):
    """[function(chunk) for chunk in chunks], the first on this thread, the rest on the pool's,
    with BLAS held to one thread meanwhile."""
    with one_blas_thread():
        if len(chunks) == 1:
            return [function(chunks[0])]
        futures = [_get_pool(len(chunks) - 1).submit(_following, function, chunk) for chunk in chunks[1:]]
        try:
            first = function(chunks[0])
        finally:  # an error here still waits for the other parts: none outlives the BLAS limit
            concurrent.futures.wait(futures)
        return [first] + [future.result() for future in futures]


def _following(function, chunk):
    """A worker's task: this thread's floating-point mode set as the user set it (``_process``), then
    ``function(chunk)``."""
    _process.follow_flush_denormal()
    return function(chunk)


def one_blas_thread():
    """A context manager: hold every BLAS library in the process to one thread; restore their
    settings on leaving.

    Also for a batch that is not split: its products are small (or it would
    be split), and OpenBLAS's threads cost more than they save on them, most
    of all on the per-step products inside the time loop.
    """
    return _ONE_BLAS_THREAD


class _OneBlasThread:
    """What :func:`one_blas_thread` returns: a class, not a generator, because every recurrent
    layer enters it twice a training step, and for small layers a generator's cost shows."""

    def __enter__(self):
        global _blas_depth, _blas_saved
        with _blas_lock:
            if _blas_depth == 0:
                _blas_saved = [(lib, lib.num_threads) for lib in _blas_libraries()]
                for lib, count in _blas_saved:
                    if count != 1:
                        lib.set_num_threads(1)
            _blas_depth += 1

    def __exit__(self, *exception):
        global _blas_depth
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                for lib, count in _blas_saved:
                    if count != 1:
                        lib.set_num_threads(count)


_ONE_BLAS_THREAD = _OneBlasThread()


def _blas_libraries():
    global _blas
    if _blas is None:
        import scipy.linalg.cython_blas  # noqa: F401  (the OpenBLAS Numba's np.dot calls: loaded, so it is seen)
        _blas = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
    return _blas


def _get_pool(workers):
    global _pool, _pool_size
    if _pool is None or _pool_size < workers:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="minirnn")
        _pool_size = workers
    return _pool


def _forget_pool_after_fork():
    # A forked child inherits the pool object but not its threads: start afresh.
    global _pool, _pool_size, _blas_lock
    _pool, _pool_size, _blas_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)
