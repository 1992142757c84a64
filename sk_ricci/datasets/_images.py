"""Two-class image pairs: scikit-learn's bundled 8x8 digits, and MNIST /
Fashion-MNIST read from local files (downloaded only on request).
"""

import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._param_validation import Interval, check_flags
from ._fetch import IMAGE_SETS, download_subset, idx_names
from ._idx import _read_csv, read_idx, read_npz

#: Fashion-MNIST class names, by label.
_FASHION_LABELS = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _check_pair(pair, n_classes=10):
    label = Interval(numbers.Integral, 0, n_classes - 1)
    try:
        values = list(pair)
    except TypeError:
        values = None
    if (
        values is None
        or len(values) != 2
        or not all(label.is_satisfied_by(v) for v in values)
        or values[0] == values[1]
    ):
        raise ValueError(
            f"pair={pair!r} must be two different integer labels in "
            f"0..{n_classes - 1}, e.g. pair=(1, 7)"
        )
    return int(values[0]), int(values[1])


def _select_pair(X, labels, pair, source):
    """Keep the rows of the two labels (original order); y = 1 for pair[1]."""
    labels = np.asarray(labels).ravel()
    if len(labels) != len(X):
        raise ValueError(
            f"{source}: {len(X)} images but {len(labels)} labels; the files do not "
            "belong together"
        )
    present = np.unique(labels)
    missing = [p for p in pair if p not in present]
    if missing:
        raise ValueError(
            f"{source} has no image with label(s) {missing} (labels present: "
            f"{present.tolist()}); choose a pair among those labels"
        )
    mask = np.isin(labels, pair)
    X = np.asarray(X)[mask].reshape(int(mask.sum()), -1).astype(np.float64)
    original = labels[mask].astype(np.int64)
    y = (original == pair[1]).astype(np.int64)
    return X, y, original


def _pair_result(X, y, original, pair, return_X_y, descr, **extra):
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=np.asarray(pair, dtype=np.int64),
        original_target=original,
        DESCR=descr,
        **extra,
    )


def load_digits_pair(pair=(1, 7), *, return_X_y=True):
    """Two classes of scikit-learn's bundled 8x8 digits (no download needed).

    The embedded stand-in for the paper's MNIST pairs (1 vs 7, 6 vs 8): the
    same task on 8x8 images with pixel values 0-16, about 180 images per digit.

    Parameters
    ----------
    pair : tuple of two int, default=(1, 7)
        Original digit labels; ``pair[0]`` becomes class 0, ``pair[1]`` class 1.

    return_X_y : bool, default=True
        If True return ``(X, y)``, otherwise a :class:`~sklearn.utils.Bunch`
        with ``data``, ``target``, ``target_names`` (the original labels of
        classes 0 and 1), ``original_target``, ``images`` and ``DESCR``.

    Returns
    -------
    X : ndarray of shape (n_samples, 64), dtype float64
        Raw pixel values 0-16.

    y : ndarray of shape (n_samples,), dtype int64
        1 where the digit is ``pair[1]``, 0 where it is ``pair[0]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.datasets import load_digits_pair
    >>> X, y = load_digits_pair((1, 7))
    >>> X.shape, np.bincount(y).tolist()
    ((361, 64), [182, 179])
    >>> bunch = load_digits_pair((6, 8), return_X_y=False)
    >>> bunch.target_names.tolist(), sorted(set(bunch.original_target.tolist()))
    ([6, 8], [6, 8])
    """
    from sklearn.datasets import load_digits

    pair = _check_pair(pair)
    check_flags("load_digits_pair", return_X_y=return_X_y)
    digits = load_digits()
    X, y, original = _select_pair(digits.data, digits.target, pair, "digits")
    return _pair_result(
        X,
        y,
        original,
        pair,
        return_X_y,
        f"scikit-learn 8x8 digits, {pair[0]} (class 0) vs {pair[1]} (class 1), "
        "raw pixels 0-16",
        images=X.reshape(-1, 8, 8),
    )


def get_data_home(data_home=None):
    """Root folder of the local image data.

    ``data_home`` if given, else the environment variable ``SK_RICCI_DATA``,
    else ``~/sk_ricci_data``. MNIST lives in ``<root>/mnist`` and Fashion-MNIST
    in ``<root>/fashion-mnist``. Nothing is created.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit root.

    Returns
    -------
    path : pathlib.Path
        The root folder (``~`` expanded).

    Examples
    --------
    >>> from sk_ricci.datasets import get_data_home
    >>> get_data_home("/tmp/data").as_posix()
    '/tmp/data'
    """
    if data_home is None:
        data_home = os.environ.get("SK_RICCI_DATA", "~/sk_ricci_data")
    return Path(data_home).expanduser()


def _find_subset(directory, spec, subset):
    """Return (kind, paths) for the first recognised files, or None."""
    images, labels = idx_names(subset)
    for suffix in ("", ".gz"):
        for img, lab in (
            (images, labels),
            (images.replace("-idx", ".idx"), labels.replace("-idx", ".idx")),
        ):
            pi, pl = directory / (img + suffix), directory / (lab + suffix)
            if pi.is_file() and pl.is_file():
                return "idx", (pi, pl)
    for stem in spec["stems"]:
        for ext in (".csv", ".csv.gz", ".npz"):
            p = directory / f"{stem}_{subset}{ext}"
            if p.is_file():
                return ("npz" if ext == ".npz" else "csv"), (p,)
    return None


def _expected_files(spec, subset):
    images, labels = idx_names(subset)
    stem = spec["stems"][0]
    return (
        f"'{images}[.gz]' + '{labels}[.gz]', or '{stem}_{subset}.csv' (label "
        f"then 784 pixels per row), or '{stem}_{subset}.npz' (arrays 'X', 'y'), "
        "or, with neither official split there, one .npz file of any name "
        "with arrays 'X' and 'y' holding both labels of the pair"
    )


def _read_found(kind, paths, subset):
    if kind == "idx":
        X, labels = read_idx(paths[0]), read_idx(paths[1])
        return X.reshape(len(X), -1), labels.astype(np.int64)
    if kind == "csv":
        return _read_csv(paths[0])
    return read_npz(paths[0], subset)


def _locate_subset(spec, candidates, subset, download):
    """(kind, paths) of ``subset``'s files in the first candidate folder that has
    them, downloaded into the first candidate if asked; FileNotFoundError if none."""
    for directory in candidates:
        found = _find_subset(directory, spec, subset)
        if found is not None:
            return found
    if download:
        download_subset(spec, candidates[0], subset)
        found = _find_subset(candidates[0], spec, subset)
        if found is not None:
            return found
    where = " or ".join(str(d) for d in candidates)
    raise FileNotFoundError(
        f"{spec['title']} {subset} files not found in {where}; expected "
        f"{_expected_files(spec, subset)}. Pass download=True to fetch "
        f"the IDX files from {spec['mirrors'][0]}, or put the files "
        "there yourself (or set data_home= / SK_RICCI_DATA)"
    )


def _one_set_file(spec, candidates, pair):
    """The one ``.npz`` file of the candidate folders whose labels hold both
    classes of ``pair`` (a set without official train/test split, such as a
    sample of MNIST), or None when no such file exists."""
    matches = []
    for directory in dict.fromkeys(candidates):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.npz")):
            try:
                with np.load(path) as data:
                    if "y" not in data.files or "X" not in data.files:
                        continue
                    labels = np.unique(data["y"])
            except (OSError, ValueError):
                continue
            if all(p in labels for p in pair):
                matches.append(path)
    if len(matches) > 1:
        raise ValueError(
            f"{spec['title']}: several .npz files hold labels {list(pair)}: "
            f"{[str(m) for m in matches]}; pass the one to use as data_home="
        )
    return matches[0] if matches else None


def _read_folder(spec, root, subset, download, pair=None):
    """Images, labels and source files of ``subset`` ("all": train then test)
    found under ``root`` or ``root/<folder>`` (None: the default data home).

    Without the official files there, a folder's single ``.npz`` file with
    arrays ``X`` and ``y`` holding both labels of ``pair`` is read instead,
    whatever ``subset`` (one set, to be split by the caller)."""
    if root is None:
        candidates = [get_data_home() / spec["folder"]]
    else:
        candidates = [root, root / spec["folder"]]
    if pair is not None and not download and not any(
        _find_subset(d, spec, sub) is not None
        for d in candidates
        for sub in ("train", "test")
    ):
        path = _one_set_file(spec, candidates, pair)
        if path is not None:
            X, labels = read_npz(path, subset)
            return X, labels, [path]
    parts, sources = [], []
    for sub in ("train", "test") if subset == "all" else (subset,):
        found = _locate_subset(spec, candidates, sub, download)
        parts.append(_read_found(*found, sub))
        sources.extend(found[1])
    X = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return X, labels, sources


def _read_data_file(path, subset):
    """Images and labels of a ``data_home`` that is an ``.npz`` or CSV file."""
    name = path.name.lower()
    if name.endswith(".npz"):
        return read_npz(path, subset)
    if name.endswith((".csv", ".csv.gz")):
        return _read_csv(path)
    raise ValueError(
        f"data_home={str(path)!r} is a file but neither .npz nor .csv; pass "
        "the folder that holds the IDX files instead"
    )


def _load_image_pair(key, pair, data_home, subset, download, return_X_y):
    spec = IMAGE_SETS[key]
    # before anything is read or fetched: download="False" must not download
    check_flags(f"load_{key.replace('-', '_')}_pair", download=download,
                return_X_y=return_X_y)
    if subset not in ("train", "test", "all"):
        raise ValueError(
            f"subset={subset!r} must be 'train', 'test' or 'all' ('test' is the "
            "paper's choice: the analysis uses held-out points)"
        )
    root = None if data_home is None else Path(data_home).expanduser()
    if root is not None and root.is_file():
        X, labels = _read_data_file(root, subset)
        sources = [root]
    else:
        X, labels, sources = _read_folder(spec, root, subset, download, pair)

    source = ", ".join(str(s) for s in sources)
    X, y, original = _select_pair(X, labels, pair, source)
    extra = {"filenames": [str(s) for s in sources]}
    if key == "fashion-mnist":
        extra["label_names"] = [_FASHION_LABELS[p] for p in pair]
    descr = (
        f"{spec['title']} {subset}: label {pair[0]} (class 0) vs {pair[1]} "
        f"(class 1), raw pixels 0-255, from {source}"
    )
    return _pair_result(X, y, original, pair, return_X_y, descr, **extra)


def load_mnist_pair(
    pair=(1, 7), *, data_home=None, subset="test", download=False, return_X_y=True
):
    """Two digits of MNIST (the paper: 1 vs 7 and 6 vs 8) from local files.

    Reads local files only, unless ``download=True``. Looked up, in order:

    1. the original IDX files ``t10k-images-idx3-ubyte`` and
       ``t10k-labels-idx1-ubyte`` (``train-...`` for ``subset="train"``),
       plain or ``.gz``;
    2. a CSV ``mnist_test.csv`` (or ``.csv.gz``) with the label first and the
       784 pixels after it, one image per row, an optional header row;
    3. an ``mnist_test.npz`` with arrays ``X`` of shape (n, 784) or
       (n, 28, 28) and ``y`` (keras-style ``x_test``/``y_test`` also work).
    4. when neither official split has files there, the one ``.npz`` file
       (any name) with arrays ``X`` and ``y`` whose labels hold both classes
       of ``pair``, returned whatever ``subset``: a set without an official
       split (the study splits it into disjoint training and test points).

    Parameters
    ----------
    pair : tuple of two int, default=(1, 7)
        Original labels; ``pair[0]`` becomes class 0, ``pair[1]`` class 1.

    data_home : str or path-like, default=None
        Folder holding the files (its ``mnist/`` subfolder is searched
        too), or directly an ``.npz``/``.csv`` file (``subset`` then only
        picks keras-style keys). None means ``$SK_RICCI_DATA/mnist`` if
        that environment variable is set, else ``~/sk_ricci_data/mnist``.

    subset : {"test", "train", "all"}, default="test"
        Official split; ``"all"`` concatenates train then test. The paper
        analysed the test split (about 2,000 images per pair).

    download : bool, default=False
        If the files are missing, fetch the gzipped IDX files of ``subset``
        into ``data_home`` from the public mirrors (https://ossci-datasets.s3.amazonaws.com/mnist/ first), check
        their MD5 sums and headers, then load them. Needs network access.

    return_X_y : bool, default=True
        If True return ``(X, y)``, otherwise a :class:`~sklearn.utils.Bunch`
        with ``data``, ``target``, ``target_names`` (the original labels of
        classes 0 and 1), ``original_target``, ``filenames`` and
        ``DESCR``.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype float64
        Raw pixel values 0-255 (unscaled, as in the paper), original row order.

    y : ndarray of shape (n_samples,), dtype int64
        1 where the label is ``pair[1]``, 0 where it is ``pair[0]``.

    Raises
    ------
    FileNotFoundError
        If no recognised file is found and ``download=False``; the message
        names the folder and the expected files.

    See Also
    --------
    load_digits_pair : The bundled 8x8 stand-in, no files needed.

    Examples
    --------
    >>> import tempfile
    >>> from sk_ricci.datasets import load_mnist_pair
    >>> try:
    ...     load_mnist_pair((1, 7), data_home=tempfile.mkdtemp())
    ... except FileNotFoundError as exc:
    ...     print("t10k-images-idx3-ubyte" in str(exc))
    True
    """
    pair = _check_pair(pair)
    return _load_image_pair("mnist", pair, data_home, subset, download, return_X_y)


def load_fashion_mnist_pair(
    pair=(5, 9), *, data_home=None, subset="test", download=False, return_X_y=True
):
    """Two classes of Fashion-MNIST (the paper: sandal 5 vs ankle boot 9, shirt 6
    vs coat 4) from local files.

    Reads local files only, unless ``download=True``. Looked up, in order:

    1. the original IDX files ``t10k-images-idx3-ubyte`` and
       ``t10k-labels-idx1-ubyte`` (``train-...`` for ``subset="train"``),
       plain or ``.gz``;
    2. a CSV ``fashion-mnist_test.csv`` (or ``.csv.gz``) with the label first and the
       784 pixels after it, one image per row, an optional header row;
    3. an ``fashion-mnist_test.npz`` with arrays ``X`` of shape (n, 784) or
       (n, 28, 28) and ``y`` (keras-style ``x_test``/``y_test`` also work).
    4. when neither official split has files there, the one ``.npz`` file
       (any name) with arrays ``X`` and ``y`` whose labels hold both classes
       of ``pair``, returned whatever ``subset``: a set without an official
       split (the study splits it into disjoint training and test points).

    Parameters
    ----------
    pair : tuple of two int, default=(5, 9)
        Original labels; ``pair[0]`` becomes class 0, ``pair[1]`` class 1.

    data_home : str or path-like, default=None
        Folder holding the files (its ``fashion-mnist/`` subfolder is searched
        too), or directly an ``.npz``/``.csv`` file (``subset`` then only
        picks keras-style keys). None means ``$SK_RICCI_DATA/fashion-mnist`` if
        that environment variable is set, else ``~/sk_ricci_data/fashion-mnist``.

    subset : {"test", "train", "all"}, default="test"
        Official split; ``"all"`` concatenates train then test. The paper
        analysed the test split (about 2,000 images per pair).

    download : bool, default=False
        If the files are missing, fetch the gzipped IDX files of ``subset``
        into ``data_home`` from the public mirrors (http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ first), check
        their MD5 sums and headers, then load them. Needs network access.

    return_X_y : bool, default=True
        If True return ``(X, y)``, otherwise a :class:`~sklearn.utils.Bunch`
        with ``data``, ``target``, ``target_names`` (the original labels of
        classes 0 and 1), ``original_target``, ``filenames``, ``label_names`` and
        ``DESCR``.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype float64
        Raw pixel values 0-255 (unscaled, as in the paper), original row order.

    y : ndarray of shape (n_samples,), dtype int64
        1 where the label is ``pair[1]``, 0 where it is ``pair[0]``.

    Raises
    ------
    FileNotFoundError
        If no recognised file is found and ``download=False``; the message
        names the folder and the expected files.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_ricci.datasets import load_fashion_mnist_pair
    >>> path = os.path.join(tempfile.mkdtemp(), "pair.npz")
    >>> labels = np.array([5, 9, 0, 9], dtype=np.uint8)
    >>> np.savez(path, X=np.zeros((4, 784), dtype=np.uint8), y=labels)
    >>> X, y = load_fashion_mnist_pair((5, 9), data_home=path)
    >>> X.shape, y.tolist()
    ((3, 784), [0, 1, 1])
    """
    pair = _check_pair(pair)
    return _load_image_pair(
        "fashion-mnist", pair, data_home, subset, download, return_X_y
    )
