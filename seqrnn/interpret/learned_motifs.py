"""The motifs a DNA model learned: first-layer filter motifs and a saliency seqlet motif, matched
against a motif database (JASPAR) and written as MEME, TSV/JSON and logos (see :mod:`seqrnn.interpret`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqrnn.encoding.examples import Example, collate
from seqrnn.errors import ModelError
from seqrnn.interpret.attributions import (
    Target,
    has_onehot_input,
    ism,
    length_batches,
    onehot,
    saliency,
    score_examples,
)
from seqrnn.interpret.motifs import (
    PFM,
    Match,
    best_matches,
    load_jaspar,
    to_pfm,
    write_meme,
    write_motif_table,
)
from seqrnn.interpret.plot import plot_logos
from seqrnn.models.bundle import ModelBundle


@dataclass
class FilterMotif:
    """A first-layer convolution filter's motif, as found by :func:`filter_motifs`."""

    pfm: PFM  # each sequence's strongest window, where above half the filter's maximum activation
    filter: int  # output channel of the first convolution
    influence: float  # mean drop of the target score when the filter is switched off


def filter_motifs(
    bundle: ModelBundle,
    examples: Sequence[Example],
    target: Target,
    views: int | None = None,
    min_sites: int = 10,
) -> list[FilterMotif]:
    """One PFM per first-layer filter that fires in at least ``min_sites`` sequences, by influence."""
    model = bundle.model
    if not len(model.convs):
        raise ModelError("filter motifs need a convolutional front end; use the seqlet motif instead")
    if not examples:
        raise ModelError("no sequences to build filter motifs from")
    conv = model.convs[0]
    width = conv.kernel_size[0]
    left = (width - 1) // 2  # torch's padding="same" puts the extra column on the right
    onehots: list[np.ndarray] = []
    best_pos: list[np.ndarray] = []
    best_act: list[np.ndarray] = []
    with torch.inference_mode():
        for idx in length_batches(examples, 65536):
            batch = collate([examples[i] for i in idx])
            x = model.embed(batch.tokens).float()
            keep = batch.tokens.ne(0).unsqueeze(1).float()
            act = torch.relu(conv(x.transpose(1, 2) * keep)) * keep  # (B, C, L)
            best = act.max(dim=2)
            best_act.append(best.values.numpy())
            best_pos.append(best.indices.numpy())
            bases = onehot(bundle, batch.tokens)
            onehots.extend(bases[row, : examples[i].tokens.size].numpy() for row, i in enumerate(idx))
    acts = np.concatenate(best_act)  # (N, C)
    positions = np.concatenate(best_pos)
    base = score_examples(bundle, examples, target, views)
    found = []
    for f in range(acts.shape[1]):
        threshold = 0.5 * acts[:, f].max()
        windows = []
        for n in np.flatnonzero((acts[:, f] > threshold) & (acts[:, f] > 0)):
            start = int(positions[n, f]) - left
            if start >= 0 and start + width <= onehots[n].shape[0]:
                windows.append(onehots[n][start : start + width])
        if len(windows) < min_sites:
            continue
        counts = np.sum(windows, axis=0) + 0.25  # a quarter site per base: no zero probabilities
        pfm = PFM(f"filter{f}", counts / counts.sum(1, keepdims=True), len(windows))
        found.append(FilterMotif(pfm, f, float(np.mean(base - _ablated(bundle, examples, target, views, f)))))
    found.sort(key=lambda m: -m.influence)
    return found


def _ablated(
    bundle: ModelBundle, examples: Sequence[Example], target: Target, views: int | None, f: int
) -> np.ndarray:
    def silence(_module: torch.nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        output[:, f] = 0.0
        return output

    handle = bundle.model.convs[0].register_forward_hook(silence)
    try:
        return score_examples(bundle, examples, target, views)
    finally:
        handle.remove()


def seqlet_motif(
    onehots: Sequence[np.ndarray], attributions: Sequence[np.ndarray], width: int = 12, rounds: int = 5
) -> PFM:
    """One PFM from each sequence's highest-attribution window, re-aligned over both strands."""
    regions = []
    for x, a in zip(onehots, attributions, strict=True):
        if x.shape[0] < width:
            continue
        importance = np.convolve(a.sum(1), np.ones(width), mode="valid")
        start = int(importance.argmax())
        lo, hi = max(0, start - width // 2), min(x.shape[0], start + width + width // 2)
        regions.append((x[lo:hi], start - lo))
    if not regions:
        raise ModelError(f"no sequence is at least {width} long")
    seqlets = [r[start : start + width] for r, start in regions]
    for _ in range(rounds):
        counts = np.sum(seqlets, axis=0) + 0.25
        logp = np.log(counts / counts.sum(1, keepdims=True))
        seqlets = []
        for region, _start in regions:
            candidates = [
                w
                for s in range(region.shape[0] - width + 1)
                for w in (region[s : s + width], region[s : s + width][::-1, ::-1])
            ]
            seqlets.append(max(candidates, key=lambda w: float((w * logp).sum())))
    counts = np.sum(seqlets, axis=0) + 0.25
    return PFM("seqlet", counts / counts.sum(1, keepdims=True), len(seqlets))


@dataclass
class MotifReport:
    """One motif of :func:`extract_motifs`: its PFM, origin, influence and best database matches."""

    pfm: PFM
    source: str  # "filter 83" or "seqlet"
    influence: float | None  # filters only (see FilterMotif); None for the seqlet motif
    matches: list[Match]  # best database (JASPAR) matches, best first; empty without a database


def extract_motifs(
    bundle: ModelBundle,
    examples: Sequence[Example],
    target: Target,
    out_dir: str | Path,
    views: int | None = None,
    jaspar: str | Path | None = None,
    top: int = 10,
    logos: bool = True,
) -> list[MotifReport]:
    """Motifs of the model on ``examples`` -> ``motifs.meme``, ``motifs.tsv``, ``motifs.json`` and
    ``logos/*.png`` in ``out_dir``; each matched against ``jaspar`` when given."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    database = [to_pfm(m) for m in load_jaspar(jaspar)] if jaspar else []
    reports: list[MotifReport] = []
    if len(bundle.model.convs):
        for fm in filter_motifs(bundle, examples, target, views)[:top]:
            fm.pfm.name = f"motif{len(reports) + 1}_filter{fm.filter}"
            reports.append(MotifReport(fm.pfm, f"filter {fm.filter}", fm.influence, []))
    onehots = [
        onehot(bundle, torch.from_numpy(ex.tokens.astype(np.int64))[None])[0].numpy() for ex in examples
    ]
    if has_onehot_input(bundle):
        attributions = saliency(bundle, examples, target, views)
    else:
        # Learned-embedding models: a base's importance is the mean score loss when it is mutated.
        attributions = [
            -ism(bundle, ex, target, views)[0].sum(1, keepdims=True) / 3 * oh
            for ex, oh in zip(examples, onehots, strict=True)
        ]
    seqlet = seqlet_motif(onehots, attributions)
    seqlet.name = f"motif{len(reports) + 1}_seqlet"
    reports.append(MotifReport(seqlet, "seqlet", None, []))
    for r in reports:
        r.matches = best_matches(r.pfm, database, 5) if database else []
    write_meme([r.pfm.trimmed() for r in reports], out / "motifs.meme")
    rows = [
        {
            "motif": r.pfm.name,
            "source": r.source,
            "influence": r.influence,
            "sites": r.pfm.sites,
            "consensus": r.pfm.trimmed().consensus(),
            "matches": [vars(m) for m in r.matches],
        }
        for r in reports
    ]
    write_motif_table(rows, out / "motifs.json", out / "motifs.tsv")
    if logos:
        by_id = {m.matrix_id: m for m in database}
        (out / "logos").mkdir(exist_ok=True)
        for r in reports:
            learned = r.pfm.trimmed()
            panels = [(f"{learned.name} ({r.source}, {learned.sites} sites)", learned, 0)]
            if r.matches:
                best = r.matches[0]
                match = by_id[best.matrix_id].trimmed()
                match = match if best.strand == "+" else match.reverse_complement()
                panels.append(
                    (f"{best.matrix_id} {best.name} (similarity {best.score:.2f})", match, best.offset)
                )
            plot_logos(panels, out / "logos" / f"{learned.name}.png")
    return reports
