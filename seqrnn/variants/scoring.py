"""Variant effect scores: reference and alternative windows through each model, in chunks of variants.

Per chunk of ``n`` variants (``chunk_size``, 4096 by default) and model: the scored variants' reference
and alternative windows (:func:`seqrnn.io.vcf.variant_windows`, the model's input width) become
``2k`` examples (``prepare_example`` with the bundle's test views, e.g. both strands), run through
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
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.core.logs import Progress, event
from seqrnn.core.runtime import resolve_precision
from seqrnn.encoding.examples import prepare_example
from seqrnn.errors import InputError, ModelError
from seqrnn.inference.engine import PredictOptions, start_window
from seqrnn.inference.runner import BatchRunner
from seqrnn.io.effects import FORMAT, FORMAT_VERSION, META, VariantsWriter, read_part
from seqrnn.io.files import unstaged
from seqrnn.io.genome import Genome
from seqrnn.io.outputs import check_writable, provenance
from seqrnn.io.records import Record
from seqrnn.io.vcf import MISMATCH, OK, PADDED, REF_CHECKED, Variant, check_variant, read_variants
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.heads import head_class

logger = logging.getLogger(__name__)

EPS = 1e-6
#: The ``source`` of genome windows scored by variants and tile (no input file holds them).
WINDOWS = "genome windows"
DEFAULT_WINDOW = 101
HEARTBEAT_SECONDS = 60.0
"""Default seconds between ``progress`` events of :func:`score_vcf_to_h5`."""
BUILD_CHECK = 10_000
"""The wrong-build warning looks at this many variants whose REF was compared with the genome."""
BUILD_MISMATCH = 0.01
"""... and warns when more than this fraction of them are ``ref_mismatch``."""


@dataclass
class VariantOptions:
    """How variants are read, checked and scored (the CLI's options of the same names)."""

    window: int | None = None  # input width for every model (None: each model's trained length)
    chunk_size: int = 4096  # variants read, scored and written at once
    # ref_mismatch: bad records (REF mismatch, unknown contig, ...) get a status and NaN scores;
    # error: stop at the first REF mismatch or unknown contig.
    on_invalid: str = "ref_mismatch"
    shard: tuple[int, int] | None = None
    region: str | None = None  # chr:start-end (needs an indexed VCF)
    predict: PredictOptions = field(default_factory=PredictOptions)


@dataclass
class ScoringModel:
    """A model as scored: its label in the file (``variants/<label>/...``), bundle and window width."""

    label: str
    bundle: ModelBundle
    width: int

    @property
    def heads(self) -> dict[str, tuple[str, list[str]]]:
        """{head: (kind, classes)} of the sequence-level heads."""
        return {
            n: (h.kind, list(h.classes)) for n, h in self.bundle.model.heads.items() if h.level != "residue"
        }


@dataclass
class VariantSummary:
    """What a variants run did: counts per status, chunks predicted/reused, time, chr aliases used."""

    output: Path
    n_variants: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    chunks_scored: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    aliases: dict[str, str] = field(default_factory=dict)


def trained_width(bundle: ModelBundle, default: int = DEFAULT_WINDOW) -> int:
    """The input length a model was trained on: the longest of ``metadata.data.lengths`` ([min, max])
    when the bundle stores it, else ``default``."""
    lengths = (bundle.metadata.get("data") or {}).get("lengths")
    if isinstance(lengths, (list, tuple)) and lengths:
        return int(max(lengths))
    if isinstance(lengths, (int, float)) and lengths > 0:
        return int(lengths)
    return default


def scoring_models(bundles: Sequence[tuple[str, ModelBundle]], window: int | None) -> list[ScoringModel]:
    """Check the models (DNA encoder, a sequence-level head) and give each a unique label and width.

    ``bundles``: (name as given, bundle). Labels: a built-in name as is; for a file its stem, or its
    directory's name when the stem is ``model`` (``runs/USF1/model.pt`` -> ``USF1``); repeats get
    ``_2``, ``_3``, ...
    """
    models: list[ScoringModel] = []
    seen: dict[str, int] = {}
    for given, bundle in bundles:
        if bundle.encoder.name != "dna":
            raise ModelError(f"{given}: a {bundle.encoder.name} model; variant effects need a DNA model")
        if not any(h.level != "residue" for h in bundle.model.heads.values()):
            raise ModelError(f"{given}: no sequence-level head to score variants with")
        path = Path(given)
        label = (
            path.parent.name
            if path.suffix == ".pt" and path.stem == "model" and path.parent.name
            else path.stem
        )
        label = label.replace("/", "_") or "model"
        if label in META:  # a model file named like a variants dataset (chrom.pt)
            label = f"{label}_model"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}_{seen[label]}"
        models.append(ScoringModel(label, bundle, window or trained_width(bundle)))
    return models


def _chunks(variants: Iterable[Variant], size: int, shard: tuple[int, int] | None) -> Iterator[list[Variant]]:
    chunk: list[Variant] = []
    for v in variants:
        if shard is not None and v.index % shard[1] != shard[0] - 1:
            continue
        chunk.append(v)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class ChunkChecks:
    """A chunk's variants checked against the genome: per variant its status, the genome's bases at
    REF and the padded fraction (the largest over the widths scored); per width the (ref, alt)
    windows (None where not scored)."""

    statuses: list[str]
    genome_refs: list[str]
    padded: np.ndarray
    windows: dict[int, list[tuple[str, str] | None]]


def chunk_windows(
    genome: Genome, chunk: Sequence[Variant], widths: Iterable[int], source: str, on_invalid: str
) -> ChunkChecks:
    """Check every variant of ``chunk`` for every window width; ``on_invalid="error"`` raises
    :class:`InputError` at the first unknown contig or REF mismatch."""
    strict = on_invalid == "error"
    statuses = [OK] * len(chunk)
    genome_refs = [""] * len(chunk)
    padded = np.full(len(chunk), np.nan, dtype=np.float32)
    windows: dict[int, list[tuple[str, str] | None]] = {}
    for w, width in enumerate(sorted(set(widths))):
        pairs: list[tuple[str, str] | None] = []
        for i, v in enumerate(chunk):
            checked = check_variant(genome, v, width, source, strict=strict)
            if checked.status == MISMATCH and strict:
                raise InputError(
                    f"REF {v.ref} at {v.chrom}:{v.pos} does not match the genome {genome.path}",
                    source=source,
                    record=v.record + 1,
                )
            if w == 0:
                genome_refs[i] = checked.genome_ref
            if statuses[i] in (OK, PADDED) and checked.status != OK:
                statuses[i] = checked.status
            if checked.ref_window is not None and checked.alt_window is not None:
                pairs.append((checked.ref_window, checked.alt_window))
                padded[i] = np.fmax(padded[i], checked.padded_fraction)
            else:
                pairs.append(None)
        windows[width] = pairs
    return ChunkChecks(statuses, genome_refs, padded, windows)


class BuildCheck:
    """Counts REF mismatches among the first ``limit`` variants whose REF was compared, and warns once
    (on the ``seqrnn.variants.scoring`` logger, event ``wrong_build``) when more than ``fraction`` of
    them mismatch: a VCF called on another genome build mismatches at most SNVs, and a few mismatches
    are normal (decomposed MNVs, patched regions)."""

    def __init__(self, genome: str, limit: int = BUILD_CHECK, fraction: float = BUILD_MISMATCH) -> None:
        self.genome, self.limit, self.fraction = genome, limit, fraction
        self.checked = self.mismatched = 0
        self.done = False

    def add(self, statuses: Iterable[str]) -> None:
        """Count a chunk's statuses; decide as soon as ``limit`` variants were checked."""
        for status in statuses:
            if self.done or self.checked >= self.limit:
                break
            if status in REF_CHECKED:
                self.checked += 1
                self.mismatched += status == MISMATCH
        if self.checked >= self.limit:
            self.finish()

    def finish(self) -> None:
        """Decide on what was counted (at the end of a run with fewer than ``limit`` checked)."""
        if self.done:
            return
        self.done = True
        if self.checked and self.mismatched > self.fraction * self.checked:
            share = 100 * self.mismatched / self.checked
            event(
                "wrong_build",
                f"seqrnn: warning: {self.mismatched} of {self.checked} variants ({share:.1f}%) have a REF "
                f"that differs from the genome: is {self.genome} the build the VCF was called on?",
                level=logging.WARNING,
                log=logger,
                mismatched=self.mismatched,
                checked=self.checked,
                genome=self.genome,
            )


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
    examples = [
        prepare_example(Record(str(i), t, i, WINDOWS), encoder, views=views) for t, i in first.items()
    ]
    result = start_window(model.bundle, examples, options, device, runner)()
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
    texts = [text for i in done for text in pairs[i]]  # type: ignore[union-attr]  # ref, alt, ref, alt, ...
    scores = score_windows(model, texts, options, device, runner) if texts else None
    out: dict[str, np.ndarray] = {}
    for head, (kind, classes) in model.heads.items():
        full = {s: np.full((len(pairs), len(classes)), np.nan, dtype=np.float32) for s in ("ref", "alt")}
        if scores is not None:
            full["ref"][done], full["alt"][done] = scores[head][0::2], scores[head][1::2]
        out[f"{head}/ref"], out[f"{head}/alt"] = full["ref"], full["alt"]
        out[f"{head}/diff"] = full["alt"] - full["ref"]
        if head_class(kind).output != "probs":  # regression values: no log-odds
            out[f"{head}/log_odds_diff"] = np.full_like(full["ref"], np.nan)
        else:
            out[f"{head}/log_odds_diff"] = (_logit(full["alt"]) - _logit(full["ref"])).astype(np.float32)
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p.astype(np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


def _meta(chunk: Sequence[Variant], checks: ChunkChecks) -> dict[str, Any]:
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


def model_attrs(models: Sequence[ScoringModel]) -> dict[str, np.ndarray]:
    """The scoring models of a variants or track file: labels, names, sha256s and window widths."""
    return {
        "models": np.array([m.label for m in models], dtype="S"),
        "model_names": np.array([m.bundle.name for m in models], dtype="S"),
        "model_sha256s": np.array([m.bundle.sha256 for m in models], dtype="S"),
        "windows": np.array([m.width for m in models], dtype=np.int64),
    }


def file_attributes(
    models: Sequence[ScoringModel],
    vcf: str | Path,
    genome: str | Path,
    options: VariantOptions,
    command: str,
    device: torch.device,
) -> dict[str, Any]:
    """The root attributes of a variants file."""
    return {
        **provenance(FORMAT, FORMAT_VERSION, command),
        "input": str(vcf),
        "genome": str(genome),
        **model_attrs(models),
        "window": int(max(m.width for m in models)),
        "shard": "{}/{}".format(*(options.shard or (1, 1))),
        "precision": resolve_precision(options.predict.precision, device),
        "region": options.region or "",
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
    start = time.perf_counter()
    heads = {m.label: m.heads for m in models}
    shas = [m.bundle.sha256 for m in models]
    attrs = file_attributes(models, vcf, genome_path, options, command, device)
    parts = output.parent / f".{output.name}.parts"
    if resume:
        parts.mkdir(exist_ok=True)
    source = str(vcf)
    build = BuildCheck(str(genome_path))
    interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    bar = Progress(
        "variants", "variant", enabled=progress, interval=interval, log=logger, rates=("variants",)
    )
    # The bar closes on errors too.
    with bar, Genome(genome_path) as genome, VariantsWriter(output, attrs, heads) as writer:
        chunks = _chunks(read_variants(vcf, options.region), options.chunk_size, options.shard)
        with BatchRunner(options.predict.workers, device) as runner:
            for c, chunk in enumerate(chunks):
                checks = chunk_windows(genome, chunk, [m.width for m in models], source, options.on_invalid)
                build.add(checks.statuses)
                part = parts / f"part{c:06d}.h5"
                payload = (
                    read_part(part, shas, chunk[0].index, chunk[-1].index, len(chunk)) if resume else None
                )
                if payload is None:
                    payload = _meta(chunk, checks)
                    for m in models:
                        scores = score_pairs(m, checks.windows[m.width], options.predict, device, runner)
                        payload.update({f"{m.label}/{k}": v for k, v in scores.items()})
                    summary.chunks_scored += 1
                    if resume:
                        write_part(part, payload, heads, shas, chunk[0].index, chunk[-1].index)
                else:
                    summary.chunks_reused += 1
                writer.append(payload)
                summary.n_variants += len(chunk)
                for s in checks.statuses:
                    summary.statuses[s] = summary.statuses.get(s, 0) + 1
                scored = summary.statuses.get(OK, 0) + summary.statuses.get(PADDED, 0)
                bar.advance(len(chunk), variants=summary.n_variants, scored=scored)
        build.finish()
        summary.aliases = dict(genome.aliases)
        if summary.n_variants == 0 and options.shard is None:
            raise InputError(
                "no variants in the VCF" + (f" region {options.region}" if options.region else ""),
                source=source,
            )
        writer.attrs["chr_aliases"] = np.array([f"{k}={v}" for k, v in genome.aliases.items()], dtype="S")
        writer.attrs["n_scored"] = summary.statuses.get(OK, 0) + summary.statuses.get(PADDED, 0)
    if resume:
        shutil.rmtree(parts, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary


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
