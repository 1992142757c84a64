"""Render the pictures of the synthetic problems A, B and C used in docs/datasets.md.

Run from the repository root::

    python docs/make_dataset_figures.py

Writes docs/img/dataset_A.png, dataset_B.png and dataset_C.png: a 3-D scatter of
1,000 points (500 per class) next to a 2-D view that shows how the classes meet.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from sk_ricci.datasets import PROBLEM_NAMES, make_problem

OUT = Path(__file__).resolve().parent / "img"
COLOURS = ("#1f77b4", "#d62728")  # class 0 blue, class 1 red
N_SAMPLES = 1000
SEED = 0

# per problem: 3-D view (elev, azim, vertical axis) and box aspect, 2-D view
# (x, y columns, optional slab on a third column, equal aspect), titles
VIEWS = {
    "A": {
        "view": (12, -72, "z"),
        "box": (1, 1.4, 1),
        "equal": True,
        "plane": (0, 2, None),
        "plane_title": "cross-section: x-z plane (all points)",
        "title": "A: entangled spirals (separable)",
    },
    "B": {
        "view": (20, -65, "z"),
        "box": (2, 1, 1),
        "equal": True,
        "plane": (0, 1, (2, 0.15)),
        "plane_title": "slab |z| < 0.15 seen from above",
        "title": "B: two ellipsoids in a box (topology change)",
    },
    "C": {
        "view": (30, -60, "z"),
        "box": (2, 1, 0.7),
        "equal": False,
        "plane": (0, 2, None),
        "plane_title": "side view: x-z plane",
        "title": "C: intersecting sheets (not separable)",
    },
}


def _scatter(ax, X, y, columns, size):
    for label in (0, 1):
        pts = X[y == label]
        ax.scatter(
            *(pts[:, c] for c in columns),
            s=size,
            c=COLOURS[label],
            alpha=0.7,
            linewidths=0,
            label=f"class {label}",
        )


def render(name, path):
    X, y = make_problem(name, N_SAMPLES, random_state=SEED)
    spec = VIEWS[name]
    fig = plt.figure(figsize=(8.4, 3.8), dpi=90)
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    _scatter(ax3d, X, y, (0, 1, 2), size=5)
    elev, azim, vertical = spec["view"]
    ax3d.view_init(elev=elev, azim=azim, vertical_axis=vertical)
    ax3d.set_box_aspect(spec["box"], zoom=1.2)
    for axis, label in zip((ax3d.xaxis, ax3d.yaxis, ax3d.zaxis), "xyz"):
        axis.set_major_locator(MaxNLocator(4))
        axis.set_label_text(label, fontsize=8)
    ax3d.tick_params(labelsize=6, pad=0)
    ax3d.set_title(f"{spec['title']}\nmake_{PROBLEM_NAMES[name]}", fontsize=9)

    ax2d = fig.add_subplot(1, 2, 2)
    i, j, slab = spec["plane"]
    keep = np.ones(len(X), dtype=bool)
    if slab is not None:
        keep = np.abs(X[:, slab[0]]) < slab[1]
    _scatter(ax2d, X[keep], y[keep], (i, j), size=6)
    ax2d.set_xlabel("xyz"[i])
    ax2d.set_ylabel("xyz"[j])
    if spec["equal"]:
        ax2d.set_aspect("equal")
    ax2d.tick_params(labelsize=7)
    ax2d.set_title(spec["plane_title"], fontsize=9)
    ax2d.legend(
        fontsize=7,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=2,
        markerscale=2,
        frameon=False,
    )
    fig.tight_layout(w_pad=4)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name in VIEWS:
        path = OUT / f"dataset_{name}.png"
        render(name, path)
        print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
