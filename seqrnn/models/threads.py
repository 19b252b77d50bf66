"""Spare threads for the backward direction of a bidirectional layer: while the forward direction
runs in the calling thread, the backward one may run on a spare thread lent by the CPU batch runner
(:mod:`seqrnn.inference.engine`). The helper is thread-local state, set by :func:`direction_helper`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol

import torch


class DirectionHelper(Protocol):
    """Spare threads: ``try_submit`` runs ``fn(x)`` on one and returns its future, or None if none is free."""

    def try_submit(self, fn: Callable[[torch.Tensor], Any], x: torch.Tensor) -> Future | None:
        """Run ``fn(x)`` on a free spare thread and return its future; None when none is free."""


_local = threading.local()


@contextmanager
def direction_helper(helper: DirectionHelper | None) -> Iterator[None]:
    """In this thread, gradient-free forward passes may run each layer's backward direction on
    ``helper`` while the forward direction runs here (same results). Why: the two directions are
    independent, and a long chain predicted alone is otherwise one thread's work (35,000 residues:
    3.6 s on one thread, 2.0 s on two)."""
    previous = getattr(_local, "helper", None)
    _local.helper = helper
    try:
        yield
    finally:
        _local.helper = previous


def in_caller_modes(module: Callable[[torch.Tensor], Any]) -> Callable[[torch.Tensor], Any]:
    """``module`` (or any function of one tensor) as a function for another thread: inference and
    autocast modes are thread-local."""
    inference = torch.is_inference_mode_enabled()
    modes = [(d, torch.get_autocast_dtype(d)) for d in ("cpu", "cuda") if torch.is_autocast_enabled(d)]

    def run(x: torch.Tensor) -> Any:
        with ExitStack() as stack:
            stack.enter_context(torch.inference_mode(inference))
            stack.enter_context(torch.no_grad())
            for device_type, dtype in modes:
                stack.enter_context(torch.autocast(device_type, dtype=dtype))
            return module(x)

    return run


def current_helper() -> DirectionHelper | None:
    """The spare-thread helper of this thread (:func:`direction_helper`), or None."""
    return getattr(_local, "helper", None)
