"""Training data, in two phases around building the model.

1. :func:`build_splits`: read (``data.train``, or ``data.class_files``: one file per class, each record
   labelled with its file's class by :func:`seqrnn.io.inputs.labelled_by_file`) -> screen (encoder policy; ``data.on_invalid``) -> split into train,
   valid and test (random or scaffold, seeded; :mod:`seqrnn.training.splits`) -> add generated negatives
   (DNA: dinucleotide shuffles of each part's own positives).
2. :func:`build_encoder_and_specs` fits the encoder (SMILES vocabulary) and the head specs (classes,
   regression statistics) on the training part; the model is built from them; then
   :func:`build_datasets` turns every record into a finished :class:`~seqrnn.encoding.examples.Example`
   with its targets (validation and test examples carry the test-time views prediction averages).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seqrnn.encoding.augment import Augmentation
from seqrnn.encoding.chem import check_standardize, note_without_rdkit, require_rdkit
from seqrnn.encoding.encoders import Encoder, build_encoder
from seqrnn.encoding.examples import NO_VIEWS, Example, prepare_example
from seqrnn.errors import ConfigError, EncodingError, InputError
from seqrnn.io.formats import ReadOptions, read_records
from seqrnn.io.inputs import labelled_by_file
from seqrnn.io.records import Record
from seqrnn.models.heads import Head, specs_from_records
from seqrnn.training.config import RunConfig
from seqrnn.training.negatives import shuffled_negatives
from seqrnn.training.splits import split_indices


@dataclass
class SplitRecords:
    """The records of each part, how they were split, and the records set aside."""

    train: list[Record]
    valid: list[Record]
    test: list[Record]
    split: dict[str, Any]  # method, seed and part sizes, as run.json and the bundle record them
    rejected: list[tuple[Record, str]]  # (record, reason) under data.on_invalid=skip

    def rows(self) -> list[tuple[str, str, int, str]]:
        """``split.tsv`` rows: (part, file, 1-based row, id) of every record."""
        parts = (("train", self.train), ("valid", self.valid), ("test", self.test))
        return [(part, rec.source, rec.index + 1, rec.id) for part, records in parts for rec in records]


@dataclass
class Datasets:
    """Encoded examples of each part; ``train_texts`` only when training draws augmented views."""

    train: list[Example]
    valid: list[Example]
    test: list[Example]
    train_texts: list[str]


def build_splits(config: RunConfig, log: Callable[[str], None]) -> SplitRecords:
    """Read, screen and split the configured data (see the module docstring)."""
    checker = _probe_encoder(config, log)
    rejected: list[tuple[Record, str]] = []
    train = _screen(_read_train(config), checker, config, rejected)
    valid = _screen(_read(config.data.valid, config), checker, config, rejected) if config.data.valid else []
    test = _screen(_read(config.data.test, config), checker, config, rejected) if config.data.test else []
    split_seed = split_seed_of(config)
    split: dict[str, Any] = {"method": config.data.split, "seed": split_seed}
    held_out = {
        "valid": 0.0 if config.data.valid else config.data.valid_fraction,
        "test": 0.0 if config.data.test else config.data.test_fraction,
    }
    if not config.data.valid or held_out["test"] > 0:
        smiles = None
        if config.data.split != "random":
            smiles = [checker.prepare(r.text) for r in train]  # type: ignore[attr-defined]
        tr, va, te = split_indices(
            len(train),
            held_out["valid"],
            held_out["test"],
            split_seed,
            config.data.split,
            smiles,
            min_valid=0 if config.data.valid else 1,
        )
        if not tr:
            raise InputError("too few records to take a validation split", source=train_source(config))
        if not va and not valid:
            raise InputError(
                f"the {config.data.split} split left no validation records (one scaffold group holds "
                "most molecules); use data.split=random or more data",
                source=train_source(config),
            )
        valid += [train[i] for i in va]
        test += [train[i] for i in te]
        train = [train[i] for i in tr]
    if config.data.negatives:
        # Each side of the split gets the shuffles of its own positives: no shared sequence content.
        columns = [c for h in config.heads for c in h.columns]
        start = max(r.index for r in [*train, *valid, *test]) + 1
        added = []
        for part in (train, valid, test):
            negatives = shuffled_negatives(part, columns, config.data.negative_label, config.seed, start)
            start += len(negatives)
            added.append(negatives)
        train, valid, test = train + added[0], valid + added[1], test + added[2]
        log(
            f"data: added {len(added[0])} + {len(added[1])} + {len(added[2])} dinucleotide-shuffled negatives"
        )
    split.update(train=len(train), valid=len(valid), test=len(test), rejected=len(rejected))
    return SplitRecords(train, valid, test, split, rejected)


def require_training_data(config: RunConfig) -> None:
    """ConfigError unless the config names training data (``data.train`` or ``data.class_files``)."""
    if not config.data.train and not config.data.class_files:
        raise ConfigError(
            "config data.train or data.class_files: the training data is required "
            "(e.g. --set data.train=x.csv, or --class-file CLASS=FILE per class)"
        )


def data_files(config: RunConfig) -> list[str]:
    """Every data file of the run in reading order (what the data fingerprint covers)."""
    train = [config.data.train] if config.data.train else list(config.data.class_files.values())
    return train + [p for p in (config.data.valid, config.data.test) if p]


def train_source(config: RunConfig) -> str:
    """The training file(s), as error messages name them."""
    return config.data.train or ", ".join(config.data.class_files.values())


def split_seed_of(config: RunConfig) -> int:
    """The split's seed: ``data.split_seed``, else the run's seed."""
    return config.seed if config.data.split_seed is None else config.data.split_seed


def build_encoder_and_specs(
    config: RunConfig, parts: SplitRecords, augmentation: Augmentation | None
) -> tuple[Encoder, list[dict[str, Any]]]:
    """The encoder (a SMILES vocabulary is fitted on the training part) and the head specs."""
    encoder = build_encoder(
        config.encoder,
        (r.text for r in parts.train),
        standardize=config.data.standardize,
        # Seeded by the split: ensemble members of one split get one vocabulary.
        extra=vocabulary_views(parts.train, augmentation, split_seed_of(config))
        if config.encoder == "smiles"  # a fitted vocabulary; fixed alphabets need no views
        else (),
    )
    # Each head kind builds its own spec; the JSON dicts go into checkpoints and bundles as they are.
    specs = [spec.to_dict() for spec in specs_from_records(config.heads, parts.train)]
    return encoder, specs


def build_datasets(
    config: RunConfig,
    parts: SplitRecords,
    encoder: Encoder,
    heads: Sequence[Head],
    augmentation: Augmentation | None,
) -> Datasets:
    """Every record as a finished example with its targets (errors name file and record)."""
    mask_cols = config.data.mask_columns
    # Validation and test examples carry the test-time views that prediction will average.
    views = (
        (augmentation, config.train.test_views)
        if augmentation is not None and config.train.test_views > 1
        else NO_VIEWS
    )

    def examples(records: list[Record], with_views: bool) -> list[Example]:
        chosen = views if with_views else NO_VIEWS
        return [
            prepare_example(r, encoder, views=chosen, heads=heads, mask_columns=mask_cols) for r in records
        ]

    return Datasets(
        examples(parts.train, False),
        examples(parts.valid, True),
        examples(parts.test, True),
        # Texts are kept only when training draws fresh augmented views of them every epoch.
        [r.text for r in parts.train] if augmentation is not None else [],
    )


def file_fingerprint(paths: Sequence[str]) -> str:
    """``sha256:<hex>`` over the bytes of the data files, in order (recorded in run.json and bundles)."""
    digest = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def vocabulary_views(
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


def _read_train(config: RunConfig) -> list[Record]:
    """The training records: ``data.train``, or every ``data.class_files`` file labelled with its class
    (``data.max_records`` then caps each file, so that every class is read)."""
    if config.data.train:
        return _read(config.data.train, config)
    options = ReadOptions(
        fmt=config.data.format,
        sequence_column=config.data.sequence_column,
        id_column=config.data.id_column,
        genome=config.data.genome,
    )
    records = list(
        labelled_by_file(config.data.class_files, config.data.class_column, options, config.data.max_records)
    )
    if not records:
        raise InputError("no training records", source=train_source(config))
    return records


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
