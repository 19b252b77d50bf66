"""Label cells as they come in tables and FASTA headers: per-residue label strings, classes, numbers.

Heads (:mod:`seqrnn.models.heads`) parse their targets with these helpers; the residue masks of
:mod:`seqrnn.data.examples` read mask columns with :func:`split_labels` too.
"""

from __future__ import annotations

import math

import numpy as np

MISSING = {"", "na", "nan", "none", "null", "?", "-"}  # cells that mean "no label" (lowercased)


def split_labels(cell: str) -> list[str]:
    """A per-residue label cell: space/comma separated tokens (NetSurfP CSV) or one character each."""
    cell = cell.strip()
    if " " in cell or "," in cell:
        return cell.replace(",", " ").split()
    return list(cell)


def is_missing(cell: str) -> bool:
    """Whether a label cell stands for "no label" (empty, NA, NaN, ...)."""
    return cell.strip().lower() in MISSING


def normalise_class(raw: str) -> str:
    """A class label as text; "1.0" and "1" are the same class in CSVs written by pandas."""
    try:
        value = float(raw)
    except ValueError:
        return raw
    return str(int(value)) if value.is_integer() else raw


def column(fields: dict[str, str], name: str) -> str:
    """The cell of column ``name``; a missing column is a ``KeyError`` naming it."""
    try:
        return fields[name]
    except KeyError:
        raise KeyError(f"no label column {name!r}") from None


def parse_floats(fields: dict[str, str], columns: list[str]) -> np.ndarray:
    """(len(columns),) float32 values of the columns, NaN where a cell is missing."""
    out = np.empty(len(columns), dtype=np.float32)
    for i, col in enumerate(columns):
        raw = column(fields, col).strip()
        if raw.lower() in MISSING:
            out[i] = math.nan
            continue
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"column {col!r}: {raw!r} is not a number") from None
        # float32 storage: inf, and finite values beyond its range, would poison the loss silently.
        if not math.isfinite(value) or abs(value) > 1e30:
            raise ValueError(f"column {col!r}: {raw!r} is not a finite number in a usable range")
        out[i] = value
    return out
