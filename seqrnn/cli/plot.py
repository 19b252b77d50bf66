"""``seqrnn plot``: one sequence's per-residue probability tracks, a per-sequence model's score
distributions, a variants file's effects or a genome track, as PNG."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common


def plot(
    predictions: Path = typer.Argument(..., help="A predictions, variants or track HDF5 file."),
    output: Path = typer.Option(..., "--output", "-o", help="PNG file to write."),
    record: str | None = typer.Option(None, "--id", help="Record id to draw (default: the first)."),
) -> None:
    """Draw a file as PNG: one sequence's per-residue tracks, per-sequence score distributions, variant
    effects, or a genome track."""
    from seqrnn.interpret.plot import plot_file
    from seqrnn.io.outputs import OutputPlan

    plan = OutputPlan().read("predictions file", predictions)
    plan.write("plot", output)
    plan.check()
    drawn = plot_file(predictions, record, output)
    common.say(f"wrote {output} ({drawn})")
