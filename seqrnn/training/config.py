"""Run configuration: one YAML file describes a whole training run (Selene-style).

Sections: top-level ``name``, ``seed``, ``encoder``, ``output_dir``; ``data`` (paths and columns),
``heads`` (list of task heads), ``model`` (:class:`seqrnn.models.ModelConfig`), ``train`` (optimiser,
schedule, early stopping). Validation is strict: an unknown key or a wrong type is a one-line
:class:`ConfigError`. ``--set a.b=value`` overrides any key (values parsed as YAML; list items by index,
e.g. ``heads.0.columns=[dssp8]``). The resolved config is saved next to the run's outputs.

Every numeric key declares its allowed range next to its field, ``field(metadata={"range": RULE})`` with
RULE one of ``"> a"``, ``">= a"``, ``"< a"``, ``"<= a"`` or an interval such as ``"[0, 1)"``; loading
checks them all (:func:`seqrnn.training.config_parse.check_ranges`). Optional keys (``X | None``) take ``none`` as well as YAML's
``null``, because the documentation writes their defaults that way. Whatever a head kind allows (label
columns, cropping, augmentation, pooling, generated negatives, monitored metrics) is asked of the head
class (:mod:`seqrnn.models.heads`), so the whole config is checked before any data is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqrnn.errors import ConfigError
from seqrnn.io.files import atomic_write_text
from seqrnn.models import HEADS, ModelConfig
from seqrnn.models.decisions import CRITERIA
from seqrnn.training.config_parse import apply_override, build_section


@dataclass
class DataConfig:
    """The ``data:`` section: which files hold the records, how they are read, screened and split."""

    train: str = ""  # training records: any input format (seqrnn.io.formats)
    # Or one file per class, {class: file}: each record gets its file's class in ``class_column``.
    class_files: dict[str, str] = field(default_factory=dict)
    class_column: str = "label"  # the label field that class_files fill (a head's column)
    valid: str | None = None  # validation file; without it ``valid_fraction`` of ``train`` is held out
    valid_fraction: float = field(default=0.1, metadata={"range": "[0, 1)"})
    test: str | None = None  # held-out test file; without it ``test_fraction`` of ``train`` is held out
    # Scored once, with the best model, into test_metrics.json.
    test_fraction: float = field(default=0.0, metadata={"range": "[0, 1)"})
    split: str = "random"  # random | scaffold | scaffold_balanced (Bemis-Murcko, needs RDKit)
    # None: the run's seed; fix it to train ensemble members on one split.
    split_seed: int | None = field(default=None, metadata={"range": ">= 0"})
    on_invalid: str = "error"  # error | skip (skipped records are listed in rejected.tsv)
    standardize: str = "none"  # SMILES: none | canonical | largest_fragment (needs RDKit)
    format: str | None = None  # fasta | smi | csv | tsv | bed; None: from the file extension
    genome: str | None = None  # genome FASTA for BED inputs (indexed with pyfaidx)
    sequence_column: str | None = None  # tables; None: the first known name (seq, sequence, smiles, ...)
    id_column: str | None = None  # tables; None: a usual id column (id, name, EventID, ...) if present
    mask_columns: list[str] = field(default_factory=list)  # per-residue columns: score only where all are 1
    # Cap for quick runs; None = all.
    max_records: int | None = field(default=None, metadata={"range": ">= 1"})
    negatives: str | None = None  # dinucleotide_shuffle: add one shuffled negative per positive (DeepBind)
    negative_label: str = "0"  # label the generated negatives get (and positives do not have)


@dataclass
class HeadConfig:
    """One ``heads:`` entry: a task head, its kind (a :data:`seqrnn.models.HEADS` name), label columns."""

    name: str = ""  # unique; names the head's outputs, metrics and HDF5 datasets
    kind: str = ""  # residue_classification | sequence_classification | sequence_multilabel | ...
    columns: list[str] = field(default_factory=list)  # label column(s) of the data
    classes: list[str] | None = None  # inferred from training data when absent
    loss_weight: float = field(default=1.0, metadata={"range": ">= 0"})  # weight in the summed loss
    # Cross-entropy label smoothing; the config rejects it for kinds that do not apply it.
    label_smoothing: float = field(default=0.0, metadata={"range": "[0, 1]"})
    # Two-class heads: call the second class at probability >= threshold instead of argmax; "auto" (=
    # "youden": best sensitivity + specificity) or "mcc": chosen on the validation set after training.
    threshold: float | str | None = field(default=None, metadata={"range": "(0, 1)"})
    # Residue heads: score only where these per-residue columns are all 1; None: ``data.mask_columns``;
    # []: every residue (e.g. a disorder head trained on the column that masks the others).
    mask_columns: list[str] | None = None
    # Classification heads: {LABEL_VALUE: CLASS}, e.g. {"1.0": ordered, "0.0": disordered}; values not
    # listed are read as they are.
    labels: dict[str, str] = field(default_factory=dict)
    # This head's hidden layer (0 = linear); None: ``model.head_hidden``, as every head by default.
    hidden: int | None = field(default=None, metadata={"range": ">= 0"})


@dataclass
class TrainConfig:
    """The ``train:`` section: optimiser, schedule, batching, early stopping, device, augmentation."""

    epochs: int = field(default=20, metadata={"range": ">= 1"})
    # Padded positions (longest length x sequences) per batch, at most.
    batch_tokens: int = field(default=16000, metadata={"range": ">= 1"})
    batch_size: int = field(default=64, metadata={"range": ">= 1"})  # sequences per batch, at most
    lr: float = field(default=1e-3, metadata={"range": "> 0"})
    weight_decay: float = field(default=0.01, metadata={"range": ">= 0"})
    scheduler: str = "cosine"  # cosine | constant
    warmup_steps: int = field(default=100, metadata={"range": ">= 0"})
    clip_grad_norm: float = field(default=1.0, metadata={"range": "> 0"})
    monitor: str | None = None  # e.g. "ss8/accuracy"; default: the first head's main metric
    # Epochs without improvement before stopping; 0 would stop before the first epoch.
    patience: int = field(default=5, metadata={"range": ">= 1"})
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = field(default=None, metadata={"range": ">= 1"})  # CPU threads; None: torch's choice
    # torchrun runs: how long a process waits in a collective before the job fails. Rank 0 validates and
    # writes checkpoints alone while the others wait at a barrier, so this must outlast one validation
    # (torch's own defaults, 10 min for NCCL and 30 for gloo, can end a large run there).
    dist_timeout_minutes: float = field(default=60.0, metadata={"range": "> 0"})
    # Cap on the batches of one epoch (quick runs); None: all.
    max_steps_per_epoch: int | None = field(default=None, metadata={"range": ">= 1"})
    # Residue-level tasks: train on random windows of long chains.
    crop_length: int | None = field(default=None, metadata={"range": ">= 1"})
    precision: str = "fp32"  # fp32 | bf16 (autocast for the forward pass; weights and optimiser stay fp32)
    augment: str | None = None  # seqrnn.encoding.augment name, e.g. reverse_complement, smiles_enumeration
    # Chance that a training example is replaced by a random view each epoch.
    augment_prob: float = field(default=0.5, metadata={"range": "[0, 1]"})
    # Views averaged at validation and prediction (1 = none); stored in the bundle.
    test_views: int = field(default=1, metadata={"range": ">= 1"})
    # Fine-tuning: before epoch 1, copy every weight of this model (file or built-in name) whose name
    # and shape match; new heads keep their initialisation. Ignored on --resume.
    init_from: str | None = None
    # Parameters kept fixed (name prefixes: embed, convs, rnn, heads.NAME), e.g. to add a head to a
    # model without changing its other outputs. Applies to resumed runs too.
    freeze: list[str] = field(default_factory=list)
    # Knowledge distillation (seqrnn.training.distill): teachers (files or built-in names; several are
    # averaged) whose probabilities the classification heads learn too, with this weight (0: labels only).
    distill_from: list[str] = field(default_factory=list)
    distill_weight: float = field(default=0.5, metadata={"range": "[0, 1]"})


@dataclass
class RunConfig:
    """A whole training run: the top level of the YAML file, with one dataclass per section."""

    name: str = "model"
    seed: int = field(default=0, metadata={"range": ">= 0"})  # numpy seeds must not be negative
    encoder: str = "protein"  # protein | dna | smiles
    output_dir: str = "runs/model"  # the run directory (seqrnn.training.run_files)
    description: str = ""  # free text stored in the model bundle
    data: DataConfig = field(default_factory=DataConfig)
    heads: list[HeadConfig] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """The config as nested plain dicts and lists (what ``config.yaml`` holds)."""
        return dataclasses.asdict(self)


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config.

    Args:
        path: the YAML file; None: start from the defaults (overrides only).
        overrides: ``--set`` items, ``"a.b=value"`` (see :func:`apply_override`), applied in order.

    Raises :class:`ConfigError` for an unreadable file, invalid YAML, a top level that is not a mapping,
    an unknown key, a wrong type, a value out of range or keys that do not fit together.
    """
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
    config = build_section(RunConfig, raw, "")
    _check(config)
    return config


def config_from_mapping(raw: Any, overrides: list[str] | None = None) -> RunConfig:
    """:func:`load_config` for a config given as a mapping (the parsed YAML), e.g. from Python.

    The same ``--set`` overrides and the same validation apply; ``raw`` itself is not modified.
    """
    import copy

    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a mapping of keys to values, not {type(raw).__name__}")
    raw = copy.deepcopy(raw)
    for item in overrides or []:
        apply_override(raw, item)
    config = build_section(RunConfig, raw, "")
    _check(config)
    return config


def _check(config: RunConfig) -> None:
    """Checks across keys and against the registries (ranges were checked while building)."""
    from seqrnn.encoding.chem import STANDARDIZE
    from seqrnn.encoding.encoders import ENCODERS
    from seqrnn.models import CELLS
    from seqrnn.training.splits import SPLITS

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
    kinds = {h.name: HEADS.get(h.kind) for h in config.heads}
    if config.model.input not in ("auto", "embedding", "onehot"):
        raise ConfigError("config model.input: choose auto, embedding or onehot")
    if config.train.scheduler not in ("cosine", "constant"):
        raise ConfigError("config train.scheduler: choose cosine or constant")
    if config.train.crop_length is not None:
        sequence_heads = [name for name, cls in kinds.items() if not cls.allows_crop]
        if sequence_heads:
            raise ConfigError(
                f"config train.crop_length: cropping would change the labels of sequence heads {sequence_heads}"
            )
    if config.model.conv_pool > 1:
        if not config.model.conv_channels:
            raise ConfigError(
                "config model.conv_pool: pooling needs a convolutional front end (conv_channels)"
            )
        residue_heads = [name for name, cls in kinds.items() if not cls.allows_conv_pool]
        if residue_heads:
            raise ConfigError(f"config model.conv_pool: pooling would misalign residue heads {residue_heads}")
    if config.train.precision not in ("fp32", "bf16"):
        raise ConfigError("config train.precision: choose fp32 or bf16")
    if config.train.augment is not None:
        from seqrnn.encoding.augment import AUGMENTATIONS

        AUGMENTATIONS.get(config.train.augment)
        residue_heads = [name for name, cls in kinds.items() if not cls.allows_augment]
        if residue_heads:
            raise ConfigError(
                f"config train.augment: augmented views would move the labels of residue heads {residue_heads}"
            )
    if config.train.test_views > 1 and config.train.augment is None:
        raise ConfigError("config train.test_views: averaging views needs train.augment")
    if config.train.monitor is not None:
        # Checked here, before any data is read, against what each head kind reports; a head whose
        # classes are inferred later allows every metric its kind may report.
        check_monitor(
            config.train.monitor,
            [(h.name, h.kind, len(h.classes) if h.classes else None) for h in config.heads],
        )
    if config.data.negatives is not None:
        from seqrnn.training.negatives import NEGATIVES

        NEGATIVES.get(config.data.negatives)
        if config.encoder != "dna":
            raise ConfigError("config data.negatives: shuffled negatives are made for DNA (encoder: dna)")
        others = [name for name, cls in kinds.items() if not cls.allows_negatives]
        if others:
            allowed = [k for k in HEADS if HEADS.get(k).allows_negatives]
            raise ConfigError(f"config data.negatives: heads {others} are not {' or '.join(allowed)}")
    _check_class_files(config)
    if config.data.valid_fraction + config.data.test_fraction >= 1.0:
        raise ConfigError("config data.valid_fraction + data.test_fraction: must leave records to train on")
    if config.data.split not in SPLITS:
        raise ConfigError(f"config data.split: choose {', '.join(SPLITS)}")
    if config.data.on_invalid not in ("error", "skip"):
        raise ConfigError("config data.on_invalid: choose error or skip")
    if config.data.standardize not in STANDARDIZE:
        raise ConfigError(f"config data.standardize: choose {', '.join(STANDARDIZE)}")


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


def dump_config(config: RunConfig, path: Path) -> None:
    """Write the resolved config to ``path`` as YAML, keys in field order."""
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))


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
