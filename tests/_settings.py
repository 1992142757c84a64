"""Settings shared by the test modules."""

#: The smallest study that still runs every stage: one problem, two networks,
#: 60/50 points, one epoch, one k. Every network passes (threshold 0).
SMALL_STUDY = {
    "problems": ["A"],
    "architectures": ["narrow"],
    "depths": [5],
    "repeats": 2,
    "n_train": 60,
    "n_test": 50,
    "max_epochs": 1,
    "n_neighbors": [8],
    "thresholds": {"A": 0.0},
}

#: ``sk-ricci study`` flags of the same study, less ``--repeats`` (add it).
SMALL_STUDY_FLAGS = [
    "--problems", "A", "--architectures", "narrow", "--depths", "5",
    "--n-train", "60", "--n-test", "50", "--epochs", "1", "--k-grid", "8",
    "--threshold", "A=0", "--quiet",
]
