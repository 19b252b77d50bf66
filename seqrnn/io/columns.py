"""The columns of exported predictions: their names, values and cells, one implementation for the
``csv`` and ``tsv`` exports (:mod:`seqrnn.inference.export`) and for
:meth:`seqrnn.io.predictions.Predictions.to_dataframe`.

What a head's columns are depends on its level and on its kind, the ``kind`` attribute stored with each
dataset of a predictions file (a head kind is :mod:`seqrnn.models.heads`' business, but this module
reads files, so the kind is known here by name: :data:`SEQUENCE_STYLES`).

- Per-sequence heads (``csv``, one row per record): a classifier's predicted class ``pred_<head>`` then
  one probability per class ``pred_<head>_P<class>``; a multi-label head (and an unknown kind) one
  probability per label ``pred_<head>_P<label>``; a regression head its values in the training data's
  units, ``pred_<head>`` for one target, ``pred_<head>_<target>`` for several.
- Per-residue heads (``tsv``, one row per residue): the predicted class ``<head>``, then one probability
  per class ``<head>_P<class>``.
- An ensemble's std over members: the value columns' names with ``_std`` appended
  (``pred_<head>_P<class>_std``, ``<head>_P<class>_std``), written after the head's columns.

The predicted class is the argmax, or for two classes with a stored decision threshold, the second class
where its probability is at least the threshold (:func:`decide`). Cells: probabilities with 4 decimals,
regression values with 6 significant digits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from seqrnn.errors import InputError


class Predictions(Protocol):
    """What the tables read of a predictions file (:class:`seqrnn.io.predictions.Predictions` is one)."""

    path: Path | None
    ids: list[str]
    offsets: np.ndarray
    residue_heads: list[str]
    sequence_heads: list[str]

    def heads(self) -> list[str]: ...
    def classes(self, head: str) -> list[str]: ...
    def columns(self, head: str) -> Any: ...
    def values(self, head: str) -> np.ndarray: ...
    def std_values(self, head: str) -> np.ndarray | None: ...
    def sequences(self) -> Any: ...


def decide(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """(N,) predicted class indices of (N, C) probabilities: ``argmax``, or for two classes with a
    ``threshold``, class 1 where ``probs[:, 1] >= threshold``."""
    p = np.asarray(probs)
    if threshold is not None and p.ndim == 2 and p.shape[1] == 2:
        return (p[:, 1] >= threshold).astype(np.int64)
    return p.argmax(axis=1) if len(p) else np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Style:
    """How a sequence-level head kind is exported.

    ``called``: a predicted-class column comes first; ``values``: the value columns are probabilities
    (``P<class>``, 4 decimals) or regression values (``<target>``, 6 significant digits; one target:
    no suffix).
    """

    called: bool = False
    values: str = "probs"  # or "values"


#: The export style of each sequence-level head kind, by its name (every kind in
#: :data:`seqrnn.models.heads.HEADS` whose level is ``sequence``); other kinds: :data:`PROBABILITIES`.
PROBABILITIES = Style()
SEQUENCE_STYLES: dict[str, Style] = {
    "sequence_classification": Style(called=True),
    "sequence_multilabel": PROBABILITIES,
    "sequence_regression": Style(values="values"),
}


@dataclass(frozen=True)
class HeadColumns:
    """The exported columns of one head's (N, C) outputs (N records or residues, C classes or targets).

    ``names``: the column names, the predicted class first where ``called``, then one per output;
    ``std_names``: the names of an ensemble's std columns, one per output.
    """

    names: list[str]
    classes: list[str]
    called: bool = False
    threshold: float | None = None
    digits: str = ".4f"  # format of a value cell

    @property
    def value_names(self) -> list[str]:
        """The names of the C value columns (the predicted class left out)."""
        return self.names[1:] if self.called else list(self.names)

    @property
    def std_names(self) -> list[str]:
        """The names of an ensemble's std columns: each value column's with ``_std``."""
        return [f"{n}_std" for n in self.value_names]

    def calls(self, values: np.ndarray) -> np.ndarray:
        """(N,) the predicted class names (object array) of (N, C) probabilities."""
        return np.array(self.classes, dtype=object)[decide(values, self.threshold)]

    def arrays(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """``{column name: (N,) values}`` of (N, C) outputs: class names, then the outputs as stored."""
        out = {self.names[0]: self.calls(values)} if self.called else {}
        out.update({name: values[:, j] for j, name in enumerate(self.value_names)})
        return out

    def std_arrays(self, std: np.ndarray) -> dict[str, np.ndarray]:
        """``{std column name: (N,) std}`` of an ensemble's (N, C) std."""
        return {name: std[:, j] for j, name in enumerate(self.std_names)}

    def rows(self, values: np.ndarray) -> list[list[str]]:
        """The cells of every row of (N, C) outputs: the predicted class, then the formatted values."""
        digits = self.digits
        cells = [[format(x, digits) for x in row] for row in values]
        if self.called:
            for row, call in zip(cells, self.calls(values), strict=True):
                row.insert(0, call)
        return cells

    def cells(self, row: np.ndarray) -> list[str]:
        """The cells of one (C,) row of outputs (:meth:`rows`)."""
        return self.rows(np.asarray(row)[None])[0]

    def std_rows(self, std: np.ndarray) -> list[list[str]]:
        """The cells of every row of an ensemble's (N, C) std, formatted as the values."""
        return [[format(x, self.digits) for x in row] for row in std]

    def std_cells(self, row: np.ndarray) -> list[str]:
        """The cells of one (C,) row of an ensemble's std (:meth:`std_rows`)."""
        return [format(x, self.digits) for x in row]


def sequence_columns(
    kind: str, name: str, classes: Sequence[str], threshold: float | None = None
) -> HeadColumns:
    """The ``csv`` export columns of sequence-level head ``name`` of kind ``kind`` (its classes, labels
    or targets in ``classes``; ``threshold``: a two-class head's decision threshold)."""
    style = SEQUENCE_STYLES.get(kind, PROBABILITIES)
    labels = [str(c) for c in classes]
    if style.values == "values":
        names = [f"pred_{name}"] if len(labels) == 1 else [f"pred_{name}_{t}" for t in labels]
        return HeadColumns(names, labels, digits=".6g")
    names = [f"pred_{name}_P{c}" for c in labels]
    if style.called:
        names.insert(0, f"pred_{name}")
    return HeadColumns(names, labels, called=style.called, threshold=threshold)


def residue_columns(name: str, classes: Sequence[str], threshold: float | None = None) -> HeadColumns:
    """The ``tsv`` export columns of per-residue head ``name``: the predicted class, then one
    probability per class."""
    labels = [str(c) for c in classes]
    return HeadColumns([name] + [f"{name}_P{c}" for c in labels], labels, called=True, threshold=threshold)


# Tables of a predictions file (what Predictions.to_dataframe wraps) -----------------------------------


def level_table(pred: Predictions, level: str) -> dict[str, np.ndarray]:
    """:func:`sequence_table` (``level`` ``sequence``) or :func:`residue_table` (``residue``); an
    :class:`InputError` for a file without heads of that level."""
    if not (pred.sequence_heads if level == "sequence" else pred.residue_heads):
        other = "residue" if level == "sequence" else "sequence"
        hint = f" (its per-{other} heads: to_dataframe(level={other!r}))" if pred.heads else ""
        raise InputError(
            f"no per-{level} heads in the predictions{hint}", source=str(pred.path or "<memory>")
        )
    return sequence_table(pred) if level == "sequence" else residue_table(pred)


def sequence_table(pred: Predictions) -> dict[str, np.ndarray]:
    """The ``csv`` export's prediction columns of every record, as ``{name: (N,) array}``: ``id``, then per
    per-sequence head (sorted by name) its columns, then its std columns (an ensemble's)."""
    table: dict[str, np.ndarray] = {"id": np.array(pred.ids, dtype=object)}
    for head in pred.sequence_heads:
        _add_head(table, pred, head)
    return table


def residue_table(pred: Predictions) -> dict[str, np.ndarray]:
    """The ``tsv`` export's columns of every residue, as ``{name: (R,) array}``: ``id``, ``position``
    (1-based), ``residue``, then per per-residue head its columns, then its std columns (an ensemble's).

    ``residue`` is left out where residues are not single letters (SMILES tokens); files written before
    ``/sequences`` existed give ``X``, as the export does.
    """
    table = _residue_index(pred, unknown="X")
    for head in pred.residue_heads:
        _add_head(table, pred, head)
    return table


def _residue_index(pred: Predictions, unknown: str) -> dict[str, np.ndarray]:
    """``id``, ``position`` and ``residue`` of every residue (``unknown`` letters without ``/sequences``;
    ``""``: no ``residue`` column then)."""
    lengths = np.diff(pred.offsets)
    n = int(pred.offsets[-1])
    table: dict[str, np.ndarray] = {
        "id": np.repeat(np.array(pred.ids, dtype=object), lengths),
        "position": np.arange(n, dtype=np.int64) - np.repeat(pred.offsets[:-1], lengths) + 1,
    }
    seqs = pred.sequences
    letters = "".join(seqs[:]) if seqs is not None else unknown * n
    if len(letters) == n:
        table["residue"] = np.array(list(letters), dtype=object)
    return table


def _add_head(table: dict[str, np.ndarray], pred: Predictions, head: str) -> None:
    columns = pred.columns(head)
    table.update(columns.arrays(pred.values(head)))
    std = pred.std_values(head)
    if std is not None:
        table.update(columns.std_arrays(std))


def head_table(pred: Predictions, head: str) -> dict[str, np.ndarray]:
    """One head's outputs as stored, one column per class or target named by it: per-residue heads one
    row per residue (``id``, ``position``, ``residue`` as in :func:`residue_table`, but ``residue`` also
    left out in files without ``/sequences``), per-sequence heads one row per record (``id``)."""
    values = pred.values(head)
    if head in pred.residue_heads:
        table = _residue_index(pred, unknown="")
    else:
        table = {"id": np.array(pred.ids, dtype=object)}
    table.update({name: values[:, j] for j, name in enumerate(pred.classes(head))})
    return table
