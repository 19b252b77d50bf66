"""Task heads: what the encoder's features are turned into, how targets are parsed and losses masked.

Shapes (B = batch, L = longest sequence in the batch, F = 2 * hidden features, C = classes/targets):
    residue heads take (B, L, F) and return logits (B, L, C);
    sequence heads take pooled (B, P) features and return (B, C).
Targets: residue classification (B, L) int64 with ``IGNORE`` at padding / masked / unknown residues;
sequence classification (B,) int64 (``IGNORE`` = missing); multilabel and regression (B, C) float with
NaN = missing. Every loss averages over the present targets only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqrnn.data.labels import MISSING, column, normalise_class, parse_floats, split_labels
from seqrnn.registry import Registry

IGNORE = -100
HEADS: Registry[type[Head]] = Registry("head kind")


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Module:
    if hidden <= 0:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_out))
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
    )


class Head(nn.Module):
    """Base head. ``spec`` is the JSON-able description stored in the model bundle."""

    kind: ClassVar[str] = ""
    level: ClassVar[str] = "sequence"  # or "residue"
    output: ClassVar[str] = "probs"  # HDF5 dataset name: probs or values
    label_attr: ClassVar[str] = "classes"

    def __init__(self, spec: dict[str, Any], n_features: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.spec = spec
        self.name: str = spec["name"]
        self.classes: list[str] = list(spec["classes"])
        self.net = _mlp(n_features, hidden, len(self.classes), dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)

    # targets -------------------------------------------------------------------------------------
    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def collate(self, targets: list[np.ndarray], max_len: int) -> torch.Tensor:
        return torch.from_numpy(np.stack(targets))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits -> what is written (probabilities or values in original units)."""
        return torch.softmax(logits.float(), dim=-1)


@HEADS.register("residue_classification")
class ResidueClassification(Head):
    kind = "residue_classification"
    level = "residue"

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        labels = split_labels(column(fields, self.spec["columns"][0]))
        if len(labels) != keep.size:
            raise ValueError(
                f"label column {self.spec['columns'][0]!r} has {len(labels)} labels for {keep.size} residues"
            )
        index = {c: i for i, c in enumerate(self.classes)}
        target = np.fromiter((index.get(c, IGNORE) for c in labels), dtype=np.int64, count=len(labels))
        if mask is not None:
            target[~mask] = IGNORE
        return target[keep]

    def collate(self, targets: list[np.ndarray], max_len: int) -> torch.Tensor:
        out = np.full((len(targets), max_len), IGNORE, dtype=np.int64)
        for i, t in enumerate(targets):
            out[i, : t.size] = t
        return torch.from_numpy(out)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        smoothing = float(self.spec.get("label_smoothing", 0.0))
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            target.reshape(-1),
            ignore_index=IGNORE,
            label_smoothing=smoothing,
        )


@HEADS.register("sequence_classification")
class SequenceClassification(Head):
    kind = "sequence_classification"

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        raw = column(fields, self.spec["columns"][0]).strip()
        if raw.lower() in MISSING:
            return np.array(IGNORE, dtype=np.int64)
        raw = normalise_class(raw)
        if raw not in self.classes:
            raise ValueError(f"label {raw!r} is not one of the classes {self.classes}")
        return np.array(self.classes.index(raw), dtype=np.int64)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if bool((target == IGNORE).all()):
            return logits.sum() * 0.0
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE)


@HEADS.register("sequence_multilabel")
class SequenceMultilabel(Head):
    """Independent binary labels (e.g. Tox21's 12 assays) with missing labels masked."""

    kind = "sequence_multilabel"
    label_attr = "classes"

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        values = parse_floats(fields, self.spec["columns"])
        bad = ~np.isnan(values) & (values != 0) & (values != 1)
        if bad.any():
            raise ValueError(f"multilabel column {self.spec['columns'][int(np.argmax(bad))]!r} is not 0/1")
        return values

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        present = ~torch.isnan(target)
        if not bool(present.any()):
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits.float()[present], target[present])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits.float())


@HEADS.register("sequence_regression")
class SequenceRegression(Head):
    """Regression on standardised targets; mean/std live in buffers so predictions come back in units."""

    kind = "sequence_regression"
    output = "values"
    label_attr = "targets"

    def __init__(self, spec: dict[str, Any], n_features: int, hidden: int, dropout: float) -> None:
        super().__init__(spec, n_features, hidden, dropout)
        n = len(self.classes)
        self.register_buffer("mean", torch.tensor(spec.get("mean", [0.0] * n), dtype=torch.float32))
        self.register_buffer("std", torch.tensor(spec.get("std", [1.0] * n), dtype=torch.float32))

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        return parse_floats(fields, self.spec["columns"])

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        present = ~torch.isnan(target)
        if not bool(present.any()):
            return logits.sum() * 0.0
        scaled = (target - self.mean) / self.std
        return F.mse_loss(logits.float()[present], scaled[present])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float() * self.std + self.mean
