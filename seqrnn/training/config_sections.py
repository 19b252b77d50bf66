"""The sections of a run config as dataclasses, one per YAML section (:mod:`seqrnn.training.config`
loads, checks and saves them; docs/configuration.md lists every key)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from seqrnn.models import ModelConfig


@dataclass
class DatasetConfig:
    """The ``dataset:`` section: which public dataset ``data.train`` holds, for the model's provenance.

    Stored with the run's config in the model bundle, so a model names its data by dataset, source and
    checksum rather than by where the file lay on the machine that trained it. All keys are optional.
    """

    name: str = ""  # e.g. "MoleculeNet BBBP"
    url: str = ""  # where the file is published
    sha256: str = ""  # of the training file (what the bundle's data fingerprint is for a single file)
    licence: str = ""  # terms of use, as the source states them


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
    format: str | None = None  # fasta | smi | sdf | csv | tsv | bed; None: from the file extension
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
    # Residue heads: the width of the head's own bidirectional GRU over the front end's features (the
    # convolution output), joined to the shared features before the head's layers: a branch that can
    # learn what the trunk was not trained for (disorder on a secondary-structure trunk). None: none.
    branch: int | None = field(default=None, metadata={"range": ">= 1"})


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
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    heads: list[HeadConfig] = field(default_factory=list)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """The config as nested plain dicts and lists (what ``config.yaml`` holds)."""
        return dataclasses.asdict(self)
