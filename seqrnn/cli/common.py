"""What the subcommands share: loading the models of ``-m``, checking exports, class files, the
command line recorded in outputs, and their messages: results and ``wrote ...`` summaries on stdout
(:func:`say`), warnings and skipped records on stderr and in the JSON log (:func:`warn`). The run's
console state lives in :mod:`seqrnn.cli.console`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seqrnn.cli import console
from seqrnn.core.logs import event

if TYPE_CHECKING:
    from collections.abc import Sequence

    from seqrnn.io.formats import ReadOptions
    from seqrnn.io.inputs import Skipped
    from seqrnn.models.bundle import ModelBundle


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


def say(text: str) -> None:
    """Print a result summary (``wrote ...``) on stdout unless --quiet."""
    if not console.STATE.quiet:
        typer.echo(text)


def warn(text: str, name: str, **fields: object) -> None:
    """A warning line on stderr (shown even with --quiet), and event ``name`` in the JSON log."""
    event(name, text, level=logging.WARNING, **fields)


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
    from seqrnn.io.formats import ReadOptions

    return ReadOptions(
        fmt=fmt, sequence_column=seq_col, id_column=id_col, genome=str(genome) if genome else None
    )


def set_threads(threads: int | None) -> None:
    """--threads: torch's CPU thread count (imported lazily: ``seqrnn --help`` need not load torch)."""
    from seqrnn.core.runtime import set_threads as _set_threads

    _set_threads(threads)
