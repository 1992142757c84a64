"""Input checks shared by the graph, curvature, geodesic and flow modules."""

import os
import sys
import warnings

import numpy as np
import scipy.sparse as sp

from ._kernels import csr_symmetric
from ._param_validation import is_int

SYMMETRIZE_OPTIONS = ("max", "min", "sum")
ALGORITHM_OPTIONS = ("auto", "brute", "nndescent")
CONNECT_OPTIONS = (None, "mst")
#: edge curvatures of :func:`sk_ricci.ricci_flow` and
#: :func:`sk_ricci.local_ricci_flow` (``curvature=``)


def check_points(X, *, name="X", min_samples=2):
    """Return ``X`` as a finite C-contiguous float64 2-D array or raise."""
    if sp.issparse(X):
        raise TypeError(
            f"{name} must be a dense array of points, got a sparse "
            f"{type(X).__name__}; convert it with X.toarray()"
        )
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"{name} could not be converted to a numeric 2-D array ({exc})"
        ) from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(
            f"{name} must hold numbers, got dtype {arr.dtype}; pass a numeric "
            "array of shape (n_samples, n_features)"
        )
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = (
            "Reshape your data with X.reshape(-1, 1) for a single feature or "
            "X.reshape(1, -1) for a single sample"
            if arr.ndim == 1
            else "pass an array of shape (n_samples, n_features)"
        )
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got an array with "
            f"ndim={arr.ndim} and shape {arr.shape}; {hint}"
        )
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{name} has 0 features (shape {arr.shape}); need >= 1")
    if n < min_samples:
        raise ValueError(
            f"{name} has {n} samples (shape {arr.shape}); at least {min_samples} "
            "are needed to build a nearest-neighbour graph"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = ~np.isfinite(arr)
        rows = np.flatnonzero(bad.any(axis=1))
        kind = "NaN" if np.isnan(arr).any() else "inf"
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) ({kind}) in "
            f"{rows.size} row(s), first at row {rows[0]}; activations must be "
            "finite: check the network for diverged training or impute/remove "
            "those samples in every layer"
        )
    return arr


#: points whose largest magnitude lies outside this range are rescaled before
#: any squared distance (see :func:`unit_scale`)
_SCALE_RANGE = (2.0**-256, 2.0**256)


def unit_scale(X):
    """``(X * 2**-e, e)``: points of extreme magnitude brought near 1.

    A kNN graph (and so its curvature, geodesics and the flow) does not change
    when every point is multiplied by one positive factor, but squared
    distances of points near 1e-200 underflow to 0 and those of points near
    1e160 overflow to inf. When the largest magnitude of ``X`` lies outside
    [2**-256, 2**256], ``X`` is multiplied by the power of two 2**-e that
    brings it to [0.5, 1): exactly, without rounding, so every distance
    comparison is the same. Otherwise ``X`` is returned as it is (e = 0).
    """
    if X.size == 0:
        return X, 0
    m = max(float(X.max()), -float(X.min()))
    if m == 0 or _SCALE_RANGE[0] <= m <= _SCALE_RANGE[1]:
        return X, 0
    e = int(np.frexp(m)[1])
    return np.ldexp(X, -e), e


def check_n_neighbors(n_neighbors, n_samples, *, name="n_neighbors"):
    """Validate one or several ``n_neighbors``; return them as a list of ints
    (order kept) and whether a scalar was passed."""
    scalar = is_int(n_neighbors)
    if isinstance(n_neighbors, (str, bytes)):  # iterating it would check its characters
        hint = (f"; pass {name}={int(n_neighbors)}" if n_neighbors.strip().isdigit()
                else "")
        raise TypeError(
            f"{name} must be an int or a list of ints, got "
            f"{type(n_neighbors).__name__} {n_neighbors!r}{hint}"
        )
    values = [n_neighbors] if scalar else n_neighbors
    try:
        values = list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be an int or a list of ints, got "
            f"{type(n_neighbors).__name__} {n_neighbors!r}"
        ) from None
    if len(values) == 0:
        raise ValueError(f"{name} is an empty list; pass at least one value")
    out = []
    for v in values:
        if not is_int(v):
            raise TypeError(
                f"{name} must contain ints, got {type(v).__name__} {v!r}"
            )
        v = int(v)
        if v < 1:
            raise ValueError(f"{name}={v} must be >= 1")
        if v >= n_samples:
            raise ValueError(
                f"{name}={v} must be smaller than n_samples={n_samples}; pass a "
                "smaller n_neighbors (or more samples)"
            )
        out.append(v)
    return out, scalar


def check_option(value, options, name):
    if value not in options:
        raise ValueError(
            f"{name}={value!r} is not supported; expected one of "
            f"{', '.join(repr(o) for o in options)}"
        )
    return value


def _check_sparse_structure(G, name):
    """Check the index arrays of a sparse matrix in O(nnz), before anything
    (scipy's conversions included) reads through them: an out-of-range index
    or a broken ``indptr`` would otherwise crash the process in compiled code."""
    fmt = G.format
    if fmt not in ("csr", "csc", "coo") or len(G.shape) != 2:
        return  # other formats are converted by scipy's own checked code
    n_rows, n_cols = G.shape
    fix = (
        "the sparse matrix is corrupted; rebuild it, e.g. with "
        "scipy.sparse.csr_matrix((data, (rows, cols)), shape=(n, n)) or "
        "sk_ricci.knn_graph"
    )
    if fmt == "coo":
        row, col = np.asarray(G.row), np.asarray(G.col)
        if not (row.shape == col.shape == np.shape(G.data)):
            raise ValueError(
                f"{name} (COO) has {row.size} row indices, {col.size} column "
                f"indices and {np.size(G.data)} values; {fix}"
            )
        for label, idx, bound in (("row", row, n_rows), ("col", col, n_cols)):
            if idx.size and (idx.min() < 0 or idx.max() >= bound):
                raise ValueError(
                    f"{name} (COO) has {label} indices from {idx.min()} to "
                    f"{idx.max()}, outside [0, {bound}); {fix}"
                )
        return
    major, minor = (n_rows, n_cols) if fmt == "csr" else (n_cols, n_rows)
    indptr, indices = np.asarray(G.indptr), np.asarray(G.indices)
    if indptr.ndim != 1 or not (
        indptr.dtype.kind in "iu" and indices.dtype.kind in "iu"
    ):
        raise ValueError(
            f"{name} has indptr of dtype {indptr.dtype} and indices of dtype "
            f"{indices.dtype}; both must be 1-D integer arrays; {fix}"
        )
    if indptr.size != major + 1:
        raise ValueError(
            f"{name} has an indptr of length {indptr.size}, expected "
            f"{major + 1} (n_rows + 1 for shape {G.shape}); {fix}"
        )
    if indptr[0] != 0 or not 0 <= indptr[-1] <= indices.size or (
        np.size(G.data) != indices.size
    ):
        raise ValueError(
            f"{name} has indptr[0]={indptr[0]} and indptr[-1]={indptr[-1]} for "
            f"{indices.size} indices and {np.size(G.data)} values; expected "
            f"indptr[0]=0 and indptr[-1]=nnz <= {indices.size}; {fix}"
        )
    nnz = int(indptr[-1])
    indices = indices[:nnz]
    if major and (np.diff(indptr) < 0).any():
        at = int(np.flatnonzero(np.diff(indptr) < 0)[0])
        raise ValueError(
            f"{name} has a decreasing indptr (indptr[{at}]={indptr[at]} > "
            f"indptr[{at + 1}]={indptr[at + 1]}); {fix}"
        )
    if nnz and (indices.min() < 0 or indices.max() >= minor):
        raise ValueError(
            f"{name} has column indices from {indices.min()} to {indices.max()}, "
            f"outside [0, {minor}); {fix}"
        )


def check_graph(G, *, name="G"):
    """Return a square CSR adjacency matrix with non-negative integer weights
    (edge multiplicities) and no self-loops (raise otherwise)."""
    if sp.issparse(G):
        _check_sparse_structure(G, name)
    else:
        arr = np.asarray(G)
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be a square adjacency matrix (n_samples, "
                f"n_samples), got shape {arr.shape}"
            )
        G = sp.csr_matrix(arr)
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(
            f"{name} must be a square adjacency matrix (n_samples, n_samples), "
            f"got shape {G.shape}; build one with sk_ricci.knn_graph(X, "
            "n_neighbors)"
        )
    if G.shape[0] == 0:
        raise ValueError(
            f"{name} is an empty (0, 0) graph; it needs at least one node"
        )
    G = sp.csr_matrix(G, dtype=np.float64)
    G.sum_duplicates()  # also sorts the column indices
    if G.nnz and not np.isfinite(G.data).all():
        raise ValueError(f"{name} has non-finite edge weights")
    if G.nnz and G.data.min() < 0:
        raise ValueError(
            f"{name} has negative entries (min {G.data.min()}); an adjacency "
            "matrix holds edge multiplicities >= 0"
        )
    if G.nnz and (G.data != np.round(G.data)).any():
        bad = G.data[G.data != np.round(G.data)]
        raise ValueError(
            f"{name} has non-integer edge weights (e.g. {bad[0]:.6g}); sk_ricci "
            "reads entries as edge multiplicities (1, or 2 for mutual pairs "
            "under symmetrize='sum'), not distances. Build the graph with "
            "sklearn's kneighbors_graph(..., mode='connectivity') and symmetrize "
            "it, or use sk_ricci.knn_graph"
        )
    if G.nnz and G.data.min() == 0:
        G.eliminate_zeros()
    if G.diagonal().any():
        raise ValueError(
            f"{name} has {int(np.count_nonzero(G.diagonal()))} self-loop(s) on "
            "its diagonal; remove them with G.setdiag(0); G.eliminate_zeros()"
        )
    if not csr_symmetric(G.indptr, G.indices, G.data):
        raise ValueError(
            f"{name} is not symmetric; kNN graphs in sk_ricci are undirected: "
            "symmetrize it, e.g. G.maximum(G.T) (the 'max' convention) or "
            "G + G.T (the 'sum' convention)"
        )
    return G


def check_layers(layers, *, min_layers=1):
    """Validate a list of per-layer activation arrays sharing their rows."""
    if isinstance(layers, np.ndarray) and layers.ndim == 2:
        raise TypeError(
            "layers must be a list of 2-D arrays, one per hidden layer, got a "
            f"single 2-D array of shape {layers.shape}; wrap it in a list"
        )
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(
            "layers must be a list of (n_samples, n_features_l) arrays, got "
            f"{type(layers).__name__}"
        ) from None
    if len(layers) == 0:
        raise ValueError(
            "layers is an empty list; pass one (n_samples, n_features_l) array "
            "per hidden layer"
        )
    if len(layers) < min_layers:
        raise ValueError(
            f"got {len(layers)} layer(s); at least {min_layers} are needed "
            "(the Ricci coefficient correlates L-1 >= 2 successive changes)"
        )
    out = []
    for i, X in enumerate(layers, start=1):
        out.append(check_points(X, name=f"layer {i}"))
    n0 = out[0].shape[0]
    for i, X in enumerate(out[1:], start=2):
        if X.shape[0] != n0:
            raise ValueError(
                f"layer {i} has {X.shape[0]} rows, layer 1 has {n0}; every "
                "layer must hold the activations of the same samples, in the "
                "same order"
            )
    return out


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def warn(message, category):
    """``warnings.warn`` pointing at the first caller outside sk_ricci, so the
    warning names the user's line however deep inside the library it arose."""
    frame, level = sys._getframe(1), 2  # stacklevel=2: the caller of warn()
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        _PACKAGE_DIR
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
