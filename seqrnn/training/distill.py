"""``train.distill_from``: knowledge distillation from trained models (teachers) into the one being trained.

Every optimiser step the teachers (files or built-in names; several are averaged, as ``predict`` averages
an ensemble) predict the batch the student sees (the same crops, in eval mode, without gradients), and
each classification head the teachers also have (same name, kind and classes) learns from both::

    loss_head = (1 - w) * CE(student, labels) + w * CE(student, teacher probabilities)

with ``w`` = ``train.distill_weight``. The soft term covers every real position of the batch, also
residues whose label is masked or unknown: there the teachers' probabilities are the only target (the
pseudo-labelling effect), while the hard term keeps ignoring them. Soft cross-entropy has the gradient
of KL(teacher || student); the logged loss includes the teachers' entropy.

Why: an ensemble is more accurate than its members but costs its size at every prediction; a single
student trained on its averaged probabilities keeps part of the gain at one model's cost, or matches a
bigger model with a smaller, faster one.

Shapes: tokens (B, L) int64 (0 = padding), lengths (B,) int64; a residue head's student logits and
teacher probabilities (B, L, C), a sequence head's (B, C).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from seqrnn.encoding.encoders import Encoder
from seqrnn.errors import ConfigError, ModelError
from seqrnn.models.bundle import load_models
from seqrnn.models.heads import SingleLabel


@dataclass
class Distiller:
    """The teachers of a run and the student heads they teach; :meth:`soft_losses` per batch."""

    teacher: nn.Module  # a SeqRNN or an Ensemble, in eval mode
    heads: list[str]  # student heads the teachers have too
    weight: float  # w of the module docstring
    bf16: bool  # teachers predict under bf16 autocast as the student trains
    record: dict[str, Any]  # what the bundle metadata keeps (teachers' names and sha256, weight)

    def soft_losses(
        self, tokens: torch.Tensor, lengths: torch.Tensor, logits: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Per taught head, the mean cross-entropy of the student's ``logits`` against the teachers'
        probabilities over the real positions (residue heads) or sequences (sequence heads)."""
        with torch.no_grad(), torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            target = self.teacher.predict(tokens, lengths)  # type: ignore[operator]
        out = {}
        real: torch.Tensor | None = None  # (B, L) positions inside each sequence, shared by residue heads
        for name in self.heads:
            per = -(target[name].float() * F.log_softmax(logits[name].float(), dim=-1)).sum(-1)
            if per.ndim == 2:
                if real is None:
                    positions = torch.arange(per.shape[1], device=per.device)
                    real = positions[None, :] < lengths.to(per.device)[:, None]
                per = per[real]
            out[name] = per.mean()
        return out


def build_distiller(
    sources: Sequence[str],
    weight: float,
    student: nn.Module,
    encoder: Encoder,
    device: torch.device,
    bf16: bool,
    log: Callable[[str], None],
) -> Distiller | None:
    """The teachers ``sources`` loaded on ``device`` for ``student``; None without sources.

    Raises :class:`ConfigError` when the teachers read their input differently (encoder) or share no
    classification head with the student, and :class:`ModelError` when one cannot be loaded or the
    teachers cannot be averaged (different heads).
    """
    if not sources:
        return None
    try:
        bundle = load_models(list(sources), device)
    except ModelError as exc:
        raise ConfigError(f"train.distill_from: {exc}") from None
    if bundle.encoder.to_config() != encoder.to_config():
        raise ConfigError(
            f"train.distill_from: the teachers' encoder ({bundle.encoder.to_config()}) differs from this "
            f"run's ({encoder.to_config()})"
        )
    theirs = bundle.model.heads
    heads = [
        name
        for name, head in student.heads.items()  # type: ignore[union-attr]
        if isinstance(head, SingleLabel)
        and name in theirs
        and theirs[name].kind == head.kind
        and list(theirs[name].classes) == list(head.classes)
    ]
    if not heads:
        raise ConfigError(
            "train.distill_from: the teachers have no classification head of this run's (same name, "
            f"kind and classes); theirs: {', '.join(theirs)}"
        )
    bundle.model.eval()
    for p in bundle.model.parameters():
        p.requires_grad_(False)
    members = bundle.metadata.get("ensemble") or [{"model": str(sources[0]), "sha256": bundle.sha256}]
    record = {
        "teachers": [{"model": m["model"], "sha256": m["sha256"]} for m in members],
        "weight": weight,
        "heads": heads,
    }
    log(f"distilling from {bundle.name} into {', '.join(heads)} (weight {weight:g})")
    return Distiller(bundle.model, heads, weight, bf16, record)
