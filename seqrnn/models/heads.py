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
metrics (``main_metric``, ``scalar_metrics``, ``score``) and its CSV export columns (``csv_columns``).
Scoring takes per-example targets and outputs as in HDF5: residue heads (L, C), sequence heads (C,).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqrnn.core.registry import Registry
from seqrnn.errors import ConfigError, InputError
from seqrnn.io.labels import (
    MISSING,
    classes_seen,
    column,
    label_mapper,
    parse_floats,
    sequence_labels,
    split_labels,
)
from seqrnn.models.decisions import decide, labelled
from seqrnn.models.metrics import (
    MULTILABEL_SCALARS,
    REGRESSION_SCALARS,
    classification_metrics,
    classification_scalars,
    multilabel_metrics,
    regression_metrics,
)
from seqrnn.models.specs import HeadSettings, HeadSpec

if TYPE_CHECKING:
    from seqrnn.io.records import Record

IGNORE = -100
HEADS: Registry[type[Head]] = Registry("head kind")

# (CSV header cells, formatter of one (C,) output row into as many cells) for one sequence-level head.
CsvColumns = tuple[list[str], Callable[[np.ndarray], list[str]]]
Arrays = Sequence[np.ndarray]  # one array per example


def specs_from_records(heads: Iterable[HeadSettings], records: Sequence[Record]) -> list[HeadSpec]:
    """Specs for the configured heads, with classes inferred and statistics fitted on ``records``."""
    return [HEADS.get(h.kind).spec_from_records(h, records) for h in heads]


def head_class(kind: str) -> type[Head]:
    """The class of a head kind; :class:`Head` (probability outputs) for an unknown or empty kind."""
    return HEADS.get(kind) if kind in HEADS else Head


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Module:
    if hidden <= 0:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(n_in, n_out))
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
    )


class Head(nn.Module):
    """Base head. ``spec`` (:class:`HeadSpec`) is the description stored in the model bundle.

    Class attributes say what a kind allows; the defaults are those of a sequence-level head.
    """

    kind: ClassVar[str] = ""
    level: ClassVar[str] = "sequence"  # or "residue"
    output: ClassVar[str] = "probs"  # HDF5 dataset name: probs or values
    label_attr: ClassVar[str] = "classes"
    n_columns: ClassVar[int | None] = None  # label columns the head takes; None: one or more
    allows_crop: ClassVar[bool] = False  # train.crop_length: a window of a chain keeps its labels valid
    allows_augment: ClassVar[bool] = True  # train.augment: a view of the sequence keeps its label
    allows_conv_pool: ClassVar[bool] = True  # model.conv_pool: fewer positions than labels are fine
    allows_negatives: ClassVar[bool] = False  # data.negatives: generated sequences get a class label
    allows_label_smoothing: ClassVar[bool] = False  # heads.N.label_smoothing: its loss applies it
    allows_threshold: ClassVar[bool] = False  # heads.N.threshold: a decision cut-off (binary classes)
    allows_labels: ClassVar[bool] = False  # heads.N.labels: label values mapped to class names

    def __init__(
        self, spec: HeadSpec | Mapping[str, Any], n_features: int, hidden: int, dropout: float
    ) -> None:
        super().__init__()
        self.spec = spec if isinstance(spec, HeadSpec) else HeadSpec.from_dict(spec)
        self.name: str = self.spec.name
        self.classes: list[str] = list(self.spec.classes)
        self.net = _mlp(n_features, hidden, len(self.classes), dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features -> logits, row by row: (..., F) -> (..., C); per residue (L, B, F) or pooled (B, 2F)."""
        return self.net(features)

    # targets -------------------------------------------------------------------------------------
    def parse_target(self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """One example's target from its label cells (``keep``: the residues encoded, ``mask``: scored)."""
        raise NotImplementedError

    def collate(self, targets: list[np.ndarray], max_len: int) -> torch.Tensor:
        """Stack per-example targets into the batch tensor ``loss`` takes."""
        return torch.from_numpy(np.stack(targets))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the present targets of a batch."""
        raise NotImplementedError

    def postprocess(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits -> what is written (probabilities or values in original units)."""
        return torch.softmax(logits.float(), dim=-1)

    @staticmethod
    def target_score(logits: torch.Tensor, index: int) -> torch.Tensor:
        """(B,) the score that attributions explain for output ``index`` of (B, C) logits: the logit
        itself (independent outputs: multi-label, regression)."""
        return logits[:, index]

    # specs from training data --------------------------------------------------------------------
    @classmethod
    def spec_from_records(cls, config: HeadSettings, records: Sequence[Record]) -> HeadSpec:
        """The spec of a configured head: label columns checked, classes inferred, statistics fitted."""
        for col in config.columns:
            if col not in records[0].fields:
                raise InputError(
                    f"no label column {col!r} for head {config.name!r} "
                    f"(columns: {', '.join(records[0].fields)})",
                    source=records[0].source,
                )
        spec = HeadSpec(
            name=config.name,
            kind=config.kind,
            columns=list(config.columns),
            loss_weight=config.loss_weight,
            label_smoothing=config.label_smoothing,
            mask_columns=None if config.mask_columns is None else list(config.mask_columns),
            labels=dict(config.labels) or None,
            hidden=config.hidden,
        )
        spec.threshold = config.threshold if isinstance(config.threshold, float) else None  # auto: later
        spec.classes = cls.infer_classes(config, records)
        return cls.fit(spec, records)

    @classmethod
    def infer_classes(cls, config: HeadSettings, records: Sequence[Record]) -> list[str]:
        """Output names: by default one per label column, named by ``classes`` if given."""
        names = list(config.classes or config.columns)
        if len(names) != len(config.columns):
            raise ConfigError(f"head {config.name}: {len(config.columns)} columns but {len(names)} names")
        return names

    @classmethod
    def fit(cls, spec: HeadSpec, records: Sequence[Record]) -> HeadSpec:
        """Fill in what the kind learns from the training records (nothing by default)."""
        return spec

    # metrics -------------------------------------------------------------------------------------
    @classmethod
    def scalar_metrics(cls, n_classes: int | None = None) -> tuple[str, ...]:
        """Names of the scalar quality metrics :meth:`score` reports (``n_classes`` None: not known yet)."""
        return ()

    def main_metric(self) -> str:
        """The metric early stopping and summaries use for this head by default."""
        raise NotImplementedError

    def score(self, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict[str, Any]:
        """JSON-able metrics (:mod:`seqrnn.models.metrics`) of per-example outputs against parsed targets."""
        raise NotImplementedError

    # export --------------------------------------------------------------------------------------
    @classmethod
    def csv_columns(cls, name: str, labels: Sequence[str], threshold: float | None = None) -> CsvColumns:
        """CSV export columns of a sequence-level head: one probability per label by default."""
        return [f"pred_{name}_P{c}" for c in labels], lambda row: [f"{p:.4f}" for p in row]


class SingleLabel(Head):
    """Single-label classification: every labelled residue or record scored at the spec's threshold."""

    allows_threshold = True  # two classes (a record's label, or a residue's such as disorder)

    def labelled(self, targets: Arrays, outputs: Arrays) -> tuple[np.ndarray, np.ndarray]:
        """(N,) labels, (N, C) probabilities of the labelled decisions (:func:`seqrnn.models.decisions.labelled`)."""
        return labelled(targets, outputs, len(self.classes), IGNORE)

    def score(self, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict[str, Any]:
        """Classification metrics (:func:`seqrnn.models.metrics.classification_metrics`) of the labelled decisions."""
        y, p = self.labelled(targets, outputs)
        return classification_metrics(y, p, self.classes, threshold=self.spec.threshold)


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

    @classmethod
    def csv_columns(cls, name: str, labels: Sequence[str], threshold: float | None = None) -> CsvColumns:
        """The predicted class (the model's decision threshold for two classes, else argmax), then one
        probability per class."""
        names = list(labels)
        return [f"pred_{name}"] + [
            f"pred_{name}_P{c}" for c in names
        ], lambda row: [names[int(decide(row[None], threshold)[0])]] + [f"{p:.4f}" for p in row]


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
        self, spec: HeadSpec | Mapping[str, Any], n_features: int, hidden: int, dropout: float
    ) -> None:
        super().__init__(spec, n_features, hidden, dropout)
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

    @classmethod
    def csv_columns(cls, name: str, labels: Sequence[str], threshold: float | None = None) -> CsvColumns:
        """Values in the training data's units: ``pred_<head>``, or ``pred_<head>_<target>`` for several."""
        header = [f"pred_{name}"] if len(labels) == 1 else [f"pred_{name}_{t}" for t in labels]
        return header, lambda row: [f"{v:.6g}" for v in row]
