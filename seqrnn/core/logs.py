"""Logging for seqrnn: the ``seqrnn`` logger, structured events, their handlers and the progress bar.

Library code logs through ``logging.getLogger("seqrnn")`` or a child (``logging.getLogger(__name__)``
inside the package). By default nothing is printed (a :class:`logging.NullHandler` is attached), so
programs that import seqrnn decide where its messages go, e.g.::

    logging.getLogger("seqrnn").addHandler(logging.StreamHandler())

A record may carry a structured event (:func:`event`): ``record.event`` names it (``progress``,
``skipped``, ...) and ``record.fields`` holds its JSON-able fields. :class:`JsonLinesHandler` writes
each record as one JSON line (``time``, ``event``, fields); plain records become ``log`` events.
:class:`ConsoleHandler` prints the message text as is (the CLI's stderr output) and leaves out
machine-only events, which have no text.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

LOGGER_NAME = "seqrnn"
logger = logging.getLogger(LOGGER_NAME)
logger.addHandler(logging.NullHandler())


def event(
    name: str,
    text: str = "",
    *,
    level: int = logging.INFO,
    console: bool = True,
    log: logging.Logger | None = None,
    **fields: Any,
) -> None:
    """Log a structured event ``name`` with ``fields``; ``text`` is what a person reads.

    Events without ``text`` (``start``, ``result``, ``exit``) are for machine logs only; ``console=False``
    keeps a text event off the console too (a progress bar already shows the same thing).
    """
    (log or logger).log(level, text, extra={"event": name, "fields": fields, "console": console})


class ConsoleHandler(logging.Handler):
    """Print each record's text to the *current* ``sys.stderr`` (tests and redirections swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the message, unless the record is a machine-only event."""
        try:
            text = self.format(record)
            if not text or getattr(record, "console", True) is False:
                return
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never take the program down
            self.handleError(record)


class JsonLinesHandler(logging.Handler):
    """Append every record to ``path`` as one JSON line: ``time``, ``event`` and the event's fields.

    The file is opened per record (append mode), so lines from concurrent runs do not interleave
    mid-line and a killed run leaves every line written so far.
    """

    def __init__(self, path: str | Path, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.path = Path(path)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record as JSON; plain log records become ``log`` events with message and level."""
        from seqrnn.io.files import utc_timestamp  # lazily: keeps ``import seqrnn.core.logs`` light

        try:
            name = getattr(record, "event", None)
            fields = (
                getattr(record, "fields", {})
                if name
                else {"message": record.getMessage(), "level": record.levelname.lower()}
            )
            line = {"time": utc_timestamp(), "event": name or "log", **fields}
            with self.path.open("a") as fh:
                fh.write(json.dumps(line, default=str) + "\n")
        except Exception:
            self.handleError(record)


class Heartbeat:
    """True once every ``interval`` seconds: paces progress lines in batch-job logs."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = time.perf_counter()

    def due(self) -> bool:
        """Whether ``interval`` seconds passed since the last beat (or the start); starts a new one if so."""
        now = time.perf_counter()
        if now - self._last < self.interval:
            return False
        self._last = now
        return True


def progress_bar(
    enabled: bool, *, desc: str, unit: str, total: int | None = None, leave: bool = True
) -> tqdm | None:
    """A tqdm bar on stderr when ``enabled`` and stderr is a terminal, else None.

    Batch-job logs (stderr a file or pipe) get heartbeat log lines instead: a bar redrawn in a file
    is thousands of carriage-return fragments.
    """
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave)


class Progress:
    """The progress of one run (predict, variants, tile): a tqdm bar on a terminal, and every
    ``interval`` seconds a ``progress`` event with the counts so far, their rates and, when the
    total is known, the ETA. The event is a console line only where no bar is shown (batch logs).

    ``task`` names the run in the line (``variants: 4096 variants, ...``); ``unit`` is what the bar
    counts; ``rates``: the counts that get a ``<count>_per_s`` field; ``total``: of the first count.
    Use as a context manager (the bar closes on errors too) and call :meth:`advance` per block.
    """

    def __init__(
        self,
        task: str,
        unit: str,
        *,
        enabled: bool,
        interval: float,
        log: logging.Logger,
        rates: tuple[str, ...] = (),
        total: int | None = None,
    ) -> None:
        self.task = task
        self.rates = rates
        self.total = total
        self.log = log
        self.bar = progress_bar(enabled, desc=task, unit=unit, total=total)
        self.beat = Heartbeat(interval)
        self.start = time.perf_counter()

    def advance(self, n: int, **counts: int) -> None:
        """``n`` more units for the bar; ``counts``: the totals so far (the first is the one ``total``
        counts), reported when a heartbeat is due."""
        if self.bar is not None:
            self.bar.update(n)
        if self.beat.due():
            self.report(**counts)

    def report(self, **counts: int) -> None:
        """Emit the ``progress`` event now."""
        seconds = time.perf_counter() - self.start
        parts = [f"{value} {name}" for name, value in counts.items()]
        first, done = next(iter(counts.items()))
        if self.total is not None:
            parts[0] = f"{done} of {self.total} {first} ({100 * done / max(self.total, 1):.1f}%)"
        fields: dict[str, Any] = dict(counts, seconds=round(seconds, 3))
        for name in self.rates:
            rate = counts[name] / max(seconds, 1e-9)
            fields[f"{name}_per_s"] = round(rate, 1)
            parts.append(f"{rate:,.0f} {name}/s")
        if self.total is not None:
            rate = done / max(seconds, 1e-9)
            eta = (self.total - done) / rate if rate > 0 else None
            fields[f"total_{first}"] = self.total
            fields["eta_s"] = None if eta is None else round(eta, 1)
            if eta is not None:
                parts.append(f"ETA {eta:,.0f}s")
        event(
            "progress", f"{self.task}: " + ", ".join(parts), console=self.bar is None, log=self.log, **fields
        )

    def close(self) -> None:
        """Close the bar (if any)."""
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
