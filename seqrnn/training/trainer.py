"""Training, in named phases (as chemprop's build_splits -> build_datasets -> build_model -> train_model).

:func:`train` runs them in order; each hands the next a small record (:mod:`seqrnn.training.phases`):

1. :func:`prepare_run` -> :class:`~seqrnn.training.phases.Session`: the run directory checked, the
   distributed process group joined, threads set, an impossible model size refused, every generator seeded;
2. :func:`build_data` -> the split records and :class:`~seqrnn.training.phases.Inputs`: read, screen and
   split the records (:mod:`seqrnn.training.data`); fit the encoder and the head specs on the training
   part (``--resume``: those of the checkpoint);
3. :func:`build_model` -> :class:`~seqrnn.training.phases.Learner`: the BiRNN and its heads
   (``train.init_from``: weights of an existing model copied in where name and shape match,
   :mod:`seqrnn.training.init_from`; ``train.freeze``; ``train.distill_from``: teachers loaded,
   :mod:`seqrnn.training.distill`);
4. :func:`encode_data` -> :class:`~seqrnn.training.data.Datasets`: every record encoded into an example
   with its targets; the run directory is created;
5. :func:`build_fit` -> :class:`Training`: AdamW with a warm-up + cosine schedule, the monitored metric;
   on ``--resume`` the checkpoint's model, optimiser, scheduler and early-stopping state
   (:mod:`seqrnn.training.checkpoint`); the run's first files written;
6. :func:`fit`: the epochs (:mod:`seqrnn.training.loop`): ``train_epoch`` then ``validate``; the monitored
   metric picks the best model (``model.pt``) and stops early after ``train.patience`` epochs without gain;
7. :func:`finish`: decision thresholds chosen on validation, the best model scored once on the held-out
   test part (:mod:`seqrnn.training.outcome`), the :class:`TrainResult`.

The run directory and its files are described in :mod:`seqrnn.training.run_files`. Training never
imports the prediction loop (:mod:`seqrnn.inference.pipeline`); validation runs models through
:mod:`seqrnn.inference.engine` as prediction does.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.core.runtime import resolve_precision, set_threads
from seqrnn.encoding.augment import build_augmentation
from seqrnn.encoding.encoders import Encoder
from seqrnn.models.bundle import save_bundle
from seqrnn.models.decisions import CRITERIA
from seqrnn.training.checkpoint import Progress, TrainingState
from seqrnn.training.config import RunConfig
from seqrnn.training.data import (
    Datasets,
    SplitRecords,
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
from seqrnn.training.outcome import Monitor, bundle_metadata, score_test, store_thresholds
from seqrnn.training.phases import Inputs, Learner, Session
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


@dataclass
class Training:
    """What :func:`build_fit` makes and :func:`fit` and :func:`finish` work on."""

    fit: Fit  # session, inputs, learner, examples, optimiser: what the training steps take
    monitor: Monitor  # the validation metric that picks the best model
    progress: Progress  # the best value, its epoch and metrics, epochs without gain (updated by fit)
    fingerprint: str  # of the data files, as run.json and the bundle record it


def train(
    config: RunConfig,
    resume: bool = False,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Run (or with ``resume``, continue) training; ``stop_after`` ends this process after that many
    epochs with a resumable checkpoint, for jobs with a wall-time limit."""
    session = prepare_run(config, resume, log, progress)
    records, inputs = build_data(session)
    learner = build_model(session, inputs)
    data = encode_data(session, records, inputs, learner)
    del records  # the examples replace them
    training = build_fit(session, inputs, learner, data)
    epochs_run = fit(training, stop_after)
    return finish(training, epochs_run)


def prepare_run(
    config: RunConfig,
    resume: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
    progress: bool = False,
) -> Session:
    """Everything settled before the data is read: the run directory can take this run, this process's
    place in a distributed run and its device, bf16 support, threads, a lower bound on the model size
    (an impossible size fails now), and Python's, NumPy's and torch's generators seeded."""
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
    return Session(config, run, ctx, device, resume, log, progress)


def build_data(session: Session) -> tuple[SplitRecords, Inputs]:
    """The records read, screened and split, and what is fitted on the training part: the encoder and
    head specs (a resumed run takes those of its checkpoint, which it loads here)."""
    config, run, log = session.config, session.run, session.log
    parts = build_splits(config, log)
    if parts.rejected:
        rec, reason = parts.rejected[0]
        log(
            f"rejected {len(parts.rejected)} invalid record(s) under data.on_invalid=skip "
            f"(first: record {rec.id}: {reason}); listed in {run.root / 'rejected.tsv'}"
        )
    state = TrainingState.load(run.last) if session.resume else None
    augmentation = build_augmentation(config.train.augment)
    if state is None:
        encoder, specs = build_encoder_and_specs(config, parts, augmentation)
    else:
        encoder, specs = Encoder.from_config(state.metadata["encoder"]), state.metadata["heads"]
    meta: dict[str, Any] = {"encoder": encoder.to_config(), "heads": specs}
    if augmentation is not None:
        meta["augment"] = {"name": augmentation.name, "test_views": config.train.test_views}
    inputs = Inputs(encoder, specs, meta, augmentation, state, parts.split, parts.rows(), parts.rejected)
    return parts, inputs


def build_model(session: Session, inputs: Inputs) -> Learner:
    """The model of ``config.model`` with the encoder's vocabulary and the head specs, on the device:
    ``train.init_from`` weights copied in (a new run), ``train.freeze`` applied, ``train.distill_from``
    teachers loaded. Both are recorded in ``inputs.meta``, for the bundle and checkpoints."""
    config, log = session.config, session.log
    model = build_model_that_fits(config.model, inputs.encoder, inputs.specs, session.device)
    # Fine-tuning start (train.init_from); a resumed run's checkpoint already holds the weights.
    if inputs.resumed is None:
        init = apply_init_from(model, inputs.encoder, config.train.init_from, log)
    else:
        init = inputs.resumed.metadata.get("init_from")
    if init:
        inputs.meta["init_from"] = init
    frozen = freeze_parameters(model, config.train.freeze)
    if frozen:
        log(f"train.freeze: {len(frozen)} parameter tensors fixed ({', '.join(config.train.freeze)})")
    distiller = build_distiller(
        config.train.distill_from, config.train.distill_weight, model, inputs.encoder, session.device,
        config.train.precision == "bf16", log,
    )  # fmt: skip
    if distiller is not None:
        inputs.meta["distilled_from"] = distiller.record
    return Learner(model, list(model.heads.values()), distiller)


def encode_data(session: Session, records: SplitRecords, inputs: Inputs, learner: Learner) -> Datasets:
    """Every record as an example with the model's targets; then the run directory is created (a data
    error leaves none behind) and one line sums up data and model."""
    config, ctx = session.config, session.ctx
    data = build_datasets(config, records, inputs.encoder, learner.heads, inputs.augmentation)
    if ctx.main:
        session.run.create()  # only once the data has been read and encoded
    seconds = time.perf_counter() - session.started
    session.log(
        f"data: {len(data.train)} train / {len(data.valid)} valid / {len(data.test)} test sequences "
        f"({config.data.split} split), {sum(e.tokens.size for e in data.train)} train positions "
        f"({seconds:.1f}s); model: {config.model.cell} {config.model.layers}x{config.model.hidden}, "
        f"{learner.trainable_parameters:,} parameters"
        + (f"; {ctx.world} processes ({ctx.backend})" if ctx.world > 1 else "")
    )
    return data


def build_fit(session: Session, inputs: Inputs, learner: Learner, data: Datasets) -> Training:
    """The optimiser and schedule, the monitored metric, and on ``--resume`` the checkpoint's model,
    optimiser, scheduler and early-stopping state; then config.yaml, run.json, split.tsv and
    rejected.tsv are written and the model is wrapped for data parallelism."""
    config, ctx, run, model = session.config, session.ctx, session.run, learner.model
    lengths = np.array([e.tokens.size for e in data.train])
    steps = steps_per_epoch(lengths, config, ctx.world)
    optimizer, scheduler = build_optimizer(model, config, steps)
    monitor = Monitor.for_heads(config.train.monitor, learner.heads)
    progress = monitor.start()
    state = inputs.resumed
    if state is not None:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        progress = state.progress
        session.log(f"resuming {run.root} at epoch {state.epoch + 1}, batch {state.step_in_epoch + 1}")
    fingerprint = file_fingerprint(data_files(config))
    if ctx.main:
        run.write_start(
            config, fingerprint, ctx.world, session.resume, inputs.split, inputs.split_rows, inputs.rejected
        )
    fitting = Fit(
        session=session,
        inputs=inputs,
        learner=learner,
        data=data,
        optimizer=optimizer,
        scheduler=scheduler,
        train_model=ctx.wrap(model, session.device),
        lengths=lengths,
        steps_per_epoch=steps,
    )
    return Training(fitting, monitor, progress, fingerprint)


def fit(training: Training, stop_after: int | None = None) -> int:
    """The epochs, from the first one not yet finished until ``train.epochs``, early stopping
    (``train.patience``) or ``stop_after`` epochs of this process; -> the epochs finished."""
    session, inputs = training.fit.session, training.fit.inputs
    config, start = session.config, inputs.start_epoch
    last_epoch = config.train.epochs if stop_after is None else min(config.train.epochs, start + stop_after)
    epoch = start
    with StopRequest() as stop:
        for epoch in range(start, last_epoch):
            if training.progress.bad_epochs >= config.train.patience:
                break
            _run_epoch(training, epoch, stop, inputs.resumed if epoch == start else None)
        else:
            epoch = last_epoch
    session.ctx.close()
    return epoch


def _run_epoch(
    training: Training, epoch: int, stop: StopRequest, resumed: TrainingState | None = None
) -> None:
    """One epoch (0-based ``epoch``): train, validate, keep the model if the monitored value improved,
    append to metrics.jsonl and save the checkpoints. ``resumed``: a mid-epoch checkpoint of this epoch."""
    fitting, monitor, progress = training.fit, training.monitor, training.progress
    session = fitting.session
    ctx, log = session.ctx, session.log
    t_epoch = time.perf_counter()

    def save_interrupted(step: int, loss: float, count: int) -> None:
        if ctx.main:
            _checkpoint(training, epoch, step, loss, count).save(session.run.last)

    total, count = train_epoch(fitting, epoch, stop, save_interrupted, resumed, session.progress, log)
    total, count = ctx.sum(total), ctx.sum(count)
    metrics = validate(fitting)
    value = monitor.value(metrics)
    improved = monitor.improves(value, progress)
    if not math.isfinite(value):
        # e.g. AUROC of a validation split with one class: keep the first model, say why.
        log(f"warning: valid {monitor.name} is {value} at epoch {epoch + 1}; it cannot select a best model")
    if improved:
        progress.best, progress.best_epoch, progress.bad_epochs = value, epoch + 1, 0
        progress.best_metrics = metrics
    else:
        progress.bad_epochs += 1
    record = {
        "epoch": epoch + 1,
        "train_loss": total / max(count, 1),
        "lr": fitting.scheduler.get_last_lr()[0],
        "seconds": round(time.perf_counter() - t_epoch, 2),
        "monitor": monitor.name,
        "value": value,
        "best": improved,
        "valid": {h: scalars(m) for h, m in metrics.items()},
    }
    if ctx.main:
        session.run.append_metrics(record)
    log(
        f"epoch {epoch + 1}: train loss {record['train_loss']:.4f}, valid {monitor.name} {value:.4f}"
        f"{' (best)' if improved else ''} [{record['seconds']:.0f}s]"
    )
    if ctx.main:  # a single writer: the other processes hold identical weights
        _save_epoch(training, epoch + 1, improved)
    ctx.barrier()


def _save_epoch(training: Training, epochs_done: int, improved: bool) -> None:
    """checkpoints/last.pt after a finished epoch; if it improved, also model.pt and checkpoints/best.pt."""
    fitting, run = training.fit, training.fit.session.run
    finished = _checkpoint(training, epochs_done)
    if improved:
        config, inputs, learner = fitting.session.config, fitting.inputs, fitting.learner
        meta = bundle_metadata(
            config,
            inputs.meta,
            fitting.data,
            inputs.split,
            training.fingerprint,
            epochs_done,
            training.monitor.name,
        )
        meta["valid_metrics"] = {h: scalars(m) for h, m in training.progress.best_metrics.items()}
        save_bundle(run.model, learner.model, inputs.encoder, meta)
        finished.save(run.best)
    finished.save(run.last)


def _checkpoint(
    training: Training, epochs_done: int, step: int = 0, loss: float = 0.0, count: int = 0
) -> TrainingState:
    """The training state now: after ``epochs_done`` epochs and ``step`` batches of the next (summed loss
    ``loss`` over ``count`` sequences), with the model, optimiser, scheduler and torch RNG state."""
    fitting = training.fit
    return TrainingState(
        metadata=fitting.inputs.meta,
        epoch=epochs_done,
        progress=training.progress,
        model=fitting.learner.model.state_dict(),
        optimizer=fitting.optimizer.state_dict(),
        scheduler=fitting.scheduler.state_dict(),
        torch_rng=torch.get_rng_state(),
        step_in_epoch=step,
        partial_loss=loss,
        partial_count=count,
    )


def finish(training: Training, epochs_run: int) -> TrainResult:
    """After the epochs: for a finished run (not one stopped by ``stop_after``), decision thresholds
    chosen on validation (``threshold: auto``) and the best model scored once on the test part; -> the
    :class:`TrainResult`."""
    fitting, progress, monitor = training.fit, training.progress, training.monitor
    session = fitting.session
    config, ctx, log = session.config, session.ctx, session.log
    if progress.bad_epochs >= config.train.patience:
        log(f"early stop: no improvement of {monitor.name} for {progress.bad_epochs} epochs")
    done = progress.bad_epochs >= config.train.patience or epochs_run >= config.train.epochs
    auto = {h.name: CRITERIA[h.threshold] for h in config.heads if h.threshold in CRITERIA}
    if auto and done and ctx.main:
        store_thresholds(session, fitting.data.valid, auto, fitting.eval_options())
    test_metrics = None
    if fitting.data.test and done and ctx.main:
        test_metrics = score_test(session, fitting.data.test, fitting.inputs.split, fitting.eval_options())
    return TrainResult(
        session.run.root,
        session.run.model,
        progress.best_epoch,
        progress.best,
        monitor.name,
        epochs_run,
        {h: scalars(m) for h, m in progress.best_metrics.items()},
        test_metrics,
        ctx.main,
    )
