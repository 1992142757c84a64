"""
A small study, from configuration to report
===========================================

:func:`sk_ricci.study.run_study` runs the protocol of Baptista et al. ("Deep
Learning as Ricci Flow", arXiv:2404.14265): networks per problem,
architecture, depth and repeat, their flow over a grid of scales k, the
aggregated coefficient per group, its minimising scale k*, and a report. This
one is tiny (12 networks of depth 5 on problem A, short training, thresholds
lowered to 80%) so that it runs in about 10 seconds on a laptop, imports
included (measured: 10.5 s of CPU time for
``python docs/examples/plot_small_study.py``); ``sk-ricci study`` runs the
real one. See ``docs/study.md`` and ``docs/reproduction.md``.
"""

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from sk_ricci.study import StudyConfig, load_results, run_study

config = StudyConfig(
    problems=["A"], architectures=["narrow", "wide"], depths=[5], repeats=6,
    n_train=400, n_test=200, max_epochs=40, lr=5e-3, n_neighbors=[8, 20, 40],
    thresholds={"A": 0.8},
)
output = Path(tempfile.mkdtemp()) / "study"
analysis = run_study(config, output, quiet=True)
print(analysis.counts)

# %%
# One row per network and scale, as a pandas DataFrame.
frame = load_results(output, as_frame=True)
print(frame[["network_id", "accuracy", "n_neighbors", "coefficient"]].head(6))

# %%
# The report's figure of the flow of each group at its k* (the paper's Fig. 4).
fig, ax = plt.subplots(figsize=(8, 4))
ax.imshow(plt.imread(output / "fig4_flow.png"))
ax.set_axis_off()
