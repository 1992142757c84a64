"""Hidden layers of a large network on many inputs, written to disk batch by
batch: :func:`stream_layer_activations`."""

import numbers
import os
import re
import shutil
import tempfile

import numpy as np
from numpy.lib.format import open_memmap
from sklearn.utils.validation import check_is_fitted, validate_data

from sk_ricci._param_validation import check_random_state_param
from sk_ricci.nn._activations import (
    LayerActivations,
    _check_all_called,
    _mlp_activations,
    _numbered_names,
    _parse_layers,
    _select_positions,
    _torch_selection,
    check_batch_size,
    route_network,
)
from sk_ricci.nn._hooks import record_batches
from sk_ricci.nn._reduce import (
    POOLING_OPTIONS,
    pooled_float64,
    projection_matrices,
)


def stream_layer_activations(
    estimator,
    X,
    *,
    layers="hidden",
    batch_size=1024,
    directory=None,
    pooling=None,
    n_components=None,
    random_state=None,
):
    """Hidden-layer outputs of a network on ``X``, written to disk batch by
    batch: one memory-mapped array per layer.

    The same layers as :func:`layer_activations` (same choice of layers, same
    names, same forward order, the same float64 numbers), but never all in
    memory: one forward pass per batch of ``batch_size`` inputs records the
    chosen layers' outputs for that batch only, optionally reduces them
    (``pooling``, ``n_components``), and writes each layer's rows into its own
    ``.npy`` file, opened with :func:`numpy.lib.format.open_memmap`. The
    result holds read-only memory maps of those files: pass ``iter(result)``
    to :func:`sk_ricci.ricci_flow` or :func:`sk_ricci.local_ricci_flow`, which
    then read one layer at a time, so that the operating system pages in
    only the layer being measured.

    Memory: the model, one batch of every hooked module's output as float64
    (after pooling), and, with ``n_components``, one ``(width_l,
    n_components)`` float64 projection matrix per projected layer. Disk:
    ``8 * n_samples * width_l`` bytes per layer (``width_l`` after
    reduction).

    Parameters
    ----------
    estimator : object
        As for :func:`layer_activations`: a torch ``nn.Module``, a fitted
        skorch ``NeuralNet``, :class:`~sk_ricci.nn.ReLUMLPClassifier`,
        scikit-learn's ``MLPClassifier``/``MLPRegressor`` (ReLU), or a
        ``Pipeline`` ending in one of these.
    X : array-like of shape (n_samples, ...)
        Inputs, e.g. images of shape ``(n_samples, channels, height, width)``.
    layers : "hidden", list of int, list of str, type or callable, \
default="hidden"
        Which layers to read, as for :func:`layer_activations`.
    batch_size : int, default=1024
        Number of inputs per forward pass (also for scikit-learn's MLPs).
    directory : str or path-like, default=None
        An existing directory for the layers' files, named
        ``<position>_<layer name>.npy`` (position from 000, characters other
        than letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``); kept
        after the call (reopen one with ``numpy.load(path, mmap_mode="r")``).
        Existing files of those names are an error, never overwritten. None
        writes to a new directory under :func:`tempfile.gettempdir` (set
        ``TMPDIR`` to move it) and removes its entries once they are mapped:
        on POSIX systems the disk space is freed when the returned arrays are.
    pooling : {None, "mean"}, default=None
        ``"mean"``: global average pooling of every output with more than two
        dimensions, ``(n, C, H, W) -> (n, C)`` (each channel's mean over its
        positions; see :func:`global_average_pool`), before flattening. It
        keeps which channels respond, not where, so the flow of pooled maps is
        a coarser measurement than that of whole maps. Outputs of shape
        ``(n, width)`` are kept as they are.
    n_components : int, default=None
        Project every layer wider than ``n_components`` (after pooling) to
        ``n_components`` dimensions with a Gaussian random projection
        ``X @ R / sqrt(n_components)``, one matrix ``R`` per layer. With
        probability at least ``1 - 1/n_samples`` every pairwise squared
        distance moves by a factor within ``1 +- eps``, ``eps =
        jl_distortion(n_samples, n_components)`` (see
        :func:`jl_distortion`); kNN graphs change only where neighbours are
        closer to a tie than that. None keeps every layer's width.
    random_state : int, RandomState instance or None, default=None
        Seed of the projection matrices (drawn in layer order); unused
        without ``n_components``.

    Returns
    -------
    activations : LayerActivations
        One read-only float64 :class:`numpy.memmap` of shape ``(n_samples,
        width_l)`` per layer, in forward order, with the layers' ``names``.

    Raises
    ------
    ValueError
        For a ``batch_size``, ``pooling`` or ``n_components`` out of range,
        and in the cases of :func:`layer_activations`.
    FileNotFoundError, NotADirectoryError, FileExistsError
        When ``directory`` does not exist, is a file, or already holds a
        file the layers would be written to.

    See Also
    --------
    layer_activations : The same layers as arrays in memory.
    jl_distortion : The distortion of a random projection.

    Examples
    --------
    >>> import numpy as np
    >>> from torch import nn
    >>> from sk_ricci import ricci_flow
    >>> from sk_ricci.nn import stream_layer_activations
    >>> cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 8, 3),
    ...                     nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 6),
    ...                     nn.ReLU())
    >>> images = np.random.RandomState(0).normal(size=(50, 1, 8, 8))
    >>> acts = stream_layer_activations(cnn, images.astype(np.float32),
    ...                                 batch_size=16, pooling="mean")
    >>> acts.names, [a.shape for a in acts]
    (['1', '3', '6'], [(50, 4), (50, 8), (50, 6)])
    >>> result = ricci_flow(iter(acts), 5, connect="mst")
    """
    check_batch_size(batch_size)
    if not (pooling is None or (isinstance(pooling, str) and pooling in POOLING_OPTIONS)):
        raise ValueError(
            f"pooling must be None or 'mean' (global average pooling); got "
            f"{pooling!r}. Pass pooling='mean' to average each channel over "
            "its positions."
        )
    if n_components is not None and (
        isinstance(n_components, bool)
        or not isinstance(n_components, numbers.Integral)
        or n_components < 1
    ):
        raise ValueError(
            f"n_components must be None or a positive int; got {n_components!r}. "
            "Pass e.g. n_components=256, or None to keep every layer's width."
        )
    check_random_state_param(random_state, "stream_layer_activations")
    directory = _checked_directory(directory)
    selection = _parse_layers(layers)
    options = {
        "batch_size": int(batch_size),
        "directory": directory,
        "pooling": pooling,
        "n_components": None if n_components is None else int(n_components),
        "random_state": random_state,
    }
    return route_network(
        estimator, X, selection, "stream_layer_activations",
        on_torch=lambda module, X, selection, n_features: _stream_torch(
            module, X, selection, n_features, options
        ),
        on_mlp=lambda mlp, X, selection: _stream_mlp(mlp, X, selection, options),
    )


def _checked_directory(directory):
    if directory is None:
        return None
    try:
        path = os.fspath(directory)
    except TypeError:
        raise TypeError(
            "directory must be None or a path (str or os.PathLike); got an "
            f"object of type {type(directory).__name__}. Pass e.g. "
            "directory='activations'."
        ) from None
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"directory {path!r} does not exist; create it first (e.g. "
            "os.makedirs(directory)) or pass directory=None for a temporary one."
        )
    if not os.path.isdir(path):
        raise NotADirectoryError(
            f"directory {path!r} is a file, not a directory; pass a directory "
            "for the layers' .npy files, or None for a temporary one."
        )
    return path


def _file_name(position, name):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "model"
    return f"{position:03d}_{safe}.npy"


class _LayerFiles:
    """The layers' memory-mapped files: opened on the first batch (when the
    layers' names and widths are known), filled batch by batch, reopened
    read-only at the end; removed if anything fails."""

    def __init__(self, n_rows, options):
        self.n_rows = n_rows
        self.directory = options["directory"]
        self.temporary = self.directory is None
        self.n_components = options["n_components"]
        self.random_state = options["random_state"]
        self.names, self.paths, self.arrays, self.matrices = [], [], [], []

    def open(self, names, widths):
        if self.temporary:
            self.directory = tempfile.mkdtemp(prefix="sk_ricci_layers_")
        paths = [
            os.path.join(self.directory, _file_name(i, name))
            for i, name in enumerate(names)
        ]
        existing = [p for p in paths if os.path.exists(p)]
        if existing:
            raise FileExistsError(
                f"directory {self.directory!r} already holds {existing}; "
                "stream_layer_activations never overwrites files. Remove them or "
                "pass an empty directory."
            )
        self.matrices = projection_matrices(widths, self.n_components, self.random_state)
        self.names = list(names)
        for path, width, matrix in zip(paths, widths, self.matrices):
            out = width if matrix is None else matrix.shape[1]
            self.arrays.append(
                open_memmap(path, mode="w+", dtype=np.float64, shape=(self.n_rows, out))
            )
            self.paths.append(path)

    def write(self, start, batches):
        for array, matrix, rows in zip(self.arrays, self.matrices, batches):
            if matrix is not None:
                rows = rows @ matrix
            array[start : start + rows.shape[0]] = rows

    def finish(self):
        for array in self.arrays:
            array.flush()
        self.arrays = []
        result = LayerActivations(
            [np.load(path, mmap_mode="r") for path in self.paths], self.names
        )
        if self.temporary:
            # the maps stay valid; the space is freed with them (POSIX)
            shutil.rmtree(self.directory, ignore_errors=True)
        return result

    def abort(self):
        self.arrays = []
        if self.temporary and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            return
        for path in self.paths:
            try:
                os.remove(path)
            except OSError:  # pragma: no cover - removed meanwhile
                pass


def _stream_torch(module, X, selection, n_features, options):
    kind, value, targets, what = _torch_selection(module, X, selection, n_features)
    files = _LayerFiles(X.shape[0], options)
    keep = []

    def on_batch(start, calls):
        if not files.paths:
            names = _numbered_names([name for name, _ in calls])
            positions = list(range(len(calls)))
            if kind == "positions":
                chosen = _select_positions(LayerActivations(positions, names), value)
                positions, names = list(chosen), chosen.names
            keep.extend(positions)
            files.open(names, [calls[i][1].shape[1] for i in positions])
        files.write(start, [calls[i][1].numpy() for i in keep])

    transform = pooled_float64 if options["pooling"] == "mean" else None
    try:
        batches = record_batches(
            module, X, targets, options["batch_size"], what,
            on_batch=on_batch, transform=transform,
        )
        _check_all_called(
            module, kind, value, targets, batches, X.shape[0], options["batch_size"]
        )
        return files.finish()
    except BaseException:
        files.abort()
        raise


def _stream_mlp(mlp, X, selection, options):
    check_is_fitted(mlp, "coefs_")
    X = validate_data(mlp, X, reset=False, dtype=[np.float64, np.float32])
    files = _LayerFiles(X.shape[0], options)
    try:
        for start in range(0, X.shape[0], options["batch_size"]):
            acts = _mlp_activations(
                mlp, X[start : start + options["batch_size"]], selection,
                validate=False,
            )
            if not files.paths:
                files.open(acts.names, [a.shape[1] for a in acts])
            files.write(start, list(acts))
        return files.finish()
    except BaseException:
        files.abort()
        raise
