"""The inputs of one run as one record stream: files chained in order, numbered, optionally sharded.

:class:`ReadOptions` carries how files are read (format, columns, genome) and which shard of the
records to keep; :func:`chain_inputs` yields the records of all inputs with a global ``index`` (the
position in the concatenated input, written as ``/record_index``). Records left out under
``--on-invalid skip`` are reported as :class:`Skipped`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from seqrnn.data.formats import read_records
from seqrnn.data.records import Record
from seqrnn.errors import InputError, SeqrnnError


@dataclass
class ReadOptions:
    """How inputs are read, and which shard of their records to keep."""

    fmt: str | None = None  # fasta | smi | csv | tsv | bed (None: from the extension)
    sequence_column: str | None = None  # CSV/TSV column with the sequences (None: seq/sequence/smiles)
    id_column: str | None = None  # CSV/TSV column with the ids (None: the first column)
    genome: str | None = None  # the genome FASTA that BED intervals refer to
    shard: tuple[int, int] | None = None  # (K, N): records whose input index i has i % N == K - 1


class Skipped(NamedTuple):
    """A record left out under ``--on-invalid skip``: ``record`` is ``FILE:ID`` as logged."""

    record: str
    reason: str
    index: int = -1  # position in the (concatenated) input, as /record_index

    @classmethod
    def of(cls, rec: Record, error: InputError) -> Skipped:
        """The skip entry for ``rec`` rejected with ``error``."""
        return cls(f"{rec.source}:{rec.id}", error.reason, rec.index)


def all_skipped_note(skipped: Sequence[Skipped]) -> str:
    """Appended to "nothing left" errors: how many records were skipped and why the first was."""
    return (
        f" (all {len(skipped)} skipped; first: {skipped[0].record}: {skipped[0].reason})" if skipped else ""
    )


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise SeqrnnError(f"--shard {text!r}: expected K/N, e.g. 3/10") from None
    if not 1 <= k <= n:
        raise SeqrnnError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


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
            if options.shard is None or rec.index % options.shard[1] == options.shard[0] - 1:
                yield rec
