"""Head specs: the typed, JSON-able description of a task head stored in model bundles.

A :class:`HeadSpec` is what a head is built from and what a bundle records (``metadata["heads"]``):
name, kind, label columns, classes (or regression targets), loss weight, label smoothing and, for
regression, the training targets' mean and std; when set, a residue head's own mask columns and a
classification head's label mapping. :class:`HeadSettings` is what building a spec reads
from a config's ``heads:`` entry. What a kind *means* lives in :mod:`seqrnn.models.heads`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class HeadSpec:
    """What a head is, as stored in the model bundle (``metadata["heads"]``) and checkpoints.

    ``classes`` are the class names in output order (for multi-label and regression heads: one output
    name per column); ``mean``/``std`` the regression targets' training statistics, None for other kinds.
    Keys this version does not know are kept in ``extra``, so a loaded spec is written back unchanged.
    """

    name: str
    kind: str
    columns: list[str] = field(default_factory=list)
    loss_weight: float = 1.0
    label_smoothing: float = 0.0
    classes: list[str] = field(default_factory=list)
    mean: list[float] | None = None
    std: list[float] | None = None
    # Binary classification only: the positive class (classes[1]) is called at probability >= threshold
    # instead of argmax; chosen on validation data when the config says ``threshold: auto``.
    threshold: float | None = None
    # Residue heads: the per-residue columns this head is scored on (all 1); None: the data-level
    # default (``data.mask_columns``, ``--mask-column``); []: every residue. Stored only when set.
    mask_columns: list[str] | None = None
    # Classification heads: label value -> class (e.g. {"1.0": "ordered"}); stored only when set.
    labels: dict[str, str] | None = None
    # This head's hidden layer width (0 = linear); None: the model's ``head_hidden``. Stored only when set.
    hidden: int | None = None
    # Residue heads: the width of this head's own BiLSTM over the front end's features (the convolution
    # output, or the input layer's), whose outputs join the shared features; None: no branch. Stored
    # only when set.
    branch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeadSpec:
        """The spec of a bundle's JSON dict; KeyError/TypeError when a required key is missing or wrong."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a head spec is a mapping, not {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            columns=[str(c) for c in data.get("columns", [])],
            loss_weight=float(data.get("loss_weight", 1.0)),
            label_smoothing=float(data.get("label_smoothing", 0.0)),
            classes=[str(c) for c in data["classes"]],
            mean=None if data.get("mean") is None else [float(v) for v in data["mean"]],
            std=None if data.get("std") is None else [float(v) for v in data["std"]],
            threshold=None if data.get("threshold") is None else float(data["threshold"]),
            mask_columns=None if data.get("mask_columns") is None else [str(c) for c in data["mask_columns"]],
            labels=None if not data.get("labels") else {str(k): str(v) for k, v in data["labels"].items()},
            hidden=None if data.get("hidden") is None else int(data["hidden"]),
            branch=None if data.get("branch") is None else int(data["branch"]),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON dict bundles and checkpoints store; key order as written since format version 1."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "columns": list(self.columns),
            "loss_weight": self.loss_weight,
            "label_smoothing": self.label_smoothing,
            "classes": list(self.classes),
        }
        if self.mean is not None:
            out["mean"] = list(self.mean)
        if self.std is not None:
            out["std"] = list(self.std)
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.mask_columns is not None:
            out["mask_columns"] = list(self.mask_columns)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.hidden is not None:
            out["hidden"] = self.hidden
        if self.branch is not None:
            out["branch"] = self.branch
        return {**out, **self.extra}


class HeadSettings(Protocol):
    """What building a spec reads from a ``heads:`` entry (:class:`seqrnn.training.config.HeadConfig`)."""

    name: str
    kind: str
    columns: list[str]
    classes: list[str] | None
    loss_weight: float
    label_smoothing: float
    threshold: float | str | None
    mask_columns: list[str] | None
    labels: dict[str, str]
    hidden: int | None
    branch: int | None
