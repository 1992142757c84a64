"""Figures of the Ricci-flow analysis; matplotlib is imported lazily.

Everything draws on :class:`matplotlib.figure.Figure` objects created without
``pyplot``, so nothing here changes the global matplotlib backend or opens a
window: save the figures with :func:`save_figure` (or ``fig.savefig``) or pass
your own ``ax``.

- :class:`RicciFlowDisplay`: the paper's Fig. 4 for one network, the total
  curvature Ric_l of each layer against the geodesic change eta_l it causes.
  The paper's axis labels are swapped; here x is Ric_l and y is eta_l.
- :func:`plot_flow_panels`: several networks side by side.
- :func:`plot_aggregated_heatmap`: the paper's Fig. 3, the aggregated Ricci
  coefficient over k for every (problem, architecture, depth), as a heatmap.
- :func:`plot_accuracy_vs_flow`: accuracy against flow strength.
- :class:`LocalRicciFlowDisplay`: the local (per-point) Ricci coefficients of
  :func:`sk_ricci.local_ricci_flow` on a 2-D view of the input, and the
  scalar curvature of every layer.
- :func:`plot_flow_by_layer`: Ric_l and eta_l against the layer index l.
"""

import numbers
import re

import numpy as np

from ._param_validation import Interval, Options, validate_params

__all__ = [
    "LocalRicciFlowDisplay",
    "RicciFlowDisplay",
    "plot_accuracy_vs_flow",
    "plot_aggregated_heatmap",
    "plot_flow_panels",
    "save_figure",
]

X_LABEL = "total curvature Ric$_l$ of layer $l$"
Y_LABEL = "geodesic change $\\eta_l = g_{l+1} - g_l$"


#: The checks of the plots' scalar parameters (see :func:`_check`).
_SCALARS = {
    "coefficient": [None, numbers.Real],  # NaN when rho is undefined
    "mean": [None, numbers.Real],
    "n_neighbors": [None, Interval(numbers.Integral, 1, None)],
    "ncols": [None, Interval(numbers.Integral, 1, None)],
    "dpi": [Interval(numbers.Real, 0, None, closed="neither"), Options(("figure",))],
    "best": [None, numbers.Integral],
}


def _check(owner, **params):
    """One clear error for a plot parameter of the wrong type (a string for a
    number, say), before matplotlib fails on it deep inside."""
    validate_params(params, _SCALARS, owner)


def _numbers(values, name, owner):
    """``values`` as a float array; a string (or an array of strings, even
    numeric ones such as "0.9") is refused, as the library's other doors do."""
    arr = np.asarray(values)
    strings = arr.dtype.kind in "SUV" or (
        arr.dtype.kind == "O"
        and any(isinstance(v, (str, bytes)) for v in arr.ravel().tolist())
    )
    try:
        if not strings:
            return arr.astype(float)
    except (TypeError, ValueError):
        pass
    raise TypeError(
        f"{owner}: {name} must hold numbers, got {type(values).__name__} "
        f"{_short(values)} (dtype {arr.dtype}); pass floats such as [0.9, 0.8]"
    )


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _states_k(name, n_neighbors):
    """Whether the title prefix ``name`` already says ``k = n_neighbors``."""
    pattern = rf"(?<![\w.])k\s*=\s*{int(n_neighbors)}(?![\w.])"
    return bool(name) and re.search(pattern, name) is not None


def _check_matplotlib():
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "sk_ricci.plotting needs matplotlib; install it with "
            "pip install 'sk-ricci[plot]' (or pip install matplotlib)"
        ) from None
    return Figure


def _new_axes(ax, figsize=(4.5, 3.6)):
    if ax is not None:
        return ax.figure, ax
    Figure = _check_matplotlib()
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _scaled(values, label):
    """Values divided by 10^e and the label with "(x 10^e)" when they are
    large or small (|e| >= 4), so that ticks stay short and no floating
    offset text is needed; ``e`` from the largest finite magnitude."""
    values = np.asarray(values, dtype=float)
    finite = np.abs(values[np.isfinite(values)])
    top = finite.max() if finite.size else 0.0
    e = int(np.floor(np.log10(top))) if top > 0 else 0
    if abs(e) < 4:
        return values, label
    return values / 10.0**e, f"{label} ($\\times 10^{{{e}}}$)"


def _plain_ticks(ax, axis="both"):
    """No offset or scientific notation on the tick labels (see _scaled)."""
    ax.ticklabel_format(axis=axis, style="plain", useOffset=False)
    for a in ((ax.xaxis, ax.yaxis) if axis == "both" else
              (ax.xaxis,) if axis == "x" else (ax.yaxis,)):
        a.set_major_locator(_max_n_locator())


def _max_n_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=5)


def save_figure(fig, path, *, dpi=130):
    """Save ``fig`` (a matplotlib Figure) as PNG (or the format of ``path``)."""
    _check("save_figure", dpi=dpi)
    fig.savefig(str(path), dpi=dpi)
    return path


class RicciFlowDisplay:
    """Ricci-flow plot of one network: Ric_l on x, eta_l on y (figure 4).

    One point per layer l = 1..L-1 (the curvature of layer l against the
    change of geodesic mass from layer l to l+1), labelled by l and joined in
    layer order, with the least-squares line. A negative slope (negative
    Ricci coefficient rho) is Ricci-flow-like: curved layers contract.

    Parameters
    ----------
    total_curvature : array-like of shape (n_layers,) or (n_layers - 1,)
        Ric_l; only the first ``len(eta)`` values are used.
    eta : array-like of shape (n_layers - 1,)
        Geodesic changes eta_l.
    coefficient : float, default=None
        rho, shown in the title.
    n_neighbors : int, default=None
        The scale k, shown in the title.
    name : str, default=None
        Title prefix. The title states k once: a prefix that already says
        ``k = n_neighbors`` (such as ``sk-ricci flow``'s panels) is not
        followed by it again.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.plotting import RicciFlowDisplay
    >>> disp = RicciFlowDisplay([-30.0, -20, -12, -8], [-9.0, -5, -2],
    ...                         coefficient=-0.99, n_neighbors=10).plot()
    >>> disp.ax_.get_xlabel().startswith("total curvature")
    True
    """

    def __init__(
        self, total_curvature, eta, *, coefficient=None, n_neighbors=None, name=None
    ):
        self.total_curvature = total_curvature
        self.eta = eta
        self.coefficient = coefficient
        self.n_neighbors = n_neighbors
        self.name = name

    @classmethod
    def from_result(cls, result, *, ax=None, name=None):
        """Plot a :class:`~sk_ricci.RicciFlowResult`."""
        return cls(
            result.total_curvature,
            result.eta,
            coefficient=result.coefficient,
            n_neighbors=result.n_neighbors,
            name=name,
        ).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (a new figure if None); returns ``self``."""
        owner = "RicciFlowDisplay"
        _check(owner, coefficient=self.coefficient, n_neighbors=self.n_neighbors)
        eta = _numbers(self.eta, "eta", owner)
        ric = _numbers(self.total_curvature, "total_curvature", owner)[: eta.size]
        fig, ax = _new_axes(ax)
        ric, xlabel = _scaled(ric, X_LABEL)
        eta, ylabel = _scaled(eta, Y_LABEL)
        ok = np.isfinite(eta) & np.isfinite(ric)
        layers = np.arange(1, eta.size + 1)
        ax.plot(ric[ok], eta[ok], "-", color="0.75", lw=1, zorder=1)
        ax.scatter(
            ric[ok], eta[ok], c=layers[ok], cmap="viridis", s=36, zorder=2,
            edgecolors="k", linewidths=0.5,
        )
        for x, y, lyr in zip(ric[ok], eta[ok], layers[ok]):
            ax.annotate(
                str(lyr), (x, y), textcoords="offset points", xytext=(4, 4),
                fontsize=7,
            )
        if ok.sum() >= 2 and np.ptp(ric[ok]) > 0:
            slope, intercept = np.polyfit(ric[ok], eta[ok], 1)
            xs = np.linspace(ric[ok].min(), ric[ok].max(), 2)
            ax.plot(xs, slope * xs + intercept, "--", color="C3", lw=1, zorder=1)
        if not ok.any():
            ax.text(
                0.5, 0.5, "disconnected: rho undefined", ha="center",
                va="center", transform=ax.transAxes,
            )
        else:
            ax.text(
                0.99, 0.01, "numbers: layer l; dashed: least-squares line",
                ha="right", va="bottom", fontsize=6, color="0.35",
                transform=ax.transAxes,
            )
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        _plain_ticks(ax)
        ax.tick_params(labelsize=7)
        parts = []
        if self.coefficient is not None and np.isfinite(self.coefficient):
            parts.append(f"Ricci coefficient $\\rho$ = {self.coefficient:.2f}")
        if self.n_neighbors is not None and not _states_k(self.name, self.n_neighbors):
            parts.append(f"k = {self.n_neighbors}")
        title = ", ".join(parts)
        if self.name:
            title = f"{self.name}\n{title}" if title else self.name
        ax.set_title(title, fontsize=8)
        ax.margins(0.08)
        self.ax_, self.figure_ = ax, fig
        return self


def plot_flow_panels(results, *, titles=None, ncols=None):
    """One :class:`RicciFlowDisplay` panel per result, in a grid.

    Parameters
    ----------
    results : list of RicciFlowResult
    titles : list of str, default=None
    ncols : int, default=None
        Columns of the grid (up to 4 by default).

    Returns
    -------
    fig : matplotlib Figure
    """
    _check("plot_flow_panels", ncols=ncols)
    Figure = _check_matplotlib()
    results = list(results)
    n = max(len(results), 1)
    ncols = ncols or min(n, 4)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.6 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for i, res in enumerate(results):
        RicciFlowDisplay.from_result(
            res, ax=axes[i], name=None if titles is None else titles[i]
        )
    for ax in axes[len(results):]:
        ax.set_visible(False)
    return fig


def plot_aggregated_heatmap(groups):
    """The paper's figure 3 as a heatmap: aggregated coefficient over k.

    One panel per problem; rows are (architecture, depth), columns the k
    grid; blue is negative (Ricci-flow-like), red positive, grey undefined.
    A black box marks each row's k*.

    Parameters
    ----------
    groups : list of dict
        With keys ``problem``, ``architecture``, ``depth``, ``n_neighbors``
        (list of k), ``aggregated`` (list of float) and ``k_star``, as in
        :attr:`sk_ricci.study.StudyAnalysis.groups`; a row whose optional
        ``n_passed`` is 0 says that no network passed the threshold.

    Returns
    -------
    fig : matplotlib Figure
    """
    Figure = _check_matplotlib()
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    problems = list(dict.fromkeys(g["problem"] for g in groups))
    ncols = min(len(problems), 2)
    nrows = -(-len(problems) // ncols)
    width = max(len(g["n_neighbors"]) for g in groups)
    fig = Figure(
        figsize=(ncols * (2.2 + 0.42 * width), nrows * 2.8), layout="constrained"
    )
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.85")
    image = None
    for ax, problem in zip(axes, problems):
        rows = [g for g in groups if g["problem"] == problem]
        ks = rows[0]["n_neighbors"]
        M = np.array(
            [np.asarray(g["aggregated"], dtype=float) for g in rows], dtype=float
        )
        image = ax.imshow(
            np.ma.masked_invalid(M), cmap=cmap, vmin=-1, vmax=1, aspect="auto"
        )
        for i, g in enumerate(rows):
            if g.get("n_passed") == 0:
                ax.text(
                    (len(ks) - 1) / 2, i, "no network above the accuracy threshold",
                    ha="center", va="center", fontsize=7, color="0.3",
                )
            for j, v in enumerate(M[i]):
                if np.isfinite(v):
                    ax.text(
                        j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="w" if abs(v) > 0.6 else "k",
                    )
            if g["k_star"] is not None:
                j = list(g["n_neighbors"]).index(g["k_star"])
                ax.add_patch(
                    Rectangle(
                        (j - 0.5, i - 0.5), 1, 1, fill=False, ec="k", lw=1.6
                    )
                )
        ax.set_xticks(range(len(ks)), [str(k) for k in ks], fontsize=7)
        ax.set_yticks(
            range(len(rows)),
            [f"{g['architecture']}/{g['depth']}" for g in rows],
            fontsize=8,
        )
        ax.set_xlabel("k (n_neighbors)")
        ax.set_title(f"problem {problem}", fontsize=10)
    for ax in axes[len(problems):]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(
            image, ax=list(axes[: len(problems)]), label="aggregated Ricci coefficient",
            shrink=0.8,
        )
    fig.suptitle(
        "blue: Ricci-flow-like (negative); grey: undefined (no network above "
        "the accuracy threshold, or a disconnected layer graph at that k); "
        "black box: k*",
        fontsize=7, color="0.3",
    )
    return fig


def plot_accuracy_vs_flow(
    accuracy, flow, *, labels=None, ax=None, best=None, accuracy_std=None,
    flow_std=None, statistic="negated Ricci coefficient $-\\rho$",
):
    """Scatter of accuracy (y) against flow strength (x), with error bars.

    Parameters
    ----------
    accuracy, flow : array-like of shape (n_models,)
    labels : list of str, default=None
        Annotation of each point.
    ax : matplotlib Axes, default=None
    best : int, default=None
        Index of a point to highlight (e.g. the refitted model).
    accuracy_std, flow_std : array-like of shape (n_models,), default=None
        Spreads (e.g. over cross-validation folds), drawn as error bars.
    statistic : str, default="negated Ricci coefficient $-\\rho$"
        What ``flow`` is, named on the x axis (e.g. the scorer's statistic).

    Returns
    -------
    fig : matplotlib Figure
    """
    owner = "plot_accuracy_vs_flow"
    accuracy = _numbers(accuracy, "accuracy", owner)
    flow = _numbers(flow, "flow", owner)
    if accuracy.shape != flow.shape or accuracy.ndim != 1:
        raise ValueError(
            f"{owner}: accuracy and flow must be 1-D of one length (one value "
            f"per model), got shapes {accuracy.shape} and {flow.shape}"
        )
    if accuracy_std is not None:
        accuracy_std = _numbers(accuracy_std, "accuracy_std", owner)
    if flow_std is not None:
        flow_std = _numbers(flow_std, "flow_std", owner)
    _check(owner, best=best)
    if best is not None and not -flow.size <= best < flow.size:
        raise ValueError(
            f"{owner}: best={best} is not the index of one of the {flow.size} "
            "models; pass an index in range, or None"
        )
    fig, ax = _new_axes(ax, figsize=(5.0, 3.9))
    if accuracy_std is not None or flow_std is not None:
        ax.errorbar(
            flow, accuracy, yerr=accuracy_std, xerr=flow_std, fmt="none",
            ecolor="0.6", elinewidth=0.8, capsize=2, zorder=1,
        )
    ax.scatter(flow, accuracy, s=40, c="C0", edgecolors="k", linewidths=0.5,
               zorder=2)
    if best is not None:
        ax.scatter(
            flow[best], accuracy[best], s=140, facecolors="none", edgecolors="C3",
            linewidths=1.5, label="refitted (best accuracy)", zorder=3,
        )
    ax.margins(x=0.18, y=0.12)  # room for the annotations inside the frame
    if labels is not None:
        _annotate_apart(ax, flow, accuracy, labels)
    handles = ax.get_legend_handles_labels()[0]
    if accuracy_std is not None or flow_std is not None:
        from matplotlib.lines import Line2D

        handles = handles + [Line2D([], [], color="0.6", lw=0.8,
                                    label="bars: +-1 std over folds")]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="best")
    ax.set_xlabel(f"flow strength: {statistic}\n(higher = more Ricci-flow-like)",
                  fontsize=8)
    ax.set_ylabel("cross-validated accuracy", fontsize=8)
    ax.tick_params(labelsize=7)
    return fig


def _annotate_apart(ax, xs, ys, labels):
    """Annotate each point, trying four offsets in turn so that no label
    covers an earlier one (crowded points, e.g. networks of equal accuracy)."""
    fig = ax.figure
    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    placed = []
    offsets = [((5, 4), "left"), ((5, -11), "left"), ((-5, 4), "right"),
               ((-5, -11), "right"), ((5, 13), "left"), ((5, -20), "left")]
    for x, y, text in zip(xs, ys, labels):
        for offset, ha in offsets:
            note = ax.annotate(text, (x, y), textcoords="offset points",
                               xytext=offset, ha=ha, fontsize=7)
            box = note.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed):
                break
            note.remove()
        else:  # every offset taken: keep the first
            note = ax.annotate(text, (x, y), textcoords="offset points",
                               xytext=offsets[0][0], fontsize=7)
            box = note.get_window_extent(renderer)
        placed.append(box)


def plot_flow_by_layer(results, *, labels=None, axes=None):
    """Total curvature and geodesic change against the layer index.

    Two panels sharing the x axis, one line per result: the total curvature
    Ric_l of every layer l = 1..L (top) and the geodesic change
    eta_l = g_{l+1} - g_l from layer l to l + 1 (bottom, drawn at l, with a
    line at 0). Ricci-flow-like networks have eta_l < 0 where Ric_l is most
    negative. The x tick labels are the layer names when the results carry
    them (:attr:`~sk_ricci.RicciFlowResult.layer_names`).

    Parameters
    ----------
    results : RicciFlowResult or list of RicciFlowResult
        E.g. one network at several scales k, or several networks with the
        same number of layers.
    labels : list of str, default=None
        Legend entry of each result; None labels them by k and rho.
    axes : sequence of two matplotlib Axes, default=None
        Where to draw (top, bottom); None makes a new figure.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import RicciFlowResult
    >>> from sk_ricci.plotting import plot_flow_by_layer
    >>> res = RicciFlowResult(5, np.array([-30.0, -20, -12, -8]),
    ...                       np.array([900.0, 800, 760, 750]),
    ...                       np.array([-100.0, -40, -10]), -0.99, np.nan,
    ...                       np.nan, np.ones(4, bool), np.ones(4, int))
    >>> fig = plot_flow_by_layer(res)
    >>> len(fig.axes), fig.axes[1].get_ylabel().startswith("geodesic change")
    (2, True)
    """
    if hasattr(results, "total_curvature"):
        results = [results]
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass one or more RicciFlowResult")
    if labels is not None and len(labels) != len(results):
        raise ValueError(
            f"got {len(labels)} labels for {len(results)} results; pass one "
            "label per result"
        )
    if axes is None:
        Figure = _check_matplotlib()
        fig = Figure(figsize=(5.2, 4.6), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True)
    else:
        top, bottom = axes
        fig = top.figure
    n_layers = max(r.n_layers for r in results)
    for i, res in enumerate(results):
        if labels is not None:
            label = labels[i]
        else:
            label = f"k = {res.n_neighbors}"
            if np.isfinite(res.coefficient):
                label += f", $\\rho$ = {res.coefficient:.2f}"
        layer = np.arange(1, res.n_layers + 1)
        top.plot(layer, res.total_curvature, "o-", ms=4, color=f"C{i}", label=label)
        bottom.plot(layer[:-1], res.eta, "o-", ms=4, color=f"C{i}")
    bottom.axhline(0, color="0.6", lw=0.8, zorder=0)
    top.set_ylabel("total curvature Ric$_l$")
    bottom.set_ylabel("geodesic change $\\eta_l$")
    names = next((r.layer_names for r in results if r.layer_names is not None), None)
    ticks = np.arange(1, n_layers + 1)
    if names is not None and len(names) == n_layers:
        bottom.set_xticks(ticks, list(names), rotation=30, ha="right", fontsize=7)
        bottom.set_xlabel("layer")
    else:
        bottom.set_xticks(ticks)
        bottom.set_xlabel("layer $l$")
    for ax in (top, bottom):
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useMathText=True)
    top.legend(fontsize=7, loc="best")
    return fig



# ---------------------------------------------------------------------------
# local (per-point) Ricci coefficients
# ---------------------------------------------------------------------------


def _embed_2d(X):
    """X itself if it has 2 columns (1 column: a zero y), else its first two
    principal components."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got shape {X.shape}; pass "
            "the input test set or one layer's activations"
        )
    if X.shape[1] == 2:
        return X, ("$x_1$", "$x_2$")
    if X.shape[1] == 1:
        return np.c_[X, np.zeros(len(X))], ("$x_1$", "")
    from sklearn.decomposition import PCA

    return PCA(n_components=2).fit_transform(X), ("PC 1", "PC 2")


class LocalRicciFlowDisplay:
    """Local Ricci coefficients of one network, per point and per layer.

    Two panels: left, every point of a 2-D view of the input (the input
    itself when it has 2 features, else its first two principal components)
    coloured by its local Ricci coefficient (blue negative, Ricci-flow-like;
    red positive; grey undefined); right, the distribution of the scalar
    curvature s_l(x) over the points at each layer l = 1..L-1 (box plots).

    Parameters
    ----------
    coefficients : array-like of shape (n_samples,)
        Local coefficients (NaN where undefined).
    scalar_curvature : array-like of shape (n_layers - 1, n_samples)
        s_l(x).
    X : array-like of shape (n_samples, n_features)
        Points to place: the network's input test set, or one layer.
    mean : float, default=None
        Mean local coefficient, shown in the title.
    n_neighbors : int, default=None
        The scale k, shown in the title.
    name : str, default=None
        Title prefix.
    layer_names : sequence of str, default=None
        Names of the layers (the x tick labels of the right panel, as
        :func:`plot_flow_by_layer` uses them); None numbers them 1..L-1.

    Attributes
    ----------
    ax_embedding_, ax_curvature_ : matplotlib Axes
    figure_ : matplotlib Figure
    embedding_ : ndarray of shape (n_samples, 2)
        The 2-D coordinates plotted.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import local_ricci_flow
    >>> from sk_ricci.plotting import LocalRicciFlowDisplay
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> layers = [X, 2 * X + 1, X ** 2, np.abs(X)]
    >>> res = local_ricci_flow(layers, 6, connect="mst")
    >>> disp = LocalRicciFlowDisplay.from_result(res, X)
    >>> disp.ax_curvature_.get_xlabel()
    'layer $l$'
    """

    def __init__(
        self, coefficients, scalar_curvature, X, *, mean=None, n_neighbors=None,
        name=None, layer_names=None,
    ):
        self.layer_names = layer_names
        self.coefficients = coefficients
        self.scalar_curvature = scalar_curvature
        self.X = X
        self.mean = mean
        self.n_neighbors = n_neighbors
        self.name = name

    @classmethod
    def from_result(cls, result, X, *, axes=None, name=None):
        """Plot a :class:`~sk_ricci.LocalRicciFlowResult` over the points
        ``X`` (the input test set, or a layer)."""
        return cls(
            result.coefficients, result.scalar_curvature, X, mean=result.mean,
            n_neighbors=result.n_neighbors, name=name,
            layer_names=getattr(result, "layer_names", None),
        ).plot(axes=axes)

    def plot(self, axes=None):
        """Draw on ``axes`` (two Axes; a new figure if None); returns ``self``."""
        owner = "LocalRicciFlowDisplay"
        _check(owner, mean=self.mean, n_neighbors=self.n_neighbors)
        coefs = _numbers(self.coefficients, "coefficients", owner)
        S = np.atleast_2d(_numbers(self.scalar_curvature, "scalar_curvature", owner))
        emb, (xlab, ylab) = _embed_2d(self.X)
        if emb.shape[0] != coefs.size or S.shape[1] != coefs.size:
            raise ValueError(
                f"X has {emb.shape[0]} rows, coefficients {coefs.size} and "
                f"scalar_curvature {S.shape[1]} columns; they must describe the "
                "same points (pass the test set the layers were computed on)"
            )
        if axes is None:
            Figure = _check_matplotlib()
            fig = Figure(figsize=(9.0, 3.8), layout="constrained")
            ax_e, ax_c = fig.subplots(1, 2)
        else:
            ax_e, ax_c = axes
            fig = ax_e.figure
        ok = np.isfinite(coefs)
        if (~ok).any():
            ax_e.scatter(
                emb[~ok, 0], emb[~ok, 1], s=8, c="0.7", linewidths=0,
                label=f"undefined ({int((~ok).sum())})",
            )
        sc = ax_e.scatter(
            emb[ok, 0], emb[ok, 1], s=8, c=coefs[ok], cmap="RdBu_r", vmin=-1,
            vmax=1, linewidths=0,
        )
        bar = fig.colorbar(sc, ax=ax_e, shrink=0.9, pad=0.02)
        bar.set_label("local Ricci coefficient", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        if (~ok).any():
            ax_e.legend(fontsize=7, loc="best")
        ax_e.set_xlabel(xlab)
        ax_e.set_ylabel(ylab)
        parts = [self.name] if self.name else []
        if self.mean is not None and np.isfinite(self.mean):
            parts.append(f"mean = {self.mean:.2f}")
        if self.n_neighbors is not None:
            parts.append(f"k = {self.n_neighbors}")
        ax_e.set_title(", ".join(parts) or "local Ricci coefficients", fontsize=9)
        data = [row[np.isfinite(row)] for row in S]
        ax_c.boxplot(data, showfliers=False)
        ticks = range(1, len(data) + 1)
        names = self.layer_names
        if names is not None and len(names) >= len(data):
            ax_c.set_xticks(ticks, [str(n) for n in names[: len(data)]],
                            rotation=30, ha="right", fontsize=7)
            ax_c.set_xlabel("layer", fontsize=8)
        else:
            ax_c.set_xticks(ticks, [str(i) for i in ticks])
            ax_c.set_xlabel("layer $l$")
        ax_c.set_ylabel("scalar curvature $s_l(x)$", fontsize=8, labelpad=2)
        ax_c.set_title("scalar curvature per layer", fontsize=9)
        self.ax_embedding_, self.ax_curvature_, self.figure_ = ax_e, ax_c, fig
        self.embedding_ = emb
        return self
