"""Building blocks of the metric modules: input checks, NaN-aware means, average ranks, and the
rank-based binary metrics (AUROC, AUPRC) that classification and multi-label metrics report.

Shapes: binary ``y_true`` 0/1 (or bool) and ``scores`` float are read flattened, (N,); ``as_2d`` turns
a (N,) or (N, T) array into float64 (N, T); ``average_ranks`` gives float64 (N,). An undefined result
is :data:`NAN`, never an exception (the contract of :mod:`seqrnn.models.metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NAN = float("nan")


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` (flattened); tied values all get the mean of the ranks they span."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.empty(0, dtype=np.float64)
    # Stable sort so that the result does not depend on the sort algorithm's handling of ties.
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    # Compare neighbours with != rather than np.diff: inf - inf is NaN and would split a tie group.
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    new_group[1:] = xs[1:] != xs[:-1]
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n)  # exclusive
    group_rank = (starts + 1 + ends) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = group_rank[np.cumsum(new_group) - 1]
    return ranks


def binary_labels(y_true: np.ndarray) -> np.ndarray:
    """0/1 (or bool) labels as a bool vector; anything else is rejected rather than silently thresholded."""
    y = np.asarray(y_true).ravel()
    if y.dtype == bool:
        return y
    yf = y.astype(np.float64)
    if not np.all((yf == 0) | (yf == 1)):
        raise ValueError("binary labels must be 0 or 1")
    return yf == 1


def _binary_inputs(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = binary_labels(y_true)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores differ in length: {y.size} vs {s.size}")
    return y, s


def mean_defined(values: Sequence[float]) -> float:
    """Mean over the values that are not NaN; NaN if none (np.nanmean would warn on that case)."""
    finite = [v for v in values if not math.isnan(v)]
    return float(sum(finite) / len(finite)) if finite else NAN


def as_2d(a: np.ndarray, width: int, name: str) -> np.ndarray:
    """``a`` as float64 (N, ``width``) (a 1-D array as (N, 1)); another shape raises ``ValueError``."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {np.shape(a)}")
    return arr


def check_names(names: Sequence[str], kind: str) -> list[str]:
    """The class / label / target names as strings; none, or a repeat, raises ``ValueError``."""
    out = [str(n) for n in names]
    if not out:
        raise ValueError(f"at least one {kind} name is required")
    if len(set(out)) != len(out):
        raise ValueError(f"{kind} names must be unique: {out}")  # they become dict keys
    return out


def paired_columns(
    y_true: np.ndarray, outputs: np.ndarray, names: Sequence[str], kind: str, output_name: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(names, y, p)``: checked column names and the (N, K) truth and output arrays, same rows,
    with ``kind`` (``label``/``target``) and ``output_name`` (``probs``/``pred``) naming them in errors."""
    checked = check_names(names, kind)
    y = as_2d(y_true, len(checked), "y_true")
    p = as_2d(outputs, len(checked), output_name)
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and {output_name} differ in rows: {y.shape[0]} vs {p.shape[0]}")
    return checked, y, p


def binary_auroc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via the Mann–Whitney U statistic.

    Ties between a positive and a negative count one half (average ranks). NaN when only one class is
    present or a score is NaN.
    """
    y, s = _binary_inputs(y_true, scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0 or np.isnan(s).any():
        return NAN
    ranks = average_ranks(s)
    u = float(ranks[y].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def binary_auprc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Average precision, as sklearn's ``average_precision_score``: sum over thresholds of ΔR · P.

    Thresholds are the distinct scores, highest first; samples with equal scores enter together (no
    interpolation). NaN when there are no positives or a score is NaN; 1.0 when every sample is positive.
    """
    y, s = _binary_inputs(y_true, scores)
    n_pos = int(y.sum())
    if n_pos == 0 or np.isnan(s).any():
        return NAN
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    # Last index of each run of equal scores: the operating point after the whole tie group is admitted.
    last = np.append(np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s.size - 1)
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))
