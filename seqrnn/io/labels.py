"""Label cells as they come in tables and FASTA headers: per-residue label strings, classes, numbers.

Heads (:mod:`seqrnn.models.heads`) parse their targets with these helpers; the residue masks of
:mod:`seqrnn.encoding.examples` read mask columns with :func:`split_labels` too. A classification head's
``labels`` mapping (``{"1.0": "ordered", "0.0": "disordered"}``) turns label values into class names
(:func:`label_mapper`), so a 0/1 column trains a head with named classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from seqrnn.io.records import Record

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


def sequence_labels(cell: str) -> tuple[str, ...]:
    """The labels of a sequence-level label cell: none when missing, else the value (numbers normalised)."""
    return () if is_missing(cell) else (normalise_class(cell.strip()),)


def label_mapper(mapping: Mapping[str, str] | None) -> Callable[[str], str]:
    """A function from a label value to its class under a head's ``labels`` mapping.

    A value is looked up as written, then as a number (``"1"``, ``"1.0"`` and ``"1.00"`` are one
    value); a value the mapping does not list comes back as :func:`normalise_class` reads it.
    """
    exact = dict(mapping or {})
    by_value = {normalise_class(k.strip()): v for k, v in exact.items()}

    def mapped(raw: str) -> str:
        hit = exact.get(raw)
        if hit is not None:
            return hit
        value = normalise_class(raw.strip())
        return by_value.get(value, value)

    return mapped


def classes_seen(
    records: Iterable[Record],
    column_name: str,
    cell_labels: Callable[[str], Iterable[str]],
    configured: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
) -> list[str]:
    """The ``configured`` classes, or the sorted classes found in the records' ``column_name`` cells
    (each cell split into labels by ``cell_labels``, each label mapped through ``mapping`` if given)."""
    if configured:
        return list(configured)
    mapped = label_mapper(mapping) if mapping else None
    seen: set[str] = set()
    for rec in records:
        labels = cell_labels(rec.fields[column_name])
        seen.update(map(mapped, labels) if mapped else labels)
    return sorted(seen)
