"""VCF records -> one :class:`Variant` per ALT allele, and a genome to cut scoring windows from.

Reading (pysam, ``pip install 'seqrnn[variants]'``) streams the file: :func:`read_variants` yields one
:class:`Variant` per ALT allele of each record, numbered in input order (``index``, written as
``variants/record_index``), so memory does not grow with the number of variants. Plain, bgzipped and
plain-gzip VCF and BCF are read (plain gzip is streamed through a pipe: htslib cannot seek in it);
``region`` needs a bgzipped file with a tabix/CSI index.

Windows (:func:`allele_window`): an allele ``a`` (length ``len(a)``) placed at 0-based ``start`` of a
contig, replacing ``ref_len`` reference bases, gives the window of ``width`` letters::

    genome[start - L : start] + a + genome[start + ref_len : start + ref_len + R]
    L = (width - len(a)) // 2,  R = width - len(a) - L

so the allele sits in the middle (an SNV in a 101-bp window is at index 50). The reference window is
this with the REF allele, the alternative window with the ALT allele: for an indel both windows have
``width`` letters, each centred on its own allele, and the flanks differ only in how far they reach.
Positions outside the contig are padded with ``N``.

Contig names: :class:`seqrnn.io.genome.Genome` resolves a VCF chromosome name to a genome contig (itself,
or a unique ``chr``-prefix or mitochondrial alias); a name with no contig gives the status
``skipped:unknown_contig`` (or stops the run under ``--on-invalid error``).
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqrnn.errors import InputError
from seqrnn.io.genome import Genome, alias_matches

logger = logging.getLogger(__name__)

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
    """Open a VCF/BCF (plain or bgzipped) with pysam; unreadable files raise :class:`InputError`.

    A plain-gzip file (not bgzip) raises too: htslib cannot seek in it. :func:`read_variants` streams
    such a file itself when no region is asked.
    """
    vf = _open(path, stream_gzip=False)
    assert not isinstance(vf, _Piped)
    return vf


class _GunzipPipe:
    """A plain-gzip file decompressed by a thread into a pipe that pysam reads as a plain VCF.

    htslib needs to seek in gzip files that are not bgzip (blocked); a pipe gives it a stream it can
    read in order instead, with memory bounded by the pipe buffer and no temporary file.
    """

    def __init__(self, path: str | Path) -> None:
        read_fd, write_fd = os.pipe()
        self.path = Path(path)
        self.error: BaseException | None = None
        self.reader = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(target=self._feed, args=(write_fd,), daemon=True)
        self._thread.start()

    def _feed(self, write_fd: int) -> None:
        try:
            with gzip.open(self.path, "rb") as src, os.fdopen(write_fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 16)
        except BrokenPipeError:
            pass  # the reader stopped early (an error, or the caller closed it)
        except (OSError, EOFError, zlib.error) as exc:  # a truncated or damaged gzip stream
            self.error = exc

    def close(self) -> None:
        """Close the read end (a feeder still writing then stops) and wait for the feeder."""
        self.reader.close()
        self._thread.join()


def _open(path: str | Path, stream_gzip: bool) -> Any:
    """A pysam VariantFile of ``path``; with ``stream_gzip`` a plain-gzip file is read through a
    :class:`_GunzipPipe` (the VariantFile then has a ``seqrnn_pipe`` attribute to close)."""
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
        reason = "truncated or damaged gzip file" if _damaged_gzip(p) else _open_reason(str(exc))
        raise InputError(reason, source=source) from None
    except NotImplementedError:
        if not stream_gzip:
            raise InputError(
                "compressed with plain gzip: --region needs it recompressed with bgzip "
                "and indexed (tabix -p vcf)",
                source=source,
            ) from None
    pipe = _GunzipPipe(path)
    try:
        vf = pysam.VariantFile(pipe.reader)
    except (ValueError, OSError) as exc:
        pipe.close()
        reason = "truncated or damaged gzip file" if pipe.error else _open_reason(str(exc))
        raise InputError(reason, source=source) from None
    return _Piped(vf, pipe)


class _Piped:
    """A VariantFile read from a :class:`_GunzipPipe`: iterates as the file, closes both."""

    def __init__(self, vf: Any, pipe: _GunzipPipe) -> None:
        self.vf, self.pipe = vf, pipe

    def __iter__(self) -> Iterator[Any]:
        return iter(self.vf)

    def close(self) -> None:
        """Close the VariantFile, then the pipe (pysam keeps its own copy of the descriptor)."""
        self.vf.close()
        self.pipe.close()


def _damaged_gzip(path: Path, limit: int = 1 << 20) -> bool:
    """Whether ``path`` is gzip-compressed and its first ``limit`` bytes do not decompress (a plain
    gzip file cut short in its header shows to htslib as a VCF without a header)."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return False
    try:
        with gzip.open(path, "rb") as fh:
            fh.read(limit)
    except (OSError, EOFError, zlib.error):
        return True
    return False


def _open_reason(text: str) -> str:
    if "truncated" in text or "EOF" in text:
        return "truncated or damaged bgzip file"
    if "header" in text:
        return "not a VCF: no valid header (##fileformat and #CHROM lines)"
    return "not a VCF/BCF file"


def vcf_region(vf: Any, region: str, note: bool = True) -> str:
    """``region`` with its contig named as the VCF names it: a genome name (``chr1``, ``chrM``) given
    for a VCF that says ``1`` / ``MT`` is translated by the genome's alias rule when exactly one of the
    VCF's contigs (header and index) matches; anything else is returned as given. ``note``: log the
    translation (once per run: the VCF export translates again, quietly)."""
    match = re.fullmatch(r"(.+?)(:[0-9,]+(?:-[0-9,]*)?)?", region)
    if match is None:
        return region
    contig, rest = match.group(1), match.group(2) or ""
    names = list(vf.header.contigs)
    try:
        index = vf.index
        names += [n for n in (index.keys() if index is not None else ()) if n not in names]
    except (AttributeError, ValueError, OSError):
        pass  # no index: fetch reports that
    if contig in names:
        return region
    matches, rule = alias_matches(contig, names)
    if len(matches) != 1:
        return region
    if note:
        logger.info("seqrnn: note: --region %s read as VCF contig %s (%s alias)", contig, matches[0], rule)
    return matches[0] + rest


def read_variants(path: str | Path, region: str | None = None) -> Iterator[Variant]:
    """One :class:`Variant` per ALT allele of every record, in input order (a streaming generator).

    ``region`` (``chr1:1000-2000``): only records there, which needs a tabix/CSI index; its contig may
    be named as the genome names it (:func:`vcf_region`). A record without ALT alleles (``.``) gives
    one variant with ALT ``.`` (status ``skipped:symbolic``). Plain-gzip files are streamed when no
    region is asked (:class:`_GunzipPipe`).
    """
    source = str(path)
    vf = _open(path, stream_gzip=region is None)
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    pipe = vf.pipe if isinstance(vf, _Piped) else None
    kind = "gzip" if pipe is not None else "bgzip"
    index = 0
    record = -1
    try:
        try:
            records = vf.fetch(region=vcf_region(vf, region)) if region else vf
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
                if region is None and (bad := _bad_pos(path, record + 1, compressed)) is not None:
                    # htslib reports a negative POS as a truncated file: say what is wrong instead.
                    raise InputError(bad, source=source, record=record + 2) from None
                if (pipe is not None and pipe.error is not None) or (
                    compressed and any(w in reason for w in ("truncated", "EOF", "BGZF", "read"))
                ):
                    raise InputError(f"truncated or damaged {kind} file {where}", source=source) from None
                raise InputError(f"malformed VCF line {where} ({reason})", source=source) from None
            record += 1
            if rec.pos < 1:
                raise InputError(f"POS {rec.pos} must be 1 or more", source=source, record=record + 1)
            ref = rec.ref or ""
            alts = rec.alts or (".",)
            for allele, alt in enumerate(alts, start=1):
                yield Variant(index, record, allele, rec.chrom, rec.pos, rec.id or ".", ref, alt)
                index += 1
        if pipe is not None and pipe.error is not None:
            # The stream ended early but on a line boundary: htslib saw a clean end of file.
            raise InputError(f"truncated or damaged gzip file after record {record + 1}", source=source)
    finally:
        vf.close()


def _bad_pos(path: str | Path, n: int, compressed: bool) -> str | None:
    """What is wrong with the POS of data line ``n`` (0-based) of a text VCF, or None when its POS is
    not a number below 1 (then the caller's generic message stands)."""
    try:
        with (gzip.open if compressed else open)(path, "rt", errors="replace") as handle:  # type: ignore[operator]
            seen = -1
            for line in handle:
                if line.startswith("#"):
                    continue
                seen += 1
                if seen == n:
                    cols = line.split("\t")
                    try:
                        pos = int(cols[1]) if len(cols) > 1 else 1
                    except ValueError:
                        return None
                    return f"POS {pos} must be 1 or more" if pos < 1 else None
    except (OSError, EOFError, zlib.error):
        return None
    return None


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
