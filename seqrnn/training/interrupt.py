"""Graceful interruption: SIGINT/SIGTERM end training after the current batch with a resumable checkpoint."""

from __future__ import annotations

import signal
import threading
from typing import Any

from seqrnn.errors import SeqrnnError


class TrainingInterrupted(SeqrnnError):
    """SIGINT/SIGTERM arrived; a resumable checkpoint was written."""

    exit_code = 130


class StopRequest:
    """SIGINT/SIGTERM only set a flag, so the loop can finish its batch and checkpoint (batch schedulers
    send SIGTERM before killing a job at its wall-time limit)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: object) -> None:
        self.signum = signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
