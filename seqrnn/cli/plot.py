"""``seqrnn plot``: one sequence's per-residue probability tracks, or a per-sequence model's score
distributions, as PNG."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common


def plot(
    predictions: Path = typer.Argument(..., help="A predictions HDF5 file from seqrnn predict."),
    output: Path = typer.Option(..., "--output", "-o", help="PNG file to write."),
    record: str | None = typer.Option(None, "--id", help="Record id to draw (default: the first)."),
) -> None:
    """Draw one sequence's per-residue tracks, or per-sequence models' score distributions, as PNG."""
    from seqrnn.interpret.plot import plot_track
    from seqrnn.io.outputs import OutputPlan

    plan = OutputPlan().read("predictions file", predictions)
    plan.write("plot", output)
    plan.check()
    drawn = plot_track(predictions, record, output)
    common.say(f"wrote {output} ({drawn})")
