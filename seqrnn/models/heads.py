"""Task heads: what the encoder's features are turned into, how targets are parsed and losses masked.

Shapes (B = batch, L = longest sequence in the batch, F = 2 * hidden features, C = classes/targets):
    residue heads take (B, L, F) and return logits (B, L, C);
    sequence heads take pooled (B, P) features and return (B, C).
Targets: residue classification (B, L) int64 with ``IGNORE`` at padding / masked / unknown residues;
sequence classification (B,) int64 (``IGNORE`` = missing); multilabel and regression (B, C) float with
NaN = missing. Every loss averages over the present targets only.

A head kind is its class, registered in :data:`HEADS` under the kind name (chemprop v2's predictor
registry): it owns everything that depends on the kind, so nothing else compares kind names. That is
target parsing, loss, post-processing, ``level``, building its :class:`HeadSpec` from training records
(class inference, regression mean/std), the config rules (``n_columns`` and the ``allows_*`` flags), its
metrics (``main_metric``, ``scalar_metrics``, ``score``) and its CSV export columns (``csv_columns``; the
columns themselves are defined by kind name in :mod:`seqrnn.io.columns`, which reads predictions files
without torch). The base class, the registry and ``IGNORE`` live in :mod:`seqrnn.models.head_base`;
import them from here.
Scoring takes per-example targets and outputs as in HDF5: residue heads (L, C), sequence heads (C,).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from seqrnn.errors import InputError
from seqrnn.io.labels import (
    MISSING,
    classes_seen,
    column,
    label_mapper,
    parse_floats,
    sequence_labels,
    split_labels,
)
from seqrnn.models.head_base import HEADS, IGNORE, Arrays, CsvColumns, Head, SingleLabel
from seqrnn.models.metrics import (
    MULTILABEL_SCALARS,
    REGRESSION_SCALARS,
    classification_scalars,
    multilabel_metrics,
    regression_metrics,
)
from seqrnn.models.specs import HeadSettings, HeadSpec

if TYPE_CHECKING:
    from seqrnn.io.records import Record

__all__ = [
    "HEADS",
    "IGNORE",
    "Arrays",
    "CsvColumns",
    "Head",
    "HeadSettings",
    "HeadSpec",
    "ResidueClassification",
    "SequenceClassification",
    "SequenceMultilabel",
    "SequenceRegression",
    "SingleLabel",
    "head_class",
    "specs_from_records",
]


def specs_from_records(heads: Iterable[HeadSettings], records: Sequence[Record]) -> list[HeadSpec]:
    """Specs for the configured heads, with classes inferred and statistics fitted on ``records``."""
    return [HEADS.get(h.kind).spec_from_records(h, records) for h in heads]


def head_class(kind: str) -> type[Head]:
    """The class of a head kind; :class:`Head` (probability outputs) for an unknown or empty kind."""
    return HEADS.get(kind) if kind in HEADS else Head


@HEADS.register("residue_classification")
class ResidueClassification(SingleLabel):
    """One class per residue (e.g. secondary structure); unknown labels and masked residues are ignored."""

    kind = "residue_classification"
    level = "residue"
    n_columns = 1
    allows_crop = True
    allows_label_smoothing = True
    allows_labels = True
    allows_augment = False  # views (reverse complement, SMILES enumeration) move residues
    allows_conv_pool = False  # pooled positions no longer line up with residues

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """(L,) int64 class indices of the kept residues, ``IGNORE`` where unknown or masked."""
        labels = split_labels(column(fields, self.spec.columns[0]))
        if self.spec.labels:
            labels = list(map(label_mapper(self.spec.labels), labels))
        if len(labels) != keep.size:
            raise ValueError(
                f"label column {self.spec.columns[0]!r} has {len(labels)} labels for {keep.size} residues"
            )
        index = {c: i for i, c in enumerate(self.classes)}
        target = np.fromiter((index.get(c, IGNORE) for c in labels), dtype=np.int64, count=len(labels))
        if mask is not None:
            target[~mask] = IGNORE
        return target[keep]

    def collate(self, targets: list[np.ndarray], max_len: int) -> torch.Tensor:
        """Pad the (L_i,) targets into a (B, max_len) int64 tensor with ``IGNORE``."""
        out = np.full((len(targets), max_len), IGNORE, dtype=np.int64)
        for i, t in enumerate(targets):
            out[i, : t.size] = t
        return torch.from_numpy(out)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the residues that are not ``IGNORE``, with the spec's label smoothing;
        logits (B, L, C), target (B, L).
        """
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            target.reshape(-1),
            ignore_index=IGNORE,
            label_smoothing=float(self.spec.label_smoothing),
        )

    @classmethod
    def infer_classes(cls, config: HeadSettings, records: Sequence[Record]) -> list[str]:
        """The configured classes, or the sorted labels found in the training records."""
        return classes_seen(records, config.columns[0], split_labels, config.classes, config.labels)

    @classmethod
    def scalar_metrics(cls, n_classes: int | None = None) -> tuple[str, ...]:
        """The classification scalars (:func:`seqrnn.models.metrics.classification_scalars`)."""
        return classification_scalars(n_classes)

    def main_metric(self) -> str:
        """``accuracy`` (per residue)."""
        return "accuracy"


@HEADS.register("sequence_classification")
class SequenceClassification(SingleLabel):
    """One class per sequence; a missing label is ignored."""

    kind = "sequence_classification"
    n_columns = 1
    allows_negatives = True  # shuffled negatives get ``data.negative_label``
    allows_labels = True

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """() int64 class index, ``IGNORE`` when the label is missing."""
        raw = column(fields, self.spec.columns[0]).strip()
        if raw.lower() in MISSING:
            return np.array(IGNORE, dtype=np.int64)
        raw = label_mapper(self.spec.labels)(raw)
        if raw not in self.classes:
            raise ValueError(f"label {raw!r} is not one of the classes {self.classes}")
        return np.array(self.classes.index(raw), dtype=np.int64)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the labelled sequences (no label smoothing); 0 when none has a label.
        Logits (B, C), target (B,).
        """
        if bool((target == IGNORE).all()):
            return logits.sum() * 0.0
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE)

    @staticmethod
    def target_score(logits: torch.Tensor, index: int) -> torch.Tensor:
        """(B,) log-odds of class ``index`` against the others (softmax outputs compete, so the raw
        logit alone is not what the probability follows)."""
        others = torch.cat([logits[:, :index], logits[:, index + 1 :]], dim=1)
        return logits[:, index] - torch.logsumexp(others, dim=1)

    @classmethod
    def infer_classes(cls, config: HeadSettings, records: Sequence[Record]) -> list[str]:
        """The configured classes, or the sorted labels seen in training (missing ones skipped);
        :class:`InputError` when there are fewer than 2.
        """
        classes = classes_seen(records, config.columns[0], sequence_labels, config.classes, config.labels)
        if len(classes) < 2:
            raise InputError(
                f"head {config.name}: training data has fewer than 2 classes", source=records[0].source
            )
        return classes

    @classmethod
    def scalar_metrics(cls, n_classes: int | None = None) -> tuple[str, ...]:
        """The classification scalars (:func:`seqrnn.models.metrics.classification_scalars`)."""
        return classification_scalars(n_classes)

    def main_metric(self) -> str:
        """``auroc`` for two classes, ``accuracy`` for more."""
        return "auroc" if len(self.classes) == 2 else "accuracy"


@HEADS.register("sequence_multilabel")
class SequenceMultilabel(Head):
    """Independent binary labels (e.g. Tox21's 12 assays) with missing labels masked."""

    kind = "sequence_multilabel"
    label_attr = "classes"

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """(T,) float 0/1 labels, NaN where missing."""
        values = parse_floats(fields, self.spec.columns)
        bad = ~np.isnan(values) & (values != 0) & (values != 1)
        if bad.any():
            raise ValueError(f"multilabel column {self.spec.columns[int(np.argmax(bad))]!r} is not 0/1")
        return values

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy over the present (non-NaN) labels of (B, T) logits; 0 when none is present."""
        present = ~torch.isnan(target)
        if not bool(present.any()):
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits.float()[present], target[present])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Independent per-label probabilities (sigmoid), float32."""
        return torch.sigmoid(logits.float())

    @classmethod
    def scalar_metrics(cls, n_classes: int | None = None) -> tuple[str, ...]:
        """:data:`seqrnn.models.metrics.MULTILABEL_SCALARS`."""
        return MULTILABEL_SCALARS

    def main_metric(self) -> str:
        """``mean_auroc`` over the labels."""
        return "mean_auroc"

    def score(self, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict[str, Any]:
        """Multi-label metrics of (N, T) probabilities against (N, T) 0/1 labels (NaN = missing)."""
        y = np.stack(targets).astype(np.float64)
        p = np.stack(outputs).astype(np.float64)
        return multilabel_metrics(y, p, self.classes)


@HEADS.register("sequence_regression")
class SequenceRegression(Head):
    """Regression on standardised targets; mean/std live in buffers so predictions come back in units."""

    kind = "sequence_regression"
    output = "values"
    label_attr = "targets"

    def __init__(
        self,
        spec: HeadSpec | Mapping[str, Any],
        n_features: int,
        hidden: int,
        dropout: float,
        n_front: int = 0,
    ) -> None:
        super().__init__(spec, n_features, hidden, dropout, n_front)
        n = len(self.classes)
        mean = self.spec.mean if self.spec.mean is not None else [0.0] * n
        std = self.spec.std if self.spec.std is not None else [1.0] * n
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))

    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """(T,) float targets in original units, NaN where missing."""
        return parse_floats(fields, self.spec.columns)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """MSE in standardised units over the present (non-NaN) targets; 0 when none is present."""
        present = ~torch.isnan(target)
        if not bool(present.any()):
            return logits.sum() * 0.0
        scaled = (target - self.mean) / self.std
        return F.mse_loss(logits.float()[present], scaled[present])

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Standardised outputs -> values in the training targets' units (``x * std + mean``)."""
        return logits.float() * self.std + self.mean

    @classmethod
    def fit(cls, spec: HeadSpec, records: Sequence[Record]) -> HeadSpec:
        """Per-target mean and std (floored at 1e-6) of the training targets, NaN-aware."""
        # A throw-away head parses the targets. Building it draws its weight initialisation from torch's
        # global RNG, and trained weights depend on that draw: keep it, or same-seed runs change.
        probe = cls(spec, 1, 0, 0.0)
        rows = []
        for r in records:
            try:
                rows.append(probe.parse_target(r.fields, np.ones(1, bool), None))
            except ValueError as exc:
                raise InputError(str(exc), source=r.source, record=r.id) from None
        values = np.stack(rows).astype(np.float64)
        mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise InputError(f"head {spec.name}: targets have no finite mean/std", source=records[0].source)
        spec.mean = mean.tolist()
        spec.std = np.maximum(std, 1e-6).tolist()
        return spec

    @classmethod
    def scalar_metrics(cls, n_classes: int | None = None) -> tuple[str, ...]:
        """:data:`seqrnn.models.metrics.REGRESSION_SCALARS`."""
        return REGRESSION_SCALARS

    def main_metric(self) -> str:
        """``mean_rmse`` over the targets."""
        return "mean_rmse"

    def score(self, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict[str, Any]:
        """Regression metrics of (N, T) values in original units against (N, T) targets (NaN = missing)."""
        y = np.stack(targets).astype(np.float64)
        p = np.stack(outputs).astype(np.float64)
        return regression_metrics(y, p, self.classes)
