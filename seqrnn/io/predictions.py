"""The predictions HDF5 file: its layout, how a window of results is written, and how it is read back.

Layout (N sequences, R residues in all, C classes or targets; docs/hdf5-format.md):

    /ids (N,)  /lengths (N,)  /offsets (N+1,)        ragged index (see :mod:`seqrnn.io.hdf5`)
    /sequences (N,)  /record_index (N,)  /masked (N,) the sequence as predicted, its input position,
                                                     letters masked under --on-invalid mask
    /residue/<head>/probs (R, C)                     per-residue heads (attr ``classes``, ``kind``)
    /sequence/<head>/probs|values (N, C)             per-sequence heads (attr ``classes``/``targets``)
    /residue|sequence/<head>/std                     ensembles only: std over members, as the mean
    /sequence/<model>/<head>/...                     several models side by side: a group per model
    /skipped/{record_index,records,reasons}          records left out under --on-invalid skip
    attrs: format, format_version, model_name, model_sha256, command, inputs, shard, precision, ...

The writing side (the datasets of a run, its attributes, one window's payload) is
:mod:`seqrnn.inference.pipeline`; ``merge``, ``export``, ``plot`` and the Python API (:class:`Predictions`, returned
by :func:`seqrnn.predict` and :func:`seqrnn.read_predictions`) read through this module.
With ``--resume`` the prediction loop also keeps every finished window as a part file of this
layout (:mod:`seqrnn.inference.pipeline`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from seqrnn.errors import InputError, SeqrnnError
from seqrnn.io.columns import (
    HeadColumns,
    head_table,
    level_table,
    residue_columns,
    sequence_columns,
)

if TYPE_CHECKING:
    import pandas as pd

    from seqrnn.io.inputs import Skipped

FORMAT = "seqrnn-predictions"
FORMAT_VERSION = 1

# Reading ------------------------------------------------------------------------------------------

#: HDF5 chunk cache per dataset when reading: a residue chunk holds 65536 rows (2 MiB for 8 classes),
#: more than HDF5's 1 MiB default, which would decompress a chunk again for every record read from it.
READ_CACHE_BYTES = 16 << 20
_BLOCK_RECORDS = 4096  # iteration reads this many records (or 1M residues) per dataset read
_BLOCK_RESIDUES = 1 << 20


def open_predictions_file(path: str | Path, *, shard: bool = False) -> h5py.File:
    """An open predictions file; a file that is not one is an :class:`InputError` naming it.

    ``shard``: also require ``/record_index`` (what merging shards needs).
    """
    try:
        f = h5py.File(path, "r", rdcc_nbytes=READ_CACHE_BYTES)
    except (OSError, FileNotFoundError):
        raise InputError("not a readable HDF5 file", source=str(path)) from None
    if f.attrs.get("format") != FORMAT or (shard and "record_index" not in f):
        f.close()
        what = "a seqrnn predictions shard (no record_index)" if shard else "a seqrnn predictions file"
        raise InputError(f"not {what}", source=str(path))
    return f


def head_names(f: h5py.File, level: str) -> list[str]:
    """The heads stored under ``/<level>`` (``residue`` or ``sequence``), sorted: every group holding a
    ``probs`` or ``values`` dataset, named by its path below the level (``bound``, ``tf-USF1/bound``)."""
    found: list[str] = []
    group = f.get(level)
    if isinstance(group, h5py.Group):
        group.visit(
            lambda name: found.append(name) if name.rsplit("/", 1)[-1] in ("probs", "values") else None
        )
    return sorted(name.rsplit("/", 1)[0] for name in found)


def _plain(value: Any) -> Any:
    """An HDF5 attribute as plain Python: bytes -> str, arrays -> lists, numpy scalars -> numbers."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


class Predictions:
    """The predictions of one run, read lazily from a predictions file (on disk or in memory).

    What :func:`seqrnn.predict` returns and :func:`seqrnn.read_predictions` opens. The id index
    (``ids``, ``offsets``; N + 1 numbers) is read on opening; outputs are read per record, by slicing
    the datasets, so files larger than memory can be used.

    - ``len(p)``: N records; ``p.ids``: their ids (list of str), in input order.
    - ``p[i]`` (position, negative counts from the end) or ``p["id"]`` -> ``{head: array}``: per-residue
      heads ``(L, C)`` float32 (L = the record's length, C = classes), per-sequence heads ``(C,)``
      (classes, labels or regression targets: see :meth:`classes`).
    - ``for rec_id, outputs in p``: every record in order, as ``(id, {head: array})``.
    - ``p.std(i)`` or ``p.std("id")`` -> ``{head: array}`` shaped as ``p[i]``: for an ensemble's predictions
      (``p.has_std``), the standard deviation over members beside the mean that ``p[i]`` gives.
    - ``p.heads``, ``p.classes(head)``, ``p.sequence(i)``, ``p.attrs``, ``p.skipped``,
      ``p.to_dataframe()`` (needs pandas; the ``csv`` export's columns, or with ``level="residue"`` the
      ``tsv`` export's), ``p.columns(head)``, ``p.values(head)``, ``p.std_values(head)``.
    - Close it (``p.close()`` or ``with read_predictions(...) as p:``) to release the file or memory.

    Args:
        source: path of a predictions file, or an open :class:`h5py.File` holding one (taken over:
            :meth:`close` closes it).

    Raises:
        InputError: the file is missing or not a seqrnn predictions file.
    """

    def __init__(self, source: str | Path | h5py.File) -> None:
        if isinstance(source, h5py.File):
            self.file = source
            in_memory = source.driver == "core" and not source.id.get_access_plist().get_fapl_core()[1]
            #: The file's path; None for an in-memory result.
            self.path: Path | None = None if in_memory else Path(source.filename)
            if source.attrs.get("format") != FORMAT:
                raise InputError("not a seqrnn predictions file", source=str(self.path or "<memory>"))
        else:
            self.path = Path(source)
            self.file = open_predictions_file(self.path)
        #: Record ids in file (= input) order; ids may repeat (see :meth:`__getitem__`).
        self.ids: list[str] = self.file["ids"].asstr()[:].tolist()
        #: (N+1,) int64: residue rows of record i are ``offsets[i]:offsets[i+1]``.
        self.offsets: np.ndarray = self.file["offsets"][:]
        #: Names of the per-residue heads (sorted; ``<model>/<head>`` for several models).
        self.residue_heads: list[str] = head_names(self.file, "residue")
        #: Names of the per-sequence heads (sorted; ``<model>/<head>`` for several models).
        self.sequence_heads: list[str] = head_names(self.file, "sequence")
        self._positions: dict[str, int] | None = None
        self._repeats: dict[str, int] = {}

    # the index --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, rec_id: object) -> bool:
        return isinstance(rec_id, str) and rec_id in self._id_positions()

    def _id_positions(self) -> dict[str, int]:
        if self._positions is None:
            positions: dict[str, int] = {}
            for i, rec_id in enumerate(self.ids):
                if rec_id in positions:
                    self._repeats[rec_id] = self._repeats.get(rec_id, 1) + 1
                else:
                    positions[rec_id] = i
            self._positions = positions
        return self._positions

    def position(self, key: int | str) -> int:
        """The position (0-based, in file order) of a record given by position or id.

        Raises:
            KeyError: an id that is not in the file, or that more than one record has.
            IndexError: a position out of range.
        """
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            n = len(self.ids)
            if not -n <= key < n:
                raise IndexError(f"record {key} out of range ({n} records)")
            return int(key) % n
        if not isinstance(key, str):
            raise TypeError(f"records are indexed by position (int) or id (str), not {type(key).__name__}")
        positions = self._id_positions()
        if key not in positions:
            raise KeyError(f"no record with id {key!r}")
        if key in self._repeats:
            raise KeyError(
                f"id {key!r} occurs {self._repeats[key]} times; index those records by position "
                f"(the first is {positions[key]})"
            )
        return positions[key]

    # heads ------------------------------------------------------------------------------------------
    @property
    def heads(self) -> list[str]:
        """All head names: the per-residue heads, then the per-sequence heads."""
        return self.residue_heads + self.sequence_heads

    def _dataset(self, head: str, std: bool = False) -> h5py.Dataset:
        for level in ("residue", "sequence"):
            group = self.file.get(f"{level}/{head}")
            if isinstance(group, h5py.Group):
                for output in ("std",) if std else ("probs", "values"):
                    if output in group:
                        return group[output]
        raise KeyError(f"no head {head!r} in the predictions (heads: {', '.join(self.heads) or 'none'})")

    def classes(self, head: str) -> list[str]:
        """The column names of a head's outputs, in column order.

        Classes for classification heads (e.g. ``['H', 'E', 'C']``), labels for multi-label heads,
        target names for regression heads.
        """
        attrs = self._dataset(head).attrs
        names = attrs["classes"] if "classes" in attrs else attrs["targets"]
        return [_plain(n) for n in names]

    def threshold(self, head: str) -> float | None:
        """A two-class head's stored decision threshold (its second class is called at P >= it), else
        None: the class is the argmax (:func:`seqrnn.io.columns.decide`)."""
        value = self._dataset(head).attrs.get("threshold")
        return None if value is None else float(value)

    def columns(self, head: str) -> HeadColumns:
        """A head's export columns (:mod:`seqrnn.io.columns`): their names, values and cells, by its level
        and the head kind stored with it."""
        ds = self._dataset(head)
        classes, threshold = self.classes(head), self.threshold(head)
        if head in self.residue_heads:
            return residue_columns(head, classes, threshold)
        return sequence_columns(str(_plain(ds.attrs.get("kind", ""))), head, classes, threshold)

    def values(self, head: str) -> np.ndarray:
        """All of a head's outputs, read whole: (R, C) for a per-residue head (R residues in all; record
        i's are rows ``offsets[i]:offsets[i+1]``), (N, C) for a per-sequence head."""
        return self._dataset(head)[:]

    def std_values(self, head: str) -> np.ndarray | None:
        """An ensemble's std over members of all of a head's outputs, shaped as :meth:`values`'; None for
        a head without (a single model's)."""
        group = self._dataset(head).parent
        return group["std"][:] if "std" in group else None

    @property
    def has_std(self) -> bool:
        """Whether the file holds ``std`` datasets (predictions of an ensemble of several models)."""
        return any("std" in self._dataset(h).parent for h in self.heads)

    def std(self, key: int | str) -> dict[str, np.ndarray]:
        """An ensemble's std over members (ddof=0) of one record's outputs, shaped as :meth:`__getitem__`'s
        (by position or id); KeyError for a file without std (a single model's predictions)."""
        if not self.has_std:
            raise KeyError("no std in these predictions: only an ensemble's predictions have it")
        return self._record(self.position(key), std=True)

    # records ----------------------------------------------------------------------------------------
    def __getitem__(self, key: int | str) -> dict[str, np.ndarray]:
        """The outputs of one record, by position or id, as ``{head: array}``.

        Returns:
            Per-residue heads: ``(L, C)`` float32, L the record's length (tokens for SMILES);
            per-sequence heads: ``(C,)`` float32.

        Raises:
            KeyError: an unknown id, or an id that several records share (index those by position).
            IndexError: a position out of range.
        """
        return self._record(self.position(key))

    def _record(self, i: int, std: bool = False) -> dict[str, np.ndarray]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        out = {head: self._dataset(head, std)[a:b] for head in self.residue_heads}
        out.update({head: self._dataset(head, std)[i] for head in self.sequence_heads})
        return out

    def __iter__(self) -> Iterator[tuple[str, dict[str, np.ndarray]]]:
        """``(id, {head: array})`` for every record in file order (read in blocks, not whole)."""
        for a, b in self._blocks():
            lo = int(self.offsets[a])
            residue = {h: self._dataset(h)[lo : int(self.offsets[b])] for h in self.residue_heads}
            sequence = {h: self._dataset(h)[a:b] for h in self.sequence_heads}
            for i in range(a, b):
                r0, r1 = int(self.offsets[i]) - lo, int(self.offsets[i + 1]) - lo
                out = {h: arr[r0:r1] for h, arr in residue.items()}
                out.update({h: arr[i - a] for h, arr in sequence.items()})
                yield self.ids[i], out

    def _blocks(self) -> Iterator[tuple[int, int]]:
        """Record ranges ``[a, b)`` of at most 4096 records or ~1M residues (at least one record)."""
        a, n = 0, len(self.ids)
        while a < n:
            b = min(n, a + _BLOCK_RECORDS)
            limit = self.offsets[a] + _BLOCK_RESIDUES
            b = max(a + 1, min(b, int(np.searchsorted(self.offsets, limit, side="right")) - 1))
            yield a, b
            a = b

    @property
    def sequences(self) -> Any:
        """The sequences as the model saw them: a lazily read, indexable view (``[i]`` -> str), or None
        in files written before ``/sequences`` existed."""
        return self.file["sequences"].asstr() if "sequences" in self.file else None

    def sequence(self, key: int | str) -> str:
        """One record's sequence as the model saw it (after the input policy), by position or id.

        Its length is the number of rows of the record's per-residue outputs (for SMILES the string may
        be longer: a token can be several characters).
        """
        i = self.position(key)
        if "sequences" in self.file:
            return str(self.file["sequences"].asstr()[i])
        return "X" * int(self.offsets[i + 1] - self.offsets[i])

    def residues(self, head: str, std: bool = False) -> Iterator[tuple[int, str, str, np.ndarray]]:
        """(position, id, sequence, (L, C) probabilities, or with ``std`` their std) of every sequence."""
        ds = self._dataset(head, std)
        seqs = self.sequences
        for a, b in self._blocks():
            lo = int(self.offsets[a])
            block = ds[lo : int(self.offsets[b])]
            texts = seqs[a:b] if seqs is not None else None
            for i in range(a, b):
                r0, r1 = int(self.offsets[i]) - lo, int(self.offsets[i + 1]) - lo
                seq = str(texts[i - a]) if texts is not None else "X" * (r1 - r0)
                yield i, self.ids[i], seq, block[r0:r1]

    # provenance -------------------------------------------------------------------------------------
    @property
    def attrs(self) -> dict[str, Any]:
        """The file's attributes as plain Python values: ``model_name``, ``model_sha256``, ``precision``,
        ``n_sequences``, ``created``, ... (docs/hdf5-format.md)."""
        return {k: _plain(v) for k, v in self.file.attrs.items()}

    @property
    def skipped(self) -> list[Skipped]:
        """Records left out under ``on_invalid="skip"``: ``Skipped(record, reason, index)``, with
        ``record`` as ``SOURCE:ID`` and ``index`` the record's position in the input."""
        from seqrnn.io.inputs import Skipped

        if "skipped" not in self.file:
            return []
        group = self.file["skipped"]
        return [
            Skipped(str(rec), str(reason), int(index))
            for rec, reason, index in zip(
                group["records"].asstr()[:],
                group["reasons"].asstr()[:],
                group["record_index"][:],
                strict=True,
            )
        ]

    def to_dataframe(self, head: str | None = None, *, level: str = "sequence") -> pd.DataFrame:
        """The predictions as a pandas DataFrame (needs pandas: ``pip install 'seqrnn[pandas]'``): the
        columns of the command line's exports (:mod:`seqrnn.io.columns`), numbers as stored (float32).

        - ``to_dataframe()``: one row per record with ``id`` and every per-sequence head's columns as in
          ``--export csv`` (``pred_<head>`` predicted class or value, ``pred_<head>_P<class>``, an
          ensemble's ``..._std``); the input's own columns and ``pred_status``/``pred_note`` are the
          export's, not here.
        - ``to_dataframe(level="residue")``: one row per residue with the columns of ``--export tsv``:
          ``id``, ``position`` (1-based), ``residue``, then per per-residue head the predicted class
          ``<head>``, ``<head>_P<class>`` and an ensemble's ``<head>_P<class>_std``.
        - ``to_dataframe(head)``: one head's outputs as stored, one column per class or target named by
          it (per-residue heads: ``id``, ``position``, ``residue`` first; per-sequence heads: ``id``).

        ``residue`` is left out where residues are not single letters (SMILES tokens).

        Raises:
            InputError: the file has no heads of the level asked for (the hint names the other).
            KeyError: no head ``head``.
            ValueError: ``level`` is not ``sequence`` or ``residue``.
        """
        if level not in ("sequence", "residue"):
            raise ValueError(f"level must be 'sequence' or 'residue', not {level!r}")
        try:
            import pandas as pd
        except ImportError:
            raise SeqrnnError("Predictions.to_dataframe needs pandas: pip install 'seqrnn[pandas]'") from None
        return pd.DataFrame(head_table(self, head) if head is not None else level_table(self, level))

    # lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file (an in-memory result is freed)."""
        self.file.close()

    def __enter__(self) -> Predictions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self.file:
            return "Predictions(closed)"
        heads = ", ".join(f"{h} [{' '.join(self.classes(h))}]" for h in self.heads)
        where = str(self.path) if self.path is not None else "in memory"
        model = _plain(self.file.attrs.get("model_name", ""))
        return f"Predictions({len(self)} records, heads {heads}, model {model!r}, {where})"
