"""What the subcommands share: option enums and typer options, input-reading options, the command line
recorded in outputs, skipped-record reporting, and the per-run state of the CLI's logging.

The CLI's messages go through the ``seqrnn`` logger (:mod:`seqrnn.core.logs`): :func:`cli_logging` attaches a
console handler (stderr, message text as is) for one run of :func:`seqrnn.cli.main.main`, and the root
options add a JSON-lines file (``--log-json``), raise the console level (``--quiet``) or lower it
(``--debug``). Results and ``wrote ...`` summaries go to stdout with :func:`say`.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seqrnn.core.logs import ConsoleHandler, JsonLinesHandler, event, logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from seqrnn.io.inputs import ReadOptions, Skipped
    from seqrnn.models.bundle import ModelBundle


class Device(str, Enum):
    """Where the model runs (``--device``)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class OnInvalid(str, Enum):
    """What to do with a record that cannot be encoded (``--on-invalid``)."""

    error = "error"
    skip = "skip"
    mask = "mask"


class Precision(str, Enum):
    """Numeric precision of inference (``--precision``)."""

    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class Alphabet(str, Enum):
    """Built-in encoders (``seqrnn encode --alphabet``)."""

    protein = "protein"
    dna = "dna"
    smiles = "smiles"


FORMAT_OPT = typer.Option(
    None, "--format", help="Input format: fasta, smi, csv or tsv (default: from extension)."
)
SEQCOL_OPT = typer.Option(None, "--sequence-column", help="CSV/TSV column holding sequences or SMILES.")
IDCOL_OPT = typer.Option(None, "--id-column", help="CSV/TSV column holding record ids.")
GENOME_OPT = typer.Option(None, "--genome", help="Genome FASTA that BED inputs refer to (pyfaidx index).")
DEVICE_OPT = typer.Option(Device.auto, "--device", help="auto picks CUDA when available.")
THREADS_OPT = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's choice).")
TOKENS_OPT = typer.Option(
    32768,
    "--batch-tokens",
    min=1,
    help="Padded positions per batch (token budget; shared by concurrent CPU workers).",
)
BATCH_OPT = typer.Option(
    512, "--batch-size", min=1, help="Sequences per batch at most (shared by concurrent CPU workers)."
)
PRECISION_OPT = typer.Option(
    Precision.auto,
    "--precision",
    help="auto: bf16 autocast where the CPU (AVX512-BF16/AMX) or GPU computes it natively, else fp32.",
)
VIEWS_OPT = typer.Option(
    None,
    "--test-views",
    min=1,
    help="Average sequence-level outputs over N views (DNA: 2 = both strands); default: the model's.",
)
MODEL_OPT = typer.Option(
    ...,
    "--model",
    "-m",
    help="Built-in model (seqrnn models), group (tf, promoter, moleculenet) or pattern ('tf-*'), or a .pt "
    "path; repeat for several models side by side (one output group each).",
)
ENSEMBLE_OPT = typer.Option(
    False, "--ensemble", help="Average the models given as one ensemble (mean and std) instead."
)


def load_models(names: Sequence[str], ensemble: bool, device: object) -> ModelBundle:
    """The models of ``-m``: side by side (a model set), or averaged with ``--ensemble``."""
    from seqrnn.models.zoo import load_named

    return load_named(names, device, ensemble)  # type: ignore[arg-type]


def check_exports(bundle: ModelBundle, kinds: Sequence[str], inputs: Sequence[str]) -> None:
    """Refuse ``--export`` formats these models cannot give, before any prediction (a usage error)."""
    from seqrnn.errors import UsageError
    from seqrnn.inference.export import export_problem

    heads = bundle.model.heads
    residue = {n: list(h.classes) for n, h in heads.items() if h.level == "residue"}
    sequence = [n for n, h in heads.items() if h.level != "residue"]
    for kind in kinds:
        problem = export_problem(kind, residue, sequence, [str(p) for p in inputs])
        if problem is not None:
            raise UsageError(f"--export {kind}: {problem} ({bundle.name})")


CLASS_FILE_OPT = typer.Option(
    [], "--class-file", help="CLASS=FILE: FILE holds records of class CLASS (repeat: one file per class)."
)


def class_files(items: Sequence[str]) -> dict[str, str]:
    """``--class-file CLASS=FILE`` items as ``{class: file}``, in the order given."""
    mapping: dict[str, str] = {}
    for item in items:
        label, _, path = item.partition("=")
        if not label or not path:
            raise typer.BadParameter(
                f"--class-file {item!r}: expected CLASS=FILE, e.g. promoter=promoters.fa"
            )
        if label in mapping:
            raise typer.BadParameter(f"--class-file {label}: given twice")
        mapping[label] = path
    return mapping


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


def say(text: str) -> None:
    """Print a result summary (``wrote ...``) on stdout unless --quiet."""
    if not STATE.quiet:
        typer.echo(text)


def warn(text: str, name: str, **fields: object) -> None:
    """A warning line on stderr (shown even with --quiet), and event ``name`` in the JSON log."""
    event(name, text, level=logging.WARNING, **fields)


def command_line() -> str:
    """The command as typed, recorded in every output file."""
    return " ".join(shlex.quote(a) for a in ["seqrnn", *STATE.argv])


def report_skipped(skipped: Sequence[Skipped]) -> None:
    """One stderr line (and a JSON-log event) per record left out under --on-invalid skip."""
    for item in skipped:
        warn(
            f"seqrnn: skipped {item.record} (row {item.index + 1}): {item.reason}",
            "skipped",
            record=item.record,
            row=item.index + 1,
            reason=item.reason,
        )


def read_options(
    fmt: str | None, seq_col: str | None, id_col: str | None, genome: Path | None = None
) -> ReadOptions:
    """How to read the inputs, from the shared --format/--sequence-column/--id-column/--genome options."""
    from seqrnn.io.inputs import ReadOptions

    return ReadOptions(
        fmt=fmt, sequence_column=seq_col, id_column=id_col, genome=str(genome) if genome else None
    )


def set_threads(threads: int | None) -> None:
    """--threads: torch's CPU thread count (imported lazily: ``seqrnn --help`` need not load torch)."""
    from seqrnn.core.runtime import set_threads as _set_threads

    _set_threads(threads)
