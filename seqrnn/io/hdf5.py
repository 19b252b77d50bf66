"""Atomic, chunked, compressed HDF5 output for ragged per-residue and per-sequence arrays.

Layout (N sequences, R = total residues/tokens, C = classes or targets):
    /ids (N,) UTF-8 strings in input order; /lengths (N,) int64; /offsets (N+1,) int64 into the residue
    axis, so residue rows of sequence i are ``offsets[i]:offsets[i+1]``;
    residue datasets (R, C) and sequence datasets (N, C) under any group path given by the caller.
The file is written as ``.<name>.<random>.tmp`` in the target directory and renamed on success only,
so a killed job never leaves a file that looks finished; without a path it is built in memory instead
(HDF5's ``core`` driver, nothing on disk) and left open for reading (:attr:`RaggedH5Writer.file`).
Appends go in fixed-size chunks, so memory is bounded by one write call, not by the input.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from seqrnn.errors import OutputError
from seqrnn.io.files import AtomicOutput

ROW_CHUNK = 16384


@dataclass
class DatasetSpec:
    """One output array: ``columns`` = width (None for 1-D), plus attributes such as ``classes``."""

    columns: int | None
    dtype: Any = np.float32
    attrs: dict[str, Any] = field(default_factory=dict)


def check_writable(path: str | Path) -> Path:
    """Fail before any work if the output cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name")
    if not parent.is_dir():
        raise OutputError(f"{path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")
    return path


class RaggedH5Writer:
    """Appends ragged per-residue and per-sequence arrays to a new HDF5 file, renamed into place on success.

    Use as a context manager; :meth:`append` one block of sequences at a time, :meth:`put` whole
    datasets, and set file attributes through ``attrs`` before leaving the block.

    ``path=None`` writes the same layout into an in-memory HDF5 file instead; after a successful block
    it stays open, as :attr:`file`, for reading (closing it frees the memory).
    """

    def __init__(
        self,
        path: str | Path | None,
        attrs: Mapping[str, Any],
        residue: Mapping[str, DatasetSpec],
        sequence: Mapping[str, DatasetSpec],
        compression: str | None = "gzip",
    ) -> None:
        self.path = None if path is None else check_writable(path)
        self.attrs = dict(attrs)
        self.residue_specs = dict(residue)
        self.sequence_specs = dict(sequence)
        self.compression = compression
        self.n = 0
        self.r = 0
        self._file: h5py.File | None = None
        self._out: AtomicOutput | None = None
        self.file: h5py.File | None = None  # in-memory writers: the finished file, open for reading

    # lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> RaggedH5Writer:
        if self.path is not None:
            self._out = AtomicOutput(self.path)
        try:
            if self._out is None:
                # The name only identifies the file to HDF5; nothing is written to disk.
                f = h5py.File(f"seqrnn-{uuid.uuid4().hex}.h5", "w", driver="core", backing_store=False)
            else:
                f = h5py.File(self._out.tmp, "w")
            self._file = f
            f.create_dataset(
                "ids", (0,), maxshape=(None,), dtype=h5py.string_dtype("utf-8"), chunks=(ROW_CHUNK,)
            )
            self._make(f, "lengths", 1, DatasetSpec(None, np.int64))
            self._make(f, "offsets", 1, DatasetSpec(None, np.int64))
            f["offsets"].resize((1,))
            f["offsets"][0] = 0
            for name, spec in self.residue_specs.items():
                self._make(f, name, 4, spec)
            for name, spec in self.sequence_specs.items():
                self._make(f, name, 1, spec)
        except BaseException:
            # __exit__ does not run when __enter__ fails: remove the temp file here.
            if self._file is not None:
                self._file.close()
            if self._out is not None:
                self._out.discard()
            raise
        return self

    def _make(self, f: h5py.File, name: str, chunk_scale: int, spec: DatasetSpec) -> None:
        shape = (0,) if spec.columns is None else (0, spec.columns)
        maxshape = (None,) if spec.columns is None else (None, spec.columns)
        chunks = (ROW_CHUNK * chunk_scale,) + (() if spec.columns is None else (spec.columns,))
        ds = f.create_dataset(
            name,
            shape,
            maxshape=maxshape,
            dtype=spec.dtype,
            chunks=chunks,
            compression=self.compression,
            shuffle=self.compression is not None,
        )
        for key, value in spec.attrs.items():
            ds.attrs[key] = value

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None
        if exc_type is None:
            self._file.attrs.update(self.attrs)
            self._file.attrs["n_sequences"] = self.n
            self._file.attrs["n_residues"] = self.r
            if self._out is None:
                self._file.flush()
                self.file = self._file
            else:
                self._file.close()
                self._out.commit()
        else:
            self._file.close()
            if self._out is not None:
                self._out.discard()

    # data ---------------------------------------------------------------------------------------
    def append(
        self,
        ids: list[str],
        lengths: np.ndarray,
        residue: Mapping[str, np.ndarray] | None = None,
        sequence: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append N sequences.

        Args:
            ids: (N,) record ids.
            lengths: (N,) residues (rows) of each sequence.
            residue: every residue dataset declared at construction, (sum(lengths), C) rows.
            sequence: every sequence dataset declared at construction, (N, ...) rows.

        Raises ``ValueError`` when a residue array's row count is not ``sum(lengths)`` and ``KeyError`` when a
        declared dataset is missing; the writer must be open (used as a context manager).
        """
        f = self._file
        assert f is not None, "use the writer as a context manager"
        n_new = len(ids)
        if n_new == 0:
            return
        lengths = np.asarray(lengths, dtype=np.int64)
        r_new = int(lengths.sum())
        _extend(f["ids"], np.asarray(ids, dtype=object))
        _extend(f["lengths"], lengths)
        _extend(f["offsets"], self.r + np.cumsum(lengths))
        for name in self.residue_specs:
            arr = (residue or {})[name]
            if arr.shape[0] != r_new:
                raise ValueError(f"{name}: {arr.shape[0]} rows for {r_new} residues")
            _extend(f[name], arr)
        for name in self.sequence_specs:
            _extend(f[name], (sequence or {})[name])
        self.n += n_new
        self.r += r_new

    def put(self, name: str, values: np.ndarray) -> None:
        """A whole dataset written at once (e.g. ``skipped/reasons``); object arrays become UTF-8 strings."""
        f = self._file
        assert f is not None, "use the writer as a context manager"
        dtype = h5py.string_dtype("utf-8") if values.dtype == object else values.dtype
        f.create_dataset(name, data=values, dtype=dtype)


def write_skipped(writer: RaggedH5Writer, skipped: Sequence[tuple[int, str, str]]) -> None:
    """``/skipped/{record_index,records,reasons}`` from (input index, ``FILE:ID``, reason) entries, in
    the order given; nothing when there are none."""
    if not skipped:
        return
    writer.put("skipped/record_index", np.array([s[0] for s in skipped], dtype=np.int64))
    writer.put("skipped/records", np.array([s[1] for s in skipped], dtype=object))
    writer.put("skipped/reasons", np.array([s[2] for s in skipped], dtype=object))


def _extend(ds: h5py.Dataset, values: np.ndarray) -> None:
    start = ds.shape[0]
    ds.resize((start + values.shape[0], *ds.shape[1:]))
    ds[start:] = values
