"""The paper's study: problems x architectures x repeats -> tables and figures.

Reproduces the protocol of Baptista et al., "Deep Learning as Ricci Flow"
(docs/study.md). For every problem, architecture (narrow, wide,
bottleneck), depth (5, 11) and repeat, one :class:`~sk_ricci.nn.ReLUMLPClassifier`
is trained with a seed derived from those four names, its test accuracy is
measured, and :func:`sk_ricci.ricci_flow` runs on the hidden activations of the
test set over the problem's grid of ``n_neighbors`` (:func:`run_study`). Each
finished network is appended at once to ``results.jsonl`` in the output
folder, so a run can be killed and resumed without losing or duplicating
networks.

The analysis (:func:`analyse_study`, :func:`make_report`) then picks, per
(problem, architecture, depth), the scale k* that minimises the aggregated
coefficient over the networks that pass the accuracy threshold, computes every
network's rho and adjusted rho at k*, counts the exclusions (below threshold,
disconnected at k*), and regresses accuracy on rho plus problem, architecture
and depth dummies (:func:`ols`).

Networks run serially, on the cores of one machine (joblib's loky backend,
one torch thread per worker), on a Dask cluster (joblib's dask backend) or on
a Ray cluster (Ray tasks); the results do not depend on the backend or the
number of workers.

One stage per module: ``_config`` (:class:`StudyConfig`, :func:`load_config`,
:func:`network_seed`), ``_data`` (:func:`load_problem`), ``_run``
(:func:`run_study`), ``_results`` (the output folder: ``results.jsonl``
written and read back, :func:`load_results`), ``_analysis``
(:func:`analyse_study`, :func:`ols`) and ``_report`` (:func:`make_report`).
"""

from ..exceptions import OutputFolderError, StudyConfigError
from ._analysis import OLSResult, StudyAnalysis, analyse_study, ols
from ._config import (
    ARCHITECTURES,
    BACKENDS,
    DEPTHS,
    StudyConfig,
    load_config,
    network_seed,
)
from ._data import load_problem
from ._report import make_report
from ._results import load_results
from ._run import run_study

__all__ = [
    "ARCHITECTURES",
    "BACKENDS",
    "DEPTHS",
    "OLSResult",
    "OutputFolderError",
    "StudyAnalysis",
    "StudyConfig",
    "StudyConfigError",
    "analyse_study",
    "load_config",
    "load_problem",
    "load_results",
    "make_report",
    "network_seed",
    "ols",
    "run_study",
]
