"""A variants run's chunks checked against the genome: the stream cut into chunks (and shards),
each variant's status and windows per model width (:func:`chunk_windows`), and the wrong-build
warning (:class:`BuildCheck`).

Per chunk of ``n`` variants, :class:`ChunkChecks` holds ``statuses`` and ``genome_refs`` (n,),
``padded`` float32 (n,) (NaN where not scored), and per width ``n`` (REF, ALT) window pairs, None
where the variant is not scored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from seqrnn.core.logs import event
from seqrnn.errors import InputError
from seqrnn.io.genome import Genome
from seqrnn.io.vcf import MISMATCH, OK, PADDED, REF_CHECKED, Variant, check_variant

# The logger the wrong-build warning always had (seqrnn.variants.scoring re-exports this module).
logger = logging.getLogger("seqrnn.variants.scoring")

BUILD_CHECK = 10_000
"""The wrong-build warning looks at this many variants whose REF was compared with the genome."""
BUILD_MISMATCH = 0.01
"""... and warns when more than this fraction of them are ``ref_mismatch``."""


def variant_chunks(
    variants: Iterable[Variant], size: int, shard: tuple[int, int] | None
) -> Iterator[list[Variant]]:
    """``variants`` in lists of ``size`` (the last may be shorter); with ``shard`` (K, N) only those
    with ``index % N == K - 1``."""
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
