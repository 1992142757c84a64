"""Every figure the library draws, rendered on small data: its texts (titles,
axis labels, legends) are there, it names the statistic it shows, and no two
tick labels (nor a colourbar label and a neighbouring axis label) overlap."""

import itertools

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from sk_ricci import (
    RicciFlowResult,
    local_ricci_flow,
    plotting,
    ricci_flow,
)


def _result(scale=1.0, names=None, k=30):
    # magnitudes of a real layer graph (1e5): the case that crowded the ticks
    ric = scale * np.array([-1.05e5, -1.025e5, -1.0e5, -0.98e5, -0.975e5])
    mass = scale * np.array([9.0e5, 8.6e5, 8.3e5, 8.1e5, 8.0e5])
    return RicciFlowResult(
        k, ric, mass, np.diff(mass), -0.97, np.nan, np.nan, np.ones(5, bool),
        np.ones(5, int), layer_names=names,
    )


def _texts(fig):
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        out += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    out += [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return " | ".join(t for t in out if t)


def _overlaps(fig):
    """Pairs of visible tick labels of one axis whose boxes intersect, and
    axis labels that run into each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    bad = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels()
                      if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for (a, ta), (b, tb) in itertools.combinations(zip(boxes, labels), 2):
                if a.overlaps(b):
                    bad.append((ta.get_text(), tb.get_text()))
    labels = [t for ax in fig.axes if ax.get_visible()
              for t in (ax.xaxis.label, ax.yaxis.label) if t.get_text()]
    for ta, tb in itertools.combinations(labels, 2):
        if ta.get_window_extent(renderer).overlaps(tb.get_window_extent(renderer)):
            bad.append((ta.get_text(), tb.get_text()))
    return bad


def _no_offset_text(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return [ax.xaxis.get_offset_text().get_text() + ax.yaxis.get_offset_text()
            .get_text() for ax in fig.axes if ax.get_visible()]


def test_ricci_flow_display_reads_at_a_glance():
    disp = plotting.RicciFlowDisplay.from_result(_result(), name="best network")
    fig = disp.figure_
    text = _texts(fig)
    assert "total curvature" in text and "geodesic" in text
    assert "Ricci coefficient $\\rho$ = -0.97" in text and "k = 30" in text
    assert "numbers: layer l" in text  # the numbered points are explained
    assert _overlaps(fig) == []
    # large magnitudes: the scale is in the axis label, not a floating offset
    assert set(_no_offset_text(fig)) == {""}
    assert "10^{5}" in disp.ax_.get_xlabel() and "10^{4}" in disp.ax_.get_ylabel()


def test_flow_panels_and_flow_by_layer():
    fig = plotting.plot_flow_panels([_result(), _result(k=50)], titles=["a", "b"])
    assert _overlaps(fig) == []
    assert set(_no_offset_text(fig)) == {""}
    names = ("block1.relu", "block2.relu", "block3.relu", "block4.relu", "fc.relu")
    fig = plotting.plot_flow_by_layer([_result(names=names)])
    text = _texts(fig)
    assert "total curvature" in text and "geodesic change" in text
    assert "k = 30" in text
    assert _overlaps(fig) == []


def test_accuracy_vs_flow_names_its_statistic_and_has_error_bars():
    acc = np.array([0.91, 0.95, 0.99, 0.97])
    flow = np.array([0.2, 0.5, 0.7, 0.4])
    fig = plotting.plot_accuracy_vs_flow(
        acc, flow, labels=["narrow/5", "wide/5", "narrow/11", "wide/11"], best=2,
        accuracy_std=[0.01, 0.02, 0.01, 0.03], flow_std=[0.05, 0.1, 0.02, 0.04],
        statistic="negated Ricci coefficient",
    )
    text = _texts(fig)
    assert "negated Ricci coefficient" in text and "accuracy" in text
    ax = fig.axes[0]
    assert len(ax.containers) >= 1  # the error bars
    assert _overlaps(fig) == []


def test_crowded_point_labels_do_not_cover_each_other():
    # the demo's case: several networks at the same accuracy, close in flow
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plotting.plot_accuracy_vs_flow(
        [0.998, 0.998, 0.993, 1.0, 0.936, 0.995],
        [0.016, 0.14, 0.229, 0.285, 0.404, 0.921],
        labels=["bottleneck/11", "wide/11", "narrow/11", "wide/5",
                "bottleneck/5", "narrow/5"], best=3,
    )
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in fig.axes[0].texts]
    assert len(boxes) == 6
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))


def test_heatmap_explains_grey_cells():
    groups = [
        {"problem": "A", "architecture": arch, "depth": 5,
         "n_neighbors": [10, 30, 50], "aggregated": [-0.5, np.nan, 0.3],
         "k_star": 10}
        for arch in ("narrow", "wide")
    ]
    fig = plotting.plot_aggregated_heatmap(groups)
    text = _texts(fig)
    assert "grey" in text and "undefined" in text
    assert "k*" in text
    caption = fig._suptitle.get_text()  # both meanings of grey, in the caption
    assert "accuracy threshold" in caption and "disconnected" in caption
    assert _overlaps(fig) == []


def test_heatmap_says_which_rows_have_no_passing_network():
    # a grey row can mean two things: say which (a study on small image sets
    # left whole rows without a network above the accuracy threshold)
    groups = [
        {"problem": "A", "architecture": arch, "depth": 5,
         "n_neighbors": [10, 30, 50], "aggregated": curve, "k_star": k_star,
         "n_passed": n_passed}
        for arch, curve, k_star, n_passed in (
            ("narrow", [np.nan] * 3, None, 0),
            ("wide", [-0.5, np.nan, 0.3], 10, 4),
        )
    ]
    fig = plotting.plot_aggregated_heatmap(groups)
    notes = [t for t in fig.axes[0].texts if "accuracy threshold" in t.get_text()]
    assert len(notes) == 1 and notes[0].get_position()[1] == 0  # the narrow row
    assert "no network above the accuracy threshold" in _texts(fig)


def test_local_display_names_layers_and_leaves_room_for_its_colourbar():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2))
    layers = [np.maximum(X @ rng.normal(size=(2, 6)) + 0.3, 0) for _ in range(5)]
    from sk_ricci.nn import LayerActivations

    named = LayerActivations(layers, ["relu1", "relu2", "relu3", "relu4", "relu5"])
    res = local_ricci_flow(named, 6, connect="mst")
    disp = plotting.LocalRicciFlowDisplay.from_result(res, X)
    assert _overlaps(disp.figure_) == []
    ticks = [t.get_text() for t in disp.ax_curvature_.get_xticklabels()]
    assert ticks == ["relu1", "relu2", "relu3", "relu4"]
    assert ricci_flow(named, 6, connect="mst").layer_names[0] == "relu1"
