"""The prediction loop: records -> finished examples -> windows -> model -> heads -> HDF5 file.

Records are read in windows (``window_tokens`` residues at most; :func:`seqrnn.encoding.examples.example_windows`),
each window is predicted by :mod:`seqrnn.inference.engine` and appended to the predictions file
(:mod:`seqrnn.io.predictions`) in input order, so memory is bounded by the window, not by the input.
The next window is read and queued while the current one is written.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from seqrnn.core.logs import Progress
from seqrnn.core.memory import cap_primitive_caches
from seqrnn.core.runtime import resolve_precision
from seqrnn.encoding.examples import Example, example_windows
from seqrnn.errors import InputError, UsageError
from seqrnn.inference.engine import PredictOptions, WindowResult, predict_examples, predict_windows
from seqrnn.inference.layout import Layout, dataset_layout, file_attrs, window_payload
from seqrnn.io.files import unstaged
from seqrnn.io.hdf5 import RaggedH5Writer, write_skipped
from seqrnn.io.inputs import Skipped, all_skipped_note, chain_inputs
from seqrnn.io.outputs import OutputPlan, check_writable
from seqrnn.io.records import Record
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.decisions import decide
from seqrnn.models.ensemble import std_heads

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
"""Default seconds between ``progress`` events of :func:`predict_to_h5`."""


@dataclass
class PredictSummary:
    """What a prediction run did: counts, time, skipped and masked records, class mix per head."""

    output: Path | None  # None: written in memory (seqrnn.predict)
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


def _windows(
    records: Iterable[Record], bundle: ModelBundle, options: PredictOptions, skipped: list[Skipped]
) -> Iterator[list[Example]]:
    return example_windows(
        records,
        bundle.encoder,
        window_tokens=options.window_tokens,
        on_invalid=options.on_invalid,
        views=bundle.views(options.test_views),
        skipped=skipped,
    )


def iter_predictions(
    bundle: ModelBundle,
    records: Iterable[Record],
    options: PredictOptions,
    device: torch.device,
    skipped: list[Skipped] | None = None,
) -> Iterator[WindowResult]:
    """Predict records window by window, in input order (no file written).

    Records left out under ``on_invalid="skip"`` are appended to ``skipped``.
    """
    skipped = [] if skipped is None else skipped
    yield from predict_windows(bundle, _windows(records, bundle, options, skipped), options, device)


def plan_outputs(
    inputs: Sequence[str | Path],
    output: str | Path,
    exports: Sequence[str] = (),
    genome: str | Path | None = None,
    models: Sequence[str] = (),
) -> OutputPlan:
    """The output plan of a prediction (not yet checked): the HDF5 file and each export
    (:func:`seqrnn.inference.export.export_path`) against the inputs, their genome and the model files; an
    unknown export format is a :class:`UsageError`."""
    from seqrnn.inference.export import EXPORT_FORMATS, export_path

    for kind in exports:
        if kind not in EXPORT_FORMATS:
            raise UsageError(f"--export {kind!r}: choose from {', '.join(EXPORT_FORMATS)}")
    plan = OutputPlan().read("input", *inputs).read_genome(genome).read_model(*models)
    plan.write("predictions file", output)
    for kind in exports:
        plan.write(f"{kind} export", export_path(output, kind), directory=kind in ("ss2", "horiz"))
    return plan


def predict_to_h5(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    output: str | Path,
    options: PredictOptions,
    device: torch.device,
    command: str = "",
    progress: bool = False,
    resume: bool = False,
    heartbeat: float | None = None,
    records: Iterable[Record] | None = None,
    compression: str | None = None,
) -> PredictSummary:
    """Predict all inputs into one HDF5 file.

    ``records``: predict these instead of reading ``inputs`` (which then only name them in the file).
    ``compression``: ``"gzip"`` (with the shuffle filter) or None (default). Float probabilities
    hardly compress (gzip level 4 saves about a quarter of the file) and gzip costs more time than
    the rest of writing by an order of magnitude, so it is the caller's choice (``--compress``).

    Progress: with ``progress`` and stderr a terminal, a tqdm bar; and every ``heartbeat`` seconds
    (default :data:`HEARTBEAT_SECONDS`) a ``progress`` event on the ``seqrnn.inference.pipeline`` logger
    (``predict: N sequences, R residues, X residues/s``), shown on the console only where no bar is.

    With ``resume`` every finished window is also kept as a part file in ``.<output>.parts/``; a rerun
    after a crash or kill reuses the parts that match (same model, same records) and predicts only the
    rest, then assembles the same file an uninterrupted run writes and removes the parts.
    """
    output = check_writable(output)
    writer = predictions_writer(bundle, output, compression)
    return write_predictions(
        writer, bundle, inputs, options, device, command, progress, resume, heartbeat, records
    )


def write_predictions(
    writer: RaggedH5Writer,
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    options: PredictOptions,
    device: torch.device,
    command: str = "",
    progress: bool = False,
    resume: bool = False,
    heartbeat: float | None = None,
    records: Iterable[Record] | None = None,
) -> PredictSummary:
    """What :func:`predict_to_h5` does, into ``writer``: a new (not yet entered) writer from
    :func:`predictions_writer`, on disk or in memory (as :func:`seqrnn.predict` uses it), so both give
    the same file."""
    output = writer.path
    if resume and output is None:
        raise ValueError("resume needs a predictions file on disk")
    cap_primitive_caches()
    if bundle.encoder.name == "smiles":
        from seqrnn.encoding.chem import note_without_rdkit

        # Once: validity and canonical form cannot be checked without RDKit (through the logger, so
        # library callers see nothing unless they route seqrnn's logging).
        note_without_rdkit(lambda message: logger.warning("seqrnn: %s", message))
    precision = resolve_precision(options.precision, device)
    attrs = file_attrs(bundle, inputs, options.read.shard, precision, command)
    summary = PredictSummary(output)
    trained = bundle.trained_lengths()
    if trained is not None:
        summary.length_range = (max(1, trained[0] // 2), trained[1] * 2)
    counts = {n: np.zeros(len(h.classes)) for n, h in bundle.model.heads.items() if h.level == "residue"}
    cuts = {n: h.spec.threshold for n, h in bundle.model.heads.items()}  # the class mix calls as export does
    start = time.perf_counter()
    interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    bar = Progress("predict", "seq", enabled=progress, interval=interval, log=logger, rates=("residues",))
    windows = _windows(
        chain_inputs(inputs, options.read) if records is None else records, bundle, options, summary.skipped
    )
    payloads = (
        _resumable_payloads(bundle, windows, options, device, output, summary)
        if resume
        else (_payload(bundle, r) for r in predict_windows(bundle, windows, options, device))
    )
    writer.attrs.update(attrs)
    with writer, bar:  # the bar closes on errors too
        for payload in payloads:
            writer.append(**payload)
            for key, arr in payload["residue"].items():
                if key.endswith("/std"):
                    continue
                head = key[len("residue/") : key.rfind("/")]
                counts[head] += np.bincount(decide(arr, cuts.get(head)), minlength=arr.shape[1])
            summary.n_sequences += len(payload["ids"])
            for rid, n in zip(payload["ids"], payload["sequence"]["masked"], strict=True):
                if n:
                    summary.masked.append((rid, int(n)))
            summary.n_residues += int(payload["lengths"].sum())
            if summary.length_range is not None:
                lo, hi = summary.length_range
                summary.off_length += int(((payload["lengths"] < lo) | (payload["lengths"] > hi)).sum())
            bar.advance(len(payload["ids"]), sequences=summary.n_sequences, residues=summary.n_residues)
        if summary.n_sequences == 0 and options.read.shard is None:
            # An empty shard is a valid (empty) result: N may exceed the number of records.
            raise InputError(
                "no sequences to predict" + all_skipped_note(summary.skipped),
                source=", ".join(map(str, inputs)),
            )
        writer.attrs["n_skipped"] = len(summary.skipped)
        writer.attrs["n_off_length"] = summary.off_length
        write_skipped(writer, [(s.index, s.record, s.reason) for s in summary.skipped])
        # How the inputs were read, so `seqrnn export -f csv` can put predictions next to their rows.
        writer.attrs["input_format"] = options.read.fmt or ""
        writer.attrs["sequence_column"] = options.read.sequence_column or ""
        writer.attrs["id_column"] = options.read.id_column or ""
        writer.attrs["genome"] = options.read.genome or ""
        writer.attrs["n_masked"] = len(summary.masked)
    if resume:
        shutil.rmtree(_parts_dir(output), ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    for name, c in counts.items():
        classes = bundle.model.heads[name].classes
        summary.class_fractions[name] = {
            k: float(v / max(c.sum(), 1)) for k, v in zip(classes, c, strict=True)
        }
    return summary


def predictions_writer(
    bundle: ModelBundle, output: Path | None, compression: str | None = None
) -> RaggedH5Writer:
    """A new writer with the predictions layout of ``bundle`` (an ensemble's also holds the std over
    members beside each mean), writing ``output``, or in memory when ``output`` is None (never
    compressed: it is read back at once)."""
    return RaggedH5Writer(output, {}, *_layout(bundle), compression=compression if output else None)


def _layout(bundle: ModelBundle) -> Layout:
    return dataset_layout(bundle.model.heads, std=std_heads(bundle.model))


def _payload(bundle: ModelBundle, r: WindowResult) -> dict[str, Any]:
    return window_payload(bundle, r.examples, r.residue, r.sequence, r.residue_std, r.sequence_std)


def _parts_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.parts"


def _resumable_payloads(
    bundle: ModelBundle,
    windows: Iterator[list[Example]],
    options: PredictOptions,
    device: torch.device,
    output: Path,
    summary: PredictSummary,
) -> Iterator[dict[str, Any]]:
    parts = _parts_dir(output)
    parts.mkdir(exist_ok=True)
    layout = _layout(bundle)
    # Every record is read and encoded again on a rerun (cheap next to the model), which rebuilds the
    # same window boundaries and the skip report; only the model calls of finished windows are saved.
    for w, window in enumerate(windows):
        part = parts / f"part{w:06d}.h5"
        first, last = window[0].index, window[-1].index
        payload = read_part(part, layout, bundle.sha256, first, last, len(window))
        if payload is None:
            summary.windows_predicted += 1
            result = predict_examples(bundle, window, options, device)
            payload = _payload(bundle, result)
            write_part(part, payload, layout, bundle.sha256, first, last)
        else:
            summary.windows_reused += 1
        yield payload


# Part files (--resume): one finished window each, in the predictions layout ------------------------


def write_part(
    path: Path, payload: dict[str, Any], layout: Layout, sha256: str, first: int, last: int
) -> None:
    """Keep one finished window (records ``first``..``last`` of the model ``sha256``) for a rerun."""
    attrs = {"model_sha256": sha256, "first_record": first, "last_record": last}
    with unstaged(), RaggedH5Writer(path, attrs, *layout, compression=None) as writer:
        writer.append(**payload)


def read_part(
    path: Path, layout: Layout, sha256: str, first: int, last: int, n: int
) -> dict[str, Any] | None:
    """A finished part for exactly these ``n`` records from this model, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = tuple(
                f.attrs.get(k) for k in ("model_sha256", "first_record", "last_record", "n_sequences")
            )
            if found != (sha256, first, last, n):
                return None
            return {
                "ids": list(f["ids"].asstr()[:]),
                "lengths": f["lengths"][:],
                "residue": {k: f[k][:] for k in layout[0]},
                "sequence": {k: f[k][:] for k in layout[1]},
            }
    except (OSError, KeyError):
        return None
