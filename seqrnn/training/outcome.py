"""What decides and what records a run's result: the monitored validation metric that picks the best
epoch, the best bundle's metadata, decision thresholds chosen on validation, and the one test score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from seqrnn.encoding.examples import Example
from seqrnn.errors import ConfigError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import choose_thresholds, evaluate_examples
from seqrnn.io.files import utc_timestamp
from seqrnn.models.bundle import ModelBundle, load_bundle
from seqrnn.models.heads import Head
from seqrnn.models.metrics import higher_is_better
from seqrnn.training.checkpoint import Progress
from seqrnn.training.config import RunConfig, check_monitor
from seqrnn.training.data import Datasets
from seqrnn.training.phases import Session
from seqrnn.training.run_files import scalars


@dataclass
class Monitor:
    """The validation metric ``head/metric`` that picks the best model, and which way it improves."""

    name: str
    higher: bool

    @classmethod
    def for_heads(cls, configured: str | None, heads: Sequence[Head]) -> Monitor:
        """``train.monitor``, or the first head's main metric; ConfigError, before any epoch, if no
        head reports it.

        The config was checked against the configured heads; classes inferred from the data since then
        (e.g. three where ``auroc`` needs two) are checked here.
        """
        name = configured or f"{heads[0].name}/{heads[0].main_metric()}"
        check_monitor(name, [(h.name, h.kind, len(h.classes)) for h in heads])
        return cls(name, higher_is_better(name.partition("/")[2]))

    def start(self) -> Progress:
        """Early-stopping bookkeeping before the first epoch: any finite value improves on it."""
        return Progress(-math.inf if self.higher else math.inf)

    def value(self, metrics: dict[str, dict]) -> float:
        """The monitored value in one validation pass's metrics (head -> metric -> value)."""
        head, _, metric = self.name.partition("/")
        value = metrics.get(head, {}).get(metric)
        if not isinstance(value, int | float):
            raise ConfigError(f"train.monitor {self.name!r}: head {head!r} has no scalar metric {metric!r}")
        return float(value)

    def improves(self, value: float, progress: Progress) -> bool:
        """Whether ``value`` beats the best so far; a non-finite value (e.g. AUROC of a validation split
        with one class) cannot select a model, so it counts only where there is none yet."""
        if math.isfinite(value):
            return value > progress.best if self.higher else value < progress.best
        return progress.best_epoch == -1


def _file_name(path: str | None) -> str | None:
    """A data file as a bundle records it: its name, not where it lay on the training machine
    (the ``dataset`` section and the data fingerprint identify it)."""
    return PurePath(path).name if path else path


def _without_paths(config: dict[str, Any]) -> dict[str, Any]:
    """The run config as a bundle stores it: data files by name, the run directory left out."""
    data = dict(config.get("data", {}))
    for key in ("train", "valid", "test", "genome"):
        data[key] = _file_name(data.get(key))
    if data.get("class_files"):
        data["class_files"] = {k: _file_name(v) for k, v in data["class_files"].items()}
    return {**config, "data": data, "output_dir": PurePath(config.get("output_dir") or "").name}


def bundle_metadata(
    config: RunConfig,
    meta: dict[str, Any],
    data: Datasets,
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
        "train_config": _without_paths(config.to_dict()),
        "data": {
            "train": _file_name(config.data.train),
            "valid": _file_name(config.data.valid),
            "fingerprint": fingerprint,
            "n_train": len(data.train),
            "n_valid": len(data.valid),
            "n_test": len(data.test),
            # The training sequences' shortest and longest lengths: what predictions warn outside of.
            "lengths": [
                int(min(e.tokens.size for e in data.train)),
                int(max(e.tokens.size for e in data.train)),
            ],
            "test": _file_name(config.data.test),
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


def store_thresholds(
    session: Session, valid: Sequence[Example], heads: dict[str, str], options: PredictOptions
) -> None:
    """``threshold: auto`` (or ``youden``/``mcc``): choose each head's decision cut-off on the validation
    set with the best model, by its criterion (head name -> ``youden``/``mcc``), and store it in the
    bundle (model.pt is rewritten with the thresholds in its head specs)."""
    run, device, log = session.run, session.device, session.log
    bundle = load_bundle(run.model, device)
    chosen = choose_thresholds(bundle, valid, heads, options, device)
    for name, value in chosen.items():
        bundle.model.heads[name].spec.threshold = value
        log(
            f"decision threshold for {name}: {value:.4f} (best {heads[name]} on {len(valid)} validation records)"
        )
    bundle.save(run.model)


def score_test(
    session: Session, test: Sequence[Example], split: dict[str, Any], options: PredictOptions
) -> dict[str, Any]:
    """Score the best bundle (model.pt) once on the held-out test records; writes test_metrics.json."""
    run, device, log = session.run, session.device, session.log
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
