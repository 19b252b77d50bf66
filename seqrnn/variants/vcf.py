"""VCF records -> one :class:`Variant` per ALT allele, and a genome to cut scoring windows from.

Reading (pysam, ``pip install 'seqrnn[variants]'``) streams the file: :func:`read_variants` yields one
:class:`Variant` per ALT allele of each record, numbered in input order (``index``, written as
``variants/record_index``), so memory does not grow with the number of variants. Plain and bgzipped
VCF/BCF are read; ``region`` needs a tabix/CSI index.

Windows (:func:`allele_window`): an allele ``a`` (length ``len(a)``) placed at 0-based ``start`` of a
contig, replacing ``ref_len`` reference bases, gives the window of ``width`` letters::

    genome[start - L : start] + a + genome[start + ref_len : start + ref_len + R]
    L = (width - len(a)) // 2,  R = width - len(a) - L

so the allele sits in the middle (an SNV in a 101-bp window is at index 50). The reference window is
this with the REF allele, the alternative window with the ALT allele: for an indel both windows have
``width`` letters, each centred on its own allele, and the flanks differ only in how far they reach.
Positions outside the contig are padded with ``N``.

Contig names: :class:`seqrnn.io.genome.Genome` resolves a VCF chromosome name to a genome contig (itself,
or a unique ``chr``-prefix alias).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqrnn.errors import InputError
from seqrnn.io.genome import Genome

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
#: Every status a variant can get; only ``ok`` and ``ok:padded`` have scores.
STATUSES = (OK, PADDED, SYMBOLIC, LONG, INVALID, MISMATCH)


@dataclass(slots=True)
class Variant:
    """One ALT allele of a VCF record. ``index``: position among all ALT alleles of the input (the
    ``record_index`` of the output); ``record``: the VCF record's 0-based number; ``allele``: 1-based
    ALT number; ``pos``: 1-based as in the VCF."""

    index: int
    record: int
    allele: int
    chrom: str
    pos: int
    id: str
    ref: str
    alt: str


def require_pysam() -> Any:
    """The pysam module, or an :class:`InputError` saying how to install it."""
    try:
        import pysam
    except ImportError:
        raise InputError("reading VCF needs pysam: pip install 'seqrnn[variants]'") from None
    pysam.set_verbosity(0)  # htslib warnings would break the one-line error contract
    return pysam


def open_vcf(path: str | Path) -> Any:
    """Open a VCF/BCF (plain or bgzipped) with pysam; unreadable files raise :class:`InputError`."""
    pysam = require_pysam()
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", source=source)
    if p.is_dir():
        raise InputError("is a directory, not a file", source=source)
    if p.stat().st_size == 0:
        raise InputError("empty file: not a VCF", source=source)
    try:
        return pysam.VariantFile(source)
    except (ValueError, OSError) as exc:
        text = str(exc)
        if "truncated" in text or "EOF" in text:
            reason = "truncated or damaged bgzip file"
        elif "header" in text:
            reason = "not a VCF: no valid header (##fileformat and #CHROM lines)"
        else:
            reason = "not a VCF/BCF file"
        raise InputError(reason, source=source) from None
    except NotImplementedError:
        raise InputError("compressed with plain gzip: recompress with bgzip", source=source) from None


def read_variants(path: str | Path, region: str | None = None) -> Iterator[Variant]:
    """One :class:`Variant` per ALT allele of every record, in input order (a streaming generator).

    ``region`` (``chr1:1000-2000``): only records there, which needs a tabix/CSI index. A record
    without ALT alleles (``.``) gives one variant with ALT ``.`` (status ``skipped:symbolic``).
    """
    source = str(path)
    vf = open_vcf(path)
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    index = 0
    record = -1
    try:
        try:
            records = vf.fetch(region=region) if region else vf
        except ValueError as exc:
            reason = (
                "--region needs an index (bgzip the file and run tabix -p vcf)"
                if "index" in str(exc)
                else f"--region {region!r}: {exc}"
            )
            raise InputError(reason, source=source) from None
        except NotImplementedError:
            raise InputError("compressed with plain gzip: recompress with bgzip", source=source) from None
        iterator = iter(records)
        while True:
            try:
                rec = next(iterator)
            except StopIteration:
                break
            except (OSError, ValueError) as exc:
                where = f"after record {record + 1}"
                reason = str(exc) or type(exc).__name__
                if compressed and any(w in reason for w in ("truncated", "EOF", "BGZF", "read")):
                    raise InputError(f"truncated or damaged bgzip file {where}", source=source) from None
                raise InputError(f"malformed VCF line {where} ({reason})", source=source) from None
            record += 1
            if rec.pos < 1:
                raise InputError(f"POS {rec.pos} must be 1 or more", source=source, record=record + 1)
            ref = rec.ref or ""
            alts = rec.alts or (".",)
            for allele, alt in enumerate(alts, start=1):
                yield Variant(index, record, allele, rec.chrom, rec.pos, rec.id or ".", ref, alt)
                index += 1
    finally:
        vf.close()


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


def variant_windows(
    genome: Genome, variant: Variant, width: int, source: str = ""
) -> tuple[str, str | None, str | None]:
    """(status, reference window, alternative window) of ``variant`` for a model of input ``width``.

    Windows are None when the variant is not scored (symbolic, long or invalid alleles, REF not what
    the genome has there); the status is ``ok`` or ``ok:padded`` otherwise.
    """
    skip = classify(variant.ref, variant.alt)
    if skip is None and max(len(variant.ref), len(variant.alt)) > width:
        skip = LONG
    contig = genome.resolve(variant.chrom, source, variant.record + 1)
    if skip is not None:
        return skip, None, None
    start = variant.pos - 1
    ref_len = len(variant.ref)
    # One read covers the REF check and both windows (flanks are at most width - 1 long).
    local, _ = genome.fetch(contig, start - width, start + ref_len + width)
    genome_ref = local[width : width + ref_len]
    if genome_ref != variant.ref.upper():
        return MISMATCH, None, None
    size = genome.length(contig)
    windows, padded = [], False
    for allele in (genome_ref, variant.alt.upper()):
        left = (width - len(allele)) // 2
        right = width - len(allele) - left
        windows.append(
            local[width - left : width] + allele + local[width + ref_len : width + ref_len + right]
        )
        padded = padded or start - left < 0 or start + ref_len + right > size
    return (PADDED if padded else OK), windows[0], windows[1]
