"""``seqrnn`` command line: train, predict, encode, evaluate, interpret, scan, variants, tile, export, merge,
plot, info, models, configs, workflow.

Each subcommand lives in its own module (``seqrnn/cli/<command>.py``; info and models in ``models.py``)
and shares options from :mod:`seqrnn.cli.common`; this module holds the app, the root options and the
mapping of errors to exit codes.

Exit codes: 0 success; 1 internal error (a bug: rerun with --debug for the traceback); 2 usage error;
3 bad input data; 4 model file problem; 5 config error; 6 output cannot be written; 130 interrupted.
Errors are one line on stderr: ``seqrnn: error: <file>: record <id>: <reason>``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

from seqrnn.cli import (
    common,
    configs,
    encode,
    evaluate,
    export,
    interpret,
    merge,
    models,
    plot,
    predict,
    scan,
    tile,
    train,
    variants,
    workflow,
)
from seqrnn.core.logs import event
from seqrnn.errors import SeqrnnError
from seqrnn.version import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Bidirectional LSTM/GRU models for protein, DNA and SMILES sequences, with HDF5 output.",
)

for _name, _command in (
    ("train", train.train),
    ("predict", predict.predict),
    ("encode", encode.encode),
    ("evaluate", evaluate.evaluate),
    ("interpret", interpret.interpret),
    ("scan", scan.scan),
    ("variants", variants.variants),
    ("tile", tile.tile),
    ("export", export.export_cmd),
    ("merge", merge.merge),
    ("plot", plot.plot),
    ("info", models.info),
    ("models", models.models),
    ("workflow", workflow.workflow),
):
    app.command(_name)(_command)
app.add_typer(configs.app, name="configs")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqrnn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print version."),
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks for errors, and debug messages on stderr."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Only results, warnings and errors: no progress, notes or 'wrote' lines."
    ),
    log_json: Optional[Path] = typer.Option(  # noqa: UP045
        None,
        "--log-json",
        help="Append one JSON line per event here: start, log (messages), progress (predict heartbeats), "
        "skipped, masked, result, error, exit.",
    ),
) -> None:
    """seqrnn: read -> encode -> batch -> model -> heads -> write."""
    if debug:
        common.set_debug()
    if quiet:
        common.set_quiet()
    if log_json is not None:
        common.log_json(log_json)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; user errors become one line on stderr."""
    args = sys.argv[1:] if argv is None else list(argv)
    _ignore_file_size_signal()
    with common.cli_logging(args):
        code = _run(args)
        event("exit", exit_code=code)
    return code


def _error(text: str, message: str, exit_code: int) -> None:
    """The one stderr line (``text``; none when empty) and the JSON-log ``error`` event."""
    event("error", text, level=logging.ERROR, message=message, exit_code=exit_code)


def _run(args: list[str]) -> int:
    try:
        result = app(args=args, prog_name="seqrnn", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except (typer.Abort, KeyboardInterrupt):
        _error("seqrnn: interrupted", "interrupted", 130)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SeqrnnError as exc:
        if common.STATE.debug:  # set by the root callback, which has run once a command fails
            raise
        message = " ".join(str(exc).split())
        _error("seqrnn: error: " + message, message, exc.exit_code)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except OSError as exc:
        from seqrnn.io.files import disk_error  # imports h5py via seqrnn.io: only when needed

        error = disk_error(exc, exc.filename or "output")
        if error is None or common.STATE.debug:
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


def _internal(exc: Exception) -> int:
    """A bug: one line (the traceback under --debug) and exit 1."""
    if common.STATE.debug:
        raise exc
    message = f"{type(exc).__name__}: {exc}"
    _error(f"seqrnn: internal error: {message} (rerun with --debug for the traceback)", message, 1)
    return 1


def _ignore_file_size_signal() -> None:
    # A write past the job's file-size limit (ulimit -f) then fails with EFBIG, which is reported as
    # an output error like a full disk, instead of SIGXFSZ killing the process with a core dump.
    if hasattr(signal, "SIGXFSZ"):
        with contextlib.suppress(ValueError):  # not the main thread (an embedding caller's thread)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _is_usage_error(exc: Exception) -> bool:
    # click's ClickException, or its copy vendored inside newer typer releases.
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)


def run() -> None:
    """Console-script entry point (``seqrnn = "seqrnn.cli.main:run"``).

    Every output is closed and renamed when :func:`main` returns, so the process ends there with
    ``os._exit`` after flushing its streams and log handlers: the interpreter's own teardown (freeing
    torch's and every module's objects one by one) took about half a second of every call and does
    nothing a finished run needs.
    """
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe (seqrnn ... | head)
            stream.flush()
    os._exit(code)
