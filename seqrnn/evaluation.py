"""Scoring: predicted outputs against labelled data, per head, with masked residues left out.

``score_head`` takes per-example targets (as parsed by the head) and per-example outputs (as written
to HDF5: residue heads (L, C), sequence heads (C,)) and returns a JSON-able metrics dict from
:mod:`seqrnn.metrics`; how is the head kind's business (:meth:`seqrnn.models.heads.Head.score`).
``evaluate_records`` runs a model over labelled records and scores every head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from seqrnn.bundle import ModelBundle
from seqrnn.data.examples import Example, prepare_example
from seqrnn.data.inputs import Skipped, all_skipped_note
from seqrnn.data.records import Record
from seqrnn.errors import InputError
from seqrnn.inference import PredictOptions, predict_windows
from seqrnn.models.heads import Head


def score_head(head: Head, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict:
    """One head's metrics of per-example outputs against per-example targets."""
    return head.score(targets, outputs)


@dataclass
class Evaluation:
    """Metrics per head name, how many sequences were scored, and the records skipped as invalid."""

    metrics: dict[str, dict]
    n_sequences: int
    skipped: list[Skipped] = field(default_factory=list)  # under on_invalid="skip": left out of the scores


def evaluate_examples(
    bundle: ModelBundle, examples: Sequence[Example], options: PredictOptions, device: torch.device
) -> Evaluation:
    """Predict prepared examples (targets attached) and score every head of ``bundle``."""
    heads = bundle.model.heads
    targets: dict[str, list[np.ndarray]] = {n: [] for n in heads}
    outputs: dict[str, list[np.ndarray]] = {n: [] for n in heads}
    step = 4096  # windows keep peak memory flat on large evaluation sets
    chunks = [list(examples[start : start + step]) for start in range(0, len(examples), step)]
    for chunk, result in zip(chunks, predict_windows(bundle, chunks, options, device), strict=True):
        offsets = np.concatenate([[0], np.cumsum([e.tokens.size for e in chunk])])
        for name, head in heads.items():
            for i, ex in enumerate(chunk):
                targets[name].append(ex.targets[name])
                if head.level == "residue":
                    outputs[name].append(result.residue[name][offsets[i] : offsets[i + 1]])
                else:
                    outputs[name].append(result.sequence[name][i])
    metrics = {name: score_head(head, targets[name], outputs[name]) for name, head in heads.items()}
    return Evaluation(metrics, len(examples))


def evaluate_records(
    bundle: ModelBundle,
    records: Iterable[Record],
    options: PredictOptions,
    device: torch.device,
    mask_columns: Sequence[str] = (),
) -> Evaluation:
    """Encode labelled records (skipping invalid ones under ``on_invalid="skip"``) and score them."""
    heads = list(bundle.model.heads.values())
    views = bundle.views(options.test_views)
    examples: list[Example] = []
    skipped: list[Skipped] = []
    for r in records:
        try:
            ex = prepare_example(r, bundle.encoder, views=views, heads=heads, mask_columns=mask_columns)
        except InputError as exc:
            if options.on_invalid != "skip":
                raise
            skipped.append(Skipped.of(r, exc))
            continue
        examples.append(ex)
    if not examples:
        raise InputError("no labelled sequences to score" + all_skipped_note(skipped))
    evaluation = evaluate_examples(bundle, examples, options, device)
    evaluation.skipped = skipped
    return evaluation
