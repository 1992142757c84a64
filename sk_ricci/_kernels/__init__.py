"""Numba kernels: arrays in, arrays out, no validation.

Every kernel here has a plain NumPy/SciPy reference path in the tests. One
module per algorithm:

- ``bfs``: hop-distance sums (geodesic mass) by bit-parallel BFS;
- ``knn``: exact k nearest neighbours from Gram blocks;
- ``mst``: exact Euclidean minimum spanning tree;
- ``csr``: CSR helpers (symmetry, relabelling, symmetrized kNN graph, total
  Forman curvature);
- ``local``: per-edge and per-point kernels (local flow, edge curvatures);
- ``_threads``: the thread policy (``n_jobs``, thread limits, row chunks);
- ``_bits``: ``uint64`` word operations.

numba caches each compiled kernel (``cache=True``) keyed on its own source
file; a kernel that calls a helper or reads a constant from another module
here keeps its cached copy when only that other module changes, so delete the
``__pycache__`` folder after editing ``_bits`` or ``_threads``.
"""

from ._threads import n_threads, thread_limit
from .bfs import bfs_distance_sums, bfs_distance_sums_serial
from .csr import csr_symmetric, forman_total, permute_csr, symmetric_knn_csr
from .knn import exact_sqdist_pairs, knn_from_gram, knn_from_gram_serial
from .mst import euclidean_mst

__all__ = [
    "bfs_distance_sums",
    "bfs_distance_sums_serial",
    "csr_symmetric",
    "euclidean_mst",
    "exact_sqdist_pairs",
    "forman_total",
    "knn_from_gram",
    "knn_from_gram_serial",
    "n_threads",
    "permute_csr",
    "symmetric_knn_csr",
    "thread_limit",
]
