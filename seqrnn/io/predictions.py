"""The predictions HDF5 file: its layout, how a window of results is written, and how it is read back.

Layout (N sequences, R residues in all, C classes or targets; docs/hdf5-format.md):

    /ids (N,)  /lengths (N,)  /offsets (N+1,)        ragged index (see :mod:`seqrnn.io.hdf5`)
    /sequences (N,)  /record_index (N,)  /masked (N,) the sequence as predicted, its input position,
                                                     letters masked under --on-invalid mask
    /residue/<head>/probs (R, C)                     per-residue heads (attr ``classes``, ``kind``)
    /sequence/<head>/probs|values (N, C)             per-sequence heads (attr ``classes``/``targets``)
    /skipped/{record_index,records,reasons}          records left out under --on-invalid skip
    attrs: format, format_version, model_name, model_sha256, command, inputs, shard, precision, ...

Prediction (:mod:`seqrnn.predict`), ``merge``, ``export`` and ``plot`` all go through this module.
With ``--resume`` every finished window is also kept as a part file with the same layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from seqrnn.errors import InputError
from seqrnn.io.files import utc_timestamp
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer
from seqrnn.version import __version__

if TYPE_CHECKING:
    from seqrnn.bundle import ModelBundle
    from seqrnn.data.examples import Example
    from seqrnn.models.heads import Head

FORMAT = "seqrnn-predictions"
FORMAT_VERSION = 1

Layout = tuple[dict[str, DatasetSpec], dict[str, DatasetSpec]]


def dataset_key(head: Head) -> str:
    """Where a head's outputs live: ``residue/<name>/probs``, ``sequence/<name>/values``, ..."""
    return f"{head.level}/{head.name}/{head.output}"


def dataset_layout(heads: Iterable[Head]) -> Layout:
    """The residue and sequence datasets of a predictions file for these heads."""
    residue: dict[str, DatasetSpec] = {}
    # The sequence as the model saw it (after the input policy), aligned with the residue axis.
    sequence: dict[str, DatasetSpec] = {
        "sequences": DatasetSpec(None, h5py.string_dtype("utf-8")),
        # Position of each record in the (concatenated) input; merging shards restores this order.
        "record_index": DatasetSpec(None, np.int64),
        # Letters replaced by the unknown letter (X / N) under --on-invalid mask; 0 for clean records.
        "masked": DatasetSpec(None, np.int32),
    }
    for head in heads:
        spec = DatasetSpec(
            len(head.classes), np.float32, {head.label_attr: np.array(head.classes, dtype="S")}
        )
        spec.attrs["kind"] = head.kind
        (residue if head.level == "residue" else sequence)[dataset_key(head)] = spec
    return residue, sequence


def file_attrs(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    shard: tuple[int, int] | None,
    precision: str,
    command: str,
) -> dict[str, Any]:
    """The provenance attributes of a predictions file (model, inputs, command, precision, time)."""
    attrs: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqrnn_version": __version__,
        "model_name": bundle.name,
        "model_sha256": bundle.sha256,
    }
    members = bundle.metadata.get("ensemble")
    if members:
        attrs["model_members"] = np.array([m["model"] for m in members], dtype="S")
        attrs["model_members_sha256"] = np.array([m["sha256"] for m in members], dtype="S")
    attrs.update(
        command=command,
        inputs=np.array([str(p) for p in inputs], dtype="S"),
        shard="{}/{}".format(*(shard or (1, 1))),
        precision=precision,
        created=utc_timestamp(),
    )
    return attrs


def window_payload(
    bundle: ModelBundle,
    examples: Sequence[Example],
    residue: dict[str, np.ndarray],
    sequence: dict[str, np.ndarray],
) -> dict[str, Any]:
    """One window of results as :meth:`RaggedH5Writer.append` arguments.

    ``residue[head]`` (R_window, C) and ``sequence[head]`` (N_window, C), keyed by head name.
    """
    heads = bundle.model.heads
    return {
        "ids": [e.id for e in examples],
        "lengths": np.array([e.tokens.size for e in examples], dtype=np.int64),
        "residue": {dataset_key(heads[n]): a for n, a in residue.items()},
        "sequence": {
            "sequences": np.array([bundle.encoder.decode(e.tokens) for e in examples], dtype=object),
            "record_index": np.array([e.index for e in examples], dtype=np.int64),
            "masked": np.array([e.masked for e in examples], dtype=np.int32),
            **{dataset_key(heads[n]): a for n, a in sequence.items()},
        },
    }


# Part files (--resume) ----------------------------------------------------------------------------


def write_part(
    path: Path, payload: dict[str, Any], layout: Layout, sha256: str, first: int, last: int
) -> None:
    """Keep one finished window (records ``first``..``last`` of the model ``sha256``) for a rerun."""
    attrs = {"model_sha256": sha256, "first_record": first, "last_record": last}
    with RaggedH5Writer(path, attrs, *layout, compression=None) as writer:
        writer.append(**payload)


def read_part(
    path: Path, layout: Layout, sha256: str, first: int, last: int, n: int
) -> dict[str, Any] | None:
    """A finished part for exactly these ``n`` records from this model, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = tuple(
                f.attrs.get(k) for k in ("model_sha256", "first_record", "last_record", "n_sequences")
            )
            if found != (sha256, first, last, n):
                return None
            return {
                "ids": list(f["ids"].asstr()[:]),
                "lengths": f["lengths"][:],
                "residue": {k: f[k][:] for k in layout[0]},
                "sequence": {k: f[k][:] for k in layout[1]},
            }
    except (OSError, KeyError):
        return None


# Reading ------------------------------------------------------------------------------------------


def open_predictions_file(path: str | Path, *, shard: bool = False) -> h5py.File:
    """An open predictions file; a file that is not one is an :class:`InputError` naming it.

    ``shard``: also require ``/record_index`` (what merging shards needs).
    """
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError):
        raise InputError("not a readable HDF5 file", source=str(path)) from None
    if f.attrs.get("format") != FORMAT or (shard and "record_index" not in f):
        f.close()
        what = "a seqrnn predictions shard (no record_index)" if shard else "a seqrnn predictions file"
        raise InputError(f"not {what}", source=str(path))
    return f


class Predictions:
    """Read access to a seqrnn predictions file, one sequence at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.file = open_predictions_file(self.path)
        self.ids = self.file["ids"].asstr()[:]
        self.offsets = self.file["offsets"][:]
        self.sequences = self.file["sequences"].asstr()[:] if "sequences" in self.file else None
        self.residue_heads = sorted(self.file["residue"]) if "residue" in self.file else []

    def classes(self, head: str) -> list[str]:
        """The class names of a per-residue head, in column order."""
        return list(self.file[f"residue/{head}/probs"].attrs["classes"].astype(str))

    def residues(self, head: str) -> Iterator[tuple[int, str, str, np.ndarray]]:
        """(position, id, sequence, (L, C) probabilities) of every sequence, in file order."""
        ds = self.file[f"residue/{head}/probs"]
        for i, rec_id in enumerate(self.ids):
            seq = (
                self.sequences[i]
                if self.sequences is not None
                else "X" * int(self.offsets[i + 1] - self.offsets[i])
            )
            yield i, rec_id, seq, ds[self.offsets[i] : self.offsets[i + 1]]

    def close(self) -> None:
        """Close the file."""
        self.file.close()
