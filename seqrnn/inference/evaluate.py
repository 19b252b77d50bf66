"""Scoring: predicted outputs against labelled data, per head, with masked residues left out.

``score_head`` takes per-example targets (as parsed by the head) and per-example outputs (as written
to HDF5: residue heads (L, C), sequence heads (C,)) and returns a JSON-able metrics dict from
:mod:`seqrnn.models.metrics`; how is the head kind's business (:meth:`seqrnn.models.heads.Head.score`).
``evaluate_records`` runs a model over labelled records and scores every head; with one file per class
(``--class-file``), :func:`class_file_column` says which label column the files' classes fill.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from seqrnn.encoding.examples import Example, head_mask_columns, prepare_example
from seqrnn.errors import InputError, UsageError
from seqrnn.inference.engine import PredictOptions, predict_windows
from seqrnn.io.formats import ReadOptions, chain_inputs
from seqrnn.io.inputs import Skipped, all_skipped_note, labelled_by_file
from seqrnn.io.records import Record
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.decisions import best_threshold
from seqrnn.models.heads import Head


def score_head(head: Head, targets: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> dict:
    """One head's metrics of per-example outputs against per-example targets."""
    return head.score(targets, outputs)


def class_file_column(bundle: ModelBundle, class_files: Mapping[str, object]) -> str:
    """The label column that one file per class fills: that of the model's one single-column sequence
    classification head, whose classes must include every class given.

    Raises ``ValueError`` (a usage error) when the model has no such head, or more than one, or a class
    given is not one of the head's classes.
    """
    if not class_files:
        raise ValueError("class files: expected at least one CLASS=FILE")
    heads = [
        h
        for h in bundle.model.heads.values()
        if h.level == "sequence" and h.output == "probs" and h.n_columns == 1 and h.spec.classes
    ]
    if len(heads) != 1:
        names = [h.name for h in heads]
        raise ValueError(
            f"class files label one classification head; model {bundle.name} has {len(heads)} {names}"
        )
    head = heads[0]
    unknown = [c for c in class_files if c not in head.spec.classes]
    if unknown:
        raise ValueError(
            f"class files: {', '.join(map(repr, unknown))} not among the classes of head {head.name} "
            f"({', '.join(head.spec.classes)})"
        )
    return head.spec.columns[0]


def labelled_inputs(
    bundle: ModelBundle,
    data: Sequence[str],
    class_files: Mapping[str, str] | None,
    read: ReadOptions | None = None,
) -> tuple[list[str], Iterable[Record]]:
    """The files scored and their labelled records: labelled ``data`` files, or one file per class
    (labelled by :func:`class_file_column`). ``ValueError`` unless exactly one of the two is given."""
    if bool(data) == bool(class_files):
        raise ValueError(
            "give labelled data files or one file per class (class files), exactly one of the two"
        )
    if class_files:
        column = class_file_column(bundle, class_files)
        return list(class_files.values()), labelled_by_file(class_files, column, read)
    return list(data), chain_inputs(data, read)


@dataclass
class Evaluation:
    """Metrics per head name, how many sequences were scored, and the records skipped as invalid."""

    metrics: dict[str, dict]
    n_sequences: int
    skipped: list[Skipped] = field(default_factory=list)  # under on_invalid="skip": left out of the scores


def predict_with_targets(
    bundle: ModelBundle, examples: Sequence[Example], options: PredictOptions, device: torch.device
) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """``(targets, outputs)`` per head name, one entry per example: outputs as written to HDF5 (residue
    heads (L, C), sequence heads (C,)), targets as the head parsed them."""
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
    return targets, outputs


def evaluate_examples(
    bundle: ModelBundle, examples: Sequence[Example], options: PredictOptions, device: torch.device
) -> Evaluation:
    """Predict prepared examples (targets attached) and score every head of ``bundle``."""
    targets, outputs = predict_with_targets(bundle, examples, options, device)
    heads = bundle.model.heads
    metrics = {name: score_head(head, targets[name], outputs[name]) for name, head in heads.items()}
    return Evaluation(metrics, len(examples))


def choose_thresholds(
    bundle: ModelBundle,
    examples: Sequence[Example],
    heads: Mapping[str, str],
    options: PredictOptions,
    device: torch.device,
) -> dict[str, float]:
    """For each two-class head of ``heads`` (name -> criterion, ``youden`` or ``mcc``), the best cut-off
    on the second class's probability over the labelled ``examples`` (residue heads: their residues;
    :func:`seqrnn.models.decisions.best_threshold`)."""
    targets, outputs = predict_with_targets(bundle, examples, options, device)
    chosen = {}
    for name, criterion in heads.items():
        # Residue heads: every labelled residue is one decision; sequence heads: every labelled record.
        y, p = bundle.model.heads[name].labelled(targets[name], outputs[name])
        chosen[name] = best_threshold(y, p[:, 1], criterion)
    return chosen


def evaluate_records(
    bundle: ModelBundle,
    records: Iterable[Record],
    options: PredictOptions,
    device: torch.device,
    mask_columns: Sequence[str] = (),
) -> Evaluation:
    """Encode labelled records (skipping invalid ones under ``on_invalid="skip"``) and score them.

    ``mask_columns`` is the data-level default (``--mask-column``, else the model's ``data.mask_columns``):
    residue heads with mask columns of their own (``heads[].mask_columns``, in their spec) use those.
    """
    bundle = options.applied_to(bundle)
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


@dataclass
class ModelEvaluation:
    """One model's scores as ``seqrnn evaluate`` reports them: the files scored, the data-level mask
    columns used, the evaluation and the seconds it took."""

    bundle: ModelBundle
    inputs: list[str]
    mask_columns: list[str]
    evaluation: Evaluation
    seconds: float

    def report(self) -> dict[str, Any]:
        """The ``--json`` payload of this model."""
        heads = self.bundle.model.heads
        result = self.evaluation
        return {
            "model": self.bundle.name,
            "model_sha256": self.bundle.sha256,
            "data": self.inputs,
            "mask_columns": self.mask_columns,
            # What each residue head was scored on: its own mask columns (heads[].mask_columns) or the above.
            "head_mask_columns": {
                n: list(head_mask_columns(h, self.mask_columns))
                for n, h in heads.items()
                if h.level == "residue"
            },
            "n_sequences": result.n_sequences,
            "skipped": [{"record": k.record, "row": k.index + 1, "reason": k.reason} for k in result.skipped],
            "metrics": result.metrics,
        }


def evaluate_models(
    loaded: ModelBundle,
    data: Sequence[str],
    class_files: Mapping[str, str] | None,
    options: PredictOptions,
    device: torch.device,
    read: ReadOptions | None = None,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    mask_columns: Sequence[str] | None = None,
) -> list[ModelEvaluation]:
    """Score a model, an ensemble, or each model of a set on its own (``seqrnn evaluate`` and
    :func:`seqrnn.evaluate`): labelled ``data`` files or one file per class; ``labels`` ``{head:
    column}`` reads a head's labels from another column (for the heads a model has); ``mask_columns``
    None: each model's own. Label columns are put back afterwards, so a loaded bundle is unchanged.
    ``ValueError`` for a usage mistake (not exactly one of data and class files, an unknown class);
    :class:`UsageError` for ``on_invalid="mask"``."""
    if options.on_invalid == "mask":
        raise UsageError(
            "on_invalid mask: evaluate offers error or skip (masked letters change what is scored)"
        )
    done = []
    for bundle in loaded.members or [loaded]:
        heads = bundle.model.heads
        own = {h: c for h, c in (labels or {}).items() if h in heads or not loaded.members}
        before = {name: list(heads[name].spec.columns) for name in own if name in heads}
        try:
            bundle.use_label_columns(own)
            inputs, records = labelled_inputs(bundle, data, class_files, read)
            masks = list(
                mask_columns
                if mask_columns is not None
                else bundle.metadata.get("data", {}).get("mask_columns", [])
            )
            start = time.perf_counter()
            evaluation = evaluate_records(bundle, records, options, device, masks)
            done.append(ModelEvaluation(bundle, inputs, masks, evaluation, time.perf_counter() - start))
        finally:
            for name, columns in before.items():
                heads[name].spec.columns = columns
    return done
