"""Genome tracks: windows along regions at a fixed stride, scored by DNA models (``seqrnn tile``).

A region ``[start, end)`` (0-based, from a BED file or a whole contig) is cut into bins of ``stride``
bases, ``[start + k*stride, min(start + (k+1)*stride, end))``; each bin is scored by the model's input
window (``width`` letters, its trained length) centred on the bin's middle base ``c = (s + e) // 2``:
``genome[c - (width-1)//2 : c - (width-1)//2 + width]``, padded with ``N`` past a contig end. Bins
tile each region exactly, so a bedGraph/bigWig has one value per stride step.

The track file (``format = "seqrnn-track"``; N bins):

- ``track/chrom`` (N,) UTF-8; ``track/start``, ``track/end``, ``track/center`` (N,) int64, 0-based;
  ``track/region_index`` (N,) int64, the region's position in the input;
- ``track/<model>/<head>/scores`` (N, C) float32 with ``classes``: the head's outputs (views averaged
  as in prediction).

Windows are read, scored and written ``chunk_size`` at a time, so memory does not grow with the regions.
Progress: a tqdm bar on a terminal and a ``progress`` event every :data:`HEARTBEAT_SECONDS` (windows and
bases done, rates, and an ETA: the number of windows is counted from the regions before scoring).

bedGraph and bigWig exports (:func:`track_intervals`) need intervals sorted and disjoint, which bins of
overlapping regions (peak files often overlap) are not. They are written sorted by contig (in genome
order) and start; where bins overlap, the bin that starts first (the earlier one in the file on a tie)
keeps the shared bases, a later bin is clipped to begin where that coverage ends and left out when it
is covered entirely. So every base has at most one value; the HDF5 track keeps every bin as scored.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from seqrnn.core.logs import Progress
from seqrnn.core.memory import cap_primitive_caches
from seqrnn.errors import InputError
from seqrnn.inference.engine import BatchRunner, PredictOptions
from seqrnn.io.files import AtomicOutput
from seqrnn.io.genome import Genome
from seqrnn.io.hdf5 import AtomicH5
from seqrnn.io.outputs import check_writable, provenance
from seqrnn.variants.scoring import score_windows
from seqrnn.variants.scoring_options import ScoringModel, model_attrs

FORMAT = "seqrnn-track"
FORMAT_VERSION = 1
_STR = h5py.string_dtype("utf-8")
_COORDS = ("start", "end", "center", "region_index")
HEARTBEAT_SECONDS = 60.0
"""Default seconds between ``progress`` events of :func:`tile_to_h5`."""

logger = logging.getLogger(__name__)


@dataclass
class TileSummary:
    """What a tiling run did: regions, bins (windows scored), bases covered, seconds."""

    output: Path
    regions: int = 0
    bins: int = 0
    bases: int = 0
    seconds: float = 0.0


def read_regions(bed: str | Path | None, chrom: str | None, genome: Genome) -> Iterator[tuple[str, int, int]]:
    """(genome contig, start, end) of every BED line, or the whole contig ``chrom``."""
    if chrom is not None:
        contig = genome.resolve(chrom, "--chrom")
        yield contig, 0, genome.length(contig)
        return
    from seqrnn.io.formats import bed_lines, open_text

    source = str(bed)
    with open_text(source) as handle:
        for where, cols, start, end in bed_lines(handle, source):
            yield genome.interval(cols[0], start, end, source, where), start, end


def tile_bins(
    regions: Iterator[tuple[str, int, int]], stride: int
) -> Iterator[tuple[int, str, int, int, int]]:
    """(region index, contig, bin start, bin end, bin centre) of every bin, in region order."""
    for r, (contig, start, end) in enumerate(regions):
        for s in range(start, end, stride):
            e = min(s + stride, end)
            yield r, contig, s, e, (s + e) // 2


def centre_window(genome: Genome, contig: str, centre: int, width: int) -> str:
    """The ``width``-letter window whose middle base (index ``(width-1)//2``) is ``centre``."""
    left = (width - 1) // 2
    return genome.fetch(contig, centre - left, centre - left + width)[0]


def tile_to_h5(
    models: Sequence[ScoringModel],
    genome_path: str | Path,
    output: str | Path,
    stride: int,
    options: PredictOptions,
    device: torch.device,
    bed: str | Path | None = None,
    chrom: str | None = None,
    chunk_size: int = 4096,
    command: str = "",
    progress: bool = False,
    heartbeat: float | None = None,
) -> TileSummary:
    """Score bins of ``stride`` bases along the regions of ``bed`` (or the contig ``chrom``) into the
    track file ``output`` (atomic). Raises :class:`InputError` for bad regions or contig names.

    Progress: with ``progress`` and stderr a terminal, a tqdm bar over the windows; and every
    ``heartbeat`` seconds (default :data:`HEARTBEAT_SECONDS`) a ``progress`` event with windows and
    bases done, their rates and the ETA, shown on the console only where no bar is.
    """
    if stride < 1:
        raise InputError(f"--stride {stride}: must be 1 or more")
    output = check_writable(output)
    cap_primitive_caches()  # batch shapes vary from chunk to chunk (see seqrnn.core.memory)
    summary = TileSummary(output)
    t0 = time.perf_counter()
    with Genome(genome_path) as genome, AtomicH5(output) as f:
        bar = _progress_bar(progress, heartbeat, _count_windows(bed, chrom, genome, stride))
        group = _create_track(f, models)
        lengths: dict[str, int] = {}
        bins = tile_bins(read_regions(bed, chrom, genome), stride)
        # The bar closes on errors too (tqdm is a context manager).
        with BatchRunner(options.workers, device) as runner, bar:
            while chunk := list(itertools.islice(bins, chunk_size)):
                _append_bins(group, summary.bins, chunk)
                for m in models:
                    texts = [centre_window(genome, b[1], b[4], m.width) for b in chunk]
                    for head, values in score_windows(m, texts, options, device, runner).items():
                        _append(group, f"{m.label}/{head}/scores", summary.bins, values)
                for b in chunk:
                    lengths.setdefault(b[1], genome.length(b[1]))
                _tally(summary, chunk, bar)
        if summary.bins == 0:
            raise InputError("no regions to tile", source=str(bed or chrom))
        f.attrs.update(
            **provenance(FORMAT, FORMAT_VERSION, command),
            genome=str(genome_path),
            regions=str(bed or chrom),
            stride=stride,
            **model_attrs(models),
            **_contig_attrs(genome, lengths),
            n_bins=summary.bins,
        )
    summary.seconds = time.perf_counter() - t0
    return summary


def _count_windows(bed: str | Path | None, chrom: str | None, genome: Genome, stride: int) -> int:
    """How many windows the regions give. Counting first costs one more read of the BED (no genome
    reads, no scoring) and gives the progress bar and heartbeat a total, hence an ETA."""
    return sum(math.ceil((e - s) / stride) for _, s, e in read_regions(bed, chrom, genome))


def _progress_bar(progress: bool, heartbeat: float | None, total: int) -> Progress:
    """The run's tqdm bar over ``total`` windows (with ``progress``) and ``progress`` events every
    ``heartbeat`` seconds (default :data:`HEARTBEAT_SECONDS`)."""
    interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    return Progress(
        "tile",
        "window",
        enabled=progress,
        interval=interval,
        log=logger,
        rates=("windows", "bases"),
        total=total,
    )


def _create_track(f: h5py.File, models: Sequence[ScoringModel]) -> h5py.Group:
    """The empty, growable ``track`` group: ``chrom`` and the coordinates (0,), and per model and
    sequence-level head ``<model>/<head>/scores`` (0, C) float32 with ``classes`` and ``kind``."""
    group = f.create_group("track")
    opts: dict[str, Any] = {"chunks": True, "compression": "gzip", "shuffle": True}
    group.create_dataset("chrom", (0,), maxshape=(None,), dtype=_STR, **opts)
    for name in _COORDS:
        group.create_dataset(name, (0,), maxshape=(None,), dtype=np.int64, **opts)
    for m in models:
        for head, (kind, classes) in m.heads.items():
            ds = group.create_dataset(
                f"{m.label}/{head}/scores",
                (0, len(classes)),
                maxshape=(None, len(classes)),
                dtype=np.float32,
                **opts,
            )
            ds.attrs["classes"] = np.array(classes, dtype="S")
            ds.attrs["kind"] = kind
    return group


def _append_bins(group: h5py.Group, at: int, chunk: Sequence[tuple[int, str, int, int, int]]) -> None:
    """Write a chunk of :func:`tile_bins` bins' contigs and coordinates from row ``at``."""
    _append(group, "chrom", at, [b[1] for b in chunk])
    for k, name in enumerate(("region_index", "contig", "start", "end", "center")):
        if name != "contig":
            _append(group, name, at, np.array([b[k] for b in chunk], dtype=np.int64))


def _tally(summary: TileSummary, chunk: Sequence[tuple[int, str, int, int, int]], bar: Progress) -> None:
    """Count a written chunk's bins, bases and regions; advance the progress bar."""
    summary.bins += len(chunk)
    summary.bases += sum(b[3] - b[2] for b in chunk)
    summary.regions = chunk[-1][0] + 1
    bar.advance(len(chunk), windows=summary.bins, bases=summary.bases)


def _contig_attrs(genome: Genome, lengths: dict[str, int]) -> dict[str, np.ndarray]:
    """``contig_names`` and ``contig_lengths`` of the contigs tiled, in genome order, so exports can
    sort bins of a BED that lists contigs in another order."""
    order = {c: i for i, c in enumerate(genome.contigs)}
    ordered = dict(sorted(lengths.items(), key=lambda item: order.get(item[0], len(order))))
    return {
        "contig_names": np.array(list(ordered), dtype="S"),
        "contig_lengths": np.array(list(ordered.values()), dtype=np.int64),
    }


def _append(group: h5py.Group, name: str, at: int, values: Any) -> None:
    ds = group[name]
    ds.resize(at + len(values), axis=0)
    ds[at : at + len(values)] = values


def pick_column(classes: Sequence[str], wanted: str | None, what: str) -> int:
    """The class column a bedGraph/bigWig shows: ``wanted``; else the positive (second) class of a
    binary classifier, or the only column."""
    if wanted is not None:
        if wanted not in classes:
            raise InputError(f"--class {wanted!r}: {what} has classes {', '.join(classes)}")
        return list(classes).index(wanted)
    if len(classes) == 2:
        return 1
    if len(classes) == 1:
        return 0
    raise InputError(f"{what} has {len(classes)} classes ({', '.join(classes)}): choose one with --class")


def _track_blocks(path: str | Path, wanted: str | None, block: int = 65536) -> Iterator[Any]:
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise InputError(f"not a seqrnn track file (format {FORMAT})", source=str(path))
        label = f.attrs["models"][0].decode()
        head = next(iter(f[f"track/{label}"]))
        ds = f[f"track/{label}/{head}/scores"]
        column = pick_column([c.decode() for c in ds.attrs["classes"]], wanted, f"{label}/{head}")
        yield dict(zip(f.attrs["contig_names"].astype(str), f.attrs["contig_lengths"].tolist(), strict=True))
        n = int(f.attrs["n_bins"])
        for i in range(0, n, block):
            j = min(i + block, n)
            yield (
                f["track/chrom"].asstr()[i:j],
                f["track/start"][i:j],
                f["track/end"][i:j],
                ds[i:j, column].astype(np.float64),
            )


def track_intervals(
    path: str | Path, wanted: str | None = None
) -> tuple[dict[str, int], list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]]:
    """The contig lengths of a track file, and per contig (in the file's contig order, which
    :func:`tile_to_h5` writes in genome order) its bins' (starts, ends, values) sorted by start and
    made disjoint: the bin that starts first keeps bases shared with later bins (ties: the earlier
    bin in the file), a later bin is clipped to begin where that coverage ends, or left out when fully
    covered. Every bin is loaded (about 28 bytes each) to sort them."""
    blocks = _track_blocks(path, wanted)
    lengths: dict[str, int] = next(blocks)
    names = {c: i for i, c in enumerate(lengths)}
    cidx, starts, ends, values = [], [], [], []
    for chroms, s, e, v in blocks:
        for c in set(chroms.tolist()) - names.keys():  # a file without the contig attributes for it
            names[c] = len(names)
        cidx.append(np.fromiter((names[c] for c in chroms), dtype=np.int32, count=len(chroms)))
        starts.append(s)
        ends.append(e)
        values.append(v)
    if not cidx:
        return lengths, []
    c_all, s_all, e_all, v_all = (np.concatenate(x) for x in (cidx, starts, ends, values))
    order = np.lexsort((np.arange(len(s_all)), s_all, c_all))  # contig, then start, then file order
    c_all, s_all, e_all, v_all = c_all[order], s_all[order], e_all[order], v_all[order]
    by_index = {i: c for c, i in names.items()}
    out = []
    for i in np.unique(c_all):
        lo, hi = np.searchsorted(c_all, [i, i + 1])
        s, e, v = s_all[lo:hi], e_all[lo:hi], v_all[lo:hi]
        covered = np.maximum.accumulate(e)  # end of the coverage up to and including each bin
        begin = np.maximum(s, np.concatenate(([s[0]], covered[:-1])))
        keep = begin < e
        out.append((by_index[int(i)], begin[keep], e[keep], v[keep]))
    return lengths, out


def export_bedgraph(track: str | Path, output: str | Path, wanted: str | None = None) -> int:
    """The first model's first head as bedGraph (one line per bin, sorted and disjoint as
    :func:`track_intervals` makes them); returns the intervals written."""
    _, contigs = track_intervals(track, wanted)
    n = 0
    with AtomicOutput(output) as tmp, open(tmp, "w") as out:
        for contig, starts, ends, values in contigs:
            for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist(), strict=True):
                out.write(f"{contig}\t{s}\t{e}\t{v:.6g}\n")
            n += len(values)
    return n


def export_bigwig(
    track: str | Path, output: str | Path, wanted: str | None = None, block: int = 65536
) -> int:
    """The bedGraph values as bigWig (needs ``pip install 'seqrnn[tracks]'``), sorted and disjoint as
    :func:`track_intervals` makes them, so overlapping regions are fine. Returns the intervals written."""
    try:
        import pyBigWig
    except ImportError:
        raise InputError("bigWig export needs pyBigWig: pip install 'seqrnn[tracks]'") from None
    lengths, contigs = track_intervals(track, wanted)
    n = 0
    with AtomicOutput(output) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(lengths.items()))
            for contig, starts, ends, values in contigs:
                for i in range(0, len(values), block):
                    j = min(i + block, len(values))
                    bw.addEntries(
                        [contig] * (j - i),
                        starts[i:j].tolist(),
                        ends=ends[i:j].tolist(),
                        values=values[i:j].tolist(),
                    )
                n += len(values)
        finally:
            bw.close()
    return n
