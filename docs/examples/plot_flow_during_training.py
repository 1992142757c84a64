"""
Flow strength during training, as a skorch callback
===================================================

:class:`~sk_ricci.RicciFlowScorer` is a scikit-learn scorer, so skorch's
``EpochScoring`` callback can compute it after every epoch.
:class:`~sk_ricci.nn.ReLUMLPClassifier` passes skorch's parameters through
(``callbacks=``, ``optimizer__*``, ``module__*``, ``iterator_train__*``, ...)
while keeping the paper's training defaults, so no hand-built skorch net is
needed. The flow strength (the negated Ricci coefficient, greater = more
Ricci-flow-like) of the held-out 20% is logged next to the accuracy in
``history_``.

Runs in about 10 seconds on a laptop, imports included (measured: 9.9 s of
CPU time for ``python docs/examples/plot_flow_during_training.py``).
"""

# %%
import matplotlib.pyplot as plt
import torch
from skorch.callbacks import EpochScoring

from sk_ricci import RicciFlowScorer
from sk_ricci.datasets import make_entangled_spirals
from sk_ricci.nn import ReLUMLPClassifier

# Networks this small train fastest on one thread.
torch.set_num_threads(1)

X, y = make_entangled_spirals(800, random_state=0)
flow = EpochScoring(
    # k = 5% of the validation points; connect="mst" keeps every layer graph
    # connected, so the coefficient stays defined when classes separate
    RicciFlowScorer(n_neighbors=0.05, statistic="rho", connect="mst",
                    curvature="forman"),
    name="valid_flow",
    lower_is_better=False,
)
clf = ReLUMLPClassifier(
    architecture="wide", depth=5, max_epochs=30, lr=3e-3, random_state=0,
    callbacks=[flow],
)
clf.fit(X, y)
history = clf.history_
print(f"last epoch: valid_acc = {history[-1, 'valid_acc']:.3f}, "
      f"valid_flow = {history[-1, 'valid_flow']:.3f}")

# %%
# Accuracy and flow strength of the held-out points, epoch by epoch. With 160
# validation points and k = 8 the coefficient is noisy from one epoch to the
# next; :func:`sk_ricci.select_n_neighbors` and larger test sets give steadier
# numbers.

fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
epochs = history[:, "epoch"]
ax.plot(epochs, history[:, "valid_acc"], "o-", ms=3, color="C0")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy", color="C0")
twin = ax.twinx()
twin.plot(epochs, history[:, "valid_flow"], "s-", ms=3, color="C3")
twin.set_ylabel(r"flow strength $-\rho$ (validation)", color="C3")
plt.show()
