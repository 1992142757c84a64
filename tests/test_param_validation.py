"""The declared-constraint checker and the frozen flow options."""

import dataclasses
import numbers

import numpy as np
import pytest

from sk_ricci._options import FlowOptions
from sk_ricci._param_validation import (
    Boolean,
    Interval,
    IntList,
    ListOf,
    NJobs,
    Options,
    RandomState,
    validate_params,
)
from sk_ricci.exceptions import InvalidParameterError, StudyConfigError


@pytest.mark.parametrize(
    "constraint, good, bad",
    [
        (Interval(numbers.Integral, 1, None), [1, 5, np.int64(3)], [0, -1, 1.0, True, "2"]),
        (Interval(numbers.Real, 0, 1, closed="neither"), [0.5, 1e-9], [0, 1, np.nan, False]),
        (Interval(numbers.Real, 0, 1, closed="left"), [0, 0.99], [1, -0.1]),
        (Interval(numbers.Real, None, 0, closed="right"), [0, -3.5], [0.1]),
        (Options(("max", "min")), ["max", "min"], ["MAX", None, 1]),
        (Options((None, "mst")), [None, "mst"], ["none", 0, False]),
        (NJobs(), [1, -1, -2, 8], [0, 1.0, True, None]),
        (RandomState(), [0, 2**32 - 1, np.random.RandomState(0)], [-1, 2**32, 1.5]),
        (IntList(1), [[1, 2], (3,), np.array([4, 5])], [[], [0], [1.5], 3, "12", [True]]),
        (Boolean(), [True, False, np.bool_(True)], [0, 1, "yes", None]),
        (ListOf([Interval(numbers.Integral, 1, None),
                 Interval(numbers.Real, 0, 1, closed="neither")]),
         [[3], (3, 0.5), [np.int64(2), np.float64(0.1)]],
         [[], (), [0], [1.5], [True], np.array([3]), "3", 3, [[3]]]),
    ],
)
def test_constraints_accept_and_reject(constraint, good, bad):
    for value in good:
        assert constraint.is_satisfied_by(value), value
    for value in bad:
        assert not constraint.is_satisfied_by(value), value


def test_interval_descriptions():
    assert str(Boolean()) == "a bool (True or False)"
    assert str(ListOf([Interval(numbers.Integral, 1, None), None])) == (
        "a non-empty list of (an int >= 1 or None)"
    )
    assert str(Interval(numbers.Integral, 1, None)) == "an int >= 1"
    assert str(Interval(numbers.Real, 0, 1, closed="left")) == "a float in [0, 1)"
    assert str(Interval(numbers.Real, None, 0, closed="neither")) == "a float < 0"


def test_validate_params_message_names_expected_received_and_fix():
    constraints = {"k": [Interval(numbers.Integral, 1, None), IntList(1)], "x": "no_validation"}
    validate_params({"k": 3, "x": object(), "other": "anything"}, constraints, "Thing")
    with pytest.raises(InvalidParameterError) as info:
        validate_params({"k": 0}, constraints, "Thing", fixes={"k": "Pass k=10."})
    msg = str(info.value)
    assert msg == (
        "Thing: k must be an int >= 1 or a non-empty list of ints >= 1; "
        "got int 0. Pass k=10."
    )
    # both a ValueError and a TypeError, as scikit-learn's
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)
    with pytest.raises(StudyConfigError, match="k must be"):
        validate_params({"k": "3"}, constraints, "Thing", error=StudyConfigError)


def test_flow_options_defaults_frozen_and_validated():
    opts = FlowOptions()
    assert opts.as_dict() == {
        "symmetrize": "max", "curvature": "forman", "connect": None,
        "on_disconnected": "nan", "algorithm": "auto", "random_state": None,
        "n_jobs": None,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.connect = "mst"
    assert opts.replace(connect="mst").connect == "mst"
    assert opts.replace(connect="mst").replace(connect=None).connect is None
    with pytest.raises(InvalidParameterError, match=r"connect must be one of None, 'mst'; got str 'MST'"):
        opts.replace(connect="MST")
    with pytest.raises(InvalidParameterError, match="n_jobs must be None or a non-zero int"):
        FlowOptions(n_jobs=0)
    assert FlowOptions(n_jobs=-2).n_jobs == -2
    got = FlowOptions.from_params({"curvature": "ollivier", "n_neighbors": 5, "statistic": "rho"})
    assert got == FlowOptions(curvature="ollivier")


def test_flow_options_checked_names_its_owner():
    opts = FlowOptions.checked("ricci_flow", connect="mst", n_jobs=-2)
    assert opts == FlowOptions(connect="mst", n_jobs=-2)
    with pytest.raises(InvalidParameterError, match=(
        r"^ricci_flow: n_jobs must be None or a non-zero int \(-1 for all cores, "
        r"-2 for all but one\); got int 0\. Pass None \(one thread\), a positive "
        r"int, or a negative int counting back from all cores \(-1 all, -2 all "
        r"but one\)\.$")):
        FlowOptions.checked("ricci_flow", n_jobs=0)
    with pytest.raises(InvalidParameterError, match="^select_n_neighbors: symmetrize"):
        FlowOptions.checked("select_n_neighbors", symmetrize="avg")
