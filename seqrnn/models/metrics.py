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

The metrics themselves live beside this module, and are importable from here:
:mod:`~seqrnn.models.metrics_base` (input checks, ranks, binary AUROC / AUPRC),
:mod:`~seqrnn.models.metrics_classification` (single- and multi-label),
:mod:`~seqrnn.models.metrics_regression` and :mod:`~seqrnn.models.metrics_table` (text reports).
"""

from __future__ import annotations

from seqrnn.models.metrics_base import NAN, binary_auprc, binary_auroc
from seqrnn.models.metrics_classification import classification_metrics, multilabel_metrics
from seqrnn.models.metrics_regression import regression_metrics
from seqrnn.models.metrics_table import format_table

__all__ = [
    "LOWER_IS_BETTER",
    "MULTILABEL_SCALARS",
    "NAN",
    "REGRESSION_SCALARS",
    "binary_auprc",
    "binary_auroc",
    "classification_metrics",
    "classification_scalars",
    "format_table",
    "higher_is_better",
    "multilabel_metrics",
    "regression_metrics",
]

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
