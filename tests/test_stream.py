"""The flows read layers one at a time: a generator of layers gives exactly the
result of the list, and the flows keep no earlier layer's activations alive."""

import dataclasses
import gc
import weakref

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from sk_ricci import local_ricci_flow, ricci_flow
from sk_ricci.exceptions import DisconnectedGraphWarning
from sk_ricci.nn import LayerActivations

from _settings import random_relu_layers, results_equal


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


def _assert_same_global(a, b):
    results_equal(a, b)
    assert (a.layer_names, a.connect, a.curvature, a.symmetrize) == (
        b.layer_names, b.connect, b.curvature, b.symmetrize)


@pytest.mark.parametrize("k", [6, [4, 9]])
@pytest.mark.parametrize("connect", [None, "mst"])
@pytest.mark.parametrize("stream", [False, True])
# approx_ollivier has no total kernel: its total sums the edge curvatures
# the local flow computed
@pytest.mark.parametrize("curvature", ["augmented_forman", "approx_ollivier"])
def test_return_global_is_ricci_flow_of_the_same_graphs(k, connect, stream,
                                                        curvature):
    # one neighbour search per layer serves both flows: the global result is
    # ricci_flow's, field by field, and the local one is unchanged
    layers = LayerActivations(
        random_relu_layers(seed=5, n=90, n_layers=6, bias=0.2),
        [f"relu{i}" for i in range(6)],
    )
    opts = {"connect": connect, "symmetrize": "sum", "curvature": curvature}
    with _quiet():
        expected_global = ricci_flow(layers, k, **opts)
        expected_local = local_ricci_flow(layers, k, **opts)
        got_local, got_global = local_ricci_flow(
            iter(layers) if stream else layers, k, return_global=True, **opts
        )
    if not stream:  # a plain iterator carries no names
        assert got_global is not None
    else:
        expected_global = [
            dataclasses.replace(r, layer_names=None)
            for r in np.atleast_1d(expected_global)
        ]
    assert isinstance(got_global, list) == isinstance(k, list)
    for a, b in zip(np.atleast_1d(got_global), np.atleast_1d(expected_global)):
        _assert_same_global(a, b)
    for a, b in zip(np.atleast_1d(got_local), np.atleast_1d(expected_local)):
        assert_array_equal(a.coefficients, b.coefficients)
        assert_array_equal(a.expansion, b.expansion)


def test_return_global_of_a_disconnected_network_is_nan_with_the_warning():
    # two far clusters: every layer's k=5 graph has 2 components
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(30, 3)), 100 + rng.normal(size=(30, 3))])
    layers = random_relu_layers(seed=2, n_layers=5, X=X)
    with pytest.warns(DisconnectedGraphWarning, match="disconnected"):
        _, glob = local_ricci_flow(layers, 5, return_global=True)
    assert np.isnan(glob.coefficient)
    assert (glob.n_components >= 2).all() and not glob.connected.any()


def test_local_random_state_seeds_the_approximate_search(monkeypatch):
    import sk_ricci._graph as graph_module

    seeds = []
    search = graph_module._kneighbors_sq

    def spy(X, k, algorithm, metric, random_state, *args):
        seeds.append(random_state)
        return search(X, k, algorithm, metric, random_state, *args)

    monkeypatch.setattr(graph_module, "_kneighbors_sq", spy)
    layers = random_relu_layers(seed=4, n=70, n_layers=4)
    with _quiet():
        a = local_ricci_flow(layers, 6, algorithm="nndescent", random_state=7)
        b = local_ricci_flow(layers, 6, algorithm="nndescent", random_state=7)
        local_ricci_flow(layers, 6, algorithm="nndescent")
        _, glob = local_ricci_flow(
            layers, 6, algorithm="nndescent", random_state=7, return_global=True
        )
        ref = ricci_flow(layers, 6, algorithm="nndescent", random_state=7)
    # one search per layer (4 layers) and call: twice 7, the default 0, then
    # 7 for the global-and-local call and for ricci_flow
    assert seeds == [7] * 8 + [0] * 4 + [7] * 8
    assert_array_equal(a.coefficients, b.coefficients)
    _assert_same_global(glob, ref)


@pytest.mark.parametrize("value, match", [
    ("yes", r"return_global must be a bool \(True or False\); got str 'yes'"),
    (1, r"return_global must be a bool \(True or False\); got int 1"),
])
def test_return_global_must_be_a_bool(value, match):
    layers = random_relu_layers(seed=1, n=40, n_layers=4)
    with pytest.raises(ValueError, match=match):
        local_ricci_flow(layers, 5, return_global=value)


@pytest.mark.parametrize("flow", [
    ricci_flow,
    local_ricci_flow,
    lambda layers, k, **kw: local_ricci_flow(layers, k, return_global=True, **kw),
])
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
