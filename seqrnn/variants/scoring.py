"""Variant effect scores: reference and alternative windows through each model, in chunks of variants.

Per chunk of ``n`` variants (``chunk_size``, 4096 by default) and model: the scored variants' reference
and alternative windows (:func:`seqrnn.io.vcf.variant_windows`, the model's input width) become
``2k`` examples (``window_examples`` with the bundle's test views, e.g. both strands), run through
:func:`seqrnn.inference.engine.start_window` as prediction runs them, giving per sequence-level head ``ref``
and ``alt`` (k, C). Written per head (n, C) float32, NaN for variants not scored:

- ``ref``, ``alt``: the head's outputs (probabilities, or regression values in training units);
- ``diff = alt - ref``;
- ``log_odds_diff = logit(alt) - logit(ref)`` with probabilities clipped to [1e-6, 1 - 1e-6]
  (NaN for regression heads).

Memory holds one chunk. ``--shard K/N`` keeps variants ``i % N == K - 1``; ``--resume`` keeps each
finished chunk as ``.<output>.parts/partNNNNNN.h5`` and reuses it on a rerun.

Bad records do not stop the run unless ``on_invalid="error"``: they get a ``skipped:...`` or
``ref_mismatch`` status (:data:`seqrnn.io.vcf.STATUSES`), counted in the summary. When more than
1% of the first :data:`BUILD_CHECK` variants whose REF was compared are ``ref_mismatch``, one warning
asks whether the genome is the VCF's build. Progress: a tqdm bar on a terminal and a ``progress``
event every :data:`HEARTBEAT_SECONDS`, as prediction has them.

The run's pieces live beside this module and are importable from here:
:mod:`~seqrnn.variants.scoring_options` (options, models as scored, summary, file attributes) and
:mod:`~seqrnn.variants.scoring_checks` (chunks, genome checks, the wrong-build warning); this module
scores window pairs (:func:`score_pairs`) and runs the chunk loop (:func:`score_vcf_to_h5`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.core.logs import Progress
from seqrnn.core.memory import cap_primitive_caches
from seqrnn.encoding.examples import window_examples
from seqrnn.errors import InputError
from seqrnn.inference.engine import BatchRunner, PredictOptions, start_window
from seqrnn.io.effects import VariantsWriter, read_part
from seqrnn.io.files import unstaged
from seqrnn.io.genome import Genome
from seqrnn.io.outputs import check_writable
from seqrnn.io.saturation import saturation_variants
from seqrnn.io.vcf import OK, PADDED, Variant, read_variants
from seqrnn.models.heads import head_class
from seqrnn.variants.incremental import pair_scores
from seqrnn.variants.scoring_checks import (
    BUILD_CHECK,
    BUILD_MISMATCH,
    BuildCheck,
    ChunkChecks,
    chunk_windows,
    variant_chunks,
)
from seqrnn.variants.scoring_options import (
    DEFAULT_WINDOW,
    ScoringModel,
    VariantOptions,
    VariantSummary,
    file_attributes,
    model_attrs,
    scoring_models,
    trained_width,
)

__all__ = [
    "BUILD_CHECK",
    "BUILD_MISMATCH",
    "DEFAULT_WINDOW",
    "EPS",
    "HEARTBEAT_SECONDS",
    "WINDOWS",
    "BuildCheck",
    "ChunkChecks",
    "ScoringModel",
    "VariantOptions",
    "VariantSummary",
    "chunk_windows",
    "file_attributes",
    "model_attrs",
    "score_pairs",
    "score_vcf_to_h5",
    "score_windows",
    "scoring_models",
    "trained_width",
    "write_part",
]

logger = logging.getLogger(__name__)

EPS = 1e-6
#: The ``source`` of genome windows scored by variants and tile (no input file holds them).
WINDOWS = "genome windows"
HEARTBEAT_SECONDS = 60.0
"""Default seconds between ``progress`` events of :func:`score_vcf_to_h5`."""


def score_windows(
    model: ScoringModel,
    texts: Sequence[str],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> dict[str, np.ndarray]:
    """``{head: (n, C) float32}``: the model's sequence-level outputs (its test views averaged) for
    ``n`` genome windows of its input width, as ``variants`` (REF and ALT windows) and ``tile`` (one
    window per bin) cut them. Windows are numbered, not named: they are not records of a file.

    Identical windows are scored once: the REF window of a multi-allelic record (or of every ALT at a
    position of a saturation VCF) is the same for each of its ALTs."""
    views = model.bundle.views(options.test_views)
    encoder = model.bundle.encoder
    first: dict[str, int] = {}
    which = np.array([first.setdefault(t, len(first)) for t in texts], dtype=np.int64)  # (n,) into unique
    examples = window_examples(list(first), encoder, views, WINDOWS)
    result = start_window(model.bundle, examples, options, device, runner).result()
    return {head: result.sequence[head].astype(np.float32)[which] for head in model.heads}


def score_pairs(
    model: ScoringModel,
    pairs: Sequence[tuple[str, str] | None],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> dict[str, np.ndarray]:
    """``{"<head>/<score>": (n, C) float32}`` for one model over one chunk's window pairs."""
    done = [i for i, p in enumerate(pairs) if p is not None]
    kept = [p for p in pairs if p is not None]
    scores = _scored_pairs(model, kept, options, device, runner) if kept else None
    out: dict[str, np.ndarray] = {}
    for head, (kind, classes) in model.heads.items():
        full = {s: np.full((len(pairs), len(classes)), np.nan, dtype=np.float32) for s in ("ref", "alt")}
        if scores is not None:
            full["ref"][done], full["alt"][done] = scores[0][head], scores[1][head]
        out[f"{head}/ref"], out[f"{head}/alt"] = full["ref"], full["alt"]
        out[f"{head}/diff"] = full["alt"] - full["ref"]
        if head_class(kind).output != "probs":  # regression values: no log-odds
            out[f"{head}/log_odds_diff"] = np.full_like(full["ref"], np.nan)
        else:
            out[f"{head}/log_odds_diff"] = (_logit(full["alt"]) - _logit(full["ref"])).astype(np.float32)
    return out


def _scored_pairs(
    model: ScoringModel,
    pairs: Sequence[tuple[str, str]],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per head (k, C) outputs of the ``k`` pairs' REF and ALT windows: as pairs where the model allows
    (:func:`seqrnn.variants.incremental.pair_scores`), else every distinct window through prediction."""
    scored = pair_scores(model, pairs, options, device, runner)
    if scored is not None:
        return scored
    texts = [text for pair in pairs for text in pair]  # ref, alt, ref, alt, ...
    scores = score_windows(model, texts, options, device, runner)
    return {h: v[0::2] for h, v in scores.items()}, {h: v[1::2] for h, v in scores.items()}


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p.astype(np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


def _meta(chunk: Sequence[Variant], checks: ChunkChecks) -> dict[str, Any]:
    """The ``n`` variants' own columns of a chunk: VCF fields, status, genome REF, padded fraction and
    numbering, each (n,) (lists of strings or int64 / float32 arrays)."""
    return {
        "chrom": [v.chrom for v in chunk],
        "pos": np.array([v.pos for v in chunk], dtype=np.int64),
        "id": [v.id for v in chunk],
        "ref": [v.ref for v in chunk],
        "alt": [v.alt for v in chunk],
        "status": list(checks.statuses),
        "genome_ref": list(checks.genome_refs),
        "padded_fraction": checks.padded,
        "record_index": np.array([v.index for v in chunk], dtype=np.int64),
        "vcf_record": np.array([v.record for v in chunk], dtype=np.int64),
        "allele": np.array([v.allele for v in chunk], dtype=np.int64),
    }


def score_vcf_to_h5(
    models: Sequence[ScoringModel],
    vcf: str | Path,
    genome_path: str | Path,
    output: str | Path,
    options: VariantOptions,
    device: torch.device,
    command: str = "",
    resume: bool = False,
    progress: bool = False,
    heartbeat: float | None = None,
) -> VariantSummary:
    """Score every variant of ``vcf`` with every model into the variants file ``output`` (atomic).

    Raises :class:`InputError` for unreadable inputs, a contig name matching several genome contigs,
    and (``on_invalid="error"``) an unknown contig or a REF that does not match the genome; nothing is
    written then. Other bad records get a status (:data:`seqrnn.io.vcf.STATUSES`).

    Progress: with ``progress`` and stderr a terminal, a tqdm bar; and every ``heartbeat`` seconds
    (default :data:`HEARTBEAT_SECONDS`) a ``progress`` event (variants done, variants/s; no total or
    ETA: a VCF stream's length is not known in advance), shown on the console only where no bar is.
    """
    output = check_writable(output)
    summary = VariantSummary(output)
    cap_primitive_caches()  # batch shapes vary from chunk to chunk (see seqrnn.core.memory)
    start = time.perf_counter()
    heads = {m.label: m.heads for m in models}
    attrs = file_attributes(models, vcf, genome_path, options, command, device)
    parts = _parts_folder(output, resume)
    source = str(vcf)
    build = BuildCheck(str(genome_path))
    bar = _progress_bar(progress, heartbeat)
    # The bar closes on errors too.
    with bar, Genome(genome_path) as genome, VariantsWriter(output, attrs, heads) as writer:
        variants = (
            saturation_variants(vcf, genome) if options.saturation else read_variants(vcf, options.region)
        )
        chunks = variant_chunks(variants, options.chunk_size, options.shard)
        with BatchRunner(options.predict.workers, device) as runner:
            for c, chunk in enumerate(chunks):
                checks = chunk_windows(genome, chunk, [m.width for m in models], source, options.on_invalid)
                build.add(checks.statuses)
                part = parts / f"part{c:06d}.h5" if parts is not None else None
                payload, reused = _chunk_payload(models, chunk, checks, part, options.predict, device, runner)
                writer.append(payload)
                _tally(summary, chunk, checks.statuses, reused, bar)
        build.finish()
        _finish_file(writer, genome, summary, options, source)
    if parts is not None:
        shutil.rmtree(parts, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary


def _parts_folder(output: Path, resume: bool) -> Path | None:
    """Where a resumable run keeps its finished chunks (``.<output>.parts``, created); None without ``resume``."""
    if not resume:
        return None
    parts = output.parent / f".{output.name}.parts"
    parts.mkdir(exist_ok=True)
    return parts


def _progress_bar(progress: bool, heartbeat: float | None) -> Progress:
    """The run's tqdm bar (with ``progress``) and ``progress`` events every ``heartbeat`` seconds
    (default :data:`HEARTBEAT_SECONDS`)."""
    interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    return Progress(
        "variants", "variant", enabled=progress, interval=interval, log=logger, rates=("variants",)
    )


def _chunk_payload(
    models: Sequence[ScoringModel],
    chunk: Sequence[Variant],
    checks: ChunkChecks,
    part: Path | None,
    predict: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> tuple[dict[str, Any], bool]:
    """A chunk's columns for the variants file, and whether they were reused: read back from its
    ``part`` file (a resumed run, the chunk finished before), else the chunk's metadata and every
    model's scores (:func:`score_pairs`), kept as the ``part`` file when there is one."""
    shas = [m.bundle.sha256 for m in models]
    first, last = chunk[0].index, chunk[-1].index
    payload = read_part(part, shas, first, last, len(chunk)) if part is not None else None
    if payload is not None:
        return payload, True
    payload = _meta(chunk, checks)
    for m in models:
        scores = score_pairs(m, checks.windows[m.width], predict, device, runner)
        payload.update({f"{m.label}/{k}": v for k, v in scores.items()})
    if part is not None:
        write_part(part, payload, {m.label: m.heads for m in models}, shas, first, last)
    return payload, False


def _n_scored(summary: VariantSummary) -> int:
    """How many variants so far were scored (status ``ok`` or ``ok:padded``)."""
    return summary.statuses.get(OK, 0) + summary.statuses.get(PADDED, 0)


def _tally(
    summary: VariantSummary, chunk: Sequence[Variant], statuses: Sequence[str], reused: bool, bar: Progress
) -> None:
    """Count a written chunk (scored or ``reused``), its variants and statuses; advance the progress bar."""
    if reused:
        summary.chunks_reused += 1
    else:
        summary.chunks_scored += 1
    summary.n_variants += len(chunk)
    for s in statuses:
        summary.statuses[s] = summary.statuses.get(s, 0) + 1
    bar.advance(len(chunk), variants=summary.n_variants, scored=_n_scored(summary))


def _finish_file(
    writer: VariantsWriter, genome: Genome, summary: VariantSummary, options: VariantOptions, source: str
) -> None:
    """After the last chunk: note the chr aliases used (summary and file), refuse a run without
    variants (unless sharded), and write the scored count."""
    summary.aliases = dict(genome.aliases)
    if summary.n_variants == 0 and options.shard is None:
        raise InputError(
            "no variants in the VCF" + (f" region {options.region}" if options.region else ""),
            source=source,
        )
    writer.attrs["chr_aliases"] = np.array([f"{k}={v}" for k, v in genome.aliases.items()], dtype="S")
    writer.attrs["n_scored"] = _n_scored(summary)


def write_part(
    path: Path, payload: dict[str, Any], heads: dict[str, Any], shas: Sequence[str], first: int, last: int
) -> None:
    """Keep one finished chunk (variants ``first``..``last`` scored by the models ``shas``) for a rerun."""
    attrs = {
        "models": np.array(list(heads), dtype="S"),
        "model_sha256s": np.array(list(shas), dtype="S"),
        "first_record": first,
        "last_record": last,
    }
    with unstaged(), VariantsWriter(path, attrs, heads, compression=None, sweep=False) as writer:
        writer.append(payload)  # renamed at once even inside a staged run: the next run reuses it
