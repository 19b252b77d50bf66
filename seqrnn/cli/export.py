"""``seqrnn export``: predictions HDF5 -> PSIPRED .ss2 / .horiz files, per-residue TSV or CSV."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common


def export_cmd(
    predictions: Path = typer.Argument(..., help="A predictions HDF5 file from seqrnn predict."),
    fmt: str = typer.Option(
        ...,
        "--format",
        "-f",
        help="ss2 or horiz (a file per sequence), tsv (one row per residue; per record for per-sequence models) or csv (input rows + predictions).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory (ss2, horiz) or file (tsv, csv)."),
) -> None:
    """Export predictions as PSIPRED .ss2 / .horiz files or a per-residue TSV."""
    from seqrnn.inference.export import EXPORT_FORMATS, export
    from seqrnn.io.outputs import OutputPlan

    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"--format {fmt!r}: choose from {', '.join(EXPORT_FORMATS)}")
    plan = OutputPlan().read("predictions file", predictions)
    plan.write(f"{fmt} export", output, directory=fmt in ("ss2", "horiz"))
    plan.check()
    with plan.writing():  # a directory export's files appear together, or none of them
        n = export(predictions, fmt, output)
    common.say(f"exported {n} sequences as {fmt} to {output}")
