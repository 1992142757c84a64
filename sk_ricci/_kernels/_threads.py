"""The thread policy of every kernel: how many threads, and how rows are split.

:func:`n_threads` maps scikit-learn's ``n_jobs`` to a thread count,
:func:`thread_limit` runs numba's parallel kernels on that many threads, and
``CHUNKS`` bounds how many contiguous pieces a parallel kernel splits its rows
into. (The networks' torch thread policy, ``one_torch_thread``, is in
:mod:`sk_ricci.nn`.)
"""

import numbers
import sys
from contextlib import contextmanager

import numba


def n_threads(n_jobs):
    """Threads for ``n_jobs`` (scikit-learn's convention: None is 1, -1 all)."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(
            f"n_jobs must be None or an int (-1 for all cores), got "
            f"{type(n_jobs).__name__} {n_jobs!r}; pass e.g. n_jobs=2"
        )
    if n_jobs == 0:
        raise ValueError("n_jobs=0 is not valid; use None, a positive int or -1")
    if n_jobs < 0:
        return max(1, numba.config.NUMBA_NUM_THREADS + 1 + n_jobs)
    return min(int(n_jobs), numba.config.NUMBA_NUM_THREADS)


@contextmanager
def thread_limit(threads):
    """Run numba's parallel kernels on ``threads`` threads, then restore both
    numba's and torch's thread counts: numba's OpenMP layer shares
    ``omp_set_num_threads`` with torch, and would otherwise silently change
    the thread count of a torch model trained in the same process."""
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(old)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)


#: parallel kernels split their rows in at most this many contiguous chunks
#: (a constant: numba.get_num_threads() inside a kernel defeats caching)
CHUNKS = 256
