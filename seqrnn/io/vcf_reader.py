"""Reading VCF/BCF files (pysam, ``pip install 'seqrnn[variants]'``): one :class:`Variant` per ALT allele.

:func:`read_variants` streams the file: it yields one :class:`Variant` per ALT allele of each record,
numbered in input order (``index``, written as ``variants/record_index``), so memory does not grow with
the number of variants. Plain, bgzipped and plain-gzip VCF and BCF are read (plain gzip is streamed
through a pipe, :class:`_GunzipPipe`: htslib cannot seek in it); ``region`` needs a bgzipped file with a
tabix/CSI index, and its contig may be named as the genome names it (:func:`vcf_region`). Unreadable,
truncated or malformed files raise :class:`~seqrnn.errors.InputError` naming the file and record.
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
from seqrnn.io.genome import alias_matches

# The logger these messages always had (seqrnn.io.vcf re-exports this module).
logger = logging.getLogger("seqrnn.io.vcf")


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
    index = 0
    record = -1
    try:
        iterator = iter(_records(vf, region, source))
        while True:
            try:
                rec = next(iterator)
            except StopIteration:
                break
            except (OSError, ValueError) as exc:
                raise _read_error(exc, path, record, compressed, pipe, region) from None
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


def _records(vf: Any, region: str | None, source: str) -> Any:
    """The records to read: the whole file, or those of ``region`` (which needs an index)."""
    try:
        return vf.fetch(region=vcf_region(vf, region)) if region else vf
    except ValueError as exc:
        reason = (
            "--region needs an index (bgzip the file and run tabix -p vcf)"
            if "index" in str(exc)
            else f"--region {region!r}: {exc}"
        )
        raise InputError(reason, source=source) from None
    except NotImplementedError:
        raise InputError("compressed with plain gzip: recompress with bgzip", source=source) from None


def _read_error(
    exc: BaseException,
    path: str | Path,
    record: int,
    compressed: bool,
    pipe: _GunzipPipe | None,
    region: str | None,
) -> InputError:
    """The :class:`InputError` for htslib failing to read the record after 0-based ``record``: a POS
    below 1, a truncated or damaged file, or a malformed line."""
    source = str(path)
    where = f"after record {record + 1}"
    reason = str(exc) or type(exc).__name__
    if region is None and (bad := _bad_pos(path, record + 1, compressed)) is not None:
        # htslib reports a negative POS as a truncated file: say what is wrong instead.
        return InputError(bad, source=source, record=record + 2)
    if (pipe is not None and pipe.error is not None) or (
        compressed and any(w in reason for w in ("truncated", "EOF", "BGZF", "read"))
    ):
        kind = "gzip" if pipe is not None else "bgzip"
        return InputError(f"truncated or damaged {kind} file {where}", source=source)
    return InputError(f"malformed VCF line {where} ({reason})", source=source)


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
