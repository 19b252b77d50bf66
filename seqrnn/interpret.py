"""What a DNA model learned: in-silico mutagenesis, gradient saliency and motifs.

Attribution shapes (N sequences of lengths L_i, R = sum L_i; columns A C G T), stored like predictions
(``/ids``, ``/lengths``, ``/offsets``, rows of sequence i at ``offsets[i]:offsets[i+1]``):
    ``ism`` (R, 4): score with base b at position l minus the score of the sequence (0 at its own base)
    ``saliency`` (R, 4): gradient of the score with respect to the one-hot input, times the input
    ``score`` (N,): the score of each sequence
The score is one head output before the final squashing: the target class's log-odds (classification),
the logit (multi-label) or the standardised value (regression). A model that averages strands at
prediction time is interpreted the same way: every score is the mean over both strands.

Motifs:
    * filter motifs (models with a convolutional front end): each first-layer filter's PFM is built from
      the windows where it fires at >= half its maximum over the sequences (DanQ, Basset); filters are
      ranked by influence, the mean drop of the score when the filter is switched off.
    * a seqlet motif (any model): each sequence's highest-attribution window (saliency; ISM for models
      with a learned input embedding), re-aligned over both strands by a few rounds of PFM refitting.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from seqrnn.bundle import ModelBundle
from seqrnn.data.batching import collate
from seqrnn.data.examples import Example
from seqrnn.errors import ModelError
from seqrnn.io.files import AtomicOutput, atomic_write_text
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer
from seqrnn.models.heads import head_class
from seqrnn.models.rnn import reverse_index
from seqrnn.motifs import PFM, Match, best_matches, load_jaspar, to_pfm, write_meme
from seqrnn.plot import plot_logos
from seqrnn.version import __version__

BASES = "ACGT"


@dataclass
class Target:
    """Which head output an attribution explains (built by :func:`resolve_target`)."""

    head: str  # head name
    index: int  # column of the explained output in the head's (B, C) output
    label: str  # that output's class or target name
    kind: str  # the head's kind (decides the score: seqrnn.models.heads.Head.target_score)
    n_outputs: int  # C, the head's number of classes or targets


def resolve_target(bundle: ModelBundle, head: str | None = None, label: str | None = None) -> Target:
    """The head output to explain; default: the first sequence head, its class "1" or last class."""
    if bundle.encoder.name != "dna":
        raise ModelError(f"interpretation needs a DNA model; this one reads {bundle.encoder.name}")
    heads = {n: h for n, h in bundle.model.heads.items() if h.level != "residue"}
    if not heads:
        raise ModelError("the model has no sequence-level head to interpret")
    name = head or next(iter(heads))
    if name not in heads:
        raise ModelError(f"no sequence-level head {name!r} (heads: {', '.join(heads)})")
    classes = [str(c) for c in heads[name].classes]
    if label is None:
        label = "1" if "1" in classes else classes[-1]
    if label not in classes:
        raise ModelError(f"head {name}: no class or target {label!r} (choose from {', '.join(classes)})")
    return Target(name, classes.index(label), label, heads[name].kind, len(classes))


def target_score(logits: dict[str, torch.Tensor], target: Target) -> torch.Tensor:
    """(B,) score of the target output (see the module docstring)."""
    return head_class(target.kind).target_score(logits[target.head].float(), target.index)


def _strands(bundle: ModelBundle, views: int | None) -> bool:
    stored = (bundle.metadata.get("augment") or {}).get("test_views", 1)
    return (views if views is not None else stored) > 1


def _onehot(bundle: ModelBundle, tokens: torch.Tensor) -> torch.Tensor:
    """(B, L) tokens -> (B, L, 4) A C G T fractions (N = 0.25 each), zero at padding."""
    return torch.from_numpy(bundle.encoder.onehot_matrix())[tokens]  # type: ignore[attr-defined]


def has_onehot_input(bundle: ModelBundle) -> bool:
    """True when the model reads the fixed one-hot bases (the DNA default), so input gradients are per base."""
    weight = bundle.model.embed.weight
    return weight.shape[1] == 4 and not weight.requires_grad


def _scores(
    bundle: ModelBundle,
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    target: Target,
    both: bool,
    embedded: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B,) scores of a padded batch; with ``both``, the mean over the two strands.

    ``embedded`` (B, L, 4) one-hot input (for input gradients) replaces the tokens' own input layer.
    """
    model = bundle.model
    score = target_score(model(tokens, lengths, embedded), target)
    if both:
        # The other strand: each sequence reversed within its own length, then complemented.
        rev = reverse_index(lengths, tokens.shape[1])
        if embedded is None:
            complement = torch.from_numpy(bundle.encoder.complement_table())  # type: ignore[attr-defined]
            score = score + target_score(model(complement[tokens.gather(1, rev)], lengths), target)
        else:
            # In A C G T column order, complementing is reversing the channel axis.
            x_rc = embedded.gather(1, rev.unsqueeze(-1).expand(-1, -1, 4)).flip(-1)
            score = score + target_score(model(tokens, lengths, x_rc), target)
        score = score / 2
    return score


def _batches(examples: Sequence[Example], max_tokens: int) -> Iterator[list[int]]:
    batch: list[int] = []
    longest = 0
    for i, ex in enumerate(examples):
        longest = max(longest, ex.tokens.size)
        if batch and longest * (len(batch) + 1) > max_tokens:
            yield batch
            batch, longest = [], ex.tokens.size
        batch.append(i)
    if batch:
        yield batch


def score_examples(
    bundle: ModelBundle, examples: Sequence[Example], target: Target, views: int | None = None
) -> np.ndarray:
    """(N,) float64 target scores of ``examples`` (see the module docstring), without gradients.

    Both strands are averaged when ``views`` > 1, or, with ``views`` None, when the bundle's stored
    ``test_views`` is > 1.
    """
    both = _strands(bundle, views)
    out = np.zeros(len(examples), dtype=np.float64)
    with torch.inference_mode():
        for idx in _batches(examples, 65536):
            batch = collate([examples[i] for i in idx])
            out[idx] = _scores(bundle, batch.tokens, batch.lengths, target, both).numpy()
    return out


def ism(
    bundle: ModelBundle, example: Example, target: Target, views: int | None = None
) -> tuple[np.ndarray, float]:
    """(L, 4) score change for every single-base substitution of one sequence, and its own score."""
    both = _strands(bundle, views)
    enc = bundle.encoder
    base_tokens = np.array([enc.index[b] for b in BASES])
    ref = example.tokens.astype(np.int64)
    length = ref.size
    mutants = np.repeat(ref[None, :], 1 + 4 * length, axis=0)
    pos = np.repeat(np.arange(length), 4)
    mutants[1 + np.arange(4 * length), pos] = np.tile(base_tokens, length)
    scores = np.zeros(mutants.shape[0], dtype=np.float64)
    rows = max(1, 65536 // max(length, 1))
    with torch.inference_mode():
        for start in range(0, mutants.shape[0], rows):
            chunk = torch.from_numpy(mutants[start : start + rows])
            lengths = torch.full((chunk.shape[0],), length, dtype=torch.int64)
            scores[start : start + rows] = _scores(bundle, chunk, lengths, target, both).numpy()
    return (scores[1:] - scores[0]).reshape(length, 4), float(scores[0])


def saliency(
    bundle: ModelBundle, examples: Sequence[Example], target: Target, views: int | None = None
) -> list[np.ndarray]:
    """Per sequence (L, 4): d score / d one-hot input, times the input (one-hot input models only)."""
    if not has_onehot_input(bundle):
        raise ModelError("saliency needs a model that reads one-hot bases (model.input: onehot); use ISM")
    both = _strands(bundle, views)
    out: list[np.ndarray] = [np.zeros((0, 4))] * len(examples)
    model = bundle.model
    for idx in _batches(examples, 32768):
        batch = collate([examples[i] for i in idx])
        x = _onehot(bundle, batch.tokens).requires_grad_(True)
        with torch.enable_grad():
            score = _scores(bundle, batch.tokens, batch.lengths, target, both, embedded=x)
            (grad,) = torch.autograd.grad(score.sum(), x)
        values = (grad * x).detach().numpy()
        for row, i in enumerate(idx):
            out[i] = values[row, : examples[i].tokens.size]
    model.zero_grad(set_to_none=True)
    return out


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
        for idx in _batches(examples, 65536):
            batch = collate([examples[i] for i in idx])
            x = model.embed(batch.tokens).float()
            keep = batch.tokens.ne(0).unsqueeze(1).float()
            act = torch.relu(conv(x.transpose(1, 2) * keep)) * keep  # (B, C, L)
            best = act.max(dim=2)
            best_act.append(best.values.numpy())
            best_pos.append(best.indices.numpy())
            bases = _onehot(bundle, batch.tokens)
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


# ------------------------------------------------------------------------------------------------------
# drivers behind `seqrnn interpret`


def attributions_to_h5(
    bundle: ModelBundle,
    examples: Sequence[Example],
    output: str | Path,
    target: Target,
    views: int | None = None,
    methods: Sequence[str] = ("ism", "saliency"),
    attrs: dict | None = None,
) -> None:
    """Write ``/score`` and the chosen ``ism``/``saliency`` arrays of every example (atomically)."""
    residue = {m: DatasetSpec(4, np.float32, {"columns": np.array(list(BASES), dtype="S")}) for m in methods}
    sequence = {"score": DatasetSpec(None, np.float32), "sequences": DatasetSpec(None, h5py.string_dtype())}
    meta = {
        "format": "seqrnn-attributions",
        "format_version": 1,
        "seqrnn_version": __version__,
        "model_name": bundle.name,
        "model_sha256": bundle.sha256,
        "head": target.head,
        "target": target.label,
        "strands_averaged": _strands(bundle, views),
        **(attrs or {}),
    }
    step = 256
    with RaggedH5Writer(output, meta, residue, sequence) as writer:
        for start in range(0, len(examples), step):
            chunk = examples[start : start + step]
            arrays: dict[str, list[np.ndarray]] = {m: [] for m in methods}
            scores = None
            if "ism" in methods:
                results = [ism(bundle, ex, target, views) for ex in chunk]
                arrays["ism"] = [r[0] for r in results]
                scores = np.array([r[1] for r in results])  # ISM scores the unmutated sequence too
            if "saliency" in methods:
                arrays["saliency"] = saliency(bundle, chunk, target, views)
            writer.append(
                [ex.id for ex in chunk],
                np.array([ex.tokens.size for ex in chunk]),
                {m: np.concatenate(v).astype(np.float32) for m, v in arrays.items()},
                {
                    "score": (
                        scores if scores is not None else score_examples(bundle, chunk, target, views)
                    ).astype(np.float32),
                    "sequences": np.array([bundle.encoder.decode(ex.tokens) for ex in chunk], dtype=object),
                },
            )


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
        _onehot(bundle, torch.from_numpy(ex.tokens.astype(np.int64))[None])[0].numpy() for ex in examples
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
    atomic_write_text(out / "motifs.json", json.dumps(rows, indent=1) + "\n")
    with AtomicOutput(out / "motifs.tsv") as tmp, tmp.open("w") as fh:
        fh.write("motif\tsource\tinfluence\tsites\tconsensus\tbest_match\tbest_match_name\tsimilarity\n")
        for row in rows:
            best = (
                row["matches"][0] if row["matches"] else {"matrix_id": "", "name": "", "score": float("nan")}
            )
            influence = "" if row["influence"] is None else f"{row['influence']:.4f}"
            fh.write(
                f"{row['motif']}\t{row['source']}\t{influence}\t{row['sites']}\t{row['consensus']}\t"
                f"{best['matrix_id']}\t{best['name']}\t{best['score']:.3f}\n"
            )
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


def select_examples(
    bundle: ModelBundle,
    examples: Sequence[Example],
    target: Target,
    views: int | None = None,
    positives_only: bool = True,
    max_sequences: int | None = None,
) -> list[Example]:
    """The examples to explain: those the model calls for the target (score > 0) unless
    ``positives_only`` is off, then at most ``max_sequences`` of them in input order."""
    chosen = list(examples)
    if positives_only and chosen:
        scores = score_examples(bundle, chosen, target, views)
        chosen = [ex for ex, s in zip(chosen, scores, strict=True) if s > 0]
    return chosen[:max_sequences] if max_sequences else chosen
