"""Per-base attributions of a DNA model: the explained score, in-silico mutagenesis, saliency.

Shapes and the score's definition are in :mod:`seqrnn.interpret`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from seqrnn.encoding.examples import Example, collate
from seqrnn.errors import ModelError
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.heads import head_class
from seqrnn.models.rnn import reverse_index
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


def onehot(bundle: ModelBundle, tokens: torch.Tensor) -> torch.Tensor:
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


def length_batches(examples: Sequence[Example], max_tokens: int) -> Iterator[list[int]]:
    """Positions of ``examples`` in input-order batches of at most ``max_tokens`` padded positions."""
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
        for idx in length_batches(examples, 65536):
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
    for idx in length_batches(examples, 32768):
        batch = collate([examples[i] for i in idx])
        x = onehot(bundle, batch.tokens).requires_grad_(True)
        with torch.enable_grad():
            score = _scores(bundle, batch.tokens, batch.lengths, target, both, embedded=x)
            (grad,) = torch.autograd.grad(score.sum(), x)
        values = (grad * x).detach().numpy()
        for row, i in enumerate(idx):
            out[i] = values[row, : examples[i].tokens.size]
    model.zero_grad(set_to_none=True)
    return out


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


def select_examples(
    bundle: ModelBundle,
    examples: Iterable[Example],
    target: Target,
    views: int | None = None,
    positives_only: bool = True,
    max_sequences: int | None = None,
    chunk: int = 4096,
) -> tuple[list[Example], int]:
    """The examples to explain, and how many were read to find them.

    Those the model calls for the target (score > 0) unless ``positives_only`` is off, at most
    ``max_sequences`` of them, in input order. ``examples`` is read ``chunk`` at a time and no further
    than needed, so memory holds one chunk and the chosen examples, whatever the input size.
    """
    chosen: list[Example] = []
    seen = 0
    stream = iter(examples)
    while block := list(itertools.islice(stream, chunk)):
        seen += len(block)
        if positives_only:
            scores = score_examples(bundle, block, target, views)
            block = [ex for ex, s in zip(block, scores, strict=True) if s > 0]
        chosen.extend(block)
        if max_sequences and len(chosen) >= max_sequences:
            return chosen[:max_sequences], seen
    return chosen, seen
