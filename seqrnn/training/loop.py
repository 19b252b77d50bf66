"""One training epoch and one validation pass (gReLU-style short steps), and the optimiser schedule.

A training step: seeded token-budget batches of (optionally cropped, ``train.crop_length``) examples,
random views (``train.augment``) drawn per (seed, epoch, step), bf16 autocast if configured, the
weighted sum of the heads' losses (with ``train.distill_from`` mixed with the teachers' probabilities:
:mod:`seqrnn.training.distill`), BPTT through each sequence's whole length, gradients clipped by
global norm, then AdamW and the warm-up + cosine schedule. Every epoch's batch order, crop windows and
dropout masks are seeded from ``(seed, epoch)``, so a resumed run repeats them exactly.
Batch shapes: ``tokens`` (B, L), ``lengths`` (B,), ``targets[head]`` as in :mod:`seqrnn.models.heads`.
"""

from __future__ import annotations

import math
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from seqrnn.core.logs import Heartbeat, progress_bar
from seqrnn.encoding.augment import Augmentation
from seqrnn.encoding.encoders import Encoder
from seqrnn.encoding.examples import BF16_ROWS, Example, collate, crop_example, token_budget_batches
from seqrnn.errors import EncodingError, SeqrnnError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_examples
from seqrnn.models.bundle import ModelBundle
from seqrnn.training.checkpoint import TrainingState
from seqrnn.training.config import RunConfig
from seqrnn.training.data import Datasets
from seqrnn.training.interrupt import StopRequest, TrainingInterrupted
from seqrnn.training.phases import Inputs, Learner, Session

HEARTBEAT_SECONDS = 120.0  # batch-job logs (no progress bar) get a line this often


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_lambda(config: RunConfig, total_steps: int) -> Callable[[int], float]:
    """The learning-rate factor per step: linear warm-up, then cosine to 2% (or constant)."""
    warmup = max(0, config.train.warmup_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.train.scheduler == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


@dataclass
class Fit:
    """What the training and validation steps work on: the phases' results (:mod:`seqrnn.training.phases`),
    the examples and the optimiser. Built once per run by :func:`seqrnn.training.trainer.build_fit`."""

    session: Session  # config, run directory (checkpoints/last.pt is named in messages), processes, device
    inputs: Inputs  # encoder, metadata (bundle and checkpoints), augmentation
    learner: Learner  # model, heads, teachers
    data: Datasets
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    train_model: torch.nn.Module  # learner.model, wrapped for data parallelism when distributed
    lengths: np.ndarray  # (N_train,) token counts of the training examples
    steps_per_epoch: int

    @property
    def rows(self) -> dict[str, int]:
        """Batch row rules: bf16 batches of some row counts run several times slower (token_budget_batches)."""
        return BF16_ROWS if self.session.config.train.precision == "bf16" else {}

    def eval_options(self) -> PredictOptions:
        """Validation in fp32 everywhere: model selection must not depend on the machine's bf16 support."""
        train = self.session.config.train
        return PredictOptions(batch_tokens=max(train.batch_tokens, 16000), precision="fp32")


def build_optimizer(
    model: torch.nn.Module, config: RunConfig, steps_per_epoch: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW over the trainable parameters and its warm-up + cosine schedule."""
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.train.lr,
        weight_decay=config.train.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(config, steps_per_epoch * config.train.epochs)
    )
    return optimizer, scheduler


def steps_per_epoch(lengths: np.ndarray, config: RunConfig, world: int) -> int:
    """Optimiser steps per epoch and process (each process takes every world-th batch)."""
    rows = BF16_ROWS if config.train.precision == "bf16" else {}
    n_batches = len(token_budget_batches(lengths, config.train.batch_tokens, config.train.batch_size, **rows))
    return max(1, min(n_batches, config.train.max_steps_per_epoch or n_batches) // world)


def train_epoch(
    fit: Fit,
    epoch: int,
    stop: StopRequest,
    save_interrupted: Callable[[int, float, int], None],
    resume: TrainingState | None = None,
    progress: bool = False,
    log: Callable[[str], None] = lambda _m: None,
) -> tuple[float, int]:
    """One epoch of optimiser steps; -> (summed loss x sequences, sequences) of this process.

    ``resume`` (a mid-epoch checkpoint) continues at its batch with its RNG state and partial loss.
    On SIGINT/SIGTERM the current batch finishes, ``save_interrupted(step, loss, count)`` writes the
    mid-epoch checkpoint, and :class:`TrainingInterrupted` is raised.
    """
    config, ctx = fit.session.config, fit.session.ctx
    torch.manual_seed(config.seed * 100_003 + epoch)
    rng = np.random.default_rng([config.seed, epoch])
    crop = config.train.crop_length
    epoch_lengths = fit.lengths if crop is None else np.minimum(fit.lengths, crop)
    # Crop offsets are drawn for every example each epoch, so resuming reproduces them exactly.
    offsets = rng.integers(0, np.maximum(fit.lengths - epoch_lengths, 0) + 1)
    batches = token_budget_batches(
        epoch_lengths, config.train.batch_tokens, config.train.batch_size, rng, **fit.rows
    )
    batches = batches[: fit.steps_per_epoch * ctx.world][ctx.rank :: ctx.world]
    fit.learner.model.train()
    total, count, first_step = 0.0, 0, 0
    if resume is not None and resume.step_in_epoch:
        # Mid-epoch resume: same batches, same dropout stream, partial loss carried over.
        torch.set_rng_state(resume.torch_rng)
        total, count, first_step = resume.partial_loss, resume.partial_count, resume.step_in_epoch
    bar = progress_bar(
        progress,
        total=len(batches) - first_step,
        desc=f"epoch {epoch + 1}/{config.train.epochs}",
        unit="batch",
        leave=False,
    )
    beat = Heartbeat(HEARTBEAT_SECONDS)
    for step in range(first_step, len(batches)):
        idx = batches[step]
        chosen = [
            fit.data.train[i]
            if epoch_lengths[i] == fit.lengths[i]
            else crop_example(fit.data.train[i], offsets[i], epoch_lengths[i])
            for i in idx
        ]
        if fit.inputs.augmentation is not None:
            # Seeded by (seed, epoch, step): a resumed epoch draws the same views.
            aug_rng = np.random.default_rng([config.seed, epoch, step, 1])
            chosen = [
                _augmented(ex, fit.data.train_texts[i], fit.inputs.augmentation, fit.inputs.encoder, aug_rng)
                if aug_rng.random() < config.train.augment_prob
                else ex
                for ex, i in zip(chosen, idx, strict=True)
            ]
        loss = _step(fit, collate(chosen, fit.learner.heads).to(fit.session.device), epoch)
        total += loss * len(idx)
        count += len(idx)
        if ctx.any(stop.signum is not None):
            if bar is not None:
                bar.close()
            save_interrupted(step + 1, total, count)
            ctx.barrier()
            raise TrainingInterrupted(
                f"stopped by {signal.Signals(stop.signum or signal.SIGTERM).name} at epoch {epoch + 1}, batch {step + 1}/"
                f"{len(batches)}; checkpoint saved to {fit.session.run.last}; continue with --resume"
            )
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total / count:.4f}")
        elif progress and beat.due():  # batch-job logs get a heartbeat instead of a progress bar
            log(f"epoch {epoch + 1}: {count} sequences, train loss {total / count:.4f}")
    if bar is not None:
        bar.close()
    return total, count


def _step(fit: Fit, batch: Any, epoch: int) -> float:
    """Forward, weighted head losses, backward, clip, AdamW and schedule step; -> the batch loss."""
    config, heads, distiller = fit.session.config, fit.learner.heads, fit.learner.distiller
    bf16 = config.train.precision == "bf16"
    with torch.autocast(fit.session.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = fit.train_model(batch.tokens, batch.lengths)
    losses = {h.name: h.loss(logits[h.name], batch.targets[h.name]) for h in heads}
    if distiller is not None:
        w = distiller.weight
        for name, soft in distiller.soft_losses(batch.tokens, batch.lengths, logits).items():
            losses[name] = (1 - w) * losses[name] + w * soft
    loss = sum(float(h.spec.loss_weight) * losses[h.name] for h in heads)
    if not torch.isfinite(loss):
        last = fit.session.run.last
        raise SeqrnnError(
            f"loss became {loss.item()} at epoch {epoch + 1}; lower train.lr or check the targets "
            f"(last good checkpoint: {last if last.exists() else 'none'})"
        )
    fit.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(fit.learner.model.parameters(), config.train.clip_grad_norm)
    fit.optimizer.step()
    fit.scheduler.step()
    return loss.item()


def validate(fit: Fit) -> dict[str, dict[str, Any]]:
    """Validation metrics per head. One process scores; all get the same metrics (one decision)."""
    fit.learner.model.eval()
    metrics = None
    if fit.session.ctx.main:
        bundle = ModelBundle(fit.learner.model, fit.inputs.encoder, fit.inputs.meta)  # type: ignore[arg-type]
        metrics = evaluate_examples(bundle, fit.data.valid, fit.eval_options(), fit.session.device).metrics
    return fit.session.ctx.broadcast(metrics)


def _augmented(
    ex: Example, text: str, augmentation: Augmentation, encoder: Encoder, rng: np.random.Generator
) -> Example:
    """The example with its tokens replaced by a random view (sequence-level targets stay valid)."""
    try:
        tokens = encoder.encode_view(augmentation.random_view(text, rng))[0]
    except EncodingError:
        return ex
    return Example(ex.index, ex.id, tokens.astype(np.int16, copy=False), ex.targets)
