"""How each :class:`~sk_ricci.study.StudyConfig` field's value is normalised
before its declared constraints are checked: comma-separated strings of names
become tuples, problem names are resolved through the registry, ints become
floats where a float is expected, and so on. A number given as a string
("0.001", ["5"]) is not read: like every other door of the library, the
constraints refuse it with a message naming the field and the string. Anything
a normaliser cannot read is left as it is, for the constraints to refuse.
"""

import numbers

import numpy as np

from .._param_validation import (
    Constraint,
    Interval,
    IntList,
    is_int,
    validate_params,
)
from ..datasets._problems import resolve_problem
from ..exceptions import StudyConfigError


def canonical_problem(name):
    if not isinstance(name, str):
        raise StudyConfigError(f"problem names are strings, got {name!r}")
    return resolve_problem(name, error=StudyConfigError).name


def _as_tuple(value, name):
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        return tuple(value)
    except TypeError:
        raise StudyConfigError(
            f"{name} must be a list, got {type(value).__name__} {value!r}"
        ) from None


def _problems(value):
    names = (canonical_problem(p) for p in _as_tuple(value, "problems"))
    return tuple(dict.fromkeys(names))


def _architectures(value):
    names = (str(a).strip().lower() for a in _as_tuple(value, "architectures"))
    return tuple(dict.fromkeys(names))


def _depths(value):
    depths = _as_tuple(value, "depths")
    if not all(is_int(d) for d in depths):
        raise StudyConfigError(
            f"StudyConfig: depths must be ints, got {list(depths)!r}; pass e.g. "
            "depths=[5, 11]"
        )
    return tuple(dict.fromkeys(int(d) for d in depths))


def _int(value):
    return int(value) if is_int(value) else value


def _float(value):
    """An int or float as a float; anything else (a string too, even "0.1")
    unchanged, and then refused by the constraints."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def _fraction(value):
    return 0.0 if value is None else _float(value)


def _connect(value):
    if isinstance(value, str) and value.lower() in ("none", "", "null"):
        return None
    return value


def _whole(v):
    """A whole number (6 or 6.0) as an int; anything else unchanged."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        try:
            if float(int(v)) == float(v):
                return int(v)
        except (OverflowError, ValueError):  # inf, nan
            pass
    return v


def _k_list(value, name):
    """A k grid as a sorted tuple of distinct ints (``6.0`` counts as 6; the
    string ``"6"`` is refused), checked against :class:`IntList`."""
    if isinstance(value, str):  # "6,10": refused as the string it is
        ks = value
    else:
        ks = [_whole(v) for v in _as_tuple(value, name)]
    validate_params(
        {name: ks}, {name: [IntList(1)]}, "StudyConfig",
        fixes={name: "Pass e.g. [6, 10, 30, 90]."}, error=StudyConfigError,
    )
    return tuple(sorted(set(ks)))


def _k_grid(value):
    if isinstance(value, dict):
        grid = {
            canonical_problem(p): _k_list(v, f"n_neighbors[{p!r}]")
            for p, v in value.items()
        }
        return dict(sorted(grid.items())) or None
    return None if value is None else _k_list(value, "n_neighbors")


def _thresholds(value):
    if not isinstance(value, dict):
        return value
    thresholds = {}
    for name, accuracy in value.items():
        key, accuracy = f"thresholds[{name!r}]", _float(accuracy)
        validate_params(
            {key: accuracy}, {key: [Interval(numbers.Real, 0, 1, closed="left")]},
            "StudyConfig", fixes={key: "An accuracy, e.g. 0.9."},
            error=StudyConfigError,
        )
        thresholds[canonical_problem(name)] = accuracy
    return dict(sorted(thresholds.items()))


def _splits(value):
    """``{problem: (n_train, n_test)}`` from a dict whose values are pairs of
    ints or ``"TRAIN/TEST"`` strings."""
    if not isinstance(value, dict):
        return value
    splits = {}
    for name, sizes in value.items():
        key = f"splits[{name!r}]"
        if isinstance(sizes, str):
            sizes = sizes.replace(",", "/").split("/")
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = (sizes,)
        sizes = tuple(
            int(v) if isinstance(v, str) and v.strip().isdigit() else _int(v)
            for v in sizes
        )
        if len(sizes) != 2 or not all(
            is_int(v) and not isinstance(v, bool) and v >= 10 for v in sizes
        ):
            raise StudyConfigError(
                f"{key} must be two ints of at least 10 (training and test "
                f"points), got {value[name]!r}; pass e.g. [500, 500] (TOML) or "
                f"--split {name}=500/500"
            )
        splits[canonical_problem(name)] = sizes
    return dict(sorted(splits.items()))


def _bool(value):
    """A Python or NumPy bool as a bool; anything else unchanged (a string
    such as "no" is refused by the constraints, not read as True)."""
    return bool(value) if isinstance(value, (bool, np.bool_)) else value


def _path_or_none(value):
    return None if value is None else str(value)


NORMALISERS = {
    "problems": _problems,
    "architectures": _architectures,
    "depths": _depths,
    "repeats": _int,
    "n_train": _int,
    "n_test": _int,
    "max_epochs": _int,
    "batch_size": _int,
    "lr": _float,
    "validation_fraction": _fraction,
    "splits": _splits,
    "thresholds": _thresholds,
    "n_neighbors": _k_grid,
    "connect": _connect,
    "seed": _int,
    "data_home": _path_or_none,
    "download": _bool,
}


class _Subset(Constraint):
    """A non-empty tuple of values from ``options``."""

    def __init__(self, options):
        self.options = tuple(options)

    def is_satisfied_by(self, value):
        return (
            isinstance(value, tuple) and bool(value)
            and all(v in self.options for v in value)
        )

    def __str__(self):
        return "a non-empty list of " + ", ".join(repr(o) for o in self.options)
