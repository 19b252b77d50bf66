"""``seqrnn.models.decisions``: labelled decisions of residue and sequence heads, calls at a threshold."""

from __future__ import annotations

import numpy as np

from seqrnn.io.columns import decide
from seqrnn.models.decisions import best_threshold, labelled

IGNORE = -100


def test_labelled_flattens_residues_and_records_alike() -> None:
    # Residue head: (L,) labels and (L, C) probabilities per example; every residue is one decision.
    y, p = labelled(
        [np.array([0, IGNORE, 1]), np.array([1])],
        [np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]]), np.array([[0.3, 0.7]])],
        2,
        IGNORE,
    )
    assert y.tolist() == [0, 1, 1] and p.shape == (3, 2) and p[1].tolist() == [0.2, 0.8]
    # Sequence head: one label and (C,) per example.
    y, p = labelled([np.int64(1), np.int64(IGNORE)], [np.array([0.4, 0.6]), np.array([0.5, 0.5])], 2, IGNORE)
    assert y.tolist() == [1] and p.tolist() == [[0.4, 0.6]]
    y, p = labelled([], [], 3, IGNORE)
    assert y.shape == (0,) and p.shape == (0, 3)


def test_a_rare_class_is_called_at_its_chosen_threshold() -> None:
    # 5% positives scored low: argmax calls none; the MCC-best cut-off calls them.
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.05).astype(np.int64)
    score = np.where(y == 1, rng.uniform(0.25, 0.45, y.size), rng.uniform(0.0, 0.3, y.size))
    probs = np.stack([1 - score, score], axis=1)
    assert decide(probs).sum() == 0
    cut = best_threshold(y, score, "mcc")
    assert 0.25 < cut < 0.45 and decide(probs, cut)[y == 1].mean() > 0.6  # positives above 0.3: 75%
