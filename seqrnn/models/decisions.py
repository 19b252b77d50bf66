"""Decisions from class probabilities: argmax, or a cut-off on a binary classifier's positive class, and
choosing that cut-off on validation data (``heads.N.threshold: auto``).

Shapes: ``probs`` (N, C) with rows summing to 1; ``scores`` (N,) the class-1 probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def labelled(
    targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray], n_classes: int, ignore: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) class labels and (N, C) probabilities of every labelled decision, ``ignore`` left out: what the
    metrics and a decision threshold see. Per example, residue heads give (L,) labels and (L, C)
    probabilities (every residue is a decision), sequence heads one label and (C,)."""
    if not targets:
        return np.zeros(0, dtype=np.int64), np.zeros((0, n_classes))
    y = np.concatenate([np.atleast_1d(t) for t in targets]).astype(np.int64)
    p = np.concatenate([np.atleast_2d(o) for o in outputs])
    keep = y != ignore
    return y[keep], p[keep]


#: How ``threshold: auto`` and its named variants choose a cut-off on validation data.
CRITERIA = {"auto": "youden", "youden": "youden", "mcc": "mcc"}


def best_threshold(y_true: np.ndarray, scores: np.ndarray, criterion: str = "youden") -> float:
    """The cut-off on ``scores`` (class-1 probabilities) that is best for binary ``y_true`` by
    ``criterion``: ``youden`` maximises sensitivity + specificity - 1 (balanced accuracy; what CNNProm-style
    Sn/Sp reports weigh), ``mcc`` the Matthews correlation (which favours the majority class on
    imbalanced sets).

    Candidates are the midpoints between consecutive distinct scores; among equally good cut-offs the one
    nearest 0.5 wins. Returns 0.5 when ``y_true`` holds one class only (no cut-off can be chosen).
    """
    if criterion not in ("youden", "mcc"):
        raise ValueError(f"unknown threshold criterion {criterion!r}; choose youden or mcc")
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.all() or not y.any():
        return 0.5
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    tp = np.cumsum(y).astype(np.float64)  # calling the top k positive
    fp = np.cumsum(~y).astype(np.float64)
    last = np.r_[s[1:] != s[:-1], True]  # only cut between distinct scores
    tp, fp, cut = tp[last], fp[last], s[last]
    pos, neg = float(y.sum()), float((~y).sum())
    fn, tn = pos - tp, neg - fp
    if criterion == "youden":
        value = tp / pos + tn / neg - 1.0
    else:
        den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        value = np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1.0), -1.0)
    nxt = np.r_[cut[1:], 0.0]  # the next lower score: the cut-off lies between the two
    thresholds = (cut + nxt) / 2
    candidates = thresholds[np.isclose(value, value.max(), rtol=0, atol=1e-12)]
    return float(candidates[np.argmin(np.abs(candidates - 0.5))])
