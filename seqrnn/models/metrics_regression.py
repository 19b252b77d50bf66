"""Regression metrics (:func:`regression_metrics`): RMSE, MAE, R2, Pearson and Spearman per target.

Shapes: ``y_true`` float (N, T) with NaN = missing target and ``pred`` float (N, T) (a 1-D array is read
as (N, 1)); each target's metrics are computed on its (n,) labelled rows. The helpers are scaled so that
tiny (denormal) or huge values neither underflow nor overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqrnn.models.metrics_base import NAN, average_ranks, mean_defined, paired_columns


def regression_metrics(y_true: np.ndarray, pred: np.ndarray, targets: Sequence[str]) -> dict[str, Any]:
    """Per-target regression metrics with missing values.

    Per target (rows where ``y_true`` is NaN are dropped): ``rmse``, ``mae``, ``r2`` (1 - SS_res/SS_tot;
    NaN when the target is constant or has < 2 values), ``pearson``, ``spearman`` (Pearson on average
    ranks) and ``n``. Top level: ``n`` (rows), ``per_target``, ``mean_rmse`` and ``mean_r2`` over targets
    where defined. A NaN prediction for a present target makes that target's metrics NaN.
    """
    names, y, p = paired_columns(y_true, pred, targets, "target", "pred")

    per_target: dict[str, dict[str, float | int]] = {}
    for j, name in enumerate(names):
        mask = ~np.isnan(y[:, j])
        per_target[name] = _target_metrics(y[mask, j], p[mask, j])
    return {
        "n": int(y.shape[0]),
        "per_target": per_target,
        "mean_rmse": mean_defined([m["rmse"] for m in per_target.values()]),
        "mean_r2": mean_defined([m["r2"] for m in per_target.values()]),
    }


def _target_metrics(yj: np.ndarray, pj: np.ndarray) -> dict[str, float | int]:
    """rmse, mae, r2, pearson, spearman and n of one target's (n,) labelled values and predictions."""
    n = int(yj.size)
    if n == 0:
        return {"rmse": NAN, "mae": NAN, "r2": NAN, "pearson": NAN, "spearman": NAN, "n": 0}
    err = pj - yj
    r2 = _r2(yj, err)
    spearman = _pearson(average_ranks(yj), average_ranks(pj)) if np.isfinite(pj).all() else NAN
    return {
        "rmse": _rmse(err),
        "mae": float(np.abs(err).mean()),
        "r2": r2,
        "pearson": _pearson(yj, pj),
        "spearman": spearman,
        "n": n,
    }


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
