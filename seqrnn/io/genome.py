"""An indexed genome FASTA: the one place that opens genomes for BED intervals, variants and tracks.

pyfaidx reads it; its ``.fai`` index is built next to the FASTA on first use and rebuilt when older than
the FASTA (a stale index would cut the wrong bases silently). A chromosome name missing from the genome
is matched by adding or removing a ``chr`` prefix (case-insensitive) when that gives exactly one contig
(``1`` -> ``chr1``, ``chrX`` -> ``X``), or else, for the mitochondrial genome, by its other usual names
(``MT``, ``M``, ``chrM``, ``chrMT``); the alias is noted once on the ``seqrnn.io.genome`` logger.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from seqrnn.errors import InputError

logger = logging.getLogger(__name__)


class Genome:
    """An indexed genome FASTA (pyfaidx; the ``.fai`` is built next to it once, rebuilt when stale) with
    ``chr`` aliases.

    Use as a context manager or call :meth:`close`. Raises :class:`InputError` when the FASTA cannot
    be read or indexed.
    """

    def __init__(self, path: str | Path) -> None:
        import pyfaidx

        self.path = str(path)
        self._last: tuple[tuple[str, int, int], tuple[str, bool]] | None = None  # fetch's last read
        if not Path(path).is_file():
            raise InputError("genome FASTA not found", source=self.path)
        _drop_index_that_does_not_fit(self.path)
        try:
            self.fasta = pyfaidx.Fasta(self.path, as_raw=True, sequence_always_upper=True, rebuild=True)
        except OSError as exc:
            if not isinstance(exc, PermissionError) and "writable" not in str(exc):
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise InputError(f"cannot open the genome FASTA ({reason})", source=self.path) from None
            why = (
                "its .fai index is older than the FASTA and cannot be rebuilt there"
                if Path(self.path + ".fai").is_file()
                else "there is no .fai index next to it and it cannot be created there"
            )
            raise InputError(
                f"{why} (permission denied); index a writable copy (samtools faidx)", source=self.path
            ) from None
        except (pyfaidx.FastaIndexingError, ValueError, RuntimeError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"cannot open the genome FASTA ({reason})", source=self.path) from None
        self.contigs = list(self.fasta.keys())
        if not self.contigs:
            raise InputError("the genome FASTA has no sequences", source=self.path)
        self._names: dict[str, str] = {}
        self._lengths: dict[str, int] = {}
        self.aliases: dict[str, str] = {}

    def close(self) -> None:
        """Close the FASTA file."""
        self.fasta.close()

    def __enter__(self) -> Genome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def resolve(self, chrom: str, source: str = "", record: int | str | None = None) -> str:
        """The genome contig of chromosome ``chrom`` (itself, or a unique ``chr`` or mitochondrial alias);
        ``source`` and ``record`` name the input line for the error when there is none."""
        found = self.find(chrom, source, record)
        if found is None:
            raise self._unmatched(chrom, "is not in the genome, with or without a chr prefix", source, record)
        return found

    def _unmatched(self, chrom: str, why: str, source: str, record: int | str | None) -> InputError:
        shown = ", ".join(self.contigs[:5]) + (", ..." if len(self.contigs) > 5 else "")
        return InputError(
            f"chromosome {chrom!r} {why}; genome {self.path} has {shown}",
            source=source or None,
            record=record,
        )

    def find(self, chrom: str, source: str = "", record: int | str | None = None) -> str | None:
        """The genome contig of chromosome ``chrom`` (as :meth:`resolve`), or None when there is none.

        An ambiguous alias (``1`` with both ``chr1`` and ``Chr1`` in the genome) still raises
        :class:`InputError`: that is a problem of the genome, not of one record.
        """
        found = self._names.get(chrom)
        if found is not None:
            # "" marks a name already known to be missing: a VCF with many records on a contig the
            # genome lacks would otherwise scan every contig name once per record.
            return found or None
        if chrom in self.fasta:
            self._names[chrom] = chrom
            return chrom
        matches, rule = alias_matches(chrom, self.contigs)
        if len(matches) > 1:
            why = f"matches several contigs by {rule} ({', '.join(matches[:5])})"
            raise self._unmatched(chrom, why, source, record)
        if not matches:
            self._names[chrom] = ""
            return None
        found = matches[0]
        self.aliases[chrom] = found
        logger.info("seqrnn: note: chromosome %s read as genome contig %s (%s alias)", chrom, found, rule)
        self._names[chrom] = found
        return found

    def interval(
        self, chrom: str, start: int, end: int, source: str = "", record: int | str | None = None
    ) -> str:
        """The genome contig of a BED interval ``chrom:start-end`` (0-based, end exclusive), checked to be
        non-empty and inside the contig; an :class:`InputError` naming ``source`` and ``record`` if not."""
        contig = self.resolve(chrom, source=source, record=record)
        size = self.length(contig)
        if not 0 <= start < end <= size:
            raise InputError(
                f"interval {chrom}:{start}-{end} is empty or outside the chromosome (length {size})",
                source=source,
                record=record,
            )
        return contig

    def length(self, contig: str) -> int:
        """Length of ``contig`` (a resolved genome name)."""
        size = self._lengths.get(contig)
        if size is None:
            size = self._lengths[contig] = len(self.fasta[contig])
        return size

    def fetch(self, contig: str, start: int, end: int) -> tuple[str, bool]:
        """Bases ``start:end`` (0-based, end exclusive) of ``contig``, upper case, padded with ``N``
        outside the contig; and whether padding was needed. The last read is kept: the ALTs of a
        multi-allelic record or of a saturation run's position read the same bases one after another."""
        key = (contig, start, end)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        size = self.length(contig)
        lo, hi = max(start, 0), min(end, size)
        text = self.fasta[contig][lo:hi] if hi > lo else ""
        left, right = lo - start, end - max(hi, lo)
        padded = left > 0 or right > 0
        if padded:
            text = "N" * left + text + "N" * max(right, 0)
        self._last = (key, (text, padded))
        return text, padded


def index_problem(fasta: str | Path, fai: str | Path) -> str | None:
    """Why the ``.fai`` index ``fai`` does not describe the FASTA ``fasta``, or None when it fits.

    A ``.fai`` line is ``name, length, offset, bases per line, bytes per line``. For every contig the
    header line must end just before ``offset`` (``>name``), and the contig's last base must be a
    base, followed by a line end and then the next header or the end of the file. A stale index (a
    FASTA rewritten with other line widths or headers, even when the index looks newer) fails this;
    checking costs two short reads per contig. bgzip-compressed FASTAs are not checked here (their
    offsets are in the uncompressed text).
    """
    size = os.path.getsize(fasta)
    with open(fasta, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            return None
        try:
            lines = Path(fai).read_text().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            return f"unreadable index ({exc})"
        for n, line in enumerate(lines, start=1):
            fields = line.split("\t")
            try:
                name = fields[0]
                length, offset, bases, width = (int(x) for x in fields[1:5])
            except (IndexError, ValueError):
                return f"line {n} of the index is not name, length, offset, bases and bytes per line"
            if length < 0 or offset < 1 or bases < 1 or width < bases or offset > size:
                return f"contig {name}: offset {offset} and line layout {bases}/{width} do not fit the file"
            # The line that ends just before the sequence must be this contig's header.
            back = min(offset, 4096)
            fh.seek(offset - back)
            before = fh.read(back)
            if not before.endswith(b"\n"):
                return f"contig {name}: its sequence does not start a line at byte {offset}"
            line_start = before.rstrip(b"\r\n").rfind(b"\n")
            if (line_start >= 0 or back == offset) and not before[line_start + 1 :].startswith(
                f">{name}".encode()
            ):
                return f"contig {name}: no '>{name}' header line ends at byte {offset}"
            if length == 0:
                continue
            last = offset + (length - 1) // bases * width + (length - 1) % bases
            if last >= size:
                return f"contig {name}: {length} bases at {bases} per line reach past the end of the file"
            fh.seek(last)
            tail = fh.read(width - bases + 2)
            if not tail[:1].isalpha() and tail[:1] not in (b"*", b"-"):
                return f"contig {name}: byte {last} should be its last base, found {tail[:1]!r}"
            rest = tail[1:].lstrip(b"\r\n")
            if tail[1:2] not in (b"\n", b"\r", b"") or rest[:1] not in (b">", b""):
                return f"contig {name}: its last base at byte {last} is not at the end of its sequence"
    return None


def _drop_index_that_does_not_fit(fasta: str) -> None:
    """Remove a ``.fai`` that does not describe ``fasta`` (:func:`index_problem`), so pyfaidx builds
    a new one; a clear error where it cannot be removed."""
    fai = Path(fasta + ".fai")
    if not fai.is_file():
        return
    problem = index_problem(fasta, fai)
    if problem is None:
        return
    if not os.access(fai.parent, os.W_OK):
        raise InputError(
            f"its index {fai} does not fit the FASTA ({problem}) and cannot be rebuilt there (the "
            "directory is not writable); index a writable copy (samtools faidx)",
            source=fasta,
        )
    logger.info("seqrnn: note: %s does not fit %s (%s); rebuilding it", fai, fasta, problem)
    fai.unlink()


def _strip_chr(name: str) -> str:
    return name[3:] if name[:3].lower() == "chr" else name


#: Names of the mitochondrial genome (after any ``chr`` prefix, lower case): ``MT``, ``chrM``, ``M``,
#: ``chrMT`` are one contig under different naming conventions (Ensembl, UCSC).
MITOCHONDRIAL = frozenset({"m", "mt"})


def alias_matches(name: str, names: Sequence[str]) -> tuple[list[str], str]:
    """The entries of ``names`` that ``name`` is an alias of, and the rule that matched them.

    First the ``chr`` prefix rule (``1`` <-> ``chr1``, prefix case-insensitive); when that finds nothing
    and ``name`` is a mitochondrial name, every mitochondrial name (``MT``, ``M``, ``chrM``, ``chrMT``).
    Exact matches are the caller's business (they win before any alias).
    """
    base = _strip_chr(name)
    matches = [c for c in names if c != name and _strip_chr(c) == base]
    if matches:
        return matches, "chr prefix"
    if base.lower() in MITOCHONDRIAL:
        return [c for c in names if c != name and _strip_chr(c).lower() in MITOCHONDRIAL], "mitochondrial"
    return [], "chr prefix"
