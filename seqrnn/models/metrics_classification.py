"""Classification metrics: single-label (:func:`classification_metrics`) and multi-label
(:func:`multilabel_metrics`).

Shapes: single-label ``y_true`` int (N,) class indices in ``[0, C)`` and ``probs`` float (N, C), the
confusion matrix int64 (C, C) (rows = true, columns = predicted); multi-label ``y_true`` float (N, T)
of 0/1 with NaN = missing label and ``probs`` float (N, T) (a 1-D array is read as (N, 1)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqrnn.io.columns import decide
from seqrnn.models.metrics_base import (
    NAN,
    binary_auprc,
    binary_auroc,
    binary_labels,
    check_names,
    mean_defined,
    paired_columns,
)


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str], threshold: float | None = None
) -> dict[str, Any]:
    """Single-label classification metrics; the prediction is ``argmax(probs, axis=1)``, or for two
    classes with a ``threshold``, class 1 where ``probs[:, 1] >= threshold`` (:func:`decide`).

    Returns ``n``, ``accuracy``, ``mcc`` (Gorodkin's multi-class R_K; equal to the usual MCC for C = 2),
    ``confusion_matrix`` (rows = true, columns = predicted, in ``classes`` order), ``per_class`` (precision,
    recall, f1, support = number of true samples), ``macro_f1`` (unweighted mean over all C classes), and
    ``auroc``/``auprc`` on ``probs[:, 1]`` when C == 2 or ``auroc_macro`` (mean one-vs-rest AUROC over
    classes with both positives and negatives) when C > 2.

    Precision, recall and F1 are 0.0 when their denominator is 0 (class never predicted / never present).
    ``mcc`` is NaN when its denominator is 0 (all truths or all predictions in one class); accuracy,
    macro_f1 and the AUROCs are NaN when N = 0.
    """
    names = check_names(classes, "class")
    c = len(names)
    y, p = _class_inputs(y_true, probs, c)
    n = int(y.size)
    pred = decide(p, threshold) if n else np.empty(0, dtype=np.int64)
    cm = np.bincount(y * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)
    per_class = _per_class(cm, names)
    f1s = [float(m["f1"]) for m in per_class.values()]
    out: dict[str, Any] = {
        "n": n,
        "accuracy": int(np.trace(cm)) / n if n else NAN,
        "mcc": float(_gorodkin_mcc(cm)),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro_f1": float(np.mean(f1s)) if n else NAN,
    }
    if threshold is not None and c == 2:
        out["threshold"] = float(threshold)
    out.update(_ranking_scores(y, p))
    return out


def _class_inputs(y_true: np.ndarray, probs: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as int64 (N,) class indices and ``probs`` as float64 (N, ``c``); bad shapes, non-integer
    labels or labels outside ``[0, c)`` raise ``ValueError``."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must have shape (N,), got {y.shape}")
    if p.ndim != 2 or p.shape != (y.size, c):
        raise ValueError(f"probs must have shape ({y.size}, {c}), got {p.shape}")
    if y.dtype.kind not in "iub" and y.size and not np.all(y == np.round(y)):
        raise ValueError("y_true must hold integer class indices")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"y_true class indices must lie in [0, {c})")
    return y, p


def _gorodkin_mcc(cm: np.ndarray) -> float:
    """Gorodkin's (2004) multi-class MCC of a (C, C) confusion matrix; NaN when its denominator is 0.

    R_K = (c·s - Σ p_k t_k) / sqrt((s² - Σ p_k²)(s² - Σ t_k²)), c correct, s samples, t_k / p_k the
    true / predicted counts of class k; floats avoid int overflow.
    """
    correct = int(np.trace(cm))
    t_k = cm.sum(axis=1).astype(np.float64)
    p_k = cm.sum(axis=0).astype(np.float64)
    s = float(int(cm.sum()))
    mcc_den = math.sqrt((s * s - float(p_k @ p_k)) * (s * s - float(t_k @ t_k)))
    return (correct * s - float(p_k @ t_k)) / mcc_den if mcc_den > 0 else NAN


def _safe_div(num: float, den: float) -> float:
    return float(num / den) if den != 0 else 0.0


def _per_class(cm: np.ndarray, names: Sequence[str]) -> dict[str, dict[str, float | int]]:
    """{class: precision, recall, f1, support} from a (C, C) confusion matrix (0.0 on a zero denominator)."""
    true_counts = cm.sum(axis=1)
    pred_counts = cm.sum(axis=0)
    per_class: dict[str, dict[str, float | int]] = {}
    for k, name in enumerate(names):
        tp = float(cm[k, k])
        precision = _safe_div(tp, float(pred_counts[k]))
        recall = _safe_div(tp, float(true_counts[k]))
        f1 = _safe_div(2 * precision * recall, precision + recall)
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(true_counts[k]),
        }
    return per_class


def _ranking_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """``auroc``/``auprc`` on ``p[:, 1]`` for two classes, ``auroc_macro`` for more, nothing for one."""
    c = p.shape[1]
    if c == 2:
        return {"auroc": binary_auroc(y == 1, p[:, 1]), "auprc": binary_auprc(y == 1, p[:, 1])}
    if c > 2:
        # binary_auroc is NaN for a class with no positives or no negatives, which mean_defined skips.
        return {"auroc_macro": mean_defined([binary_auroc(y == k, p[:, k]) for k in range(c)])}
    return {}


def multilabel_metrics(y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Independent binary labels with missing values.

    Per label (rows where that label is NaN are dropped): ``auroc``, ``auprc``, ``accuracy`` of
    ``probs >= 0.5`` against the label, ``n`` (labelled rows) and ``positives``. Top level: ``n`` (rows),
    ``per_label``, and ``mean_auroc``/``mean_auprc`` over the labels where they are defined (NaN if none).
    """
    names, y, p = paired_columns(y_true, probs, labels, "label", "probs")

    per_label: dict[str, dict[str, float | int]] = {}
    for j, name in enumerate(names):
        mask = ~np.isnan(y[:, j])
        yj = binary_labels(y[mask, j])
        pj = p[mask, j]
        n = int(mask.sum())
        per_label[name] = {
            "auroc": binary_auroc(yj, pj),
            "auprc": binary_auprc(yj, pj),
            "accuracy": float(np.mean((pj >= 0.5) == yj)) if n else NAN,
            "n": n,
            "positives": int(yj.sum()),
        }
    return {
        "n": int(y.shape[0]),
        "per_label": per_label,
        "mean_auroc": mean_defined([m["auroc"] for m in per_label.values()]),
        "mean_auprc": mean_defined([m["auprc"] for m in per_label.values()]),
    }
