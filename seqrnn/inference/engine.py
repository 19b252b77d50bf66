"""Applying a model to encoded examples: token-budget batches -> model -> heads, per window.

A window's examples (and their test-time views) are sorted into length-bucketed batches, run under
``torch.inference_mode`` (bf16 autocast when the precision says so) on the CPU batch runner
(:class:`BatchRunner`, at the end of this module), and put back in the examples' order, so the output order never depends on
batching. Per window the result holds ``residue[head]`` (R_window, C), the rows of all examples
concatenated, and ``sequence[head]`` (N_window, C), averaged over each example's views. For an ensemble
it also holds ``residue_std``/``sequence_std``: the population std (ddof=0, float32) over members. With
views, each member's sequence outputs are averaged over the views first and the std is taken over those
per-member averages (the mean is computed as for a single model: members averaged per view, then views).

Prediction (:mod:`seqrnn.inference.pipeline`), evaluation and training's validation all run models through here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from seqrnn.core.memory import release_free_memory, tune_allocator
from seqrnn.core.runtime import resolve_precision
from seqrnn.encoding.examples import BF16_ROWS, Example, collate, token_budget_batches
from seqrnn.inference.options import PredictOptions
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.ensemble import Ensemble, ModelSet, std_heads
from seqrnn.models.threads import direction_helper


@dataclass
class WindowResult:
    """A window's examples with their outputs: ``residue[head]`` (R, C), ``sequence[head]`` (N, C); for an
    ensemble also the std over members of each, same shapes (empty for a single model)."""

    examples: list[Example]
    residue: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]
    residue_std: dict[str, np.ndarray] = field(default_factory=dict)
    sequence_std: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class PendingWindow:
    """One window whose batches are queued on a runner; :meth:`result` waits and assembles them.

    ``flat`` holds the examples then their views; ``owner[i]`` is the example a flat entry belongs to
    and ``rank[i]`` 0 for the input itself, j for its j-th view. The batches fill ``per_seq[head][i]``
    (residue heads (L_i, C), sequence heads (C,)) and, for an ensemble, ``per_std[head][i]`` (residue
    heads' std (L_i, C), sequence heads' member outputs (M, C)).
    """

    examples: list[Example]
    flat: list[Example]
    owner: np.ndarray
    rank: np.ndarray
    limits: dict[str, int]
    heads: dict
    with_std: set[str]
    per_seq: dict[str, list[np.ndarray | None]]
    per_std: dict[str, list[np.ndarray | None]]
    futures: list[Future] = field(default_factory=list)

    def result(self) -> WindowResult:
        """Wait for the batches (a batch's error is raised here) and put the outputs in example order."""
        for future in self.futures:
            future.result()
        release_free_memory()  # once per window, not per batch: keeps resident memory flat
        return assemble_window(self)


def start_window(
    bundle: ModelBundle,
    examples: Sequence[Example],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> PendingWindow:
    """Queue one window's batches on ``runner`` (:func:`run_batch` each); ``.result()`` waits for them.

    Outputs are in the order of ``examples``. Examples with ``views`` get their sequence-level outputs
    averaged over the input and its views; in a model set each model averages only as many as it takes
    (its first views: they are drawn in the same order for every count).
    """
    tune_allocator()
    model = bundle.model
    flat, owner, rank = list(examples), list(range(len(examples))), [0] * len(examples)
    for i, ex in enumerate(examples):
        for j, view in enumerate(ex.views or (), start=1):
            flat.append(Example(ex.index, ex.id, view))
            owner.append(i)
            rank.append(j)
    with_std = set(std_heads(model))
    window = PendingWindow(
        examples=list(examples),
        flat=flat,
        owner=np.asarray(owner),
        rank=np.asarray(rank),
        limits=bundle.view_counts(options.test_views),
        heads=dict(model.heads),
        with_std=with_std,
        per_seq={name: [None] * len(flat) for name in model.heads},
        per_std={name: [None] * len(flat) for name in with_std},
    )
    bf16 = resolve_precision(options.precision, device) == "bf16"
    lengths = np.array([e.tokens.size for e in flat], dtype=np.int64)
    # Both limits are for all batches in flight, so memory does not grow with the worker count.
    # Longest batches first (token_budget_batches' order), so a long chain does not finish last alone.
    tokens, size = (max(1, limit // runner.workers) for limit in (options.batch_tokens, options.batch_size))
    for idx in token_budget_batches(lengths, tokens, size, **(BF16_ROWS if bf16 else {})):
        window.futures.append(runner.submit(partial(run_batch, model, window, idx, device, bf16)))
    return window


def run_batch(
    model: torch.nn.Module, window: PendingWindow, idx: np.ndarray, device: torch.device, bf16: bool
) -> None:
    """Collate the flat examples ``idx`` into one batch, run the model and its heads, and store each
    example's rows (trimmed to its length) in ``window``."""
    # inference_mode and autocast are thread-local: entered by whichever thread runs the batch.
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        batch = collate([window.flat[i] for i in idx]).to(device)
        outputs, spread = _outputs(model, batch.tokens, batch.lengths)
        lengths = batch.lengths.tolist()
        for name, head in window.heads.items():
            _store(window.per_seq[name], outputs[name].float().cpu().numpy(), idx, lengths, head.level)
            if name in spread:
                _store(window.per_std[name], spread[name].cpu().numpy(), idx, lengths, head.level)


def _store(
    into: list[np.ndarray | None], out: np.ndarray, idx: np.ndarray, lengths: list[int], level: str
) -> None:
    for row, i in enumerate(idx):
        into[i] = out[row, : lengths[row]] if level == "residue" else out[row]


def assemble_window(window: PendingWindow) -> WindowResult:
    """The finished batches of ``window`` as one :class:`WindowResult` in example order: residue rows
    concatenated (R, C), sequence outputs (N, C) averaged over each example's views."""
    n = len(window.examples)
    heads = window.heads
    residue = {k: np.concatenate(window.per_seq[k][:n]) for k, h in heads.items() if h.level == "residue"}
    sequence = {
        k: _view_mean(window, k, np.stack(window.per_seq[k]))
        for k, h in heads.items()
        if h.level != "residue"
    }
    if not window.with_std:
        return WindowResult(window.examples, residue, sequence)
    residue_std = {k: np.concatenate(window.per_std[k][:n]) for k in residue if k in window.with_std}
    # The std over members of each member's view-averaged outputs: (N + views, M, C) -> (N, C).
    sequence_std = {
        k: _view_mean(window, k, np.stack(window.per_std[k])).std(axis=1)
        for k in sequence
        if k in window.with_std
    }
    return WindowResult(window.examples, residue, sequence, residue_std, sequence_std)


def _view_mean(window: PendingWindow, head: str, values: np.ndarray) -> np.ndarray:
    """(N + views, ...) -> (N, ...): each example's mean over itself and the views ``head`` takes."""
    n = len(window.examples)
    if len(window.flat) == n:
        return values
    use = window.rank < window.limits.get(head, len(window.flat))
    owners = window.owner[use]
    counts = np.bincount(owners, minlength=n).astype(np.float64)
    total = np.zeros((n, *values.shape[1:]), dtype=np.float64)
    np.add.at(total, owners, values[use])
    return (total / counts.reshape(-1, *[1] * (values.ndim - 1))).astype(values.dtype)


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
        return start_window(bundle, examples, options, device, runner).result()


def predict_windows(
    bundle: ModelBundle, windows: Iterable[list[Example]], options: PredictOptions, device: torch.device
) -> Iterator[WindowResult]:
    """Results per window, in order. The next window is read, encoded and queued before this one is
    handed out, so workers stay busy while the caller writes and while a long chain's batch runs."""
    with BatchRunner(options.workers, device) as runner:
        pending: PendingWindow | None = None
        for window in windows:
            started = start_window(bundle, window, options, device, runner)
            if pending is not None:
                yield pending.result()
            pending = started
        if pending is not None:
            yield pending.result()


# The CPU batch runner ------------------------------------------------------------------------------
#
# The CPU batch runner: a window's batches on concurrent single-threaded workers.
#
# On the CPU a window's batches run concurrently, one single-threaded worker per thread (up to
# ``MAX_AUTO_WORKERS``): torch's RNN kernel gains little from a second thread on one batch, and two
# batches side by side get more done than one batch on two threads (docs/performance.md). Each batch is
# computed the same way whichever worker takes it, so outputs do not depend on scheduling. While no batch
# waits, idle threads run the backward direction of a lone batch's RNN layers (:class:`SpareThreads`).

MAX_AUTO_WORKERS = 8  # each worker holds one batch's activations; more rarely pays on one socket


class SpareThreads:
    """The CPU threads a worker's batch may borrow for its layers' backward directions
    (:class:`seqrnn.models.threads.DirectionHelper`): one slot per thread, held by a running batch or a
    lent direction. Lending happens only while no batch is queued, and a batch waits for a slot, so
    it helps a long chain that runs alone at the end without oversubscribing the cores or taking a
    thread from a batch that could use it."""

    def __init__(self, threads: int) -> None:
        self._free = threads
        self._queued = 0
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(
            threads - 1,
            thread_name_prefix="seqrnn-direction",
            initializer=torch.set_num_threads,
            initargs=(1,),
        )

    def queued(self) -> None:
        """Count a batch that waits for a slot (lending stops while any does)."""
        with self._changed:
            self._queued += 1

    @contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for a queued batch that starts running."""
        with self._changed:
            self._queued -= 1
            self._changed.wait_for(lambda: self._free > 0)
            self._free -= 1
        try:
            yield
        finally:
            self._release()

    def try_submit(self, fn: Callable[[torch.Tensor], object], x: torch.Tensor) -> Future | None:
        """Run ``fn(x)`` on a free thread if one may be lent now; None when not (run it yourself)."""
        with self._changed:
            if self._free <= 0 or self._queued > 0:
                return None
            self._free -= 1
        try:
            future = self._pool.submit(fn, x)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify()

    def shutdown(self) -> None:
        """Stop the lending threads (waits for running directions, cancels queued ones)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class BatchRunner:
    """Runs a window's batches: inline, or on CPU worker threads with ``threads_each`` torch threads.

    A context manager; leaving it cancels batches not yet started (an error, Ctrl-C, a closed consumer).
    """

    def __init__(self, workers: int, device: torch.device) -> None:
        threads = torch.get_num_threads()
        if device.type == "cpu":
            workers = max(1, min(workers or min(threads, MAX_AUTO_WORKERS), threads))
        else:
            workers = 1
        self.workers = workers
        self.threads_each = max(1, threads // workers)
        self._pool = (
            ThreadPoolExecutor(
                workers,
                thread_name_prefix="seqrnn-batch",
                initializer=torch.set_num_threads,
                initargs=(self.threads_each,),
            )
            if workers > 1
            else None
        )
        # Single-threaded workers (the CPU default) lend idle threads to each other's RNN directions;
        # never the inline path (one worker with one thread each means one thread in all).
        self.spare = (
            SpareThreads(threads) if device.type == "cpu" and threads > 1 and self.threads_each == 1 else None
        )

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        """Run one batch function; its result (or error) comes back through the future."""
        if self._pool is not None:
            return self._pool.submit(self._lending(fn))
        fn()  # inline: an error or Ctrl-C stops the window here, not after its remaining batches
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def _lending(self, fn: Callable[[], None]) -> Callable[[], None]:
        spare = self.spare
        if spare is None:
            return fn
        spare.queued()

        def run() -> None:
            with spare.hold(), direction_helper(spare):
                fn()

        return run

    def __enter__(self) -> BatchRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.spare is not None:
            self.spare.shutdown()
