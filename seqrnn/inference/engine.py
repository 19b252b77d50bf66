"""Applying a model to encoded examples: token-budget batches -> model -> heads, per window.

A window's examples (and their test-time views) are sorted into length-bucketed batches, run under
``torch.inference_mode`` (bf16 autocast when the precision says so) on the CPU batch runner
(:mod:`seqrnn.inference.runner`), and put back in the examples' order, so the output order never depends on
batching. Per window the result holds ``residue[head]`` (R_window, C), the rows of all examples
concatenated, and ``sequence[head]`` (N_window, C), averaged over each example's views. For an ensemble
it also holds ``residue_std``/``sequence_std``: the population std (ddof=0, float32) over members. With
views, each member's sequence outputs are averaged over the views first and the std is taken over those
per-member averages (the mean is computed as for a single model: members averaged per view, then views).

Prediction (:mod:`seqrnn.inference.pipeline`), evaluation and training's validation all run models through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from seqrnn.core.memory import release_free_memory, tune_allocator
from seqrnn.core.runtime import resolve_precision
from seqrnn.encoding.batching import BF16_ROWS, collate, token_budget_batches
from seqrnn.encoding.examples import Example
from seqrnn.inference.runner import BatchRunner
from seqrnn.io.inputs import ReadOptions
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.ensemble import Ensemble, ModelSet, std_heads


@dataclass
class PredictOptions:
    """How records are read, encoded and batched for prediction (the CLI's options of the same names)."""

    batch_tokens: int = 32768  # padded positions in flight at once, shared among the workers
    batch_size: int = 512  # sequences in flight at once, shared among the workers
    window_tokens: int = 250_000  # ~700 average proteins: enough to bucket lengths, small to hold
    on_invalid: str = "error"  # error | skip | mask (letters outside the alphabet -> X / N)
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; outputs are written as float32 either way)
    test_views: int | None = None  # views averaged per sequence (None: the bundle's train.test_views)
    workers: int = 0  # CPU batches predicted concurrently (0: one per torch thread, up to 8)
    read: ReadOptions = field(default_factory=ReadOptions)  # formats, columns, genome, shard


@dataclass
class WindowResult:
    """A window's examples with their outputs: ``residue[head]`` (R, C), ``sequence[head]`` (N, C); for an
    ensemble also the std over members of each, same shapes (empty for a single model)."""

    examples: list[Example]
    residue: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]
    residue_std: dict[str, np.ndarray] = field(default_factory=dict)
    sequence_std: dict[str, np.ndarray] = field(default_factory=dict)


def start_window(
    bundle: ModelBundle,
    examples: Sequence[Example],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> Callable[[], WindowResult]:
    """Queue one window's batches on ``runner``; the returned function waits and assembles the result.

    Outputs are in the order of ``examples``. Examples with ``views`` get their sequence-level outputs
    averaged over the input and its views; in a model set each model averages only as many as it takes
    (its first views: they are drawn in the same order for every count).
    """
    tune_allocator()
    model = bundle.model
    heads = model.heads
    flat = list(examples)
    owner = list(range(len(examples)))
    rank = [0] * len(examples)  # 0: the input itself, j: its j-th view
    for i, ex in enumerate(examples):
        for j, view in enumerate(ex.views or (), start=1):
            flat.append(Example(ex.index, ex.id, view))
            owner.append(i)
            rank.append(j)
    limits = bundle.view_counts(options.test_views)
    lengths = np.array([e.tokens.size for e in flat], dtype=np.int64)
    per_seq: dict[str, list[np.ndarray | None]] = {name: [None] * len(flat) for name in heads}
    with_std = set(std_heads(model))
    # Ensembles: residue heads' std per example; sequence heads' member outputs (M, C) per example,
    # so views can be averaged per member before the std over members.
    per_std: dict[str, list[np.ndarray | None]] = {name: [None] * len(flat) for name in with_std}
    bf16 = resolve_precision(options.precision, device) == "bf16"

    def run(idx: np.ndarray) -> None:
        # inference_mode and autocast are thread-local: entered by whichever thread runs the batch.
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            batch = collate([flat[i] for i in idx]).to(device)
            outputs, spread = _outputs(model, batch.tokens, batch.lengths)
            for name, head in heads.items():
                out = outputs[name].float().cpu().numpy()
                for row, i in enumerate(idx):
                    per_seq[name][i] = out[row, : lengths[i]] if head.level == "residue" else out[row]
                if name in spread:
                    std = spread[name].cpu().numpy()
                    for row, i in enumerate(idx):
                        per_std[name][i] = std[row, : lengths[i]] if head.level == "residue" else std[row]

    # Both limits are for all batches in flight, so memory does not grow with the worker count.
    # Longest batches first (token_budget_batches' order), so a long chain does not finish last alone.
    tokens, size = (max(1, limit // runner.workers) for limit in (options.batch_tokens, options.batch_size))
    batches = token_budget_batches(lengths, tokens, size, **(BF16_ROWS if bf16 else {}))
    futures = [runner.submit(partial(run, idx)) for idx in batches]

    def finish() -> WindowResult:
        for future in futures:
            future.result()  # re-raises a batch's error here
        release_free_memory()  # once per window, not per batch: keeps resident memory flat
        n = len(examples)
        residue = {k: np.concatenate(per_seq[k][:n]) for k, h in heads.items() if h.level == "residue"}
        sequence = {k: np.stack(per_seq[k]) for k, h in heads.items() if h.level != "residue"}
        owners, ranks = np.asarray(owner), np.asarray(rank)

        def averaged(k: str, values: np.ndarray) -> np.ndarray:
            """(N + views, ...) -> (N, ...): each example's mean over itself and the views head k takes."""
            if len(flat) == n:
                return values
            use = ranks < limits.get(k, len(flat))
            counts = np.bincount(owners[use], minlength=n).astype(np.float64)
            total = np.zeros((n, *values.shape[1:]), dtype=np.float64)
            np.add.at(total, owners[use], values[use])
            return (total / counts.reshape(-1, *[1] * (values.ndim - 1))).astype(values.dtype)

        sequence = {k: averaged(k, v) for k, v in sequence.items()}
        if not with_std:
            return WindowResult(list(examples), residue, sequence)
        residue_std = {k: np.concatenate(per_std[k][:n]) for k in residue if k in with_std}
        # The std over members of each member's view-averaged outputs: (N + views, M, C) -> (N, C).
        sequence_std = {k: averaged(k, np.stack(per_std[k])).std(axis=1) for k in sequence if k in with_std}
        return WindowResult(list(examples), residue, sequence, residue_std, sequence_std)

    return finish


def _outputs(
    model: torch.nn.Module, tokens: torch.Tensor, lengths: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(outputs, spread)`` per head of one batch: the (mean) outputs, and for ensembles the residue
    heads' std over members (B, L, C) and the sequence heads' member outputs stacked (B, M, C)."""
    if isinstance(model, ModelSet):
        outputs: dict[str, torch.Tensor] = {}
        spread: dict[str, torch.Tensor] = {}
        for prefix, member in model.named_members():
            out, sp = _outputs(member, model.member_tokens(prefix, tokens), lengths)
            outputs.update({f"{prefix}/{k}": v for k, v in out.items()})
            spread.update({f"{prefix}/{k}": v for k, v in sp.items()})
        return outputs, spread
    if isinstance(model, Ensemble):
        members = model.member_outputs(tokens, lengths)
        heads = model.heads
        spread = {n: v for n, v in Ensemble.std(members).items() if heads[n].level == "residue"}
        spread.update({n: torch.stack([m[n].float() for m in members], 1) for n in heads if n not in spread})
        return Ensemble.mean(members), spread
    return model.predict(tokens, lengths), {}  # type: ignore[operator]


def predict_examples(
    bundle: ModelBundle, examples: Sequence[Example], options: PredictOptions, device: torch.device
) -> WindowResult:
    """Predict one window; outputs are in the order of ``examples`` (see :func:`start_window`)."""
    with BatchRunner(options.workers, device) as runner:
        return start_window(bundle, examples, options, device, runner)()


def predict_windows(
    bundle: ModelBundle, windows: Iterable[list[Example]], options: PredictOptions, device: torch.device
) -> Iterator[WindowResult]:
    """Results per window, in order. The next window is read, encoded and queued before this one is
    handed out, so workers stay busy while the caller writes and while a long chain's batch runs."""
    with BatchRunner(options.workers, device) as runner:
        pending: Callable[[], WindowResult] | None = None
        for window in windows:
            started = start_window(bundle, window, options, device, runner)
            if pending is not None:
                yield pending()
            pending = started
        if pending is not None:
            yield pending()
