"""The prediction path, one named step each: records -> examples -> batches -> model -> outputs -> file.

:func:`predict_to_h5` is what ``seqrnn predict`` and :func:`seqrnn.predict` run:

1. :func:`read_inputs` (:func:`seqrnn.io.formats.chain_inputs`): the input files, in order,
   as :class:`~seqrnn.io.records.Record` s (``--shard`` applied);
2. :func:`record_windows` (:mod:`seqrnn.encoding.examples`): records -> encoded examples, in windows of
   about ``window_tokens`` tokens, so memory is bounded by the window, not by the input;
3. :func:`seqrnn.inference.engine.predict_windows`: each window's token-budget batches
   (:mod:`seqrnn.encoding.examples`) through the model and its heads (:mod:`seqrnn.models`), giving per
   window ``residue[head]`` (R_window, C) and ``sequence[head]`` (N_window, C); the next window is read
   and queued while this one is written;
4. :func:`window_payload`: one window's outputs with the decoded sequences,
   keyed by dataset path;
5. :class:`seqrnn.io.hdf5.RaggedH5Writer`: appended to the predictions file in input order
   (:func:`write_windows`), which appears complete or not at all.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from seqrnn.core.logs import Progress
from seqrnn.core.memory import cap_primitive_caches
from seqrnn.core.runtime import resolve_precision
from seqrnn.encoding.examples import Example, example_windows
from seqrnn.errors import InputError
from seqrnn.inference.engine import PredictOptions, WindowResult, predict_examples, predict_windows
from seqrnn.inference.resume import parts_dir, resumable_payloads
from seqrnn.io.columns import decide
from seqrnn.io.formats import ReadOptions, chain_inputs
from seqrnn.io.hdf5 import DatasetSpec, Layout, RaggedH5Writer, write_skipped
from seqrnn.io.inputs import Skipped, all_skipped_note
from seqrnn.io.outputs import check_writable, provenance
from seqrnn.io.predictions import FORMAT, FORMAT_VERSION
from seqrnn.io.records import Record
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.ensemble import std_heads
from seqrnn.models.heads import Head

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
"""Default seconds between ``progress`` events of :func:`predict_to_h5`."""


@dataclass
class PredictSummary:
    """What a prediction run did: counts, time, skipped and masked records, class mix per head."""

    output: Path | None  # None: written in memory (seqrnn.predict); the open file is ``file``
    n_sequences: int = 0
    n_residues: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    masked: list[tuple[str, int]] = field(default_factory=list)
    windows_predicted: int = 0
    windows_reused: int = 0
    class_fractions: dict[str, dict[str, float]] = field(default_factory=dict)
    # Sequences shorter than half or longer than twice the lengths the model(s) were trained on, and
    # that allowed range (None: the bundle does not record its training lengths).
    off_length: int = 0
    length_range: tuple[int, int] | None = None
    file: h5py.File | None = None  # the in-memory file (output None), open for reading


def predict_to_h5(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    output: str | Path | None,
    options: PredictOptions,
    device: torch.device,
    *,
    read: ReadOptions | None = None,
    records: Iterable[Record] | None = None,
    command: str = "",
    progress: bool = False,
    resume: bool = False,
    heartbeat: float | None = None,
    compression: str | None = None,
) -> PredictSummary:
    """Predict all inputs into one HDF5 file, or into memory when ``output`` is None (the summary's
    ``file``, as :func:`seqrnn.predict` reads it), through the steps in the module docstring.

    ``read``: how the input files are read (formats, columns, genome, shard). ``records``: predict these
    instead of reading ``inputs`` (which then only name them in the file).
    ``compression``: ``"gzip"`` (with the shuffle filter) or None (default). Float probabilities
    hardly compress (gzip level 4 saves about a quarter of the file) and gzip costs more time than
    the rest of writing by an order of magnitude, so it is the caller's choice (``--compress``).

    Progress: with ``progress`` and stderr a terminal, a tqdm bar; and every ``heartbeat`` seconds
    (default :data:`HEARTBEAT_SECONDS`) a ``progress`` event on this module's logger
    (``predict: N sequences, R residues, X residues/s``), shown on the console only where no bar is.

    With ``resume`` every finished window is also kept as a part file (:mod:`seqrnn.inference.resume`);
    a rerun after a crash or kill reuses the parts that match and predicts only the rest, then writes
    the same file an uninterrupted run writes and removes the parts.
    """
    read = read or ReadOptions()
    path = check_writable(output) if output is not None else None
    if resume and path is None:
        raise ValueError("resume needs a predictions file on disk")
    bundle = _prepare(bundle, options)
    summary = PredictSummary(path)
    summary.length_range = _length_range(bundle)
    writer = predictions_writer(bundle, path, compression)
    writer.attrs.update(
        file_attrs(bundle, inputs, read.shard, resolve_precision(options.precision, device), command)
    )
    records = read_inputs(inputs, read) if records is None else records
    windows = record_windows(records, bundle, options, summary.skipped)
    if resume:
        assert path is not None
        payloads = _resumed(bundle, windows, options, device, path, summary)
    else:
        results = predict_windows(bundle, windows, options, device)
        payloads = (_payload(bundle, result) for result in results)
    start = time.perf_counter()
    interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    bar = Progress("predict", "seq", enabled=progress, interval=interval, log=logger, rates=("residues",))
    with writer, bar:  # the bar closes on errors too
        write_windows(writer, payloads, bundle, summary, bar)
        if summary.n_sequences == 0 and read.shard is None:
            # An empty shard is a valid (empty) result: N may exceed the number of records.
            raise InputError(
                "no sequences to predict" + all_skipped_note(summary.skipped),
                source=", ".join(map(str, inputs)),
            )
        writer.attrs.update(n_skipped=len(summary.skipped), n_off_length=summary.off_length)
        write_skipped(writer, [(s.index, s.record, s.reason) for s in summary.skipped])
        writer.attrs.update(input_attrs(read))  # so `seqrnn export -f csv` can re-read the input rows
        writer.attrs["n_masked"] = len(summary.masked)
    if resume and path is not None:
        shutil.rmtree(parts_dir(path), ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    summary.file = writer.file if path is None else None
    return summary


def read_inputs(inputs: Sequence[str | Path], read: ReadOptions) -> Iterator[Record]:
    """Step 1: the records of the input files in order (:func:`seqrnn.io.formats.chain_inputs`)."""
    return chain_inputs(inputs, read)


def record_windows(
    records: Iterable[Record], bundle: ModelBundle, options: PredictOptions, skipped: list[Skipped]
) -> Iterator[list[Example]]:
    """Step 2: records -> windows of encoded examples (with the model's test-time views); records left
    out under ``on_invalid="skip"`` are appended to ``skipped``."""
    return example_windows(
        records,
        bundle.encoder,
        window_tokens=options.window_tokens,
        on_invalid=options.on_invalid,
        views=bundle.views(options.test_views),
        skipped=skipped,
    )


def write_windows(
    writer: RaggedH5Writer,
    payloads: Iterable[dict[str, Any]],
    bundle: ModelBundle,
    summary: PredictSummary,
    bar: Progress,
) -> None:
    """Step 5: append each window's payload to the open ``writer`` and count it into ``summary``
    (sequences, residues, masked letters, lengths far from training, the class mix per residue head)."""
    heads = bundle.model.heads
    counts = {n: np.zeros(len(h.classes)) for n, h in heads.items() if h.level == "residue"}
    cuts = {n: h.spec.threshold for n, h in heads.items()}  # the class mix calls as export does
    for payload in payloads:
        writer.append(**payload)
        for key, arr in payload["residue"].items():
            if not key.endswith("/std"):
                head = key[len("residue/") : key.rfind("/")]
                counts[head] += np.bincount(decide(arr, cuts.get(head)), minlength=arr.shape[1])
        lengths = payload["lengths"]
        summary.n_sequences += len(payload["ids"])
        summary.n_residues += int(lengths.sum())
        summary.masked += [
            (r, int(n)) for r, n in zip(payload["ids"], payload["sequence"]["masked"], strict=True) if n
        ]
        if summary.length_range is not None:
            lo, hi = summary.length_range
            summary.off_length += int(((lengths < lo) | (lengths > hi)).sum())
        bar.advance(len(payload["ids"]), sequences=summary.n_sequences, residues=summary.n_residues)
    for name, c in counts.items():
        classes = heads[name].classes
        summary.class_fractions[name] = {
            k: float(v / max(c.sum(), 1)) for k, v in zip(classes, c, strict=True)
        }


def predictions_writer(
    bundle: ModelBundle, output: Path | None, compression: str | None = None
) -> RaggedH5Writer:
    """A new writer with the predictions layout of ``bundle`` (an ensemble's also holds the std over
    members beside each mean), writing ``output``, or in memory when ``output`` is None (never
    compressed: it is read back at once)."""
    return RaggedH5Writer(output, {}, *_layout(bundle), compression=compression if output else None)


def _prepare(bundle: ModelBundle, options: PredictOptions) -> ModelBundle:
    """Step 0: the bundle as this run applies it (``options.standardize`` for SMILES models,
    ``options.members`` for ensembles)."""
    cap_primitive_caches()
    bundle = options.applied_to(bundle)
    if bundle.encoder.name == "smiles":
        from seqrnn.encoding.chem import note_without_rdkit

        # Once: validity and canonical form cannot be checked without RDKit (through the logger, so
        # library callers see nothing unless they route seqrnn's logging).
        note_without_rdkit(lambda message: logger.warning("seqrnn: %s", message))
    return bundle


def _length_range(bundle: ModelBundle) -> tuple[int, int] | None:
    trained = bundle.trained_lengths()
    return None if trained is None else (max(1, trained[0] // 2), trained[1] * 2)


def _layout(bundle: ModelBundle) -> Layout:
    return dataset_layout(bundle.model.heads, std=std_heads(bundle.model))


def _payload(bundle: ModelBundle, result: WindowResult) -> dict[str, Any]:
    """Step 4: one window's outputs with the sequences decoded, keyed by dataset path."""
    sequences = [bundle.encoder.decode(e.tokens) for e in result.examples]
    return window_payload(bundle.model.heads, result, sequences)


def _resumed(
    bundle: ModelBundle,
    windows: Iterator[list[Example]],
    options: PredictOptions,
    device: torch.device,
    output: Path,
    summary: PredictSummary,
) -> Iterator[dict[str, Any]]:
    counts = {"predicted": 0, "reused": 0}
    predict = partial(_predicted_payload, bundle, options, device)
    yield from resumable_payloads(windows, predict, _layout(bundle), bundle.sha256, output, counts)
    summary.windows_predicted, summary.windows_reused = counts["predicted"], counts["reused"]


def _predicted_payload(
    bundle: ModelBundle, options: PredictOptions, device: torch.device, window: list[Example]
) -> dict[str, Any]:
    return _payload(bundle, predict_examples(bundle, window, options, device))


# The predictions file: datasets, provenance, one window of decoded outputs (layout: seqrnn.io.predictions)


def dataset_key(name: str, head: Head, std: bool = False) -> str:
    """Where head ``name``'s outputs live: ``residue/<name>/probs``, ``sequence/<name>/values``, ...
    (``<model>/<head>`` names of several models nest one group per model); ``std``: an ensemble's std
    over members, ``<level>/<name>/std``."""
    return f"{head.level}/{name}/{'std' if std else head.output}"


def dataset_layout(heads: Mapping[str, Head], std: Collection[str] = ()) -> Layout:
    """The datasets of a predictions file for these heads (by name); the heads named in ``std`` (an
    ensemble's) get a ``std`` beside each mean."""
    residue: dict[str, DatasetSpec] = {}
    # The sequence as the model saw it (after the input policy), aligned with the residue axis.
    sequence: dict[str, DatasetSpec] = {
        "sequences": DatasetSpec(None, h5py.string_dtype("utf-8")),
        # Position of each record in the (concatenated) input; merging shards restores this order.
        "record_index": DatasetSpec(None, np.int64),
        # Letters replaced by the unknown letter (X / N) under --on-invalid mask; 0 for clean records.
        "masked": DatasetSpec(None, np.int32),
    }
    for name, head in heads.items():
        spec = DatasetSpec(
            len(head.classes), np.float32, {head.label_attr: np.array(head.classes, dtype="S")}
        )
        spec.attrs["kind"] = head.kind
        level = residue if head.level == "residue" else sequence
        if head.spec.threshold is not None:
            spec.attrs["threshold"] = head.spec.threshold  # the CSV export's class call uses it
        level[dataset_key(name, head)] = spec
        if name in std:
            level[dataset_key(name, head, std=True)] = DatasetSpec(spec.columns, spec.dtype, dict(spec.attrs))
    return residue, sequence


def file_attrs(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    shard: tuple[int, int] | None,
    precision: str,
    command: str,
) -> dict[str, Any]:
    """The provenance attributes of a predictions file (model, inputs, command, precision, time)."""
    attrs: dict[str, Any] = {
        **provenance(FORMAT, FORMAT_VERSION, command),
        "model_name": bundle.name,
        "model_sha256": bundle.sha256,
        "model_version": bundle.version,
    }
    models = bundle.metadata.get("model_set")
    if models:  # several models side by side: each one's name, sha256 and version
        for key in ("name", "sha256", "version"):
            attrs[f"models_{key}"] = np.array([m[key] for m in models], dtype="S")
    members = bundle.metadata.get("ensemble")
    if members:
        attrs["model_members"] = np.array([m["model"] for m in members], dtype="S")
        attrs["model_members_sha256"] = np.array([m["sha256"] for m in members], dtype="S")
    policy = getattr(bundle.encoder, "standardize", None)
    if policy is not None:  # SMILES: how the molecules in sequence/sequences were standardised
        attrs["standardize"] = policy
    attrs.update(
        inputs=np.array([str(p) for p in inputs], dtype="S"),
        shard="{}/{}".format(*(shard or (1, 1))),
        precision=precision,
    )
    return attrs


def input_attrs(read: ReadOptions) -> dict[str, str]:
    """How the inputs were read, so ``seqrnn export -f csv`` can put predictions next to their rows."""
    return {
        "input_format": read.fmt or "",
        "sequence_column": read.sequence_column or "",
        "id_column": read.id_column or "",
        "genome": read.genome or "",
    }


def window_payload(
    heads: Mapping[str, Head], result: WindowResult, sequences: Sequence[str]
) -> dict[str, Any]:
    """One window of decoded outputs as :meth:`RaggedH5Writer.append` arguments.

    ``result.residue[head]`` (R_window, C) and ``result.sequence[head]`` (N_window, C), keyed by head
    name; an ensemble's ``residue_std``/``sequence_std`` (same shapes) go to the ``std`` datasets;
    ``sequences`` are the examples' sequences as the model saw them (decoded tokens).
    """
    examples = result.examples
    return {
        "ids": [e.id for e in examples],
        "lengths": np.array([e.tokens.size for e in examples], dtype=np.int64),
        "residue": {
            **{dataset_key(n, heads[n]): a for n, a in result.residue.items()},
            **{dataset_key(n, heads[n], std=True): a for n, a in result.residue_std.items()},
        },
        "sequence": {
            "sequences": np.array(sequences, dtype=object),
            "record_index": np.array([e.index for e in examples], dtype=np.int64),
            "masked": np.array([e.masked for e in examples], dtype=np.int32),
            **{dataset_key(n, heads[n]): a for n, a in result.sequence.items()},
            **{dataset_key(n, heads[n], std=True): a for n, a in result.sequence_std.items()},
        },
    }
