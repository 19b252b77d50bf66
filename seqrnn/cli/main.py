"""``seqrnn`` command line: train, predict, encode, evaluate, interpret, scan, variants, tile, export, merge,
plot, info, models, configs, workflow.

Each subcommand lives in its own module (``seqrnn/cli/<command>.py``; info and models in ``models.py``)
and shares options from :mod:`seqrnn.cli.options` and :mod:`seqrnn.cli.run_args`; this module holds the
app and the root options; :mod:`seqrnn.cli.exit_codes` maps errors to exit codes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import typer

from seqrnn.cli import (
    configs,
    console,
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
from seqrnn.cli.exit_codes import ignore_file_size_signal, run_app
from seqrnn.core.logs import event
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
    log_json: Path | None = typer.Option(
        None,
        "--log-json",
        help="Append one JSON line per event here: start, log (messages), progress (predict heartbeats), "
        "skipped, masked, result, error, exit.",
    ),
) -> None:
    """seqrnn: read -> encode -> batch -> model -> heads -> write."""
    if debug:
        console.set_debug()
    if quiet:
        console.set_quiet()
    if log_json is not None:
        console.log_json(log_json)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; user errors become one line on stderr."""
    args = sys.argv[1:] if argv is None else list(argv)
    ignore_file_size_signal()
    with console.cli_logging(args):
        code = run_app(app, args)
        event("exit", exit_code=code)
    return code


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
