"""The CLI's console for one run: its arguments and root options (``--debug``, ``--quiet``,
``--log-json``), and the ``seqrnn`` logger's handlers while it runs.

The CLI's messages go through the ``seqrnn`` logger (:mod:`seqrnn.core.logs`): :func:`cli_logging` attaches a
console handler (stderr, message text as is) for one run of :func:`seqrnn.cli.main.main`, and the root
options add a JSON-lines file (``--log-json``), raise the console level (``--quiet``) or lower it
(``--debug``).
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from seqrnn.core.logs import ConsoleHandler, JsonLinesHandler, event, logger


@dataclass
class CliState:
    """One run of the CLI: its arguments, root options and logging handlers."""

    argv: list[str] = field(default_factory=list)
    debug: bool = False
    quiet: bool = False
    console: ConsoleHandler | None = None


STATE = CliState()


@contextmanager
def cli_logging(argv: Sequence[str]) -> Iterator[CliState]:
    """Route the ``seqrnn`` logger to stderr (and any --log-json file) for one run, then restore it.

    The CLI owns the output while it runs, so records do not also propagate to the caller's root
    handlers; an in-process caller's logging configuration is put back afterwards.
    """
    saved = (logger.level, logger.propagate, list(logger.handlers))
    # Reset in place: the subcommand modules hold this very object.
    STATE.__dict__.update(vars(CliState(argv=list(argv), console=ConsoleHandler(logging.INFO))))
    logger.addHandler(STATE.console)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield STATE
    finally:
        for handler in logger.handlers[:]:
            if handler not in saved[2]:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def set_debug() -> None:
    """--debug: tracebacks for errors, and debug-level messages on stderr."""
    STATE.debug = True
    logger.setLevel(logging.DEBUG)
    if STATE.console is not None:
        STATE.console.setLevel(logging.DEBUG)


def set_quiet(summaries: bool = True) -> None:
    """No info messages on stderr (warnings and errors still show); with ``summaries`` no ``wrote ...``."""
    STATE.quiet = STATE.quiet or summaries
    if STATE.console is not None:
        STATE.console.setLevel(logging.WARNING)


def log_json(path: Path) -> None:
    """--log-json: append every event of this run to ``path`` as JSON lines, starting with ``start``."""
    from seqrnn.errors import OutputError
    from seqrnn.version import __version__

    try:
        path.open("a").close()
    except OSError as exc:
        raise OutputError(f"--log-json {path}: cannot write ({exc.strerror or exc})") from None
    logger.addHandler(JsonLinesHandler(path, logging.DEBUG if STATE.debug else logging.INFO))
    event("start", command=command_line(), version=__version__)


def command_line() -> str:
    """The command as typed, recorded in every output file."""
    return " ".join(shlex.quote(a) for a in ["seqrnn", *STATE.argv])
