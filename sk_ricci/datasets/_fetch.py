"""The public IDX files of MNIST and Fashion-MNIST: where each set is kept
locally, its mirrors and MD5 sums, and the downloader that checks them.

Written by hand, as scikit-learn writes its fetchers, rather than with a
download library: two files per subset, a checksum each, no new dependency.
"""

import contextlib
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request

from ._idx import read_idx

#: Each image set: local folder and file stems (read by the loaders), title,
#: mirrors in the order tried, and the MD5 sum of each gzipped IDX file.
IMAGE_SETS = {
    "mnist": {
        "folder": "mnist",
        "title": "MNIST",
        "stems": ("mnist",),
        "mirrors": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        "md5": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "fashion-mnist": {
        "folder": "fashion-mnist",
        "title": "Fashion-MNIST",
        "stems": ("fashion-mnist", "fashion_mnist"),
        "mirrors": (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            (
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
                "master/data/fashion/"
            ),
        ),
        "md5": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
}
_N_IMAGES = {"train": 60000, "test": 10000}


def idx_names(subset):
    """The IDX file names (images, labels) of ``subset``, without ``.gz``."""
    prefix = "t10k" if subset == "test" else "train"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _md5(path):
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _part_file(directory):
    """A fresh ``.part`` file in ``directory``, removed on exit unless moved."""
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".part")
    os.close(fd)
    try:
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _fetch_checked(url, tmp, target, md5, n_items):
    """Download ``url`` into ``tmp``; move it to ``target`` only if its MD5 sum
    is ``md5`` and its IDX header announces ``n_items`` items."""
    with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as out:
        shutil.copyfileobj(r, out)
    digest = _md5(tmp)
    if digest != md5:
        raise OSError(f"MD5 {digest} differs from {md5}")
    n = read_idx(tmp).shape[0]
    if n != n_items:
        raise OSError(f"{n} items, expected {n_items}")
    os.replace(tmp, target)


def download_subset(spec, directory, subset):
    """Fetch the two gzipped IDX files of one subset into ``directory``, each from
    the first mirror that serves it intact; a file already there with the right
    MD5 sum is kept."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in idx_names(subset):
        filename = name + ".gz"
        target, md5 = directory / filename, spec["md5"][filename]
        if target.is_file() and _md5(target) == md5:
            continue
        errors = []
        for mirror in spec["mirrors"]:
            with _part_file(directory) as tmp:
                try:
                    _fetch_checked(
                        mirror + filename, tmp, target, md5, _N_IMAGES[subset]
                    )
                    break
                except (OSError, ValueError, http.client.HTTPException) as exc:
                    errors.append(f"{mirror}{filename}: {exc}")
        else:
            raise OSError(
                f"could not download {filename} for {spec['title']}:\n  "
                + "\n  ".join(errors)
                + f"\nput the file into {directory} by hand"
            )
