"""The base of every task head (:class:`Head`), the registry of head kinds (:data:`HEADS`), ``IGNORE``
and what the single-label kinds share (:class:`SingleLabel`). The kinds, the shapes of their inputs,
outputs and targets, and the helpers that look kinds up are in :mod:`seqrnn.models.heads`: import all of
this from there (importing it registers the kinds).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from seqrnn.core.registry import Registry
from seqrnn.errors import ConfigError, InputError
from seqrnn.io.columns import sequence_columns
from seqrnn.models.decisions import labelled
from seqrnn.models.metrics import classification_metrics
from seqrnn.models.specs import HeadSettings, HeadSpec

if TYPE_CHECKING:
    from seqrnn.io.records import Record

IGNORE = -100
HEADS: Registry[type[Head]] = Registry("head kind")

# (CSV header cells, formatter of one (C,) output row into as many cells) for one sequence-level head.
CsvColumns = tuple[list[str], Callable[[np.ndarray], list[str]]]
Arrays = Sequence[np.ndarray]  # one array per example


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
        self,
        spec: HeadSpec | Mapping[str, Any],
        n_features: int,
        hidden: int,
        dropout: float,
        n_front: int = 0,
    ) -> None:
        super().__init__()
        self.spec = spec if isinstance(spec, HeadSpec) else HeadSpec.from_dict(spec)
        self.name: str = self.spec.name
        self.classes: list[str] = list(self.spec.classes)
        # ``spec.branch``: the head's own BiLSTM over the (L, B, n_front) front-end features, run by the
        # model (:func:`seqrnn.models.rnn.run_bidirectional`); its (L, B, 2 * branch) outputs are joined
        # to the shared features, so the layers below take n_features + 2 * branch.
        self.branch: nn.ModuleDict | None = None
        if self.spec.branch:
            width = self.spec.branch
            self.branch = nn.ModuleDict({"fwd": nn.LSTM(n_front, width), "bwd": nn.LSTM(n_front, width)})
            n_features += 2 * width
        self.net = _mlp(n_features, hidden, len(self.classes), dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features -> logits, row by row: (..., F) -> (..., C); per residue (L, B, F) or pooled (B, 2F)."""
        return self.net(features)

    @property
    def splits(self) -> bool:
        """Whether :meth:`branch_logits` can split the first layer: the net is a dropout, then a linear layer."""
        net = self.net
        return (
            isinstance(net, nn.Sequential)
            and isinstance(net[0], nn.Dropout)
            and isinstance(net[1], nn.Linear)
        )

    def branch_logits(
        self,
        feats: torch.Tensor,
        front: torch.Tensor,
        reverse: Callable[[torch.Tensor], torch.Tensor],
        front_reversed: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """In eval mode, a branch head's (L, B, C) logits on the shared (L, B, F) ``feats`` and its branch
        over the (L, B, C') ``front`` features, as ``self(SeqRNN.with_branch(...))`` gives them, with the
        first linear layer applied per input block (shared features, the branch's two directions) and
        summed, the backward block reversed on the layer's few outputs. Why: joining and reversing the
        branch's outputs cost more than its LSTM (protein-ss v3: 0.84 -> 0.91 of v1's speed in bf16)."""
        assert self.branch is not None
        first, rest = self.net[1], self.net[2:]  # net[0] is the dropout: off in eval mode
        fwd, _ = self.branch["fwd"](front)
        bwd, _ = self.branch["bwd"](reverse(front) if front_reversed is None else front_reversed)
        n, width, w = feats.shape[-1], fwd.shape[-1], first.weight
        x = nn.functional.linear(feats, w[:, :n], first.bias) + nn.functional.linear(fwd, w[:, n : n + width])
        return rest(x + reverse(nn.functional.linear(bwd, w[:, n + width :])))

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
            branch=config.branch,
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
        """CSV export columns of a sequence-level head of this kind: header cells and the formatter of one
        (C,) output row. The columns of every kind are defined by its name in :mod:`seqrnn.io.columns`
        (:data:`~seqrnn.io.columns.SEQUENCE_STYLES`), where reading a predictions file needs them without
        torch; a kind without an entry gets one probability per label."""
        columns = sequence_columns(cls.kind, name, labels, threshold)
        return columns.names, columns.cells


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
