"""The training loop.

Run directory (``output_dir``)::

    config.yaml          resolved config (every default and --set applied)
    metrics.jsonl        one JSON line per epoch: train loss, lr, validation metrics, monitor value
    model.pt             best bundle by the monitored validation metric (what ``predict`` uses)
    checkpoints/last.pt  full training state after the last finished epoch or interruption (``--resume``)
    checkpoints/best.pt  full training state at the best epoch
    run.json             seed, split (method, sizes), data fingerprint, versions
    split.tsv            the part (train, valid, test) of every record: file, row (1-based), id
    rejected.tsv         records set aside under ``data.on_invalid: skip`` (file, row, id, sequence, reason)
    test_metrics.json    the best model scored once on the held-out test split (``data.test`` or
                         ``data.test_fraction``; random or scaffold split, :mod:`seqrnn.data.splits`)

Every epoch's batch order, crop windows and dropout masks are seeded from ``(seed, epoch)`` and a
mid-epoch checkpoint (SIGINT/SIGTERM) stores the batch position and RNG state, so a resumed run ends with
the same weights as an uninterrupted one. BPTT runs through each (optionally cropped, ``train.crop_length``)
sequence's whole length, and gradients are clipped by global norm before every AdamW step.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import math
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.bundle import ModelBundle, atomic_torch_save, build_model, load_bundle, save_bundle
from seqrnn.chem import check_standardize, note_without_rdkit, require_rdkit
from seqrnn.config import HeadConfig, RunConfig, dump_config
from seqrnn.data.augment import Augmentation, build_augmentation
from seqrnn.data.batching import BF16_ROWS, collate, crop_example, token_budget_batches
from seqrnn.data.dna import shuffled_negatives
from seqrnn.data.examples import NO_VIEWS, Example, prepare_example
from seqrnn.data.formats import read_records
from seqrnn.data.records import Record
from seqrnn.data.splits import split_indices
from seqrnn.encoders import Encoder, EncodingError, build_encoder
from seqrnn.errors import ConfigError, InputError, SeqrnnError
from seqrnn.evaluation import evaluate_examples
from seqrnn.inference import PredictOptions
from seqrnn.metrics import higher_is_better
from seqrnn.models.heads import Head, check_monitor, specs_from_records
from seqrnn.training.distributed import init_distributed
from seqrnn.training.interrupt import StopRequest, TrainingInterrupted
from seqrnn.version import __version__

CHECKPOINT_FORMAT = "seqrnn-checkpoint"


@dataclass
class TrainResult:
    output_dir: Path
    model_path: Path
    best_epoch: int
    best_value: float
    monitor: str
    epochs_run: int
    valid_metrics: dict[str, Any]
    test_metrics: dict[str, Any] | None = None  # held-out test split, scored once with the best model


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def file_fingerprint(paths: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def _read(path: str, config: RunConfig) -> list[Record]:
    records = []
    for rec in read_records(
        path,
        config.data.format,
        sequence_column=config.data.sequence_column,
        id_column=config.data.id_column,
        genome=config.data.genome,
    ):
        records.append(rec)
        if config.data.max_records and len(records) >= config.data.max_records:
            break
    if not records:
        raise InputError("no training records", source=path)
    return records


def build_head_specs(heads: Sequence[HeadConfig], records: Sequence[Record], encoder: Encoder) -> list[dict]:
    """Turn head configs into bundle specs: infer classes, fit regression mean/std on training data.

    Each head kind builds its own spec (:func:`seqrnn.models.heads.specs_from_records`); the JSON dicts
    returned here go into checkpoints and bundles as they are.
    """
    return [spec.to_dict() for spec in specs_from_records(heads, records)]


def _lr_lambda(config: RunConfig, total_steps: int) -> Callable[[int], float]:
    warmup = max(0, config.train.warmup_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.train.scheduler == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def train(
    config: RunConfig,
    resume: bool = False,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Run (or with ``resume``, continue) training; ``stop_after`` ends this process after that many
    epochs with a resumable checkpoint, for jobs with a wall-time limit."""
    if not config.data.train:
        raise ConfigError(
            "config data.train: path to the training data is required (e.g. --set data.train=x.csv)"
        )
    out = Path(config.output_dir)
    ckpt_dir = out / "checkpoints"
    last_path = ckpt_dir / "last.pt"
    if resume and not last_path.is_file():
        raise SeqrnnError(f"{last_path}: nothing to resume (no checkpoint in {out})")
    if not resume and last_path.is_file():
        raise SeqrnnError(
            f"{out} already holds a run; use --resume to continue it or choose another output_dir"
        )
    ctx, device = init_distributed(config.train.device)
    if not ctx.main:
        log, progress = (lambda _msg: None), False
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    seed_everything(config.seed)

    # read -> screen -> split -> encode --------------------------------------------------------------
    t0 = time.perf_counter()
    checker = _probe_encoder(config, log)
    rejected: list[tuple[Record, str]] = []
    train_records = _screen(_read(config.data.train, config), checker, config, rejected)
    valid_records = (
        _screen(_read(config.data.valid, config), checker, config, rejected) if config.data.valid else []
    )
    test_records = (
        _screen(_read(config.data.test, config), checker, config, rejected) if config.data.test else []
    )
    split_seed = config.seed if config.data.split_seed is None else config.data.split_seed
    split = {"method": config.data.split, "seed": split_seed}
    held_out = {
        "valid": 0.0 if config.data.valid else config.data.valid_fraction,
        "test": 0.0 if config.data.test else config.data.test_fraction,
    }
    if not config.data.valid or held_out["test"] > 0:
        smiles = None
        if config.data.split != "random":
            smiles = [checker.prepare(r.text) for r in train_records]  # type: ignore[attr-defined]
        tr, va, te = split_indices(
            len(train_records),
            held_out["valid"],
            held_out["test"],
            split_seed,
            config.data.split,
            smiles,
            min_valid=0 if config.data.valid else 1,
        )
        if not tr:
            raise InputError("too few records to take a validation split", source=config.data.train)
        if not va and not valid_records:
            raise InputError(
                f"the {config.data.split} split left no validation records (one scaffold group holds "
                "most molecules); use data.split=random or more data",
                source=config.data.train,
            )
        valid_records += [train_records[i] for i in va]
        test_records += [train_records[i] for i in te]
        train_records = [train_records[i] for i in tr]
    if config.data.negatives:
        # Each side of the split gets the shuffles of its own positives: no shared sequence content.
        columns = [c for h in config.heads for c in h.columns]
        start = max(r.index for r in [*train_records, *valid_records, *test_records]) + 1
        negatives = shuffled_negatives(train_records, columns, config.data.negative_label, config.seed, start)
        start += len(negatives)
        valid_negatives = shuffled_negatives(
            valid_records, columns, config.data.negative_label, config.seed, start
        )
        start += len(valid_negatives)
        test_negatives = (
            shuffled_negatives(test_records, columns, config.data.negative_label, config.seed, start)
            if test_records
            else []
        )
        train_records += negatives
        valid_records += valid_negatives
        test_records += test_negatives
        log(
            f"data: added {len(negatives)} + {len(valid_negatives)} + {len(test_negatives)} "
            "dinucleotide-shuffled negatives"
        )
    split.update(
        train=len(train_records), valid=len(valid_records), test=len(test_records), rejected=len(rejected)
    )
    # Kept as rows, written with the other run files once the data has encoded without errors.
    split_rows = [
        (part, rec.source, rec.index + 1, rec.id)
        for part, records in (("train", train_records), ("valid", valid_records), ("test", test_records))
        for rec in records
    ]
    if rejected:
        log(
            f"rejected {len(rejected)} invalid record(s) under data.on_invalid=skip "
            f"(first: record {rejected[0][0].id}: {rejected[0][1]}); listed in {out / 'rejected.tsv'}"
        )

    checkpoint: dict[str, Any] | None = None
    if resume:
        checkpoint = torch.load(last_path, map_location="cpu", weights_only=True)
        meta = json.loads(checkpoint["metadata"])
        encoder = Encoder.from_config(meta["encoder"])
        specs = meta["heads"]
    augmentation = build_augmentation(config.train.augment)
    if not resume:
        encoder = build_encoder(
            config.encoder,
            (r.text for r in train_records),
            standardize=config.data.standardize,
            # Seeded by the split: ensemble members of one split get one vocabulary.
            extra=_vocabulary_views(train_records, augmentation, split_seed)
            if config.encoder == "smiles"  # a fitted vocabulary; fixed alphabets need no views
            else (),
        )
        specs = build_head_specs(config.heads, train_records, encoder)
    meta: dict[str, Any] = {"encoder": encoder.to_config(), "heads": specs}
    if augmentation is not None:
        meta["augment"] = {"name": augmentation.name, "test_views": config.train.test_views}

    model = build_model({"model": config.model.to_dict(), "heads": specs}, encoder).to(device)
    heads = list(model.heads.values())
    mask_cols = config.data.mask_columns
    # Validation and test examples carry the test-time views that prediction will average.
    views = (
        (augmentation, config.train.test_views)
        if augmentation is not None and config.train.test_views > 1
        else NO_VIEWS
    )
    train_ex = [prepare_example(r, encoder, heads=heads, mask_columns=mask_cols) for r in train_records]
    valid_ex = [
        prepare_example(r, encoder, views=views, heads=heads, mask_columns=mask_cols) for r in valid_records
    ]
    test_ex = [
        prepare_example(r, encoder, views=views, heads=heads, mask_columns=mask_cols) for r in test_records
    ]
    # Texts are kept only when training draws fresh augmented views of them every epoch.
    train_texts = [r.text for r in train_records] if augmentation is not None else []
    del train_records, valid_records, test_records
    if ctx.main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)  # only once the data has been read and encoded
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(
        f"data: {len(train_ex)} train / {len(valid_ex)} valid / {len(test_ex)} test sequences "
        f"({config.data.split} split), "
        f"{sum(e.tokens.size for e in train_ex)} train positions ({time.perf_counter() - t0:.1f}s); "
        f"model: {config.model.cell} {config.model.layers}x{config.model.hidden}, {n_params:,} parameters"
        + (f"; {ctx.world} processes ({ctx.backend})" if ctx.world > 1 else "")
    )

    # optimiser --------------------------------------------------------------------------------------
    lengths = np.array([e.tokens.size for e in train_ex])
    # bf16 batches of some row counts run several times slower (token_budget_batches).
    rows = BF16_ROWS if config.train.precision == "bf16" else {}
    n_batches = len(token_budget_batches(lengths, config.train.batch_tokens, config.train.batch_size, **rows))
    # With several processes each takes every world-th batch of the same seeded epoch list.
    steps_per_epoch = max(1, min(n_batches, config.train.max_steps_per_epoch or n_batches) // ctx.world)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=config.train.lr,
        weight_decay=config.train.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(config, steps_per_epoch * config.train.epochs)
    )
    monitor = config.train.monitor or f"{heads[0].name}/{heads[0].main_metric()}"
    mode = _monitor_mode(monitor, heads)
    best = -math.inf if mode == "max" else math.inf
    best_epoch, bad_epochs, start_epoch = -1, 0, 0
    best_metrics: dict[str, Any] = {}
    resume_step = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        start_epoch = int(checkpoint["epoch"])
        best, best_epoch, bad_epochs = (
            float(checkpoint["best"]),
            int(checkpoint["best_epoch"]),
            int(checkpoint["bad_epochs"]),
        )
        best_metrics = json.loads(checkpoint["best_metrics"])
        resume_step = int(checkpoint.get("step_in_epoch", 0))
        log(f"resuming {out} at epoch {start_epoch + 1}, batch {resume_step + 1}")
    fingerprint = file_fingerprint(
        [config.data.train] + [p for p in (config.data.valid, config.data.test) if p]
    )
    if ctx.main:
        dump_config(config, out / "config.yaml")
        _write_run_record(out / "run.json", config, fingerprint, ctx.world, resume, split)
        _write_rejected(out / "rejected.tsv", rejected)
        _write_split(out / "split.tsv", split_rows)
    train_model = ctx.wrap(model, device)
    # Validation in fp32 everywhere: model selection must not depend on the machine's bf16 support.
    eval_options = PredictOptions(batch_tokens=max(config.train.batch_tokens, 16000), precision="fp32")

    metrics_path = out / "metrics.jsonl"
    epoch = start_epoch
    last_epoch = (
        config.train.epochs if stop_after is None else min(config.train.epochs, start_epoch + stop_after)
    )

    def training_state(
        epochs_done: int, step: int = 0, partial_loss: float = 0.0, partial_count: int = 0
    ) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "seqrnn_version": __version__,
            "metadata": json.dumps(meta),
            "epoch": epochs_done,
            "step_in_epoch": step,
            "partial_loss": partial_loss,
            "partial_count": partial_count,
            "torch_rng": torch.get_rng_state(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "best": best,
            "best_epoch": best_epoch,
            "bad_epochs": bad_epochs,
            "best_metrics": json.dumps(best_metrics),
        }

    with StopRequest() as stop:
        for epoch in range(start_epoch, last_epoch):
            if bad_epochs >= config.train.patience:
                break
            t_epoch = time.perf_counter()
            torch.manual_seed(config.seed * 100_003 + epoch)
            rng = np.random.default_rng([config.seed, epoch])
            crop = config.train.crop_length
            epoch_lengths = lengths if crop is None else np.minimum(lengths, crop)
            # Crop offsets are drawn for every example each epoch, so resuming reproduces them exactly.
            offsets = rng.integers(0, np.maximum(lengths - epoch_lengths, 0) + 1)
            batches = token_budget_batches(
                epoch_lengths, config.train.batch_tokens, config.train.batch_size, rng, **rows
            )
            batches = batches[: steps_per_epoch * ctx.world][ctx.rank :: ctx.world]
            model.train()
            total, count, first_step = 0.0, 0, 0
            if resume_step and checkpoint is not None:
                # Mid-epoch resume: same batches, same dropout stream, partial loss carried over.
                torch.set_rng_state(checkpoint["torch_rng"])
                total, count, first_step = (
                    float(checkpoint["partial_loss"]),
                    int(checkpoint["partial_count"]),
                    resume_step,
                )
                resume_step = 0
            bar = _bar(progress, len(batches) - first_step, f"epoch {epoch + 1}/{config.train.epochs}")
            last_note = time.perf_counter()
            for step in range(first_step, len(batches)):
                idx = batches[step]
                chosen = [
                    train_ex[i]
                    if epoch_lengths[i] == lengths[i]
                    else crop_example(train_ex[i], offsets[i], epoch_lengths[i])
                    for i in idx
                ]
                if augmentation is not None:
                    # Seeded by (seed, epoch, step): a resumed epoch draws the same views.
                    aug_rng = np.random.default_rng([config.seed, epoch, step, 1])
                    chosen = [
                        _augmented(ex, train_texts[i], augmentation, encoder, aug_rng)
                        if aug_rng.random() < config.train.augment_prob
                        else ex
                        for ex, i in zip(chosen, idx, strict=True)
                    ]
                batch = collate(chosen, heads).to(device)
                with torch.autocast(
                    device.type, dtype=torch.bfloat16, enabled=config.train.precision == "bf16"
                ):
                    logits = train_model(batch.tokens, batch.lengths)
                loss = sum(
                    float(h.spec.loss_weight) * h.loss(logits[h.name], batch.targets[h.name]) for h in heads
                )
                if not torch.isfinite(loss):
                    raise SeqrnnError(
                        f"loss became {loss.item()} at epoch {epoch + 1}; lower train.lr or check the targets "
                        f"(last good checkpoint: {last_path if last_path.exists() else 'none'})"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.clip_grad_norm)
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(idx)
                count += len(idx)
                if ctx.any(stop.signum is not None):
                    if bar is not None:
                        bar.close()
                    if ctx.main:
                        atomic_torch_save(training_state(epoch, step + 1, total, count), last_path)
                    ctx.barrier()
                    raise TrainingInterrupted(
                        f"stopped by {signal.Signals(stop.signum or signal.SIGTERM).name} at epoch {epoch + 1}, batch {step + 1}/"
                        f"{len(batches)}; checkpoint saved to {last_path}; continue with --resume"
                    )
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total / count:.4f}")
                elif progress and time.perf_counter() - last_note > 120:
                    # Batch-job logs get a heartbeat instead of a progress bar.
                    last_note = time.perf_counter()
                    log(f"epoch {epoch + 1}: {count} sequences, train loss {total / count:.4f}")
            if bar is not None:
                bar.close()

            model.eval()
            total, count = ctx.sum(total), ctx.sum(count)
            # One process scores the validation set; all take the same early-stopping decision from it.
            metrics = None
            if ctx.main:
                bundle = ModelBundle(model, encoder, meta)
                metrics = evaluate_examples(bundle, valid_ex, eval_options, device).metrics
            metrics = ctx.broadcast(metrics)
            value = _lookup(metrics, monitor)
            if math.isfinite(value):
                improved = value > best if mode == "max" else value < best
            else:
                # e.g. AUROC of a validation split with one class: keep the first model, say why.
                improved = best_epoch == -1
                log(
                    f"warning: valid {monitor} is {value} at epoch {epoch + 1}; it cannot select a best model"
                )
            if improved:
                best, best_epoch, bad_epochs = value, epoch + 1, 0
                best_metrics = metrics
            else:
                bad_epochs += 1
            record = {
                "epoch": epoch + 1,
                "train_loss": total / max(count, 1),
                "lr": scheduler.get_last_lr()[0],
                "seconds": round(time.perf_counter() - t_epoch, 2),
                "monitor": monitor,
                "value": value,
                "best": improved,
                "valid": {h: _scalars(m) for h, m in metrics.items()},
            }
            if ctx.main:
                with metrics_path.open("a") as fh:
                    fh.write(json.dumps(_finite(record)) + "\n")
            log(
                f"epoch {epoch + 1}: train loss {record['train_loss']:.4f}, valid {monitor} {value:.4f}"
                f"{' (best)' if improved else ''} [{record['seconds']:.0f}s]"
            )
            bundle_meta = {
                "name": config.name,
                "description": config.description,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "train_config": config.to_dict(),
                "data": {
                    "train": config.data.train,
                    "valid": config.data.valid,
                    "fingerprint": fingerprint,
                    "n_train": len(train_ex),
                    "n_valid": len(valid_ex),
                    "n_test": len(test_ex),
                    "test": config.data.test,
                    "split": split,
                    "mask_columns": list(mask_cols),
                    "sequence_column": config.data.sequence_column,
                    "format": config.data.format,
                },
                "augment": meta.get("augment"),
                "epoch": epoch + 1,
                "monitor": monitor,
                "valid_metrics": {h: _scalars(m) for h, m in best_metrics.items()},
            }
            if ctx.main:  # a single writer: the other processes hold identical weights
                state = training_state(epoch + 1)
                if improved:
                    save_bundle(out / "model.pt", model, encoder, bundle_meta)
                    atomic_torch_save(state, ckpt_dir / "best.pt")
                atomic_torch_save(state, last_path)
            ctx.barrier()
        else:
            epoch = last_epoch
    ctx.close()
    if bad_epochs >= config.train.patience:
        log(f"early stop: no improvement of {monitor} for {bad_epochs} epochs")
    finished = bad_epochs >= config.train.patience or epoch >= config.train.epochs
    test_metrics = None
    if test_ex and finished and ctx.main:
        test_metrics = _score_test(out, test_ex, split, eval_options, device, log)
    return TrainResult(
        out,
        out / "model.pt",
        best_epoch,
        best,
        monitor,
        epoch,
        {h: _scalars(m) for h, m in best_metrics.items()},
        test_metrics,
    )


def _probe_encoder(config: RunConfig, log: Callable[[str], None]) -> Encoder:
    """An encoder that checks records before the split (SMILES: vocabulary not fitted yet)."""
    if config.data.split != "random":
        require_rdkit(f"data.split {config.data.split}")
    if config.encoder == "smiles":
        check_standardize(config.data.standardize)
        note_without_rdkit(log)
    elif config.data.standardize != "none":
        raise ConfigError(
            f"config data.standardize: applies to SMILES only, not the {config.encoder} encoder"
        )
    return build_encoder(config.encoder, [], standardize=config.data.standardize)


def _screen(
    records: list[Record], probe: Encoder, config: RunConfig, rejected: list[tuple[Record, str]]
) -> list[Record]:
    """Records whose sequence the encoder accepts; the others raise, or under ``skip`` are set aside."""
    kept = []
    for rec in records:
        try:
            probe.encode(rec.text)
        except EncodingError as exc:
            if config.data.on_invalid == "error":
                raise InputError(
                    f"{exc} (data.on_invalid=skip sets such records aside)", source=rec.source, record=rec.id
                ) from None
            rejected.append((rec, str(exc)))
            continue
        kept.append(rec)
    if not kept:
        raise InputError(f"no usable records: all {len(records)} rejected", source=records[0].source)
    return kept


def _write_rejected(path: Path, rejected: Sequence[tuple[Record, str]]) -> None:
    """``rejected.tsv``: file, row (1-based record number), id, sequence and reason of each set-aside record."""
    path.unlink(missing_ok=True)
    if rejected:
        rows = [(rec.source, rec.index + 1, rec.id, rec.text, reason) for rec, reason in rejected]
        _write_tsv(path, ("file", "row", "id", "sequence", "reason"), rows)


def _write_split(path: Path, rows: Sequence[tuple[str, str, int, str]]) -> None:
    """``split.tsv``: which part (train, valid, test) each record went to, by file, row and id, so the
    same split can be scored again (ensembles, other tools) without recomputing it."""
    _write_tsv(path, ("part", "file", "row", "id"), rows)


def _write_tsv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A tab-separated file with a header, written under a temporary name and renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)


def _score_test(
    out: Path,
    test_ex: Sequence[Any],
    split: dict[str, Any],
    options: PredictOptions,
    device: torch.device,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Score the best bundle (model.pt) once on the held-out test records; writes test_metrics.json."""
    bundle = load_bundle(out / "model.pt", device)
    metrics = evaluate_examples(bundle, test_ex, options, device).metrics
    payload = {
        "model": str(out / "model.pt"),
        "model_sha256": bundle.sha256,
        "epoch": bundle.metadata.get("epoch"),
        "split": split,
        "n_test": len(test_ex),
        "metrics": metrics,
    }
    tmp = out / ".test_metrics.json.tmp"
    tmp.write_text(json.dumps(_finite(payload), indent=1))
    tmp.replace(out / "test_metrics.json")
    for head, m in metrics.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in _scalars(m).items() if k != "n")
        log(f"test ({len(test_ex)} records, best epoch {payload['epoch']}): {head}: {shown}")
    return {h: _scalars(m) for h, m in metrics.items()}


def _vocabulary_views(
    records: Sequence[Record], augmentation: Augmentation | None, seed: int, n: int = 5
) -> list[str]:
    """Random views of the training texts, so that a fitted vocabulary (SMILES) covers what augmented
    training will show the model (randomised SMILES bring ring-closure digits and chirality tags that
    canonical ones lack) instead of mapping them to ``<unk>``."""
    if augmentation is None:
        return []
    rng = np.random.default_rng([seed, 2])
    views = []
    for rec in records:
        for _ in range(n):
            with contextlib.suppress(EncodingError):
                views.append(augmentation.random_view(rec.text, rng))
    return views


def _augmented(
    ex: Example, text: str, augmentation: Augmentation, encoder: Encoder, rng: np.random.Generator
) -> Example:
    """The example with its tokens replaced by a random view (sequence-level targets stay valid)."""
    try:
        tokens = encoder.encode_view(augmentation.random_view(text, rng))[0]
    except EncodingError:
        return ex
    return Example(ex.index, ex.id, tokens.astype(np.int16, copy=False), ex.targets)


def _monitor_mode(monitor: str, heads: Sequence[Head]) -> str:
    """How ``monitor`` improves, "max" or "min"; ConfigError, before any epoch, if no head reports it.

    The config was checked against the configured heads; classes inferred from the data since then
    (e.g. three where ``auroc`` needs two) are checked here.
    """
    check_monitor(monitor, [(h.name, h.kind, len(h.classes)) for h in heads])
    return "max" if higher_is_better(monitor.partition("/")[2]) else "min"


def _lookup(metrics: dict[str, dict], monitor: str) -> float:
    head, _, metric = monitor.partition("/")
    value = metrics.get(head, {}).get(metric)
    if not isinstance(value, int | float):
        raise ConfigError(f"train.monitor {monitor!r}: head {head!r} has no scalar metric {metric!r}")
    return float(value)


def _write_run_record(
    path: Path, config: RunConfig, fingerprint: str, world: int, resume: bool, split: dict[str, Any]
) -> None:
    """What a rerun needs to repeat this run: versions, seed, data fingerprint, command context."""
    import platform

    import h5py

    record = json.loads(path.read_text()) if resume and path.is_file() else {}
    record.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if resume:
        record.setdefault("resumed", []).append(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    record.update(
        seed=config.seed,
        split=split,
        data_fingerprint=fingerprint,
        processes=world,
        versions={
            "seqrnn": __version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "h5py": h5py.__version__,
        },
        torch_threads=torch.get_num_threads(),
        host=platform.node(),
    )
    path.write_text(json.dumps(record, indent=1))


def _finite(obj: Any) -> Any:
    """NaN/inf -> None, so metrics.jsonl stays standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if isinstance(v, int | float)}


def _bar(enabled: bool, total: int, desc: str):
    from seqrnn.logs import progress_bar

    return progress_bar(enabled, total=total, desc=desc, unit="batch", leave=False)
