"""``seqrnn merge``: combine the shard files of one sharded prediction into the unsharded file.

Checks before writing anything: every input is a seqrnn predictions file from the same model (sha256),
with the same shard count N, and shards 1..N are each present exactly once. Records are restored to
input order by ``/record_index``; the merged file has the same datasets and attributes as an unsharded
run (``shard`` = ``1/1``, ``/skipped`` gathered from all shards), so downstream steps cannot tell the
difference. Memory is bounded by one block of records, whatever the total size.

Shards of ``seqrnn variants`` (``format = "seqrnn-variants"``) are merged the same way by
:func:`merge_variant_shards`, ordered by ``variants/record_index``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np

from seqrnn.errors import InputError
from seqrnn.io.effects import FORMAT as VARIANTS_FORMAT
from seqrnn.io.effects import STRINGS, VariantsWriter, file_models, open_variants, read_block
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer, write_skipped
from seqrnn.io.predictions import open_predictions_file

BLOCK = 8192
_COMMON = ("ids", "lengths", "offsets")


def _open(path: Path) -> h5py.File:
    return open_predictions_file(path, shard=True)


def _layout(f: h5py.File) -> tuple[dict[str, DatasetSpec], dict[str, DatasetSpec]]:
    residue: dict[str, DatasetSpec] = {}
    sequence: dict[str, DatasetSpec] = {}

    def visit(name: str, obj: object) -> None:
        if not isinstance(obj, h5py.Dataset) or name in _COMMON or name.startswith("skipped/"):
            return
        spec = DatasetSpec(obj.shape[1] if obj.ndim == 2 else None, obj.dtype, dict(obj.attrs))
        (residue if name.startswith("residue/") else sequence)[name] = spec

    f.visititems(visit)
    return residue, sequence


def _compression(f: h5py.File, names: Sequence[str]) -> str | None:
    """The filter of the first named dataset (a shard's datasets are all written alike)."""
    return f[names[0]].compression if names else None


def _check_one_run(files: Sequence[h5py.File], paths: Sequence[str | Path], models: list, attr: str) -> None:
    """Shards must come from the same models (``attr`` equal) and be 1..N of one N, each exactly once."""
    if len(set(models)) != 1:
        raise InputError(f"shards come from different models ({attr} differs)", source=str(paths[0]))
    shards = [str(f.attrs.get("shard", "1/1")) for f in files]
    counts = {s.split("/")[1] for s in shards}
    expected = int(next(iter(counts)))
    if len(counts) != 1 or sorted(int(s.split("/")[0]) for s in shards) != list(range(1, expected + 1)):
        raise InputError(
            f"need shards 1..N of one run exactly once; got {', '.join(sorted(shards))}", source=str(paths[0])
        )


def merge_shards(paths: Sequence[str | Path], output: str | Path, command: str = "") -> int:
    """Merge the shard files ``paths`` of one ``predict --shard K/N`` run into ``output``, in input order.

    ``command`` is recorded as the ``merge_command`` attribute. Returns the number of sequences written.
    Raises :class:`InputError` unless the files are predictions of one model, shards 1..N of the same N
    each exactly once, with the same datasets, and no record is in two shards.
    """
    if not paths:
        raise InputError("no shard files given")
    if _format(paths[0]) == VARIANTS_FORMAT:
        return merge_variant_shards(paths, output, command)
    files = [_open(Path(p)) for p in paths]
    try:
        _check_one_run(files, paths, [f.attrs["model_sha256"] for f in files], "model_sha256")
        residue, sequence = _layout(files[0])
        for f, p in zip(files[1:], paths[1:], strict=True):
            other_residue, other_sequence = _layout(f)
            if other_residue.keys() != residue.keys() or other_sequence.keys() != sequence.keys():
                raise InputError("shards have different datasets", source=str(p))
        attrs = {k: v for k, v in files[0].attrs.items() if k not in ("n_sequences", "n_residues", "shard")}
        attrs.update(
            shard="1/1", merged_from=np.array([str(p) for p in paths], dtype="S"), merge_command=command
        )
        attrs["n_skipped"] = sum(int(f.attrs.get("n_skipped", 0)) for f in files)
        total = 0
        # The merged file is compressed as the shards are (``predict --compress``).
        compression = _compression(files[0], [*residue, *sequence])
        with RaggedH5Writer(output, attrs, residue, sequence, compression=compression) as writer:
            for ranges, order in _merged_blocks(files):
                # Each shard's rows of a block are contiguous: one read per shard, then interleave.
                parts = []
                for s, (start, stop) in ranges.items():
                    f = files[s]
                    offsets = f["offsets"][start : stop + 1]
                    parts.append(
                        {
                            "ids": f["ids"].asstr()[start:stop],
                            "lengths": f["lengths"][start:stop],
                            "rows": offsets - offsets[0],
                            **{k: f[k][offsets[0] : offsets[-1]] for k in residue},
                            **{k: f[k][start:stop] for k in sequence},
                        }
                    )
                keys = list(ranges)
                picks = [(keys.index(s), i - ranges[s][0]) for s, i in order]
                writer.append(
                    [parts[p]["ids"][i] for p, i in picks],
                    np.array([parts[p]["lengths"][i] for p, i in picks], dtype=np.int64),
                    residue={
                        k: np.concatenate(
                            [parts[p][k][parts[p]["rows"][i] : parts[p]["rows"][i + 1]] for p, i in picks]
                        )
                        for k in residue
                    },
                    sequence={k: np.stack([parts[p][k][i] for p, i in picks]) for k in sequence},
                )
                total += len(picks)
            _merge_skipped(files, writer)
        return total
    finally:
        for f in files:
            f.close()


def _merge_skipped(files: Sequence[h5py.File], writer: RaggedH5Writer) -> None:
    """The shards' ``/skipped`` lists as one, in input order, as an unsharded run lists them."""
    skipped = [
        (int(index), record, reason)
        for g in (f["skipped"] for f in files if "skipped" in f)
        for index, record, reason in zip(
            g["record_index"][:], g["records"].asstr()[:], g["reasons"].asstr()[:], strict=True
        )
    ]
    write_skipped(writer, sorted(skipped, key=lambda s: s[0]))


def _merged_blocks(
    files: list[h5py.File], key: str = "record_index"
) -> Iterator[tuple[dict[int, tuple[int, int]], list[tuple[int, int]]]]:
    """Blocks of the input order: per shard its row range in the block, and the (shard, row) sequence."""
    indices = [f[key][:] for f in files]
    heap = [(int(ix[0]), s, 0) for s, ix in enumerate(indices) if ix.size]
    heapq.heapify(heap)
    ranges: dict[int, tuple[int, int]] = {}
    order: list[tuple[int, int]] = []
    previous = -1
    while heap:
        value, s, pos = heapq.heappop(heap)
        if value == previous:
            raise InputError(f"record {value} appears in two shards", source=files[s].filename)
        previous = value
        ranges[s] = (ranges[s][0], pos + 1) if s in ranges else (pos, pos + 1)
        order.append((s, pos))
        if pos + 1 < indices[s].size:
            heapq.heappush(heap, (int(indices[s][pos + 1]), s, pos + 1))
        if len(order) >= BLOCK:
            yield ranges, order
            ranges, order = {}, []
    if order:
        yield ranges, order


def merged_unit(path: str | Path) -> str:
    """What a merge of shards like ``path`` counts: ``variants`` for variant files, else ``sequences``."""
    return "variants" if _format(path) == VARIANTS_FORMAT else "sequences"


def _format(path: str | Path) -> str:
    """The ``format`` attribute of an HDF5 file ("" when it cannot be read: the caller reports it)."""
    try:
        with h5py.File(path, "r") as f:
            value = f.attrs.get("format", "")
    except OSError:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def merge_variant_shards(paths: Sequence[str | Path], output: str | Path, command: str = "") -> int:
    """Merge the shard files of one ``seqrnn variants --shard K/N`` run into ``output``, ordered by
    ``variants/record_index``: the same datasets an unsharded run writes. Returns the variants written.
    Raises :class:`InputError` unless the files are variant shards 1..N of one N, of the same models."""
    files = [open_variants(p) for p in paths]
    try:
        _check_one_run(
            files, paths, [tuple(f.attrs["model_sha256s"].tolist()) for f in files], "model_sha256s"
        )
        models = file_models(files[0])
        attrs = {k: v for k, v in files[0].attrs.items() if k not in ("n_variants", "shard")}
        attrs.update(
            shard="1/1", merged_from=np.array([str(p) for p in paths], dtype="S"), merge_command=command
        )
        attrs["n_scored"] = sum(int(f.attrs.get("n_scored", 0)) for f in files)
        total = 0
        with VariantsWriter(output, attrs, models) as writer:
            for ranges, order in _merged_blocks(files, "variants/record_index"):
                parts = {s: read_block(files[s], start, stop) for s, (start, stop) in ranges.items()}
                payload = {
                    key: [parts[s][key][i - ranges[s][0]] for s, i in order]
                    for key in next(iter(parts.values()))
                }
                payload.update({k: np.stack(v) for k, v in payload.items() if k not in STRINGS})
                writer.append(payload)
                total += len(order)
        return total
    finally:
        for f in files:
            f.close()
