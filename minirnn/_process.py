"""What minirnn changes about the process it runs in, all of it in one place.

- glibc's malloc thresholds, once, on import (:func:`keep_freed_buffers_mapped`, below).
- How many threads BLAS uses while a recurrent layer runs: one (:mod:`minirnn.threads`, which
  also decides how many threads minirnn's own loops use).
- How Numba compiles minirnn's kernels, and their cache (:mod:`minirnn._jit`, :mod:`minirnn._cache`);
  other Numba code in the process keeps its own settings.
"""
import numpy as np


def keep_freed_buffers_mapped():
    """Allocate and free one 30 MiB block, so that glibc's malloc keeps the loops' buffers mapped.

    A training step allocates and frees the same buffers every time (gates, states, their
    gradients: a few MB each for a stacked LSTM of 50 units over 60 steps). glibc gives blocks
    above its mmap threshold, 128 KiB at start, pages of their own and hands memory back to the
    kernel when the free space at the top of its heap exceeds its trim threshold; the next step
    then takes fresh pages, which the kernel zeroes one page fault at a time (that LSTM: 2400
    faults a step, a third of its time). glibc raises the mmap threshold to the size of any
    mmapped block freed, up to 32 MiB, and the trim threshold to twice that: what freeing a big
    array would do in any NumPy program, done once here, on import. Buffers up to 30 MiB then
    come from the heap and stay mapped from one step to the next; above that NumPy asks for
    huge pages, whose faults are few. Elsewhere than glibc, or where the user has set malloc's
    MALLOC_* tunables (which turn the adjustment off), this changes nothing.
    """
    np.empty(30 << 20, dtype=np.uint8)  # never touched: no memory is used; freed at once


keep_freed_buffers_mapped()
