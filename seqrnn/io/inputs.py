"""Inputs given other ways than a list of files, and what a run reports about its inputs.

:func:`labelled_by_file` reads one file per class (``data.class_files``, ``--class-file``), numbered as
:func:`seqrnn.io.formats.chain_inputs` numbers the records of a list of files, adding each file's
class as a label field; :func:`python_inputs` turns what :func:`seqrnn.predict` is given (paths, texts,
pairs, a dict) into paths or records; :func:`parse_shard` reads ``--shard K/N``. Records left out
under ``--on-invalid skip`` are reported as :class:`Skipped`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from seqrnn.errors import InputError, UsageError
from seqrnn.io.formats import ReadOptions, detect_format, in_shard_index, read_records
from seqrnn.io.records import Record


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
    """``"K/N"`` -> (K, N) with 1 <= K <= N (shard K of N); anything else is a :class:`UsageError`."""
    expected = "expected K/N, whole numbers with 1 <= K <= N, e.g. 3/10 (shard 3 of 10)"
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:  # not two parts, or a part that is not a whole number
        raise UsageError(f"--shard {text!r}: {expected}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text!r}: {expected}")
    return k, n


def labelled_by_file(
    mapping: Mapping[str, str | Path],
    column: str = "label",
    options: ReadOptions | None = None,
    limit: int | None = None,
) -> Iterator[Record]:
    """Records of one file per class (``{class: file}``, files in mapping order), each labelled with its
    file's class in field ``column``, numbered globally as :func:`chain_inputs` numbers them.

    ``limit`` caps the records read from each file. A record that already has field ``column`` with
    another value is an :class:`InputError` naming file and record; with a shard, only that shard's
    records are yielded (numbers stay those of the whole input).
    """
    options = options or ReadOptions()
    index = 0
    for label, path in mapping.items():
        for n, rec in enumerate(
            read_records(
                path,
                options.fmt,
                sequence_column=options.sequence_column,
                id_column=options.id_column,
                genome=options.genome,
            )
        ):
            if limit is not None and n >= limit:
                break
            own = rec.fields.get(column)
            if own is not None and own != label:
                raise InputError(
                    f"its {column} {own!r} contradicts the class {label!r} given to this file",
                    source=rec.source,
                    record=rec.id,
                )
            rec.fields[column] = str(label)
            rec.index = index
            index += 1
            if in_shard_index(rec.index, options.shard):
                yield rec


# Inputs given from Python (seqrnn.predict) ---------------------------------------------------------

#: ``Record.source`` of sequences given as text (error messages and ``Predictions.skipped`` name it).
MEMORY_SOURCE = "<sequences>"


def is_path_text(text: str) -> bool:
    """Whether a string given as input names a file: ``-``, an existing file, or a name with an input
    extension (``.fasta``, ``.csv.gz``, ...; a missing file is then reported as such)."""
    if text == "-" or os.path.isfile(text):
        return True
    try:
        detect_format(text)
    except InputError:
        return False
    return True


def as_paths(inputs: Any, what: str) -> list[str]:
    """Input files: one path or several."""
    items = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"{what}: expected paths, got {type(item).__name__}")
    return [os.fspath(p) for p in items]


def python_inputs(inputs: Any) -> tuple[list[str], Iterable[Record] | None]:
    """``(paths, None)`` for input files; ``([MEMORY_SOURCE], records)`` for sequences given in memory
    (records numbered from 0 in the order given; ids of bare sequences are their positions)."""
    if isinstance(inputs, str | os.PathLike):
        text = os.fspath(inputs)
        if not is_path_text(text):
            raise InputError(
                "file not found (a sequence given as text goes in a list: predict([sequence], ...))",
                source=text,
            )
        return [text], None
    if isinstance(inputs, bytes | bytearray):
        raise TypeError("inputs: expected text, paths or (id, sequence) pairs, not bytes")
    if isinstance(inputs, Mapping):
        return [MEMORY_SOURCE], _pair_records(iter(inputs.items()))
    items = iter(inputs)
    first = next(items, None)
    if first is None:  # nothing to predict: the prediction loop reports it, as for an empty file
        return [MEMORY_SOURCE], iter(())
    rest = itertools.chain([first], items)
    if isinstance(first, os.PathLike) or (isinstance(first, str) and is_path_text(first)):
        return as_paths(list(rest), "inputs"), None
    if isinstance(first, str):
        return [MEMORY_SOURCE], _text_records(rest)
    return [MEMORY_SOURCE], _pair_records(rest)


def _text_records(items: Iterator[Any]) -> Iterator[Record]:
    """Bare sequences: ids are their positions."""
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(
                f"inputs[{i}]: expected a sequence (str) like the first item, got {type(text).__name__}"
            )
        yield Record(str(i), text, i, MEMORY_SOURCE)


def _pair_records(items: Iterator[Any]) -> Iterator[Record]:
    """(id, sequence) pairs."""
    for i, pair in enumerate(items):
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(f"inputs[{i}]: expected an (id, sequence) pair, got {pair!r:.60}")
        rec_id, text = pair
        if not isinstance(text, str):
            raise TypeError(f"inputs[{i}]: the sequence of {rec_id!r} is a {type(text).__name__}, not str")
        yield Record(str(rec_id), text, i, MEMORY_SOURCE)


def in_shard(records: Iterable[Record], shard: tuple[int, int] | None) -> Iterator[Record]:
    """The records of shard ``(K, N)``: those whose input index i has i % N == K - 1 (all if None)."""
    return (rec for rec in records if in_shard_index(rec.index, shard))
