"""The flows read layers one at a time: a generator of layers gives exactly the
result of the list, and the flows keep no earlier layer's activations alive."""

import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sk_ricci import local_ricci_flow, ricci_flow
from sk_ricci.nn import LayerActivations

from _settings import random_relu_layers


@pytest.mark.parametrize("k", [6, [4, 9]])
@pytest.mark.parametrize("connect", [None, "mst"])
@pytest.mark.parametrize("curvature", ["forman", "approx_ollivier"])
def test_a_stream_of_layers_equals_the_list(k, connect, curvature):
    layers = random_relu_layers(seed=3, n=80, n_layers=6)
    opts = {"connect": connect, "curvature": curvature}
    with _quiet():
        glob = ricci_flow(layers, k, **opts)
        glob_s = ricci_flow((X for X in layers), k, **opts)
        loc = local_ricci_flow(layers, k, **opts)
        loc_s = local_ricci_flow(iter(layers), k, **opts)
    for a, b in zip(np.atleast_1d(glob), np.atleast_1d(glob_s)):
        assert_array_equal(a.total_curvature, b.total_curvature)
        assert_array_equal(a.geodesic_mass, b.geodesic_mass)
        assert a.coefficient == b.coefficient or (
            np.isnan(a.coefficient) and np.isnan(b.coefficient))
    for a, b in zip(np.atleast_1d(loc), np.atleast_1d(loc_s)):
        assert_array_equal(a.scalar_curvature, b.scalar_curvature)
        assert_array_equal(a.expansion, b.expansion)
        assert_array_equal(a.coefficients, b.coefficients)
        assert_array_equal(a.layer_coefficients, b.layer_coefficients)


def _quiet():
    import warnings

    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")

    class _Exit:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            ctx.__exit__(*exc)

    return _Exit()


@pytest.mark.parametrize("flow", [ricci_flow, local_ricci_flow])
def test_a_stream_keeps_no_earlier_layer_alive(flow):
    # each layer is made when the flow asks for it; two layers later, the
    # first one must be gone (the flow kept its graph or totals, not its rows)
    refs = []
    alive_when_asked = []

    def layers():
        for i in range(6):
            gc.collect()
            alive_when_asked.append(sum(r() is not None for r in refs))
            X = random_relu_layers(seed=i, n=60, n_layers=1)[0]
            refs.append(weakref.ref(X))
            yield X
            del X

    with _quiet():
        flow(layers(), 5, connect="mst")
    # when layer i is asked for, at most layer i - 1 may still be referenced
    assert max(alive_when_asked) <= 1, alive_when_asked


def test_stream_errors_name_the_layer():
    layers = random_relu_layers(seed=1, n=40, n_layers=4)
    bad = layers[:2] + [layers[2][:-1]] + layers[3:]
    for flow in (ricci_flow, local_ricci_flow):
        with pytest.raises(ValueError, match="layer 3 has 39 rows, layer 1 has 40"):
            flow(iter(bad), 5)
        with pytest.raises(ValueError, match=r"got 2 layer\(s\)"):
            flow(iter(layers[:2]), 5)
        with pytest.raises(ValueError, match="layers is empty"):
            flow(iter([]), 5)
        nan = [X.copy() for X in layers]
        nan[1][0, 0] = np.nan
        with pytest.raises(ValueError, match="layer 2 contains 1 non-finite"):
            flow(iter(nan), 5)
    # names can still be given for a stream
    names = ["a", "b", "c", "d"]
    with _quiet():
        res = ricci_flow(iter(layers), 5, layer_names=names)
    assert res.layer_names == tuple(names)
    named = LayerActivations(layers, names)
    assert ricci_flow(named, 5).layer_names == tuple(names)
