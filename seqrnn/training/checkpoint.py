"""Training state that survives a stop: what ``checkpoints/last.pt`` and ``best.pt`` hold.

A checkpoint is a ``torch.save`` of plain tensors, numbers and JSON text (loadable with
``weights_only=True``): the model, optimiser and scheduler state dicts, the torch RNG state, the epoch
and the batch position inside it (a mid-epoch stop), the partial loss of that epoch, and the
early-stopping bookkeeping. ``--resume`` restores all of it, so a resumed run ends with the same
weights as an uninterrupted one. ``weights_sha256`` (:func:`seqrnn.io.checksums.weights_checksum` of the
model state) is checked on load, as for model bundles, so a damaged checkpoint is not resumed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqrnn.errors import ModelError
from seqrnn.io.checksums import weights_checksum
from seqrnn.models.bundle import atomic_torch_save, read_payload
from seqrnn.version import __version__

CHECKPOINT_FORMAT = "seqrnn-checkpoint"


@dataclass
class Progress:
    """Early-stopping bookkeeping: the best monitored value so far, its epoch and its metrics."""

    best: float
    best_epoch: int = -1
    bad_epochs: int = 0
    best_metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingState:
    """Everything a resumed run needs besides the data (which is read and split again, seeded)."""

    metadata: dict[str, Any]  # encoder config, head specs, augmentation: what the bundle is built from
    epoch: int  # epochs finished
    progress: Progress
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    torch_rng: torch.Tensor
    step_in_epoch: int = 0  # batches of epoch ``epoch + 1`` already done (a mid-epoch stop), else 0
    partial_loss: float = 0.0  # summed loss x sequences of those batches
    partial_count: int = 0

    def to_payload(self) -> dict[str, Any]:
        """The dict that is saved (key order kept stable: same-seed checkpoints are byte-identical)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "seqrnn_version": __version__,
            "metadata": json.dumps(self.metadata),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "partial_loss": self.partial_loss,
            "partial_count": self.partial_count,
            "torch_rng": self.torch_rng,
            "model": self.model,
            "weights_sha256": weights_checksum(self.model),
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "best": self.progress.best,
            "best_epoch": self.progress.best_epoch,
            "bad_epochs": self.progress.bad_epochs,
            "best_metrics": json.dumps(self.progress.best_metrics),
        }

    def save(self, path: Path) -> None:
        """Write atomically to ``path``."""
        atomic_torch_save(self.to_payload(), path)

    @classmethod
    def load(cls, path: Path) -> TrainingState:
        """Read a checkpoint written by :meth:`save`.

        Raises :class:`ModelError` naming ``path`` for a file that is not a readable checkpoint or
        whose model weights do not match their checksum (checkpoints without one, from an older
        seqrnn, are read unchecked).
        """
        payload = read_payload(path, CHECKPOINT_FORMAT, "checkpoint")
        try:
            stored = payload.get("weights_sha256")
            if stored is not None and weights_checksum(payload["model"]) != stored:
                raise ModelError(f"{path}: the weights do not match their checksum (damaged file?)")
            return cls(
                metadata=json.loads(payload["metadata"]),
                epoch=int(payload["epoch"]),
                progress=Progress(
                    float(payload["best"]),
                    int(payload["best_epoch"]),
                    int(payload["bad_epochs"]),
                    json.loads(payload["best_metrics"]),
                ),
                model=payload["model"],
                optimizer=payload["optimizer"],
                scheduler=payload["scheduler"],
                torch_rng=payload["torch_rng"],
                step_in_epoch=int(payload.get("step_in_epoch", 0)),
                partial_loss=float(payload.get("partial_loss", 0.0)),
                partial_count=int(payload.get("partial_count", 0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise ModelError(f"{path}: damaged checkpoint ({reason})") from None
