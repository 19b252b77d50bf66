"""Atomic, chunked, compressed HDF5 output for ragged per-residue and per-sequence arrays.

Layout (N sequences, R = total residues/tokens, C = classes or targets):
    /ids (N,) UTF-8 strings in input order; /lengths (N,) int64; /offsets (N+1,) int64 into the residue
    axis, so residue rows of sequence i are ``offsets[i]:offsets[i+1]``;
    residue datasets (R, C) and sequence datasets (N, C) under any group path given by the caller.
The file is written as ``.<name>.<random>.tmp`` in the target directory and renamed on success only,
so a killed job never leaves a file that looks finished; without a path it is built in memory instead
(HDF5's ``core`` driver, nothing on disk) and left open for reading (:attr:`RaggedH5Writer.file`).
Appends go in fixed-size chunks, so memory is bounded by one write call, not by the input.

Every HDF5 file seqrnn writes is opened by :class:`AtomicH5`: HDF5 writes through a Python file
object (:class:`GuardedFile`) instead of its own POSIX driver. When a write fails (disk full, a
file-size limit), the guard remembers the error and from then on discards what HDF5 writes, so HDF5
can close the file cleanly: with its own driver HDF5 retries the failed flush while closing, fails
again and leaves its library state broken (a segmentation fault at exit). The error becomes one
:class:`~seqrnn.errors.OutputError` naming the output and the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from seqrnn.errors import OutputError
from seqrnn.io.files import AtomicOutput, disk_error
from seqrnn.io.outputs import check_writable

ROW_CHUNK = 16384


@dataclass
class DatasetSpec:
    """One output array: ``columns`` = width (None for 1-D), plus attributes such as ``classes``."""

    columns: int | None
    dtype: Any = np.float32
    attrs: dict[str, Any] = field(default_factory=dict)


#: The datasets of a ragged file: (per-residue specs, per-sequence specs), keyed by dataset path.
Layout = tuple[dict[str, DatasetSpec], dict[str, DatasetSpec]]


class GuardedFile(io.RawIOBase):
    """A binary file HDF5 writes through (h5py's ``fileobj`` driver) that can be switched off.

    The first failed write is kept in :attr:`error` and aborts the file: it and every later write
    (as after :meth:`abort`) are accepted and dropped, so HDF5 never sees a failure and always
    closes cleanly; the writer raises :attr:`error` (:meth:`check`) after each block and on close.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self._fh = open(path, "r+b")  # noqa: SIM115 (closed by close())
        self.error: OSError | None = None
        self.aborted = False

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._fh.seek(pos, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def readinto(self, buffer: Any) -> int:
        return self._fh.readinto(buffer)

    def write(self, data: Any) -> int:
        if self.aborted:
            return len(memoryview(data))
        try:
            return self._fh.write(data)
        except OSError as exc:
            self._fail(exc)
            return len(memoryview(data))  # HDF5 is not told: see _fail

    def truncate(self, size: int | None = None) -> int:
        if self.aborted:
            return self.tell() if size is None else size
        try:
            return self._fh.truncate(size)
        except OSError as exc:
            self._fail(exc)
            return self.tell() if size is None else size

    def flush(self) -> None:
        if self.aborted or self._fh.closed:
            return
        try:
            self._fh.flush()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        # HDF5 is never told that a write failed: it also writes when it frees a dataset (evicting its
        # chunk cache), where an error reaches no caller and leaves its library state broken (a
        # segmentation fault at exit). The file is lost anyway; the writer raises the kept error.
        self.error = self.error or exc
        self.aborted = True

    def check(self, path: str | Path) -> None:
        """Raise the :class:`OutputError` for a write that failed (see :func:`disk_error`), if any."""
        if self.error is not None:
            raise disk_error(self.error, path) or self.error

    def abort(self) -> None:
        """Drop every later write (the file is going to be removed)."""
        self.aborted = True

    def close(self) -> None:
        if not self.closed:
            if not self.aborted:
                self.flush()
            self._fh.close()
        super().close()


class AtomicH5:
    """A new HDF5 file at ``path``, written as a temporary file and renamed on success.

    ``with AtomicH5(path) as f:`` gives the open :class:`h5py.File`. On success the file is flushed,
    closed and committed (:class:`~seqrnn.io.files.AtomicOutput`, so inside
    :func:`~seqrnn.io.files.staged` with the other outputs); on any error it is closed without
    writing more and removed. A write the file system refuses raises :class:`OutputError`.
    """

    def __init__(self, path: str | Path, *, sweep: bool = True) -> None:
        self.path = Path(path)
        self.sweep = sweep
        self._out: AtomicOutput | None = None
        self._guard: GuardedFile | None = None
        self.file: h5py.File | None = None

    def open(self) -> h5py.File:
        """Create the temporary file and open it for writing (what ``__enter__`` does)."""
        self._out = AtomicOutput(self.path, sweep=self.sweep)
        try:
            self._guard = GuardedFile(self._out.tmp)
            self.file = h5py.File(self._guard, "w")
        except BaseException as exc:
            self.abort()
            raise disk_error(exc, self.path) or exc from None
        return self.file

    def close(self) -> None:
        """Flush, close and commit; a failure removes the temporary file and raises."""
        assert self.file is not None and self._out is not None and self._guard is not None
        try:
            self.file.flush()
            self.file.close()
            self._guard.check(self.path)  # a write that failed where HDF5 could not report it
            self._guard.close()
        except BaseException as exc:
            error = self.abort(exc)
            raise (error or exc) from None
        self._out.commit()

    def check(self) -> None:
        """Raise now if a write has failed (HDF5 writes chunks behind the caller's back)."""
        assert self._guard is not None
        self._guard.check(self.path)

    def abort(self, exc: BaseException | None = None) -> OutputError | None:
        """Close without writing more and remove the temporary file; returns the :class:`OutputError`
        that ``exc`` (or a write that failed before it) stands for, if any."""
        error = None
        if self._guard is not None:
            failed = self._guard.error
            error = disk_error(failed, self.path) if failed is not None else None
            self._guard.abort()
        if self.file is not None:
            # Writes are dropped from here on, so these succeed; a failure would only hide the real one.
            with contextlib.suppress(Exception):
                self.file.flush()
            with contextlib.suppress(Exception):
                self.file.close()
        if self._guard is not None:
            self._guard.close()
        if self._out is not None:
            self._out.discard()
        if error is None and exc is not None:
            error = disk_error(exc, self.path)
        return error

    def __enter__(self) -> h5py.File:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
            return
        error = self.abort(exc)
        if error is not None and not isinstance(exc, OutputError):
            raise error from None


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
        self._out: AtomicH5 | None = None
        self.file: h5py.File | None = None  # in-memory writers: the finished file, open for reading

    # lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> RaggedH5Writer:
        try:
            if self.path is None:
                # The name only identifies the file to HDF5; nothing is written to disk.
                f = h5py.File(f"seqrnn-{uuid.uuid4().hex}.h5", "w", driver="core", backing_store=False)
            else:
                self._out = AtomicH5(self.path)
                f = self._out.open()
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
        except BaseException as exc:
            # __exit__ does not run when __enter__ fails: remove the temp file here.
            error = self._out.abort(exc) if self._out is not None else None
            if self._out is None and self._file is not None:
                self._file.close()
            if error is not None and not isinstance(exc, OutputError):
                raise error from None
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
            try:
                self._file.attrs.update(self.attrs)
                self._file.attrs["n_sequences"] = self.n
                self._file.attrs["n_residues"] = self.r
            except BaseException as failed:
                if self._out is None:
                    self._file.close()
                    raise
                error = self._out.abort(failed)
                raise (error or failed) from None
            if self._out is None:
                self._file.flush()
                self.file = self._file
            else:
                self._out.close()
        elif self._out is None:
            self._file.close()
        else:
            error = self._out.abort(exc)
            if error is not None and not isinstance(exc, OutputError):
                raise error from None

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
        if self._out is not None:
            self._out.check()

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
