"""Evaluation metrics for the three task kinds, in pure numpy (no sklearn, no scipy).

Array-shape contract:
    classification  ``y_true`` int (N,) class indices in ``[0, C)``; ``probs`` float (N, C); C ``classes``.
    multi-label     ``y_true`` float (N, T) of 0/1 with NaN = missing label; ``probs`` float (N, T).
    regression      ``y_true`` float (N, T) with NaN = missing target; ``pred`` float (N, T).
    A 1-D array is accepted as (N, 1) for multi-label and regression.

Every result is made of plain Python ``int``/``float``/``list``/``dict`` so it can be written with ``json``.
A metric that is undefined for the data at hand (AUROC with one class present, Pearson or R2 with zero
variance, anything on zero samples) is ``float("nan")``, never an exception; N = 0 gives ``n == 0``.
Shape or label-range mistakes are programming errors and raise ``ValueError``.

Which scalar metrics each task reports (``classification_scalars``, ``MULTILABEL_SCALARS``,
``REGRESSION_SCALARS``) and whether a metric improves upwards (``higher_is_better``) are declared here
once; heads, config validation and early stopping read them from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqrnn.models.decisions import decide

NAN = float("nan")

# Scalar quality metrics per task (``n`` is a count and never a quality to select models by).
MULTILABEL_SCALARS: tuple[str, ...] = ("mean_auroc", "mean_auprc")
REGRESSION_SCALARS: tuple[str, ...] = ("mean_rmse", "mean_r2")
# Errors and losses improve downwards; every other metric here (accuracy, AUROC, R2, ...) upwards.
LOWER_IS_BETTER = frozenset({"loss", "rmse", "mae", "mean_rmse", "mean_mae"})


def classification_scalars(n_classes: int | None = None) -> tuple[str, ...]:
    """Scalar quality metrics :func:`classification_metrics` reports for ``n_classes`` classes.

    Binary tasks add ``auroc`` and ``auprc``, more classes ``auroc_macro``; ``None`` (classes not known
    yet, e.g. inferred from training data later) gives every name that may turn up.
    """
    base = ("accuracy", "mcc", "macro_f1")
    if n_classes is None:
        return (*base, "auroc", "auprc", "auroc_macro")
    if n_classes == 2:
        return (*base, "auroc", "auprc")
    return (*base, "auroc_macro") if n_classes > 2 else base


def higher_is_better(metric: str) -> bool:
    """Whether larger values of ``metric`` (a name such as ``accuracy`` or ``mean_rmse``) are better."""
    return metric not in LOWER_IS_BETTER


# --------------------------------------------------------------------------------------------------------
# helpers


def _average_ranks(x: np.ndarray) -> np.ndarray:
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


def _binary_labels(y_true: np.ndarray) -> np.ndarray:
    """0/1 (or bool) labels as a bool vector; anything else is rejected rather than silently thresholded."""
    y = np.asarray(y_true).ravel()
    if y.dtype == bool:
        return y
    yf = y.astype(np.float64)
    if not np.all((yf == 0) | (yf == 1)):
        raise ValueError("binary labels must be 0 or 1")
    return yf == 1


def _binary_inputs(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = _binary_labels(y_true)
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores differ in length: {y.size} vs {s.size}")
    return y, s


def _mean_defined(values: Sequence[float]) -> float:
    """Mean over the values that are not NaN; NaN if none (np.nanmean would warn on that case)."""
    finite = [v for v in values if not math.isnan(v)]
    return float(sum(finite) / len(finite)) if finite else NAN


def _safe_div(num: float, den: float) -> float:
    return float(num / den) if den != 0 else 0.0


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return NAN
    # Test constancy exactly: the mean of a constant float array is not always exact, so a centred
    # "zero" vector can hold ~1e-17 noise and give a spurious correlation of +-1.
    if np.all(x == x[0]) or np.all(y == y[0]):
        return NAN
    # r is scale-free, so divide each centred vector by its largest magnitude: sums of squares then can
    # neither underflow (denormal inputs) nor overflow (|x| ~ 1e200).
    xc = x - x.mean()
    yc = y - y.mean()
    xc = xc / np.abs(xc).max()
    yc = yc / np.abs(yc).max()
    den = math.sqrt(float(xc @ xc) * float(yc @ yc))
    if not den > 0 or not math.isfinite(den):
        return NAN
    r = float(xc @ yc) / den
    return max(-1.0, min(1.0, r))  # rounding can step just outside [-1, 1]


def _rmse(err: np.ndarray) -> float:
    # Factor out the largest error so squaring neither underflows nor overflows.
    scale = float(np.abs(err).max())
    if scale == 0 or not math.isfinite(scale):
        return scale
    return scale * math.sqrt(float(np.mean((err / scale) ** 2)))


def _r2(y: np.ndarray, err: np.ndarray) -> float:
    """1 - SS_res / SS_tot; NaN for fewer than 2 values or a constant target."""
    # Exact constancy test, as in _pearson: SS_tot of a constant float vector may not be exactly 0.
    if y.size < 2 or np.all(y == y[0]):
        return NAN
    yc = y - y.mean()
    # Both sums are divided by the same spread so tiny (denormal) targets do not underflow SS_tot to 0.
    scale = float(np.abs(yc).max())
    ss_tot = float(np.sum((yc / scale) ** 2))
    if not ss_tot > 0:
        return NAN
    with np.errstate(over="ignore"):  # a huge error overflows to inf, i.e. R2 = -inf, which is honest
        ss_res = float(np.sum((err / scale) ** 2))
    return 1.0 - ss_res / ss_tot


def _as_2d(a: np.ndarray, width: int, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {np.shape(a)}")
    return arr


def _check_names(names: Sequence[str], kind: str) -> list[str]:
    out = [str(n) for n in names]
    if not out:
        raise ValueError(f"at least one {kind} name is required")
    if len(set(out)) != len(out):
        raise ValueError(f"{kind} names must be unique: {out}")  # they become dict keys
    return out


# --------------------------------------------------------------------------------------------------------
# binary ranking metrics


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
    ranks = _average_ranks(s)
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


# --------------------------------------------------------------------------------------------------------
# task-level metrics


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
    names = _check_names(classes, "class")
    c = len(names)
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

    n = int(y.size)
    pred = decide(p, threshold) if n else np.empty(0, dtype=np.int64)
    cm = np.bincount(y * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)
    true_counts = cm.sum(axis=1)
    pred_counts = cm.sum(axis=0)
    correct = int(np.trace(cm))

    # Gorodkin (2004): R_K = (c·s - Σ p_k t_k) / sqrt((s² - Σ p_k²)(s² - Σ t_k²)); floats avoid int overflow.
    t_k = true_counts.astype(np.float64)
    p_k = pred_counts.astype(np.float64)
    s = float(n)
    mcc_den = math.sqrt((s * s - float(p_k @ p_k)) * (s * s - float(t_k @ t_k)))
    mcc = (correct * s - float(p_k @ t_k)) / mcc_den if mcc_den > 0 else NAN

    per_class: dict[str, dict[str, float | int]] = {}
    f1s: list[float] = []
    for k, name in enumerate(names):
        tp = float(cm[k, k])
        precision = _safe_div(tp, float(pred_counts[k]))
        recall = _safe_div(tp, float(true_counts[k]))
        f1 = _safe_div(2 * precision * recall, precision + recall)
        f1s.append(f1)
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(true_counts[k]),
        }

    out: dict[str, Any] = {
        "n": n,
        "accuracy": correct / n if n else NAN,
        "mcc": float(mcc),
        "confusion_matrix": cm.tolist(),
        "per_class": per_class,
        "macro_f1": float(np.mean(f1s)) if n else NAN,
    }
    if threshold is not None and c == 2:
        out["threshold"] = float(threshold)
    if c == 2:
        out["auroc"] = binary_auroc(y == 1, p[:, 1])
        out["auprc"] = binary_auprc(y == 1, p[:, 1])
    elif c > 2:
        # binary_auroc is NaN for a class with no positives or no negatives, which _mean_defined skips.
        out["auroc_macro"] = _mean_defined([binary_auroc(y == k, p[:, k]) for k in range(c)])
    return out


def multilabel_metrics(y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Independent binary labels with missing values.

    Per label (rows where that label is NaN are dropped): ``auroc``, ``auprc``, ``accuracy`` of
    ``probs >= 0.5`` against the label, ``n`` (labelled rows) and ``positives``. Top level: ``n`` (rows),
    ``per_label``, and ``mean_auroc``/``mean_auprc`` over the labels where they are defined (NaN if none).
    """
    names = _check_names(labels, "label")
    y = _as_2d(y_true, len(names), "y_true")
    p = _as_2d(probs, len(names), "probs")
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and probs differ in rows: {y.shape[0]} vs {p.shape[0]}")

    per_label: dict[str, dict[str, float | int]] = {}
    for j, name in enumerate(names):
        mask = ~np.isnan(y[:, j])
        yj = _binary_labels(y[mask, j])
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
        "mean_auroc": _mean_defined([m["auroc"] for m in per_label.values()]),
        "mean_auprc": _mean_defined([m["auprc"] for m in per_label.values()]),
    }


def regression_metrics(y_true: np.ndarray, pred: np.ndarray, targets: Sequence[str]) -> dict[str, Any]:
    """Per-target regression metrics with missing values.

    Per target (rows where ``y_true`` is NaN are dropped): ``rmse``, ``mae``, ``r2`` (1 - SS_res/SS_tot;
    NaN when the target is constant or has < 2 values), ``pearson``, ``spearman`` (Pearson on average
    ranks) and ``n``. Top level: ``n`` (rows), ``per_target``, ``mean_rmse`` and ``mean_r2`` over targets
    where defined. A NaN prediction for a present target makes that target's metrics NaN.
    """
    names = _check_names(targets, "target")
    y = _as_2d(y_true, len(names), "y_true")
    p = _as_2d(pred, len(names), "pred")
    if y.shape[0] != p.shape[0]:
        raise ValueError(f"y_true and pred differ in rows: {y.shape[0]} vs {p.shape[0]}")

    per_target: dict[str, dict[str, float | int]] = {}
    for j, name in enumerate(names):
        mask = ~np.isnan(y[:, j])
        yj = y[mask, j]
        pj = p[mask, j]
        n = int(mask.sum())
        if n == 0:
            per_target[name] = {"rmse": NAN, "mae": NAN, "r2": NAN, "pearson": NAN, "spearman": NAN, "n": 0}
            continue
        err = pj - yj
        r2 = _r2(yj, err)
        spearman = _pearson(_average_ranks(yj), _average_ranks(pj)) if np.isfinite(pj).all() else NAN
        per_target[name] = {
            "rmse": _rmse(err),
            "mae": float(np.abs(err).mean()),
            "r2": r2,
            "pearson": _pearson(yj, pj),
            "spearman": spearman,
            "n": n,
        }
    return {
        "n": int(y.shape[0]),
        "per_target": per_target,
        "mean_rmse": _mean_defined([m["rmse"] for m in per_target.values()]),
        "mean_r2": _mean_defined([m["r2"] for m in per_target.values()]),
    }


# --------------------------------------------------------------------------------------------------------
# text output


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return "nan" if math.isnan(v) else f"{float(v):.4f}"
    return str(v)


def _render(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Fixed-width table: first column left-aligned (names), the rest right-aligned (numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def format_table(metrics: dict[str, Any], title: str) -> str:
    """Plain-text report of a dict from one of the ``*_metrics`` functions (kind detected by its keys).

    Scalar metrics come first, then the per-class / per-label / per-target table, then (classification
    only) the confusion matrix with class names.
    """
    for key, first_col in (("per_class", "class"), ("per_label", "label"), ("per_target", "target")):
        if key in metrics:
            table_key, name_header = key, first_col
            break
    else:
        raise ValueError("not a metrics dict: expected a 'per_class', 'per_label' or 'per_target' key")

    lines = [title, "=" * max(len(title), 1)]
    scalars = [(k, v) for k, v in metrics.items() if isinstance(v, int | float | np.integer | np.floating)]
    key_width = max((len(k) for k, _ in scalars), default=0)
    lines += [f"{k.ljust(key_width)}  {_fmt(v)}" for k, v in scalars]

    per: dict[str, dict[str, Any]] = metrics[table_key]
    if per:
        columns = list(next(iter(per.values())).keys())
        rows = [[name, *(_fmt(vals.get(col, NAN)) for col in columns)] for name, vals in per.items()]
        lines += ["", *_render([name_header, *columns], rows)]

    if "confusion_matrix" in metrics:
        names = list(per.keys())
        cm = metrics["confusion_matrix"]
        rows = [[name, *(str(int(v)) for v in cm_row)] for name, cm_row in zip(names, cm, strict=True)]
        lines += ["", "confusion matrix (rows = true, columns = predicted)"]
        lines += _render(["true \\ pred", *names], rows)
    return "\n".join(lines) + "\n"
