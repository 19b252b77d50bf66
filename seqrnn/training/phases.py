"""What passes between the training phases (:mod:`seqrnn.training.trainer`), one small record per phase.

* :class:`Session` (``prepare_run``): the config, the run directory, this process's place in a
  distributed run, the device and where messages go; every later phase reads it.
* :class:`Inputs` (``build_data``): what the model is built from (encoder, head specs), the metadata
  bundles and checkpoints carry, the checkpoint a resumed run continues from, and what the run
  directory records about the split.
* :class:`Learner` (``build_model``): the model being trained, its heads and the teachers it learns from.

The training steps take all three, with the examples and the optimiser, as one
:class:`seqrnn.training.loop.Fit`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from seqrnn.encoding.augment import Augmentation
from seqrnn.encoding.encoders import Encoder
from seqrnn.io.records import Record
from seqrnn.models.heads import Head
from seqrnn.training.checkpoint import TrainingState
from seqrnn.training.config import RunConfig
from seqrnn.training.distill import Distiller
from seqrnn.training.distributed import DistContext
from seqrnn.training.run_files import RunDirectory


@dataclass
class Session:
    """One process's run: what ``prepare_run`` settles before any data is read."""

    config: RunConfig
    run: RunDirectory  # output_dir and the paths of its files
    ctx: DistContext  # rank and world size (a single process: rank 0 of 1)
    device: torch.device
    resume: bool  # continuing the run in ``run`` from its last checkpoint
    log: Callable[[str], None]  # progress messages (silent outside the main process)
    progress: bool  # progress bars (only the main process shows them)
    # perf_counter when the setup was done and reading the data began (the data line reports the time)
    started: float = field(default_factory=time.perf_counter)


@dataclass
class Inputs:
    """What ``build_data`` fits on the training records and what the run records about them."""

    encoder: Encoder
    specs: list[dict[str, Any]]  # head specs (classes, regression statistics), as bundles store them
    # encoder config, head specs, augmentation, init_from, distilled_from: the bundle's and checkpoints'
    # metadata (``build_model`` adds the last two)
    meta: dict[str, Any]
    augmentation: Augmentation | None  # train.augment
    resumed: TrainingState | None  # the checkpoint ``--resume`` continues from; None for a new run
    split: dict[str, Any]  # method, seed and part sizes (run.json, bundles, test_metrics.json)
    split_rows: list[tuple[str, str, int, str]]  # split.tsv: (part, file, row, id) of every record
    rejected: list[tuple[Record, str]]  # (record, reason) set aside under data.on_invalid=skip

    @property
    def start_epoch(self) -> int:
        """Epochs already finished: those of the resumed checkpoint, else 0."""
        return 0 if self.resumed is None else self.resumed.epoch


@dataclass
class Learner:
    """What ``build_model`` makes: the model, its heads (in order) and the distillation teachers."""

    model: torch.nn.Module  # the SeqRNN, on the training device
    heads: list[Head]
    distiller: Distiller | None = None  # train.distill_from: teachers' probabilities as extra targets

    @property
    def trainable_parameters(self) -> int:
        """Parameters the optimiser updates (frozen ones, train.freeze, excluded)."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)
