"""The variants HDF5 file (``format = "seqrnn-variants"``): its layout, writer and readers.

Layout (N variants, one per ALT allele; C = classes or targets of a head; docs/hdf5-format.md):

- ``variants/{chrom,id,ref,alt,status}`` (N,) UTF-8 strings; ``variants/pos`` (N,) int64, 1-based as in
  the VCF; ``variants/record_index`` (N,) int64, the variant's position in the input (shards, merge);
  ``variants/vcf_record`` (N,) int64, the 0-based VCF record; ``variants/allele`` (N,) int64, 1-based ALT;
- ``variants/genome_ref`` (N,) UTF-8, the genome's bases where REF lies (``""`` for an unknown contig or
  a POS past its end); ``variants/padded_fraction`` (N,) float32, the share of N padding past a contig
  end in the scored windows (0 inside a contig, NaN when not scored). Files written before these two
  existed read as ``""`` / NaN (:func:`read_block`);
- ``variants/<model>/<head>/{ref,alt,diff,log_odds_diff}`` (N, C) float32, attribute ``classes``
  (and ``kind``); NaN where the variant was not scored.

A payload (what :meth:`VariantsWriter.append` takes and :func:`read_block` returns) is a flat dict of
those paths relative to ``variants/`` to arrays of the same length.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from seqrnn.errors import InputError, OutputError
from seqrnn.io.hdf5 import AtomicH5
from seqrnn.io.outputs import check_writable

FORMAT = "seqrnn-variants"
FORMAT_VERSION = 1
STRINGS = ("chrom", "id", "ref", "alt", "status", "genome_ref")
INTEGERS = ("pos", "record_index", "vcf_record", "allele")
FLOATS = ("padded_fraction",)
META = STRINGS + INTEGERS + FLOATS
#: Per-variant columns added after format_version 1 first shipped: what older files read as.
LATER = {"genome_ref": "", "padded_fraction": np.nan}
SCORES = ("ref", "alt", "diff", "log_odds_diff")
ROW_CHUNK = 4096
_STR = h5py.string_dtype("utf-8")

#: {model label: {head: (kind, classes)}}: which score datasets a file has.
ModelHeads = Mapping[str, Mapping[str, tuple[str, Sequence[str]]]]


def score_keys(models: ModelHeads) -> list[str]:
    """The score dataset paths (relative to ``variants/``) of ``models``, in file order."""
    return [f"{m}/{h}/{s}" for m, heads in models.items() for h in heads for s in SCORES]


class VariantsWriter:
    """Writes a variants file atomically (:class:`~seqrnn.io.files.AtomicOutput`): use as a context
    manager, :meth:`append` payloads in input order, set ``attrs`` before leaving the block."""

    def __init__(
        self,
        path: str | Path,
        attrs: Mapping[str, Any],
        models: ModelHeads,
        compression: str | None = "gzip",
        sweep: bool = True,
    ) -> None:
        self.path = check_writable(path)
        self.attrs = dict(attrs)
        self.models = models
        self.compression = compression
        self.sweep = sweep
        self.n = 0
        self._out: AtomicH5 | None = None
        self._file: h5py.File | None = None

    def __enter__(self) -> VariantsWriter:
        self._out = AtomicH5(self.path, sweep=self.sweep)
        f = self._file = self._out.open()
        group = f.create_group("variants")
        opts: dict[str, Any] = {"chunks": True}
        if self.compression:
            opts.update(compression=self.compression, shuffle=True)
        for name in STRINGS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=_STR, **opts)
        for name in INTEGERS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=np.int64, **opts)
        for name in FLOATS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=np.float32, **opts)
        for model, heads in self.models.items():
            for head, (kind, classes) in heads.items():
                for score in SCORES:
                    ds = group.create_dataset(
                        f"{model}/{head}/{score}",
                        (0, len(classes)),
                        maxshape=(None, len(classes)),
                        dtype=np.float32,
                        **opts,
                    )
                    ds.attrs["classes"] = np.array(list(classes), dtype="S")
                    ds.attrs["kind"] = kind
        return self

    def append(self, payload: Mapping[str, Any]) -> None:
        """Append one block of variants (a payload: every ``META`` and score path, same length)."""
        assert self._file is not None
        n = len(payload["record_index"])
        group = self._file["variants"]
        for key in (*META, *score_keys(self.models)):
            ds = group[key]
            ds.resize(self.n + n, axis=0)
            ds[self.n : self.n + n] = payload[key]
        self.n += n
        assert self._out is not None
        self._out.check()  # a full disk stops the run at this block, not at the end

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None and self._out is not None
        if exc_type is not None:
            error = self._out.abort(exc)
            if error is not None and not isinstance(exc, OutputError):
                raise error from None
            return
        try:
            self._file.attrs.update({**self.attrs, "n_variants": self.n})
        except BaseException as failed:
            raise (self._out.abort(failed) or failed) from None
        self._out.close()


def open_variants(path: str | Path) -> h5py.File:
    """Open a variants file for reading; anything else raises :class:`InputError`."""
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError):
        raise InputError("not a readable HDF5 file", source=str(path)) from None
    if f.attrs.get("format") != FORMAT:
        f.close()
        raise InputError(f"not a seqrnn variants file (format {FORMAT})", source=str(path))
    return f


def file_models(f: h5py.File) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """The ``{model: {head: (kind, classes)}}`` of an open variants file (from its ``models`` attr)."""
    models: dict[str, dict[str, tuple[str, list[str]]]] = {}
    for model in f.attrs["models"]:
        label = model.decode() if isinstance(model, bytes) else str(model)
        group = f[f"variants/{label}"]
        models[label] = {}
        for head in group:
            ds = group[f"{head}/ref"]
            classes = [c.decode() if isinstance(c, bytes) else str(c) for c in ds.attrs["classes"]]
            models[label][head] = (str(ds.attrs["kind"]), classes)
    return models


def read_block(f: h5py.File, start: int, stop: int, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Rows ``start:stop`` of every dataset under ``variants/`` (a payload); a column that a file from
    an earlier seqrnn lacks (:data:`LATER`) reads as its default, so such files still merge and export."""
    group = f["variants"]
    keys = list(keys) if keys is not None else [*META, *score_keys(file_models(f))]
    block: dict[str, Any] = {}
    for k in keys:
        if k not in group and k in LATER:
            n = max(0, min(stop, int(group["record_index"].shape[0])) - start)
            dtype = object if k in STRINGS else np.float32
            block[k] = np.full(n, LATER[k], dtype=dtype)
        else:
            block[k] = group[k].asstr()[start:stop] if k in STRINGS else group[k][start:stop]
    return block


def read_part(path: Path, shas: Sequence[str], first: int, last: int, n: int) -> dict[str, Any] | None:
    """A finished ``--resume`` part for exactly these ``n`` variants and models, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = (
                [s.decode() if isinstance(s, bytes) else str(s) for s in f.attrs.get("model_sha256s", [])],
                f.attrs.get("first_record"),
                f.attrs.get("last_record"),
                f.attrs.get("n_variants"),
            )
            if found != (list(shas), first, last, n):
                return None
            return read_block(f, 0, n)
    except (OSError, KeyError):
        return None
