"""Declared parameter constraints, checked before any computation.

Each estimator, scorer and configuration states the values its parameters
accept once, as a ``_parameter_constraints`` dict in the manner of
scikit-learn's (``{"n_neighbors": [Interval(Integral, 1, None)], ...}``), and
:func:`validate_params` checks them all and says, for a bad value, what was
expected, what was received and how to fix it. The module is self-contained
(scikit-learn's own implementation is private API).

A constraint is ``None`` (the value None), a :class:`Constraint`, or a type
(an ``isinstance`` check). A parameter is valid when it satisfies any of its
constraints.
"""

import numbers
from typing import ClassVar

import numpy as np

from .exceptions import InvalidParameterError

__all__ = [
    "Boolean",
    "Constraint",
    "IntList",
    "Interval",
    "ListOf",
    "NJobs",
    "Options",
    "RandomState",
    "validate_params",
]


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Constraint:
    """A set of valid values, with a description for error messages."""

    def is_satisfied_by(self, value):  # pragma: no cover - interface
        raise NotImplementedError

    def __str__(self):  # pragma: no cover - interface
        raise NotImplementedError


class Interval(Constraint):
    """Numbers of type ``type`` (``numbers.Integral`` or ``numbers.Real``) in
    an interval; ``None`` bounds are open-ended. ``closed`` is one of "left",
    "right", "both", "neither". Booleans are never numbers here."""

    def __init__(self, type, left, right, closed="both"):
        if type not in (numbers.Integral, numbers.Real):
            raise ValueError(f"type must be Integral or Real, got {type!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed={closed!r} is not valid")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value):
        ok = is_int(value) if self.type is numbers.Integral else is_real(value)
        if not ok or (self.type is numbers.Real and np.isnan(value)):
            return False
        left_closed = self.closed in ("left", "both")
        right_closed = self.closed in ("right", "both")
        if self.left is not None and (
            value < self.left or (value == self.left and not left_closed)
        ):
            return False
        return self.right is None or not (
            value > self.right or (value == self.right and not right_closed)
        )

    def __str__(self):
        kind = "an int" if self.type is numbers.Integral else "a float"
        if self.left is not None and self.right is not None:
            lo = "[" if self.closed in ("left", "both") else "("
            hi = "]" if self.closed in ("right", "both") else ")"
            return f"{kind} in {lo}{self.left}, {self.right}{hi}"
        if self.left is not None:
            op = ">=" if self.closed in ("left", "both") else ">"
            return f"{kind} {op} {self.left}"
        if self.right is not None:
            op = "<=" if self.closed in ("right", "both") else "<"
            return f"{kind} {op} {self.right}"
        return kind


class Options(Constraint):
    """One of a fixed set of values (strings, usually)."""

    def __init__(self, options):
        self.options = tuple(options)

    def is_satisfied_by(self, value):
        return isinstance(value, (str, type(None), bool, numbers.Number)) and any(
            value == o and type(value) is type(o) for o in self.options
        )

    def __str__(self):
        return "one of " + ", ".join(repr(o) for o in self.options)


class NJobs(Constraint):
    """scikit-learn's ``n_jobs``: a non-zero int (-1 all cores, -2 all but
    one, ...)."""

    def is_satisfied_by(self, value):
        return is_int(value) and value != 0

    def __str__(self):
        return "a non-zero int (-1 for all cores, -2 for all but one)"


class RandomState(Constraint):
    """An int seed in [0, 2**32 - 1] or a ``numpy.random.RandomState``."""

    def is_satisfied_by(self, value):
        return (is_int(value) and 0 <= value < 2**32) or isinstance(
            value, np.random.RandomState
        )

    def __str__(self):
        return "an int in [0, 2**32 - 1] or a numpy RandomState"


class IntList(Constraint):
    """A non-empty list (or tuple, or 1-D array) of ints >= ``low``."""

    def __init__(self, low=1):
        self.low = low

    def is_satisfied_by(self, value):
        if isinstance(value, (str, bytes, dict, set)) or is_int(value):
            return False
        try:
            values = list(value)
        except TypeError:
            return False
        return bool(values) and all(is_int(v) and v >= self.low for v in values)

    def __str__(self):
        return f"a non-empty list of ints >= {self.low}"


class Boolean(Constraint):
    """True or False (a Python or NumPy bool; not 0, 1 or a string)."""

    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "a bool (True or False)"


class ListOf(Constraint):
    """A non-empty list or tuple whose every item satisfies one of
    ``constraints`` (arrays, strings and other iterables are refused)."""

    def __init__(self, constraints):
        self.constraints = list(constraints)

    def is_satisfied_by(self, value):
        return (
            isinstance(value, (list, tuple))
            and len(value) > 0
            and all(any(_satisfies(v, c) for c in self.constraints) for v in value)
        )

    def __str__(self):
        items = " or ".join(_describe(c) for c in self.constraints)
        return f"a non-empty list of ({items})"


def _describe(constraint):
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        plain = {numbers.Integral: "an int", numbers.Real: "a number", str: "a str",
                 bool: "a bool (True or False)"}
        return plain.get(constraint, f"an instance of {constraint.__name__}")
    return str(constraint)


def _satisfies(value, constraint):
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


def validate_params(params, constraints, owner, *, fixes=None, error=None):
    """Check every parameter of ``params`` that has declared constraints.

    Parameters
    ----------
    params : dict
        Parameter name -> value.
    constraints : dict
        Parameter name -> list of constraints (any one must hold), or the
        string "no_validation".
    owner : str
        What the parameters belong to, for the message (e.g. ``"RicciFlow"``).
    fixes : dict, optional
        Parameter name -> a hint appended to its error message.
    error : exception class, optional
        Raised instead of :class:`~sk_ricci.exceptions.InvalidParameterError`
        (e.g. :class:`~sk_ricci.exceptions.StudyConfigError`).

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` and ``TypeError`` naming the parameter, what it
        accepts, the value received and how to fix it.
    """
    fixes = fixes or {}
    for name, value in params.items():
        allowed = constraints.get(name)
        if allowed is None or allowed == "no_validation":
            continue
        if any(_satisfies(value, c) for c in allowed):
            continue
        expected = " or ".join(_describe(c) for c in allowed)
        fix = fixes.get(name)
        raise (error or InvalidParameterError)(
            f"{owner}: {name} must be {expected}; got {type(value).__name__} "
            f"{value!r}." + (f" {fix}" if fix else "")
        )


def check_random_state_param(random_state, owner):
    """Refuse a ``random_state`` that is not None, an int seed or a
    ``numpy.random.RandomState``, naming ``owner`` (scikit-learn's
    ``check_random_state`` names neither the parameter nor the function)."""
    validate_params(
        {"random_state": random_state}, {"random_state": [None, RandomState()]},
        owner, fixes={"random_state": "Pass an int seed such as random_state=0."},
    )


def check_flags(owner, **flags):
    """Refuse a flag that is not a bool (the string "False" is true in an
    ``if``: read as a flag it would silently do the opposite)."""
    validate_params(flags, {name: [Boolean()] for name in flags}, owner)


class ValidatedMixin:
    """``_validate_params()`` for an estimator with ``_parameter_constraints``
    (checks ``get_params(deep=False)``; call it first thing in ``fit``)."""

    _parameter_constraints: ClassVar[dict] = {}
    _parameter_fixes: ClassVar[dict] = {}

    def _validate_params(self):
        validate_params(
            self.get_params(deep=False),
            self._parameter_constraints,
            type(self).__name__,
            fixes=self._parameter_fixes,
        )
