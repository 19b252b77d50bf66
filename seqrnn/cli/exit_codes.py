"""How a run of the CLI ends: errors mapped to exit codes, each a single line on stderr.

Exit codes: 0 success; 1 internal error (a bug: rerun with --debug for the traceback); 2 usage error;
3 bad input data; 4 model file problem; 5 config error; 6 output cannot be written; 130 interrupted.
Errors are one line on stderr: ``seqrnn: error: <file>: record <id>: <reason>``.
"""

from __future__ import annotations

import contextlib
import logging
import signal

import typer

from seqrnn.cli import console
from seqrnn.core.logs import event
from seqrnn.errors import SeqrnnError


def run_app(app: typer.Typer, args: list[str]) -> int:
    """Run ``app`` on ``args`` and return the exit code."""
    try:
        result = app(args=args, prog_name="seqrnn", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except (typer.Abort, KeyboardInterrupt):
        _error("seqrnn: interrupted", "interrupted", 130)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SeqrnnError as exc:
        if console.STATE.debug:  # set by the root callback, which has run once a command fails
            raise
        message = " ".join(str(exc).split())
        _error("seqrnn: error: " + message, message, exc.exit_code)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except OSError as exc:
        from seqrnn.io.files import disk_error  # imports h5py via seqrnn.io: only when needed

        error = disk_error(exc, exc.filename or "output")
        if error is None or console.STATE.debug:
            return _internal(exc)
        message = " ".join(str(error).split())
        _error("seqrnn: error: " + message, message, error.exit_code)
        return error.exit_code
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            code = int(exc.exit_code)  # type: ignore[attr-defined]
            _error("", " ".join(str(exc).split()), code)  # click already printed usage and error
            return code
        return _internal(exc)


def ignore_file_size_signal() -> None:
    """A write past the job's file-size limit (ulimit -f) then fails with EFBIG, which is reported as
    an output error like a full disk, instead of SIGXFSZ killing the process with a core dump."""
    if hasattr(signal, "SIGXFSZ"):
        with contextlib.suppress(ValueError):  # not the main thread (an embedding caller's thread)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _error(text: str, message: str, exit_code: int) -> None:
    """The one stderr line (``text``; none when empty) and the JSON-log ``error`` event."""
    event("error", text, level=logging.ERROR, message=message, exit_code=exit_code)


def _internal(exc: Exception) -> int:
    """A bug: one line (the traceback under --debug) and exit 1."""
    if console.STATE.debug:
        raise exc
    message = f"{type(exc).__name__}: {exc}"
    _error(f"seqrnn: internal error: {message} (rerun with --debug for the traceback)", message, 1)
    return 1


def _is_usage_error(exc: Exception) -> bool:
    # click's ClickException, or its copy vendored inside newer typer releases.
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)
