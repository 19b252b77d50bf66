"""Pictures (optional ``matplotlib`` and ``logomaker``: ``pip install seqrnn[plot]``).

``plot_track``: one panel per residue head of a predictions file: stacked class probabilities along the
sequence, the predicted class as a colour strip on top. ``plot_scores``: for a file with per-sequence
heads only (TF, promoter, SMILES models), the distribution of each head's scores over the records.
``plot_effects``: a variants file's score changes along the genome and its largest ones ranked;
``plot_tracks``: a track file's scores along its regions. ``plot_file`` picks by the file's format.
``plot_logos``: DNA sequence logos in bits.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from seqrnn.errors import InputError, SeqrnnError
from seqrnn.interpret.motifs import PFM
from seqrnn.io.effects import FORMAT as VARIANTS_FORMAT
from seqrnn.io.effects import file_models, open_variants, read_block
from seqrnn.io.predictions import Predictions

# DSSP-like colours: helices red, strands yellow/blue, turns/bends green, coil grey.
COLOURS = {
    "H": "#d62728", "G": "#ff9896", "I": "#8c564b", "E": "#1f77b4", "B": "#aec7e8",
    "T": "#2ca02c", "S": "#98df8a", "C": "#c7c7c7",
}  # fmt: skip


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqrnnError("seqrnn plot needs matplotlib: pip install 'seqrnn[plot]'") from None
    return plt


def _save(fig, output: str | Path) -> None:  # type: ignore[no-untyped-def]
    """Write the figure to a temporary name, then rename it: a PNG appears whole or not at all."""
    tmp = Path(output).with_name(f".{Path(output).name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    _pyplot().close(fig)
    tmp.replace(output)


def plot_track(predictions: str | Path, record_id: str | None, output: str | Path) -> str:
    """Draw one sequence's tracks; ``record_id`` None means the first record. Returns the id drawn.
    A file with per-sequence heads only gets :func:`plot_scores` instead (``record_id`` unused)."""
    plt = _pyplot()
    pred = Predictions(predictions)
    try:
        ids = list(pred.ids)
        if not pred.residue_heads:
            return plot_scores(pred, output)
        if record_id is None:
            index = 0
        elif record_id in ids:
            index = ids.index(record_id)
        else:
            raise InputError(
                f"no record {record_id!r} (first ids: {', '.join(ids[:5])})", source=str(predictions)
            )
        heads = pred.residue_heads
        length = int(pred.offsets[index + 1] - pred.offsets[index])
        fig, axes = plt.subplots(
            len(heads), 1, figsize=(min(40, 4 + length / 25), 2.2 * len(heads)), squeeze=False
        )
        x = np.arange(1, length + 1)
        for ax, head in zip(axes[:, 0], heads, strict=True):
            classes = pred.classes(head)
            probs = pred.file[f"residue/{head}/probs"][pred.offsets[index] : pred.offsets[index + 1]]
            colours = [COLOURS.get(c, f"C{i % 10}") for i, c in enumerate(classes)]
            ax.stackplot(x, probs.T, labels=classes, colors=colours, step="mid", linewidth=0)
            ax.set_xlim(0.5, length + 0.5)
            ax.set_ylim(0, 1.08)
            top = probs.argmax(1)
            ax.scatter(x, np.full(length, 1.04), c=[colours[k] for k in top], marker="s", s=4, linewidths=0)
            ax.set_ylabel(f"{head}\nprobability")
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
        axes[-1, 0].set_xlabel("residue")
        axes[0, 0].set_title(f"{ids[index]} ({length} residues)", fontsize=9, loc="left")
        fig.tight_layout()
        _save(fig, output)
        return ids[index]
    finally:
        pred.close()


def plot_scores(pred: Predictions, output: str | Path) -> str:
    """One histogram panel per per-sequence head over all records: a two-class head's positive-class
    probability (its decision threshold marked), each class's probability for more classes, each label
    for multi-label heads, the values of a regression head. Returns what was drawn."""
    plt = _pyplot()
    heads = pred.sequence_heads
    if not heads:
        raise InputError("no heads to plot", source=str(pred.path))
    fig, axes = plt.subplots(len(heads), 1, figsize=(7, 2.6 * len(heads)), squeeze=False)
    for ax, head in zip(axes[:, 0], heads, strict=True):
        values, classes = pred.values(head), pred.classes(head)
        probs = pred.file[f"sequence/{head}"].get("probs") is not None
        shown = [1] if probs and len(classes) == 2 else range(len(classes))
        for c in shown:
            ax.hist(values[:, c], bins=40, range=(0, 1) if probs else None, alpha=0.6, label=classes[c])
        threshold = pred.threshold(head)
        if probs and len(classes) == 2:
            ax.axvline(0.5 if threshold is None else threshold, color="k", linestyle="--", linewidth=0.8)
        ax.set_xlabel(f"{head}: P({classes[1]})" if len(shown) == 1 and probs else f"{head} scores")
        ax.set_ylabel("records")
        if len(shown) > 1:
            ax.legend(fontsize=7, frameon=False, ncol=max(1, len(shown) // 6))
    axes[0, 0].set_title(f"{len(pred.ids):,} records", fontsize=9, loc="left")
    fig.tight_layout()
    _save(fig, output)
    return f"score distributions of {', '.join(heads)}"


def plot_file(path: str | Path, record_id: str | None, output: str | Path) -> str:
    """Draw what fits the file: a predictions file's tracks or score distributions, a variants file's
    effects, a track file's scores. Returns what was drawn."""
    from seqrnn.variants.tracks import FORMAT as TRACK_FORMAT

    try:
        with h5py.File(path, "r") as f:
            fmt = str(f.attrs.get("format", ""))
    except OSError:
        raise InputError("not a readable HDF5 file", source=str(path)) from None
    if fmt == VARIANTS_FORMAT:
        return plot_effects(path, output)
    if fmt == TRACK_FORMAT:
        return plot_tracks(path, output)
    return plot_track(path, record_id, output)


def _first_column(classes: list[str]) -> int:
    """The column shown for a head: a two-class head's positive class, else the first."""
    return 1 if len(classes) == 2 else 0


def plot_effects(path: str | Path, output: str | Path, top: int = 20) -> str:
    """Per model (its first head): the score change (alt - ref) of every scored variant along the
    genome; below, the ``top`` largest changes of the first model ranked, labelled ``chrom:pos ref>alt``."""
    plt = _pyplot()
    with open_variants(path) as f:
        models = file_models(f)
        block = read_block(f, 0, int(f["variants/record_index"].shape[0]))
    shown = [(m, next(iter(heads)), heads[next(iter(heads))][1]) for m, heads in models.items()]
    fig, axes = plt.subplots(len(shown) + 1, 1, figsize=(9, 2.2 * len(shown) + 3.2), squeeze=False)
    where = np.array([f"{c}:{p}" for c, p in zip(block["chrom"], block["pos"], strict=True)])
    for ax, (model, head, classes) in zip(axes[:-1, 0], shown, strict=True):
        c = _first_column(classes)
        diff = block[f"{model}/{head}/diff"][:, c]
        scored = ~np.isnan(diff)
        ax.scatter(np.flatnonzero(scored), diff[scored], s=4, c=np.where(diff[scored] >= 0, "C3", "C0"))
        ax.axhline(0, color="k", linewidth=0.5)
        ax.set_ylabel(f"{model}\n{head} {classes[c]}: diff", fontsize=8)
    axes[-2, 0].set_xlabel("variant (file order)")
    model, head, classes = shown[0]
    diff = block[f"{model}/{head}/diff"][:, _first_column(classes)]
    order = [i for i in np.argsort(-np.abs(np.nan_to_num(diff))) if not np.isnan(diff[i])][:top]
    labels = [f"{where[i]} {block['ref'][i]}>{block['alt'][i]}" for i in order]
    bar = axes[-1, 0]
    bar.bar(range(len(order)), diff[order], color=["C3" if diff[i] >= 0 else "C0" for i in order])
    bar.set_xticks(range(len(order)), labels, rotation=60, ha="right", fontsize=6)
    bar.set_ylabel(f"{model}: largest diffs", fontsize=8)
    axes[0, 0].set_title(f"{len(where):,} variants", fontsize=9, loc="left")
    fig.tight_layout()
    _save(fig, output)
    return f"effects of {len(where):,} variants, {len(shown)} model(s)"


def plot_tracks(path: str | Path, output: str | Path) -> str:
    """One panel per model (its first head): the score of each bin along the regions, contig by contig."""
    plt = _pyplot()
    with h5py.File(path, "r") as f:
        track = f["track"]
        chrom = track["chrom"].asstr()[:]
        center = track["center"][:]
        labels = [str(m) for m in f.attrs["models"].astype(str)]
        panels = []
        for label in labels:
            head = next(iter(track[label]))
            scores = track[f"{label}/{head}/scores"]
            classes = [str(c) for c in scores.attrs["classes"].astype(str)]
            c = _first_column(classes)
            panels.append((f"{label}\n{head} {classes[c]}", scores[:, c]))
    contigs = list(dict.fromkeys(chrom))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], panels, strict=True):
        for k, contig in enumerate(contigs):
            on = chrom == contig
            ax.plot(center[on], values[on], linewidth=0.8, color=f"C{k % 10}", label=contig)
        ax.set_ylabel(name, fontsize=8)
    axes[0, 0].legend(fontsize=7, frameon=False, loc="upper right")
    axes[-1, 0].set_xlabel("bin centre (0-based position on the contig)")
    axes[0, 0].set_title(f"{len(chrom):,} bins on {len(contigs)} contig(s)", fontsize=9, loc="left")
    fig.tight_layout()
    _save(fig, output)
    return f"track of {len(chrom):,} bins, {len(panels)} model(s)"


def plot_logos(panels: list[tuple[str, PFM, int]], output: str | Path) -> None:
    """Information-content sequence logos, one panel per (title, PFM, x offset), drawn by logomaker.

    Offsets line up aligned motifs (e.g. a learned motif above its best JASPAR match).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import logomaker
        import matplotlib.pyplot as plt
        import pandas as pd
    except ImportError:
        raise SeqrnnError("sequence logos need logomaker: pip install 'seqrnn[plot]'") from None
    start = min(offset for _t, _p, offset in panels)
    end = max(offset + pfm.length for _t, pfm, offset in panels)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(max(3.0, 0.45 * (end - start) + 1), 1.7 * len(panels)), squeeze=False
    )
    for ax, (title, pfm, offset) in zip(axes[:, 0], panels, strict=True):
        frame = pd.DataFrame(
            pfm.probs.astype(np.float64), columns=list("ACGT"), index=np.arange(pfm.length) + offset
        )
        bits = logomaker.transform_matrix(frame, from_type="probability", to_type="information")
        logomaker.Logo(bits, ax=ax, color_scheme="classic")
        ax.set_xlim(start - 0.5, end - 0.5)
        ax.set_ylim(0, 2)
        ax.set_ylabel("bits")
        ax.set_xticks([])
        ax.set_title(title, fontsize=8, loc="left")
    fig.tight_layout()
    tmp = Path(output).with_name(f".{Path(output).name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(output)
