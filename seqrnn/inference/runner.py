"""The CPU batch runner: a window's batches on concurrent single-threaded workers.

On the CPU a window's batches run concurrently, one single-threaded worker per thread (up to
``MAX_AUTO_WORKERS``): torch's RNN kernel gains little from a second thread on one batch, and two
batches side by side get more done than one batch on two threads (docs/performance.md). Each batch is
computed the same way whichever worker takes it, so outputs do not depend on scheduling. While no batch
waits, idle threads run the backward direction of a lone batch's RNN layers (:class:`SpareThreads`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import torch

from seqrnn.models.threads import direction_helper

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
