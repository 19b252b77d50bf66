"""Run configuration: one YAML file describes a whole training run (Selene-style).

Sections: top-level ``name``, ``seed``, ``encoder``, ``output_dir``; ``data`` (paths and columns),
``heads`` (list of task heads), ``model`` (:class:`seqrnn.models.ModelConfig`), ``train`` (optimiser,
schedule, early stopping). Validation is strict: an unknown key or a wrong type is a one-line
:class:`ConfigError`. ``--set a.b=value`` overrides any key (values parsed as YAML; list items by index,
e.g. ``heads.0.columns=[dssp8]``). The resolved config is saved next to the run's outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from seqrnn.errors import ConfigError
from seqrnn.models import HEADS, ModelConfig


@dataclass
class DataConfig:
    train: str = ""
    valid: str | None = None
    valid_fraction: float = 0.1
    test: str | None = None  # held-out test file; without it ``test_fraction`` of ``train`` is held out
    test_fraction: float = 0.0  # scored once, with the best model, into test_metrics.json
    split: str = "random"  # random | scaffold | scaffold_balanced (Bemis-Murcko, needs RDKit)
    split_seed: int | None = None  # None: the run's seed; fix it to train ensemble members on one split
    on_invalid: str = "error"  # error | skip (skipped records are listed in rejected.tsv)
    standardize: str = "none"  # SMILES: none | canonical | largest_fragment (needs RDKit)
    format: str | None = None
    genome: str | None = None  # genome FASTA for BED inputs (indexed with pyfaidx)
    sequence_column: str | None = None
    id_column: str | None = None
    mask_columns: list[str] = field(default_factory=list)
    max_records: int | None = None  # cap for quick runs; None = all
    negatives: str | None = None  # dinucleotide_shuffle: add one shuffled negative per positive (DeepBind)
    negative_label: str = "0"  # label the generated negatives get (and positives do not have)


@dataclass
class HeadConfig:
    name: str = ""
    kind: str = ""
    columns: list[str] = field(default_factory=list)
    classes: list[str] | None = None  # inferred from training data when absent
    loss_weight: float = 1.0
    label_smoothing: float = 0.0


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_tokens: int = 16000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    scheduler: str = "cosine"  # cosine | constant
    warmup_steps: int = 100
    clip_grad_norm: float = 1.0
    monitor: str | None = None  # e.g. "ss8/accuracy"; default: the first head's main metric
    patience: int = 5
    device: str = "auto"
    threads: int | None = None
    max_steps_per_epoch: int | None = None
    crop_length: int | None = None  # residue-level tasks: train on random windows of long chains
    precision: str = "fp32"  # fp32 | bf16 (autocast for the forward pass; weights and optimiser stay fp32)
    augment: str | None = None  # seqrnn.data.augment name, e.g. reverse_complement, smiles_enumeration
    augment_prob: float = 0.5  # chance that a training example is replaced by a random view each epoch
    test_views: int = 1  # views averaged at validation and prediction (1 = none); stored in the bundle


@dataclass
class RunConfig:
    name: str = "model"
    seed: int = 0
    encoder: str = "protein"
    output_dir: str = "runs/model"
    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    heads: list[HeadConfig] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: a config must be a mapping of keys to values")
    for item in overrides or []:
        apply_override(raw, item)
    config = _build(RunConfig, raw, "")
    _check(config)
    return config


def apply_override(raw: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.hidden=256")
    key, value_text = item.split("=", 1)
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        value = value_text
    parts = key.strip().split(".")
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif last:
            node[part] = value
        else:
            if node.get(part) is None:  # absent, or an empty YAML section (``model:`` with nothing under it)
                node[part] = {}
            node = node[part]
        # Checked after list items too: descending into a scalar list item would be a TypeError.
        if not last and not isinstance(node, dict | list):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a section")


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config {where or 'root'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            hint = difflib.get_close_matches(str(key), names, n=1)
            extra = f" (did you mean {where + hint[0]!r}?)" if hint else ""
            raise ConfigError(f"unknown config key {where + str(key)!r}{extra}")
        kwargs[key] = _coerce(hints[key], value, where + key)
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value or {}, where + ".")
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str) and item_tp is str:
            # "HEC" -> ["H", "E", "C"]; "a,b" -> ["a", "b"]
            value = (
                value.split(",") if "," in value else list(value) if where.endswith("classes") else [value]
            )
        if not isinstance(value, list):
            raise ConfigError(f"config {where}: expected a list, got {value!r}")
        return [_coerce(item_tp, v, f"{where}.{i}") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config {where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config {where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 (PyYAML) reads exponent floats without a dot, such as 1e-3, as text.
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config {where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if value is None or isinstance(value, dict | list):
            raise ConfigError(f"config {where}: expected text, got {value!r}")
        return str(value)
    return value


def _check(config: RunConfig) -> None:
    from seqrnn.chem import STANDARDIZE
    from seqrnn.data.splits import SPLITS
    from seqrnn.encoders import ENCODERS
    from seqrnn.models import CELLS

    ENCODERS.get(config.encoder)
    CELLS.get(config.model.cell)
    if not config.heads:
        raise ConfigError("config needs at least one entry under 'heads'")
    seen: set[str] = set()
    for i, head in enumerate(config.heads):
        if not head.name:
            raise ConfigError(f"config heads.{i}: 'name' is required")
        if head.name in seen:
            raise ConfigError(f"config heads.{i}: duplicate head name {head.name!r}")
        seen.add(head.name)
        HEADS.get(head.kind)
        if not head.columns:
            raise ConfigError(f"config heads.{i} ({head.name}): 'columns' names the label column(s)")
        if head.kind in ("residue_classification", "sequence_classification") and len(head.columns) != 1:
            raise ConfigError(f"config heads.{i} ({head.name}): {head.kind} takes exactly one column")
    if config.model.input not in ("auto", "embedding", "onehot"):
        raise ConfigError("config model.input: choose auto, embedding or onehot")
    if config.train.scheduler not in ("cosine", "constant"):
        raise ConfigError("config train.scheduler: choose cosine or constant")
    if config.train.crop_length is not None:
        if config.train.crop_length < 1:
            raise ConfigError("config train.crop_length: must be at least 1")
        sequence_heads = [h.name for h in config.heads if not h.kind.startswith("residue_")]
        if sequence_heads:
            raise ConfigError(
                f"config train.crop_length: cropping would change the labels of sequence heads {sequence_heads}"
            )
    if config.model.conv_pool > 1:
        if not config.model.conv_channels:
            raise ConfigError(
                "config model.conv_pool: pooling needs a convolutional front end (conv_channels)"
            )
        residue_heads = [h.name for h in config.heads if h.kind.startswith("residue_")]
        if residue_heads:
            raise ConfigError(f"config model.conv_pool: pooling would misalign residue heads {residue_heads}")
    if config.train.precision not in ("fp32", "bf16"):
        raise ConfigError("config train.precision: choose fp32 or bf16")
    if config.train.augment is not None:
        from seqrnn.data.augment import AUGMENTATIONS

        AUGMENTATIONS.get(config.train.augment)
        residue_heads = [h.name for h in config.heads if h.kind.startswith("residue_")]
        if residue_heads:
            raise ConfigError(
                f"config train.augment: augmented views would move the labels of residue heads {residue_heads}"
            )
    if not 0.0 <= config.train.augment_prob <= 1.0:
        raise ConfigError("config train.augment_prob: must be in [0, 1]")
    if config.train.test_views > 1 and config.train.augment is None:
        raise ConfigError("config train.test_views: averaging views needs train.augment")
    if config.data.negatives is not None:
        from seqrnn.data.dna import NEGATIVES

        NEGATIVES.get(config.data.negatives)
        if config.encoder != "dna":
            raise ConfigError("config data.negatives: shuffled negatives are made for DNA (encoder: dna)")
        others = [h.name for h in config.heads if h.kind != "sequence_classification"]
        if others:
            raise ConfigError(f"config data.negatives: heads {others} are not sequence_classification")
    if not 0.0 <= config.data.valid_fraction < 1.0:
        raise ConfigError("config data.valid_fraction: must be in [0, 1)")
    if not 0.0 <= config.data.test_fraction < 1.0:
        raise ConfigError("config data.test_fraction: must be in [0, 1)")
    if config.data.valid_fraction + config.data.test_fraction >= 1.0:
        raise ConfigError("config data.valid_fraction + data.test_fraction: must leave records to train on")
    if config.data.split not in SPLITS:
        raise ConfigError(f"config data.split: choose {', '.join(SPLITS)}")
    if config.data.on_invalid not in ("error", "skip"):
        raise ConfigError("config data.on_invalid: choose error or skip")
    if config.data.standardize not in STANDARDIZE:
        raise ConfigError(f"config data.standardize: choose {', '.join(STANDARDIZE)}")
    positive = {
        "train.epochs": config.train.epochs,
        "train.batch_tokens": config.train.batch_tokens,
        "train.batch_size": config.train.batch_size,
        "train.test_views": config.train.test_views,
        "model.hidden": config.model.hidden,
        "model.layers": config.model.layers,
        "model.conv_pool": config.model.conv_pool,
    }
    for key, value in positive.items():
        if value < 1:
            raise ConfigError(f"config {key}: must be at least 1")


def dump_config(config: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
