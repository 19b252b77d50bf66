"""The one place that defines accepted input formats and how each is read into :class:`Record` streams.

Formats (chosen by extension after an optional ``.gz``, or explicitly with ``fmt``):

==========  ==========================================  ==============================================
format      extensions                                  record
==========  ==========================================  ==============================================
``fasta``   .fa .fasta .fna .faa .ffn .fas .seqs, ``-``  id = first word of the header; ``key=value``
                                                        words of the description become ``fields``
``smi``     .smi .smiles                                ``SMILES [id]`` per line (``#`` comments)
``csv``     .csv                                        header row; ``sequence_column`` (default: the
``tsv``     .tsv .tab .txt .seq                         first of seq/sequence/smiles), ``id_column``;
                                                        other columns go to ``fields``
``bed``     .bed (needs ``genome``: an indexed FASTA)   the interval's sequence (reverse complemented
                                                        on strand ``-``); id = name or chrom:start-end;
                                                        fields chrom start end name score strand, then
                                                        col7, col8, ...
``sdf``     .sdf .sd .mol (needs RDKit)                 the molecule's SMILES; id = ``id_column``'s SD
                                                        property, else the title; SD properties go to
                                                        ``fields``; unreadable records are reported and
                                                        left out (:mod:`seqrnn.io.sdf`)
==========  ==========================================  ==============================================

Readers stream: nothing is held in memory beyond the current record. Compressed input is detected by
its magic bytes, not its name; ``-`` reads standard input.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from Bio.Seq import reverse_complement
from Bio.SeqIO.FastaIO import SimpleFastaParser

from seqrnn.errors import InputError
from seqrnn.io.records import Record
from seqrnn.io.sdf import SDF_SUFFIXES, read_sdf

FORMATS = ("fasta", "smi", "sdf", "csv", "tsv", "bed")
_EXTENSIONS = {
    **dict.fromkeys((".fa", ".fasta", ".fna", ".faa", ".ffn", ".fas", ".seqs", ".mfa"), "fasta"),
    **dict.fromkeys((".smi", ".smiles"), "smi"),
    ".csv": "csv",
    **dict.fromkeys((".tsv", ".tab", ".txt", ".seq"), "tsv"),
    ".bed": "bed",
    **dict.fromkeys(SDF_SUFFIXES, "sdf"),
}
SEQUENCE_COLUMNS = ("seq", "sequence", "smiles", "Sequence", "SMILES", "Smiles")
ID_COLUMNS = ("id", "ID", "name", "Name", "EventID", "mol_id", "Compound ID")
csv.field_size_limit(2**31 - 1)  # per-residue label lists of titin-sized chains exceed the default


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """The input format of ``path``: ``fmt`` when given, else from the extension (after an optional ``.gz``);
    ``-`` (standard input) is FASTA here, and :func:`read_records` tells its format by content.

    Raises :class:`InputError` for an unknown ``fmt`` or an extension that names no format.
    """
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}", source=str(path))
        return fmt
    name = str(path)
    if name == "-":
        return "fasta"
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    raise InputError(
        f"cannot tell the format from the file name; pass --format {'|'.join(FORMATS)}", source=name
    )


def open_text(path: str | Path) -> IO[str]:
    """Open plain or gzip text (by magic bytes) or stdin (``-``) as UTF-8."""
    name = str(path)
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") would otherwise stick to the first header name.
    if name == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline=None)
    try:
        raw = open(name, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except FileNotFoundError:
        raise InputError("file not found", source=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", source=name) from None
    except PermissionError:
        raise InputError("permission denied", source=name) from None
    stream: IO[bytes] = raw
    if raw.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
        # Reopen by name: a GzipFile owns (and closes) a file it opened, never one passed as fileobj.
        raw.close()
        stream = gzip.GzipFile(name, "rb")
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None)


def read_records(
    path: str | Path,
    fmt: str | None = None,
    *,
    sequence_column: str | None = None,
    id_column: str | None = None,
    genome: str | Path | None = None,
) -> Iterator[Record]:
    """Stream :class:`Record` objects from one input file; errors name the file and the record."""
    source = str(path)
    sniff = source == "-" and not fmt
    fmt = detect_format(path, fmt)
    if fmt == "bed" and genome is None:
        raise InputError("BED intervals need the genome FASTA they refer to (--genome)", source=source)
    handle = open_text(path)
    if sniff:  # standard input without --format: FASTA, SDF, CSV, TSV or SMILES lines, told by content
        fmt, handle = sniff_format(handle)
    try:
        if fmt == "bed":
            yield from _guard(_read_bed(handle, source, str(genome)), source)
        elif fmt == "fasta":
            yield from _guard(_read_fasta(handle, source), source)
        elif fmt == "smi":
            yield from _guard(_read_smi(handle, source), source)
        elif fmt == "sdf":
            yield from _guard(read_sdf(handle, source, id_column), source)
        else:
            delim = "," if fmt == "csv" else "\t"
            yield from _guard(_read_table(handle, source, delim, sequence_column, id_column), source)
    finally:
        if source != "-":
            handle.close()


def sniff_format(handle: IO[str]) -> tuple[str, IO[str]]:
    """The format of a stream that has no name to tell it (standard input), and the stream with the
    lines read put back. A first non-blank line ``>`` is FASTA; an ``M  END`` or ``$$$$`` line before
    the first record ends (or within 64 KiB), or a molfile counts line (``V2000``/``V3000``) as line 4,
    is SDF; else from the first non-blank line: a comma CSV, a tab TSV, else one SMILES per line."""
    first = handle.readline()
    skipped = ""
    while first and not first.strip():
        skipped += first
        first = handle.readline()
    read = [*skipped.splitlines(keepends=True), first]
    if not first.startswith(">"):
        _read_first_record(handle, read)
    if first.startswith(">"):
        fmt = "fasta"
    elif any(line.startswith(("M  END", "$$$$")) for line in read) or (
        len(read) > 3 and read[3].rstrip().endswith(("V2000", "V3000"))
    ):
        fmt = "sdf"
    elif "," in first:
        fmt = "csv"
    elif "\t" in first:
        fmt = "tsv"
    else:
        fmt = "smi"
    return fmt, _Chain(io.StringIO("".join(read)), handle)  # type: ignore[return-value]


def _read_first_record(handle: IO[str], read: list[str], limit: int = 1 << 16) -> None:
    """Append lines of ``handle`` to ``read`` up to the end of a first SD record (an ``M  END`` or
    ``$$$$`` line), a molfile counts line as line 4, the end of the stream, or ``limit`` characters."""
    size = sum(map(len, read))
    while size < limit and not read[-1].startswith(("M  END", "$$$$")):
        if len(read) == 4 and read[3].rstrip().endswith(("V2000", "V3000")):
            return
        line = handle.readline()
        if not line:
            return
        read.append(line)
        size += len(line)


def _guard(records: Iterator[Record], source: str) -> Iterator[Record]:
    """Turn decoding failures deep inside a stream into one-line errors."""
    last = 0
    try:
        for rec in records:
            last = rec.index + 1
            yield rec
    except UnicodeDecodeError:
        raise InputError(f"not UTF-8 text (binary file?) after record {last}", source=source) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"corrupt or truncated gzip after record {last} ({exc})", source=source) from None


def _read_fasta(handle: IO[str], source: str) -> Iterator[Record]:
    first = handle.readline()
    while first and not first.strip():
        first = handle.readline()
    if not first:
        raise InputError("empty file: no FASTA records", source=source)
    if not first.startswith(">"):
        raise InputError("does not start with a FASTA header line ('>')", source=source, record=1)
    chained = io.StringIO(first)
    parser = SimpleFastaParser(_Chain(chained, handle))
    for index, (title, seq) in enumerate(parser):
        words = title.split()
        if not words:
            raise InputError("header without an id", source=source, record=index + 1)
        fields = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        yield Record(id=words[0], text=seq, index=index, source=source, fields=fields)


class _Chain(io.TextIOBase):
    """Iterate lines of a peeked first chunk, then the rest of a handle."""

    def __init__(self, head: IO[str], rest: IO[str]) -> None:
        self._parts = [head, rest]

    def __iter__(self) -> Iterator[str]:
        # A plain loop, not ``yield from``: SimpleFastaParser abandons its first iterator after the
        # header, and closing an abandoned ``yield from`` would close the part (the input) with it.
        for part in self._parts:
            for line in part:  # noqa: UP028
                yield line

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        for part in self._parts:
            line = part.readline()
            if line:
                return line
        return ""


def _read_smi(handle: IO[str], source: str) -> Iterator[Record]:
    """One SMILES per line, optionally followed by a name; ``#`` comments, and a title line whose first
    word is ``SMILES`` (as RDKit's ``SmilesWriter`` writes: ``SMILES Name``), are skipped."""
    index = 0
    first = True
    for line in handle:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        if first and parts[0].casefold() == "smiles":
            first = False
            continue
        first = False
        rec_id = parts[1].strip() if len(parts) > 1 else f"mol{index + 1}"
        yield Record(id=rec_id, text=parts[0], index=index, source=source)
        index += 1


def _read_table(
    handle: IO[str], source: str, delim: str, sequence_column: str | None, id_column: str | None
) -> Iterator[Record]:
    reader = csv.reader(handle, delimiter=delim)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError("empty file: no header row", source=source) from None
    seq_col = _pick_column(header, sequence_column, SEQUENCE_COLUMNS, "sequence", source)
    id_col = _pick_column(header, id_column, ID_COLUMNS, "id", source, required=False)
    seq_i = header.index(seq_col)
    id_i = header.index(id_col) if id_col else None
    index = 0  # counts records yielded; blank rows do not shift record numbers or default ids
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise InputError(
                f"has {len(row)} columns, the header has {len(header)}", source=source, record=index + 1
            )
        rec_id = row[id_i].strip() if id_i is not None else f"seq{index + 1}"
        fields = {h: v for h, v in zip(header, row, strict=True)}
        yield Record(id=rec_id, text=row[seq_i], index=index, source=source, fields=fields)
        index += 1


def _pick_column(
    header: list[str],
    wanted: str | None,
    defaults: tuple[str, ...],
    what: str,
    source: str,
    required: bool = True,
) -> str | None:
    if wanted:
        if wanted not in header:
            raise InputError(f"no column {wanted!r} (columns: {', '.join(header)})", source=source)
        return wanted
    for name in defaults:
        if name in header:
            return name
    if required:
        raise InputError(
            f"no {what} column found (looked for {', '.join(defaults)}; columns: {', '.join(header)}); "
            f"name it with --{what}-column",
            source=source,
        )
    return None


def bed_lines(handle: IO[str], source: str) -> Iterator[tuple[str, list[str], int, int]]:
    """``(where, columns, start, end)`` of each interval line of a BED file (headers, ``track`` and
    ``browser`` lines skipped); :class:`InputError` naming the line for fewer than 3 columns or
    non-integer coordinates. ``where`` is ``"line N"`` for messages."""
    for line_no, line in enumerate(handle, start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        cols = line.rstrip("\n\r").split("\t")
        where = f"line {line_no}"
        if len(cols) < 3:
            raise InputError(
                "a BED line needs chrom, start and end (tab separated)", source=source, record=where
            )
        try:
            start, end = int(cols[1]), int(cols[2])
        except ValueError:
            raise InputError("start and end must be integers", source=source, record=where) from None
        yield where, cols, start, end


def _read_bed(handle: IO[str], source: str, genome: str) -> Iterator[Record]:
    """BED intervals -> genome sequence (:class:`~seqrnn.io.genome.Genome`: pyfaidx, a ``.fai`` index
    built next to the FASTA once and rebuilt when stale, ``chr`` prefix aliases)."""
    from seqrnn.io.genome import Genome

    with Genome(genome) as fasta:
        for index, (where, cols, start, end) in enumerate(bed_lines(handle, source)):
            chrom = fasta.interval(cols[0], start, end, source, where)
            text, _ = fasta.fetch(chrom, start, end)
            strand = cols[5] if len(cols) > 5 else "."
            if strand == "-":
                text = reverse_complement(text)
            name = cols[3] if len(cols) > 3 and cols[3] not in ("", ".") else f"{cols[0]}:{start}-{end}"
            fields = dict(zip(("chrom", "start", "end", "name", "score", "strand"), cols, strict=False))
            fields.update({f"col{i + 1}": v for i, v in enumerate(cols) if i >= 6})
            yield Record(id=name, text=text, index=index, source=source, fields=fields)


# All inputs as one record stream -------------------------------------------------------------------


@dataclass
class ReadOptions:
    """How inputs are read, and which shard of their records to keep."""

    fmt: str | None = None  # fasta | smi | sdf | csv | tsv | bed (None: from the extension)
    sequence_column: str | None = None  # CSV/TSV column with the sequences (None: seq/sequence/smiles)
    id_column: str | None = None  # CSV/TSV column with the ids (None: the first column); SDF: a property
    genome: str | None = None  # the genome FASTA that BED intervals refer to
    shard: tuple[int, int] | None = None  # (K, N): records whose input index i has i % N == K - 1


def chain_inputs(inputs: Sequence[str | Path], options: ReadOptions | None = None) -> Iterator[Record]:
    """Records of all inputs in order, numbered globally; with a shard, only that shard's records.

    Shards take every N-th record (round robin), so they are balanced for sorted inputs too, and
    deterministic: the same inputs always give the same shard contents.
    """
    options = options or ReadOptions()
    index = 0
    for path in inputs:
        for rec in read_records(
            path,
            options.fmt,
            sequence_column=options.sequence_column,
            id_column=options.id_column,
            genome=options.genome,
        ):
            rec.index = index
            index += 1
            if in_shard_index(rec.index, options.shard):
                yield rec


def in_shard_index(index: int, shard: tuple[int, int] | None) -> bool:
    """Whether record number ``index`` (0-based, over all inputs) belongs to ``shard`` (K, N)."""
    return shard is None or index % shard[1] == shard[0] - 1
