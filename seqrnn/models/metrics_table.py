"""Plain-text reports of metric dicts (:func:`format_table`): scalars, the per-class / per-label /
per-target table, and (classification) the confusion matrix, in fixed-width columns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqrnn.models.metrics_base import NAN

# Keys of the per-item tables of the three metric kinds, with the header of their name column.
_TABLES = (("per_class", "class"), ("per_label", "label"), ("per_target", "target"))


def format_table(metrics: dict[str, Any], title: str) -> str:
    """Plain-text report of a dict from one of the ``*_metrics`` functions (kind detected by its keys).

    Scalar metrics come first, then the per-class / per-label / per-target table, then (classification
    only) the confusion matrix with class names.
    """
    table_key, name_header = _table_of(metrics)
    lines = [title, "=" * max(len(title), 1), *_scalar_lines(metrics)]
    per: dict[str, dict[str, Any]] = metrics[table_key]
    if per:
        columns = list(next(iter(per.values())).keys())
        rows = [[name, *(_fmt(vals.get(col, NAN)) for col in columns)] for name, vals in per.items()]
        lines += ["", *_render([name_header, *columns], rows)]
    if "confusion_matrix" in metrics:
        lines += _confusion_lines(list(per.keys()), metrics["confusion_matrix"])
    return "\n".join(lines) + "\n"


def _table_of(metrics: dict[str, Any]) -> tuple[str, str]:
    """(key of the per-item table, header of its name column) of a metrics dict."""
    for key, first_col in _TABLES:
        if key in metrics:
            return key, first_col
    raise ValueError("not a metrics dict: expected a 'per_class', 'per_label' or 'per_target' key")


def _scalar_lines(metrics: dict[str, Any]) -> list[str]:
    """One ``name  value`` line per scalar metric, names padded to one width."""
    scalars = [(k, v) for k, v in metrics.items() if isinstance(v, int | float | np.integer | np.floating)]
    key_width = max((len(k) for k, _ in scalars), default=0)
    return [f"{k.ljust(key_width)}  {_fmt(v)}" for k, v in scalars]


def _confusion_lines(names: list[str], cm: Sequence[Sequence[int]]) -> list[str]:
    """The confusion matrix with class names (rows = true, columns = predicted), after a blank line."""
    rows = [[name, *(str(int(v)) for v in cm_row)] for name, cm_row in zip(names, cm, strict=True)]
    header = "confusion matrix (rows = true, columns = predicted)"
    return ["", header, *_render(["true \\ pred", *names], rows)]


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
    rule = "  ".join("-" * w for w in widths)
    return [_line(headers, widths), rule, *(_line(r, widths) for r in rows)]


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """One row of a :func:`_render` table."""
    first = cells[0].ljust(widths[0])
    rest = [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True)]
    return "  ".join([first, *rest]).rstrip()
