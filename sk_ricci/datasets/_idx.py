"""Readers of the image files: IDX (the MNIST format, plain or gzipped), CSV
(label then pixels) and NPZ."""

import gzip
from pathlib import Path

import numpy as np

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == _GZIP_MAGIC else open(path, "rb")


def read_idx(path):
    """Read an IDX file (the MNIST / Fashion-MNIST format), plain or gzipped.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64) and the number of
    dimensions, then one big-endian uint32 per dimension, then the data in
    row-major big-endian order. Gzip compression is detected from the file's
    first bytes, whatever its name.

    Parameters
    ----------
    path : str or path-like
        The IDX file.

    Returns
    -------
    array : ndarray
        Shape given by the header, native byte order.

    Raises
    ------
    ValueError
        If the magic number is wrong or the data size does not match the header.

    Examples
    --------
    >>> import os, struct, tempfile
    >>> from sk_ricci.datasets import read_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([7, 1, 7]))
    >>> read_idx(path).tolist()
    [7, 1, 7]
    """
    path = Path(path)
    with _open_maybe_gzip(path) as f:
        content = f.read()
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise ValueError(
            f"{path} is not an IDX file: its magic number starts with "
            f"{content[:2]!r}, expected two zero bytes (a truncated or HTML "
            "download?)"
        )
    code, ndim = content[2], content[3]
    if code not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
            f"{[f'0x{c:02X}' for c in _IDX_DTYPES]}"
        )
    header = 4 + 4 * ndim
    if ndim == 0 or len(content) < header:
        raise ValueError(f"{path}: truncated IDX header (ndim={ndim})")
    shape = tuple(int(d) for d in np.frombuffer(content, ">u4", ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(content) - header != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({expected} bytes of "
            f"{dtype.name}) but the file holds {len(content) - header} bytes of "
            "data; the file is truncated or corrupt"
        )
    data = np.frombuffer(content, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_csv(path):
    """CSV with the label first then the pixels; an optional header row."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        first = f.readline()
    skip = 0 if first.split(",")[0].strip().lstrip("-").isdigit() else 1
    table = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    if table.shape[1] < 2:
        raise ValueError(
            f"{path}: expected a label column followed by pixel columns, got "
            f"{table.shape[1]} column(s)"
        )
    return table[:, 1:], table[:, 0].astype(np.int64)


def read_npz(path, subset):
    with np.load(path) as data:
        keys = set(data.files)
        for xk, yk in (("X", "y"), (f"x_{subset}", f"y_{subset}"), ("x", "y")):
            if xk in keys and yk in keys:
                X, labels = data[xk], data[yk]
                break
        else:
            raise ValueError(
                f"{path} holds arrays {sorted(keys)}; expected 'X' and 'y' (or "
                f"'x_{subset}' and 'y_{subset}' as in keras' mnist.npz)"
            )
    return X.reshape(len(X), -1), np.asarray(labels).astype(np.int64)
