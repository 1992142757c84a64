"""The data of a study: each problem's train and test split.

:func:`load_problem` draws (synthetic problems), reads (MNIST and
Fashion-MNIST pairs, scikit-learn's digits) and splits a problem's points as
the study uses them, from the configuration's sizes and seed, and
standardises them as ``StudyConfig.standardize`` says.
"""

import numpy as np

from ..datasets import REGISTRY, problem_loader
from ..exceptions import StudyConfigError
from ._config import data_seed
from ._fields import canonical_problem


def _stratified_take(X, y, n, seed):
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X, y


def load_problem(problem, config):
    """Train and test split of one problem, as the study uses it.

    Parameters
    ----------
    problem : str
        A name (or alias) of :data:`sk_ricci.datasets.REGISTRY`.
    config : StudyConfig
        Sizes, seed, ``standardize`` and data location.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
    """
    problem = canonical_problem(problem)
    X_train, y_train, X_test, y_test = _load_raw(problem, config)
    source = REGISTRY[problem].source
    if config.standardize == "all" or (
        config.standardize == "synthetic" and source == "synthetic"
    ):
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, y_train, X_test, y_test


def _load_raw(problem, config):
    from sklearn.model_selection import train_test_split

    entry = REGISTRY[problem]
    source, pair = entry.source, entry.pair
    loader = problem_loader(entry)  # the registry names it
    seed = data_seed(config.seed, problem)
    n_train, n_test = config.sizes(problem)
    if entry.one_set:
        if source == "synthetic":
            X, y = loader(n_train + n_test, random_state=seed)
        else:
            X, y = loader(pair)
            n = len(y)
            if n_train + n_test > n:
                n_test = min(n_test, n // 2)
                n_train = min(n_train, n - n_test)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=n_train, test_size=n_test, stratify=y, random_state=seed
        )
        return X_train, y_train, X_test, y_test
    kwargs = {"data_home": config.data_home, "download": config.download}
    try:
        X_train, y_train = loader(pair, subset="train", **kwargs)
        X_test, y_test = loader(pair, subset="test", **kwargs)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"problem {problem!r} needs the {source} files: "
            f"{str(exc).rstrip('. ')}. Pass "
            "--data-home FOLDER, --download (network needed), or use the offline "
            "stand-ins digits_1_7 / digits_6_8, e.g. --problems A,B,C,digits_1_7"
        ) from None
    if _same_images(X_train, X_test):
        # data_home is one file holding one set of images (no official
        # train/test keys): split it, so that no test image is a training one
        n = len(y_test)
        if n_train + n_test > n:
            half = n // 2
            raise StudyConfigError(
                f"data_home={config.data_home!r} holds one file of {n} images of "
                f"problem {problem!r} (no official train/test split), used for "
                f"both training and testing; the study needs disjoint train and "
                f"test sets, so n_train + n_test = {n_train + n_test} must be at "
                f"most {n}; pass smaller sizes for this problem (e.g. --split "
                f"{problem}={half}/{n - half}, or splits = {{{problem} = "
                f"[{half}, {n - half}]}} in the TOML file), or a data_home "
                "folder with the official train and test files"
            )
        X_train, X_test, y_train, y_test = train_test_split(
            X_test, y_test, train_size=n_train, test_size=n_test, stratify=y_test,
            random_state=seed,
        )
        return X_train, y_train, X_test, y_test
    X_train, y_train = _stratified_take(X_train, y_train, n_train, seed)
    X_test, y_test = _stratified_take(X_test, y_test, n_test, seed + 1)
    return X_train, y_train, X_test, y_test


def _same_images(A, B):
    return A.shape == B.shape and (A is B or np.array_equal(A, B))
