"""Checking a :class:`~seqrnn.io.vcf_reader.Variant` against the genome and cutting its scoring windows.

Windows (:func:`allele_window`): an allele ``a`` (length ``len(a)``) placed at 0-based ``start`` of a
contig, replacing ``ref_len`` reference bases, gives the window of ``width`` letters::

    genome[start - L : start] + a + genome[start + ref_len : start + ref_len + R]
    L = (width - len(a)) // 2,  R = width - len(a) - L

so the allele sits in the middle (an SNV in a 101-bp window is at index 50). The reference window is
this with the REF allele, the alternative window with the ALT allele: for an indel both windows have
``width`` letters, each centred on its own allele, and the flanks differ only in how far they reach.
Positions outside the contig are padded with ``N``.

Each variant gets one status of :data:`STATUSES` (:func:`check_variant`); only ``ok`` and
``ok:padded`` variants have windows to score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqrnn.io.genome import Genome
    from seqrnn.io.vcf_reader import Variant

#: Alleles longer than this (REF or ALT) are not scored (status ``skipped:long_allele``).
MAX_ALLELE = 50
NUCLEOTIDES = frozenset("ACGTN")

OK, PADDED = "ok", "ok:padded"
SYMBOLIC, LONG, INVALID, MISMATCH = (
    "skipped:symbolic",
    "skipped:long_allele",
    "skipped:invalid_allele",
    "ref_mismatch",
)
UNKNOWN_CONTIG, OUT_OF_CONTIG, REF_EQUALS_ALT = (
    "skipped:unknown_contig",
    "skipped:out_of_contig",
    "skipped:ref_equals_alt",
)
#: Every status a variant can get, in the order they are checked (the first that applies is the
#: variant's); only ``ok`` and ``ok:padded`` have scores.
STATUSES = (UNKNOWN_CONTIG, OUT_OF_CONTIG, SYMBOLIC, INVALID, LONG, REF_EQUALS_ALT, MISMATCH, PADDED, OK)
#: The statuses of variants whose REF was compared with the genome (the wrong-build check counts these).
REF_CHECKED = frozenset({OK, PADDED, MISMATCH})


def classify(ref: str, alt: str) -> str | None:
    """The ``skipped:...`` status of an allele pair that is not scored, or None when it is scored."""
    if not alt or alt in (".", "*") or alt.startswith("<") or "[" in alt or "]" in alt or not ref:
        return SYMBOLIC
    if not set(ref.upper()) <= NUCLEOTIDES or not set(alt.upper()) <= NUCLEOTIDES:
        return INVALID
    if max(len(ref), len(alt)) > MAX_ALLELE:
        return LONG
    return None


def allele_window(
    genome: Genome, contig: str, start: int, ref_len: int, allele: str, width: int
) -> tuple[str, bool]:
    """The ``width``-letter window with ``allele`` in the middle, replacing ``ref_len`` bases at 0-based
    ``start`` (see the module docstring); and whether it reached past a contig end (N padding)."""
    left = (width - len(allele)) // 2
    right = width - len(allele) - left
    before, pad1 = genome.fetch(contig, start - left, start)
    after, pad2 = genome.fetch(contig, start + ref_len, start + ref_len + right)
    return before + allele.upper() + after, pad1 or pad2


@dataclass(slots=True)
class Checked:
    """A variant checked against the genome for one window width.

    ``status``: one of :data:`STATUSES`; ``ref_window``/``alt_window``: the windows to score (None when
    not scored); ``genome_ref``: the genome's bases where REF lies (as many as REF has, fewer at a
    contig end; ``""`` for an unknown contig or a POS past its end); ``padded_fraction``: the share of
    a window's letters that are N padding past a contig end, the larger of the two windows (0 inside a
    contig, NaN when not scored).
    """

    status: str
    ref_window: str | None
    alt_window: str | None
    genome_ref: str
    padded_fraction: float


def check_variant(
    genome: Genome, variant: Variant, width: int, source: str = "", strict: bool = False
) -> Checked:
    """Check ``variant`` against ``genome`` and cut its windows for a model of input ``width``.

    Statuses are tried in the order of :data:`STATUSES`. ``strict`` (``--on-invalid error``): a
    contig the genome lacks raises :class:`InputError` instead of giving ``skipped:unknown_contig``.
    A contig name that matches several genome contigs always raises (the genome is at fault).
    """
    nan = float("nan")
    if strict:
        contig: str | None = genome.resolve(variant.chrom, source, variant.record + 1)
    else:
        contig = genome.find(variant.chrom, source, variant.record + 1)
    if contig is None:
        return Checked(UNKNOWN_CONTIG, None, None, "", nan)
    start = variant.pos - 1
    size = genome.length(contig)
    if start >= size:
        return Checked(OUT_OF_CONTIG, None, None, "", nan)
    ref_len = len(variant.ref)
    real = min(ref_len, size - start)  # REF bases inside the contig
    skip = classify(variant.ref, variant.alt)
    if skip is None and max(ref_len, len(variant.alt)) > width:
        skip = LONG
    if skip is None and variant.ref.upper() == variant.alt.upper():
        skip = REF_EQUALS_ALT
    if skip is not None:
        return Checked(skip, None, None, genome.fetch(contig, start, start + real)[0], nan)
    # One read covers the REF check and both windows (flanks are at most width - 1 long).
    local, _ = genome.fetch(contig, start - width, start + ref_len + width)
    genome_ref = local[width : width + real]
    if genome_ref != variant.ref.upper():
        return Checked(MISMATCH, None, None, genome_ref, nan)
    windows, padding = [], 0
    for allele in (genome_ref, variant.alt.upper()):
        left = (width - len(allele)) // 2
        right = width - len(allele) - left
        windows.append(
            local[width - left : width] + allele + local[width + ref_len : width + ref_len + right]
        )
        padding = max(padding, max(left - start, 0) + max(start + ref_len + right - size, 0))
    status = PADDED if padding else OK
    return Checked(status, windows[0], windows[1], genome_ref, padding / width)


def variant_windows(
    genome: Genome, variant: Variant, width: int, source: str = ""
) -> tuple[str, str | None, str | None]:
    """(status, reference window, alternative window) of ``variant`` for a model of input ``width``
    (:func:`check_variant`, not strict).

    Windows are None when the variant is not scored (symbolic, long or invalid alleles, REF not what
    the genome has there, ...); the status is ``ok`` or ``ok:padded`` otherwise.
    """
    checked = check_variant(genome, variant, width, source)
    return checked.status, checked.ref_window, checked.alt_window
