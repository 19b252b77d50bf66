"""Checks of a run config across keys and against the registries, made when it is loaded
(:func:`seqrnn.training.config.load_config`), before any data is read; each failure is one line.

Whatever a head kind allows (label columns, cropping, augmentation, pooling, generated negatives,
monitored metrics) is asked of the head class (:mod:`seqrnn.models.heads`). Numeric ranges were checked
while the sections were built (:func:`seqrnn.training.config_parse.check_ranges`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from seqrnn.errors import ConfigError
from seqrnn.models import HEADS
from seqrnn.models.decisions import CRITERIA

if TYPE_CHECKING:
    from seqrnn.training.config_sections import DatasetConfig, HeadConfig, RunConfig

#: ``dataset.sha256``: 64 lowercase hex digits.
_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_config(config: RunConfig) -> None:
    """Checks across keys and against the registries (ranges were checked while building)."""
    from seqrnn.encoding.encoders import ENCODERS
    from seqrnn.models import CELLS

    ENCODERS.get(config.encoder)
    CELLS.get(config.model.cell)
    _check_heads(config)
    kinds = {h.name: HEADS.get(h.kind) for h in config.heads}
    _check_model(config, kinds)
    _check_train(config, kinds)
    _check_data(config, kinds)
    _check_dataset(config.dataset)


def _check_heads(config: RunConfig) -> None:
    """At least one head; each named once, of a known kind, with the label columns its kind takes."""
    if not config.heads:
        raise ConfigError("config needs at least one entry under 'heads'")
    seen: set[str] = set()
    for i, head in enumerate(config.heads):
        if not head.name:
            raise ConfigError(f"config heads.{i}: 'name' is required")
        if head.name in seen:
            raise ConfigError(f"config heads.{i}: duplicate head name {head.name!r}")
        seen.add(head.name)
        cls = HEADS.get(head.kind)
        if not head.columns:
            raise ConfigError(f"config heads.{i} ({head.name}): 'columns' names the label column(s)")
        if cls.n_columns is not None and len(head.columns) != cls.n_columns:
            count = "one column" if cls.n_columns == 1 else f"{cls.n_columns} columns"
            raise ConfigError(f"config heads.{i} ({head.name}): {head.kind} takes exactly {count}")
        if head.label_smoothing and not cls.allows_label_smoothing:
            # Accepted and ignored would be a silent no-op: say which kinds apply it.
            kinds_ = [k for k in HEADS if HEADS.get(k).allows_label_smoothing]
            raise ConfigError(
                f"config heads.{i}.label_smoothing ({head.name}): {head.kind} heads do not apply it "
                f"(only {', '.join(kinds_)})"
            )
        _check_threshold(i, head, cls)
        _check_masks_and_labels(i, head, cls)


def _check_model(config: RunConfig, kinds: dict[str, Any]) -> None:
    """``model.input`` and ``model.conv_pool`` (pooling needs a convolution and per-sequence heads)."""
    if config.model.input not in ("auto", "embedding", "onehot"):
        raise ConfigError("config model.input: choose auto, embedding or onehot")
    if config.model.conv_pool > 1:
        if not config.model.conv_channels:
            raise ConfigError(
                "config model.conv_pool: pooling needs a convolutional front end (conv_channels)"
            )
        residue_heads = [name for name, cls in kinds.items() if not cls.allows_conv_pool]
        if residue_heads:
            raise ConfigError(f"config model.conv_pool: pooling would misalign residue heads {residue_heads}")


def _check_train(config: RunConfig, kinds: dict[str, Any]) -> None:
    """The ``train:`` choices, cropping and augmentation against the heads, and ``train.monitor``."""
    train = config.train
    if train.scheduler not in ("cosine", "constant"):
        raise ConfigError("config train.scheduler: choose cosine or constant")
    if train.crop_length is not None:
        sequence_heads = [name for name, cls in kinds.items() if not cls.allows_crop]
        if sequence_heads:
            raise ConfigError(
                f"config train.crop_length: cropping would change the labels of sequence heads {sequence_heads}"
            )
    if train.precision not in ("fp32", "bf16"):
        raise ConfigError("config train.precision: choose fp32 or bf16")
    if train.augment is not None:
        from seqrnn.encoding.augment import AUGMENTATIONS

        AUGMENTATIONS.get(train.augment)
        residue_heads = [name for name, cls in kinds.items() if not cls.allows_augment]
        if residue_heads:
            raise ConfigError(
                f"config train.augment: augmented views would move the labels of residue heads {residue_heads}"
            )
    if train.test_views > 1 and train.augment is None:
        raise ConfigError("config train.test_views: averaging views needs train.augment")
    if train.monitor is not None:
        # Checked here, before any data is read, against what each head kind reports; a head whose
        # classes are inferred later allows every metric its kind may report.
        check_monitor(
            train.monitor,
            [(h.name, h.kind, len(h.classes) if h.classes else None) for h in config.heads],
        )


def _check_data(config: RunConfig, kinds: dict[str, Any]) -> None:
    """The ``data:`` choices: generated negatives, class files, held-out fractions, split, screening."""
    from seqrnn.encoding.chem import STANDARDIZE
    from seqrnn.training.splits import SPLITS

    data = config.data
    if data.negatives is not None:
        from seqrnn.training.negatives import NEGATIVES

        NEGATIVES.get(data.negatives)
        if config.encoder != "dna":
            raise ConfigError("config data.negatives: shuffled negatives are made for DNA (encoder: dna)")
        others = [name for name, cls in kinds.items() if not cls.allows_negatives]
        if others:
            allowed = [k for k in HEADS if HEADS.get(k).allows_negatives]
            raise ConfigError(f"config data.negatives: heads {others} are not {' or '.join(allowed)}")
    _check_class_files(config)
    if data.valid_fraction + data.test_fraction >= 1.0:
        raise ConfigError("config data.valid_fraction + data.test_fraction: must leave records to train on")
    if data.split not in SPLITS:
        raise ConfigError(f"config data.split: choose {', '.join(SPLITS)}")
    if data.on_invalid not in ("error", "skip"):
        raise ConfigError("config data.on_invalid: choose error or skip")
    if data.standardize not in STANDARDIZE:
        raise ConfigError(f"config data.standardize: choose {', '.join(STANDARDIZE)}")


def _check_dataset(dataset: DatasetConfig) -> None:
    """``dataset.sha256`` is a sha256 in hex; ``dataset.url`` an address."""
    if dataset.sha256 and not _SHA256.fullmatch(dataset.sha256):
        raise ConfigError(
            f"config dataset.sha256: {dataset.sha256!r} is not a sha256 (64 lowercase hex digits)"
        )
    if dataset.url and not re.match(r"(https?|ftp)://\S+$", dataset.url):
        raise ConfigError(f"config dataset.url: {dataset.url!r} is not an http(s) or ftp address")


def _check_threshold(i: int, head: HeadConfig, cls: type) -> None:
    """``heads.N.threshold``: "auto" or a probability in (0, 1), for kinds that make decisions."""
    value = head.threshold
    if value is None:
        return
    where = f"config heads.{i}.threshold ({head.name})"
    if not cls.allows_threshold:
        raise ConfigError(f"{where}: {head.kind} heads take no decision threshold")
    if head.classes is not None and len(head.classes) != 2:
        raise ConfigError(f"{where}: a threshold needs exactly two classes")
    if value not in CRITERIA and not isinstance(value, float):  # numbers are range-checked on loading
        raise ConfigError(
            f"{where}: choose auto (= youden), youden, mcc or a probability between 0 and 1, not {value!r}"
        )


def _check_masks_and_labels(i: int, head: HeadConfig, cls: type) -> None:
    """``heads.N.mask_columns`` for residue heads only; ``heads.N.labels`` for classification heads,
    mapping to configured classes."""
    where = f"config heads.{i}"
    if head.mask_columns is not None and cls.level != "residue":
        raise ConfigError(f"{where}.mask_columns ({head.name}): only residue heads are masked per residue")
    if head.branch is not None and cls.level != "residue":
        raise ConfigError(f"{where}.branch ({head.name}): only residue heads take a branch of their own")
    if not head.labels:
        return
    if not cls.allows_labels:
        raise ConfigError(f"{where}.labels ({head.name}): {head.kind} heads take no label mapping")
    unknown = sorted({c for c in head.labels.values() if head.classes and c not in head.classes})
    if unknown:
        raise ConfigError(
            f"{where}.labels ({head.name}): {', '.join(map(repr, unknown))} not among the classes "
            f"{head.classes}"
        )


def _check_class_files(config: RunConfig) -> None:
    """``data.class_files`` replaces ``data.train`` and fills a column some head reads."""
    data = config.data
    if not data.class_files:
        return
    if data.train:
        raise ConfigError(
            "config data.train and data.class_files: give exactly one of them (the training records are "
            "one file, or one file per class)"
        )
    for label, path in data.class_files.items():
        if not label.strip() or not path.strip():
            raise ConfigError(f"config data.class_files: {label!r}: {path!r}: expected CLASS: FILE")
    paths = list(data.class_files.values())
    if len(set(paths)) < len(paths):
        raise ConfigError("config data.class_files: one file is given for two classes")
    if not any(data.class_column in h.columns for h in config.heads):
        raise ConfigError(
            f"config data.class_column: {data.class_column!r} is not a column of any head "
            f"(heads read {sorted({c for h in config.heads for c in h.columns})})"
        )


def monitor_choices(heads: Iterable[tuple[str, str, int | None]]) -> list[str]:
    """Every valid ``train.monitor`` (``HEAD/METRIC``) for heads given as (name, kind, number of classes,
    None while the classes are still to be inferred)."""
    return [f"{name}/{m}" for name, kind, n in heads for m in HEADS.get(kind).scalar_metrics(n)]


def check_monitor(monitor: str, heads: Iterable[tuple[str, str, int | None]]) -> None:
    """ConfigError unless ``monitor`` is ``HEAD/METRIC`` with a scalar metric that head reports."""
    choices = monitor_choices(heads)
    if monitor not in choices:
        raise ConfigError(
            f"config train.monitor: {monitor!r} is not HEAD/METRIC with a metric the head reports; "
            f"choose one of: {', '.join(choices)}"
        )
