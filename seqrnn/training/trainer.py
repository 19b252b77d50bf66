"""Training, in named phases (chemprop's build_splits -> build_datasets -> build_model -> train_model).

1. **data** (:mod:`seqrnn.training.data`): read, screen and split the records; fit the encoder and
   the head specs on the training part;
2. **model**: the BiRNN and its heads from the config and the specs (``train.init_from``: weights
   of an existing model copied in where name and shape match, :mod:`seqrnn.training.init_from`;
   ``train.distill_from``: teachers loaded, :mod:`seqrnn.training.distill`), then every record
   encoded into an example with its targets;
3. **optimiser**: AdamW with a warm-up + cosine schedule; on ``--resume`` the checkpoint's model,
   optimiser, scheduler, RNG and early-stopping state (:mod:`seqrnn.training.checkpoint`);
4. **epochs** (:mod:`seqrnn.training.loop`): ``train_epoch`` then ``validate``; the monitored metric
   picks the best model (``model.pt``) and stops early after ``train.patience`` epochs without gain;
5. **test**: the best model scored once on the held-out test part.

The run directory and its files are described in :mod:`seqrnn.training.run_files`. Training never
imports the prediction loop (:mod:`seqrnn.inference.pipeline`); validation runs models through
:mod:`seqrnn.inference.engine` as prediction does.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.core.runtime import resolve_precision, set_threads
from seqrnn.encoding.augment import build_augmentation
from seqrnn.encoding.encoders import Encoder
from seqrnn.encoding.examples import Example
from seqrnn.errors import ConfigError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import choose_thresholds, evaluate_examples
from seqrnn.io.files import utc_timestamp
from seqrnn.models.bundle import ModelBundle, load_bundle, save_bundle
from seqrnn.models.decisions import CRITERIA
from seqrnn.models.heads import Head
from seqrnn.models.metrics import higher_is_better
from seqrnn.training.checkpoint import Progress, TrainingState
from seqrnn.training.config import RunConfig, check_monitor
from seqrnn.training.data import (
    build_datasets,
    build_encoder_and_specs,
    build_splits,
    data_files,
    file_fingerprint,
    require_training_data,
)
from seqrnn.training.distill import build_distiller
from seqrnn.training.distributed import init_distributed
from seqrnn.training.init_from import apply_init_from, freeze_parameters
from seqrnn.training.interrupt import StopRequest
from seqrnn.training.loop import Fit, build_optimizer, seed_everything, steps_per_epoch, train_epoch, validate
from seqrnn.training.model_size import build_model_that_fits, check_model_size
from seqrnn.training.run_files import RunDirectory, scalars


@dataclass
class TrainResult:
    """The outcome of a run: where the best model is, its epoch and monitored value, its metrics."""

    output_dir: Path
    model_path: Path
    best_epoch: int
    best_value: float
    monitor: str
    epochs_run: int
    valid_metrics: dict[str, Any]
    test_metrics: dict[str, Any] | None = None  # held-out test split, scored once with the best model
    is_main: bool = True  # False in the other processes of a distributed run (they write nothing)


def train(
    config: RunConfig,
    resume: bool = False,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Run (or with ``resume``, continue) training; ``stop_after`` ends this process after that many
    epochs with a resumable checkpoint, for jobs with a wall-time limit."""
    require_training_data(config)
    run = RunDirectory(config.output_dir)
    run.check(resume)
    ctx, device = init_distributed(config.train.device, config.train.dist_timeout_minutes)
    if config.train.precision == "bf16":
        resolve_precision("bf16", device)  # a clear error where this CPU cannot train RNNs in bf16
    if not ctx.main:
        log, progress = (lambda _msg: None), False
    set_threads(config.train.threads)
    # A lower bound from the architecture alone, before the data is read: an impossible size fails now.
    check_model_size(config.model, None, [], device)
    seed_everything(config.seed)

    # 1. data ----------------------------------------------------------------------------------------
    t0 = time.perf_counter()
    parts = build_splits(config, log)
    if parts.rejected:
        rec, reason = parts.rejected[0]
        log(
            f"rejected {len(parts.rejected)} invalid record(s) under data.on_invalid=skip "
            f"(first: record {rec.id}: {reason}); listed in {run.root / 'rejected.tsv'}"
        )
    state = TrainingState.load(run.last) if resume else None
    augmentation = build_augmentation(config.train.augment)
    if state is None:
        encoder, specs = build_encoder_and_specs(config, parts, augmentation)
    else:
        encoder, specs = Encoder.from_config(state.metadata["encoder"]), state.metadata["heads"]
    meta: dict[str, Any] = {"encoder": encoder.to_config(), "heads": specs}
    if augmentation is not None:
        meta["augment"] = {"name": augmentation.name, "test_views": config.train.test_views}

    # 2. model and examples ----------------------------------------------------------------------------
    model = build_model_that_fits(config.model, encoder, specs, device)
    # Fine-tuning start (train.init_from); a resumed run's checkpoint already holds the weights.
    if state is None:
        init = apply_init_from(model, encoder, config.train.init_from, log)
    else:
        init = state.metadata.get("init_from")
    if init:
        meta["init_from"] = init
    frozen = freeze_parameters(model, config.train.freeze)
    if frozen:
        log(f"train.freeze: {len(frozen)} parameter tensors fixed ({', '.join(config.train.freeze)})")
    distiller = build_distiller(
        config.train.distill_from, config.train.distill_weight, model, encoder, device,
        config.train.precision == "bf16", log,
    )  # fmt: skip
    if distiller is not None:
        meta["distilled_from"] = distiller.record
    heads = list(model.heads.values())
    data = build_datasets(config, parts, encoder, heads, augmentation)
    split, split_rows, rejected = parts.split, parts.rows(), parts.rejected
    del parts
    if ctx.main:
        run.create()  # only once the data has been read and encoded
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(
        f"data: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test sequences "
        f"({config.data.split} split), "
        f"{sum(e.tokens.size for e in data.train)} train positions ({time.perf_counter() - t0:.1f}s); "
        f"model: {config.model.cell} {config.model.layers}x{config.model.hidden}, {n_params:,} parameters"
        + (f"; {ctx.world} processes ({ctx.backend})" if ctx.world > 1 else "")
    )

    # 3. optimiser, monitor, resumed state -------------------------------------------------------------
    lengths = np.array([e.tokens.size for e in data.train])
    steps = steps_per_epoch(lengths, config, ctx.world)
    optimizer, scheduler = build_optimizer(model, config, steps)
    monitor = config.train.monitor or f"{heads[0].name}/{heads[0].main_metric()}"
    higher = _monitor_higher_is_better(monitor, heads)
    progress_ = Progress(-math.inf if higher else math.inf)
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        start_epoch, progress_ = state.epoch, state.progress
        log(f"resuming {run.root} at epoch {start_epoch + 1}, batch {state.step_in_epoch + 1}")
    fingerprint = file_fingerprint(data_files(config))
    if ctx.main:
        run.write_start(config, fingerprint, ctx.world, resume, split, split_rows, rejected)
    fit = Fit(
        config, model, ctx.wrap(model, device), heads, encoder, meta, data, augmentation,
        optimizer, scheduler, ctx, device, lengths, steps, run.last, distiller,
    )  # fmt: skip

    def checkpoint(epochs_done: int, step: int = 0, loss: float = 0.0, count: int = 0) -> TrainingState:
        return TrainingState(
            meta, epochs_done, progress_, model.state_dict(), optimizer.state_dict(),
            scheduler.state_dict(), torch.get_rng_state(), step, loss, count,
        )  # fmt: skip

    def save_interrupted(step: int, loss: float, count: int) -> None:
        if ctx.main:
            checkpoint(epoch, step, loss, count).save(run.last)

    # 4. epochs ------------------------------------------------------------------------------------------
    epoch = start_epoch
    last_epoch = (
        config.train.epochs if stop_after is None else min(config.train.epochs, start_epoch + stop_after)
    )
    with StopRequest() as stop:
        for epoch in range(start_epoch, last_epoch):
            if progress_.bad_epochs >= config.train.patience:
                break
            t_epoch = time.perf_counter()
            resumed = state if epoch == start_epoch else None
            total, count = train_epoch(fit, epoch, stop, save_interrupted, resumed, progress, log)
            total, count = ctx.sum(total), ctx.sum(count)
            metrics = validate(fit)
            value = _lookup(metrics, monitor)
            if math.isfinite(value):
                improved = value > progress_.best if higher else value < progress_.best
            else:
                # e.g. AUROC of a validation split with one class: keep the first model, say why.
                improved = progress_.best_epoch == -1
                log(
                    f"warning: valid {monitor} is {value} at epoch {epoch + 1}; it cannot select a best model"
                )
            if improved:
                progress_.best, progress_.best_epoch, progress_.bad_epochs = value, epoch + 1, 0
                progress_.best_metrics = metrics
            else:
                progress_.bad_epochs += 1
            record = {
                "epoch": epoch + 1,
                "train_loss": total / max(count, 1),
                "lr": scheduler.get_last_lr()[0],
                "seconds": round(time.perf_counter() - t_epoch, 2),
                "monitor": monitor,
                "value": value,
                "best": improved,
                "valid": {h: scalars(m) for h, m in metrics.items()},
            }
            if ctx.main:
                run.append_metrics(record)
            log(
                f"epoch {epoch + 1}: train loss {record['train_loss']:.4f}, valid {monitor} {value:.4f}"
                f"{' (best)' if improved else ''} [{record['seconds']:.0f}s]"
            )
            if ctx.main:  # a single writer: the other processes hold identical weights
                finished = checkpoint(epoch + 1)
                if improved:
                    bundle_meta = _bundle_metadata(config, meta, data, split, fingerprint, epoch + 1, monitor)
                    bundle_meta["valid_metrics"] = {h: scalars(m) for h, m in progress_.best_metrics.items()}
                    save_bundle(run.model, model, encoder, bundle_meta)
                    finished.save(run.best)
                finished.save(run.last)
            ctx.barrier()
        else:
            epoch = last_epoch
    ctx.close()

    # 5. test --------------------------------------------------------------------------------------------
    if progress_.bad_epochs >= config.train.patience:
        log(f"early stop: no improvement of {monitor} for {progress_.bad_epochs} epochs")
    done = progress_.bad_epochs >= config.train.patience or epoch >= config.train.epochs
    auto = {h.name: CRITERIA[h.threshold] for h in config.heads if h.threshold in CRITERIA}
    if auto and done and ctx.main:
        _store_thresholds(run, data.valid, auto, fit.eval_options(), device, log)
    test_metrics = None
    if data.test and done and ctx.main:
        test_metrics = _score_test(run, data.test, split, fit.eval_options(), device, log)
    return TrainResult(
        run.root,
        run.model,
        progress_.best_epoch,
        progress_.best,
        monitor,
        epoch,
        {h: scalars(m) for h, m in progress_.best_metrics.items()},
        test_metrics,
        ctx.main,
    )


def _bundle_metadata(
    config: RunConfig,
    meta: dict[str, Any],
    data: Any,
    split: dict[str, Any],
    fingerprint: str,
    epoch: int,
    monitor: str,
) -> dict[str, Any]:
    """What the best model's bundle records besides weights, encoder and heads (provenance, data)."""
    return {
        "name": config.name,
        "description": config.description,
        "created": utc_timestamp(),
        "train_config": config.to_dict(),
        "data": {
            "train": config.data.train,
            "valid": config.data.valid,
            "fingerprint": fingerprint,
            "n_train": len(data.train),
            "n_valid": len(data.valid),
            "n_test": len(data.test),
            # The training sequences' shortest and longest lengths: what predictions warn outside of.
            "lengths": [
                int(min(e.tokens.size for e in data.train)),
                int(max(e.tokens.size for e in data.train)),
            ],
            "test": config.data.test,
            "split": split,
            "mask_columns": list(config.data.mask_columns),
            "sequence_column": config.data.sequence_column,
            "format": config.data.format,
        },
        "augment": meta.get("augment"),
        "epoch": epoch,
        "monitor": monitor,
        **({"init_from": meta["init_from"]} if meta.get("init_from") else {}),
        **({"distilled_from": meta["distilled_from"]} if meta.get("distilled_from") else {}),
    }


def _monitor_higher_is_better(monitor: str, heads: Sequence[Head]) -> bool:
    """Whether ``monitor`` improves upwards; ConfigError, before any epoch, if no head reports it.

    The config was checked against the configured heads; classes inferred from the data since then
    (e.g. three where ``auroc`` needs two) are checked here.
    """
    check_monitor(monitor, [(h.name, h.kind, len(h.classes)) for h in heads])
    return higher_is_better(monitor.partition("/")[2])


def _lookup(metrics: dict[str, dict], monitor: str) -> float:
    head, _, metric = monitor.partition("/")
    value = metrics.get(head, {}).get(metric)
    if not isinstance(value, int | float):
        raise ConfigError(f"train.monitor {monitor!r}: head {head!r} has no scalar metric {metric!r}")
    return float(value)


def _store_thresholds(
    run: RunDirectory,
    valid: Sequence[Example],
    heads: dict[str, str],
    options: PredictOptions,
    device: torch.device,
    log: Callable[[str], None],
) -> None:
    """``threshold: auto`` (or ``youden``/``mcc``): choose each head's decision cut-off on the validation
    set with the best model, by its criterion (head name -> ``youden``/``mcc``), and store it in the
    bundle (model.pt is rewritten with the thresholds in its head specs)."""
    bundle = load_bundle(run.model, device)
    chosen = choose_thresholds(bundle, valid, heads, options, device)
    for name, value in chosen.items():
        bundle.model.heads[name].spec.threshold = value
        log(
            f"decision threshold for {name}: {value:.4f} (best {heads[name]} on {len(valid)} validation records)"
        )
    bundle.save(run.model)


def _score_test(
    run: RunDirectory,
    test: Sequence[Example],
    split: dict[str, Any],
    options: PredictOptions,
    device: torch.device,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Score the best bundle (model.pt) once on the held-out test records; writes test_metrics.json."""
    bundle: ModelBundle = load_bundle(run.model, device)
    metrics = evaluate_examples(bundle, test, options, device).metrics
    payload = {
        "model": str(run.model),
        "model_sha256": bundle.sha256,
        "epoch": bundle.metadata.get("epoch"),
        "split": split,
        "n_test": len(test),
        "metrics": metrics,
    }
    run.write_test_metrics(payload)
    for head, m in metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in scalars(m).items() if k != "n")
        log(f"test ({len(test)} records, best epoch {payload['epoch']}): {head}: {shown}")
    return {h: scalars(m) for h, m in metrics.items()}
