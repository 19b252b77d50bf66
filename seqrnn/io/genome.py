"""An indexed genome FASTA: the one place that opens genomes for BED intervals, variants and tracks.

pyfaidx reads it; its ``.fai`` index is built next to the FASTA on first use and rebuilt when older than
the FASTA (a stale index would cut the wrong bases silently). A chromosome name missing from the genome
is matched by adding or removing a ``chr`` prefix (case-insensitive) when that gives exactly one contig
(``1`` -> ``chr1``, ``chrX`` -> ``X``), and the alias is noted once on the ``seqrnn.io.genome`` logger.
"""

from __future__ import annotations

import logging
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
        if not Path(path).is_file():
            raise InputError("genome FASTA not found", source=self.path)
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
        """The genome contig of chromosome ``chrom`` (itself, or a unique ``chr`` alias); ``source`` and
        ``record`` name the input line for the error when there is none."""
        found = self._names.get(chrom)
        if found is not None:
            return found
        if chrom in self.fasta:
            found = chrom
        else:
            base = _strip_chr(chrom)
            matches = [c for c in self.contigs if _strip_chr(c) == base]
            if len(matches) != 1:
                shown = ", ".join(self.contigs[:5]) + (", ..." if len(self.contigs) > 5 else "")
                why = (
                    f"matches several contigs by chr prefix ({', '.join(matches[:5])})"
                    if matches
                    else "is not in the genome, with or without a chr prefix"
                )
                raise InputError(
                    f"chromosome {chrom!r} {why}; genome {self.path} has {shown}",
                    source=source or None,
                    record=record,
                )
            found = matches[0]
            self.aliases[chrom] = found
            logger.info(
                "seqrnn: note: chromosome %s read as genome contig %s (chr prefix alias)", chrom, found
            )
        self._names[chrom] = found
        return found

    def length(self, contig: str) -> int:
        """Length of ``contig`` (a resolved genome name)."""
        size = self._lengths.get(contig)
        if size is None:
            size = self._lengths[contig] = len(self.fasta[contig])
        return size

    def fetch(self, contig: str, start: int, end: int) -> tuple[str, bool]:
        """Bases ``start:end`` (0-based, end exclusive) of ``contig``, upper case, padded with ``N``
        outside the contig; and whether padding was needed."""
        size = self.length(contig)
        lo, hi = max(start, 0), min(end, size)
        text = self.fasta[contig][lo:hi] if hi > lo else ""
        left, right = lo - start, end - max(hi, lo)
        padded = left > 0 or right > 0
        if padded:
            text = "N" * left + text + "N" * max(right, 0)
        return text, padded


def _strip_chr(name: str) -> str:
    return name[3:] if name[:3].lower() == "chr" else name
