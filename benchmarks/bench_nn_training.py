"""Training speed: ReLUMLPClassifier (skorch) against a hand-written PyTorch loop.

The paper's synthetic setting: 1,000 training points in 3-D, two classes, a
depth-11 "wide" ReLU network (eleven hidden layers of 50), RMSprop with keras'
defaults, lr=1e-3, batch size 32, 50 epochs, 20% held out and scored after each
epoch. The data are two interleaved spiral sheets generated here with NumPy.
Three trainers run side by side on the same data, interleaved within each repeat
(so a busy machine slows them alike), each timed as the median of ``--repeats``
runs:

- ``skorch``: ``ReLUMLPClassifier.fit``;
- ``plain``: a bare PyTorch loop that shuffles with ``randperm`` and slices
  tensors (the fastest thing one would write by hand);
- ``plain-dataloader``: the same loop fed by ``DataLoader(TensorDataset)``, as
  most tutorials write it.

Each computes the validation loss and accuracy once per epoch, as skorch does.
Samples/second counts training samples processed (``n_train * epochs / time``).
The target is skorch/plain < 1.5.

Run ``python benchmarks/bench_nn_training.py`` (about 20 s on 2 cores) or
``--epochs 5 --repeats 1`` for a smoke run; ``--threads 1`` pins torch to one
thread, which is fastest for networks this small.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from sk_ricci.nn import ReLUMLP, ReLUMLPClassifier

N_SAMPLES = 1000
VALIDATION_FRACTION = 0.2
BATCH_SIZE = 32
LR = 1e-3
DEPTH = 11
ARCHITECTURE = "wide"


def make_two_spirals(n_samples=N_SAMPLES, noise=0.05, random_state=0):
    """Two interleaved spiral sheets in 3-D (Swiss-roll-like), labels 0/1."""
    rng = np.random.RandomState(random_state)
    y = np.arange(n_samples) % 2
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n_samples))
    phase = np.pi * y
    height = rng.uniform(-1, 1, size=n_samples)
    X = np.column_stack([t * np.cos(t + phase), height * 5, t * np.sin(t + phase)]) / 10
    X += noise * rng.normal(size=X.shape)
    return X.astype(np.float64), y


def _rmsprop(module):
    # keras' RMSprop defaults, as ReLUMLPClassifier uses.
    return torch.optim.RMSprop(module.parameters(), lr=LR, alpha=0.9, eps=1e-7)


def _split(X, y, seed):
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(X))
    n_valid = int(np.ceil(VALIDATION_FRACTION * len(X)))
    valid, train = order[:n_valid], order[n_valid:]
    as_x = lambda idx: torch.as_tensor(X[idx], dtype=torch.float32)
    as_y = lambda idx: torch.as_tensor(y[idx], dtype=torch.float32)
    return as_x(train), as_y(train), as_x(valid), as_y(valid)


def _validate(module, criterion, X_valid, y_valid):
    module.eval()
    with torch.no_grad():
        logits = module(X_valid).squeeze(1)
        loss = criterion(logits, y_valid).item()
        accuracy = ((logits > 0).float() == y_valid).float().mean().item()
    module.train()
    return loss, accuracy


def fit_plain(X, y, epochs, seed=0):
    """Hand-written loop: randperm shuffling and tensor slicing."""
    generator = torch.Generator().manual_seed(seed)
    X_train, y_train, X_valid, y_valid = _split(X, y, seed)
    module = ReLUMLP(3, 1, architecture=ARCHITECTURE, depth=DEPTH, generator=generator)
    optimizer = _rmsprop(module)
    criterion = torch.nn.BCEWithLogitsLoss()
    history = []
    module.train()
    for _ in range(epochs):
        order = torch.randperm(len(X_train), generator=generator)
        for start in range(0, len(X_train), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = criterion(module(X_train[idx]).squeeze(1), y_train[idx])
            loss.backward()
            optimizer.step()
        history.append(_validate(module, criterion, X_valid, y_valid))
    return module, history


def fit_plain_dataloader(X, y, epochs, seed=0):
    """Hand-written loop fed by DataLoader(TensorDataset)."""
    generator = torch.Generator().manual_seed(seed)
    X_train, y_train, X_valid, y_valid = _split(X, y, seed)
    loader = DataLoader(
        TensorDataset(X_train, y_train),
        batch_size=BATCH_SIZE,
        shuffle=True,
        generator=generator,
    )
    module = ReLUMLP(3, 1, architecture=ARCHITECTURE, depth=DEPTH, generator=generator)
    optimizer = _rmsprop(module)
    criterion = torch.nn.BCEWithLogitsLoss()
    history = []
    module.train()
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(module(xb).squeeze(1), yb)
            loss.backward()
            optimizer.step()
        history.append(_validate(module, criterion, X_valid, y_valid))
    return module, history


def fit_skorch(X, y, epochs, seed=0):
    clf = ReLUMLPClassifier(
        architecture=ARCHITECTURE,
        depth=DEPTH,
        lr=LR,
        max_epochs=epochs,
        batch_size=BATCH_SIZE,
        validation_fraction=VALIDATION_FRACTION,
        random_state=seed,
    )
    return clf.fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads for this run (default: torch's own choice)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    X, y = make_two_spirals()
    n_train = N_SAMPLES - int(np.ceil(VALIDATION_FRACTION * N_SAMPLES))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"{N_SAMPLES} samples (3-D, 2 classes), depth {DEPTH} {ARCHITECTURE}, "
        f"{args.epochs} epochs, batch {BATCH_SIZE}, median of {args.repeats}"
    )
    # Warm-up so that one-off costs (imports, allocator) are not timed.
    fit_plain(X, y, 1)
    fit_skorch(X, y, 1)

    trainers = {
        "skorch": fit_skorch,
        "plain": fit_plain,
        "plain-dataloader": fit_plain_dataloader,
    }
    # Interleave the trainers within each repeat so that a busy machine slows
    # them alike instead of penalising whichever happens to run during a spike.
    times = {name: [] for name in trainers}
    valid_acc = {}
    for repeat in range(args.repeats):
        for name, fit in trainers.items():
            start = time.perf_counter()
            result = fit(X, y, args.epochs, seed=repeat)
            times[name].append(time.perf_counter() - start)
            if name == "skorch":
                valid_acc[name] = result.history_[-1, "valid_acc"]
            else:
                valid_acc[name] = result[1][-1][1]
    rows = {}
    for name in trainers:
        seconds = rows[name] = statistics.median(times[name])
        print(
            f"  {name:<17} {seconds:8.3f} s  "
            f"{n_train * args.epochs / seconds:10.0f} samples/s  "
            f"last valid_acc {valid_acc[name]:.3f}"
        )
    print(f"ratio skorch/plain            {rows['skorch'] / rows['plain']:.2f}x")
    print(
        "ratio skorch/plain-dataloader "
        f"{rows['skorch'] / rows['plain-dataloader']:.2f}x"
    )


if __name__ == "__main__":
    main()
