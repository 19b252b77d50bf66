"""``seqrnn tile``: score windows along genome regions at a stride into a track (HDF5, bedGraph, bigWig)."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common, console
from seqrnn.cli.run_args import RunArgs, run_options
from seqrnn.core.logs import event


@run_options(windows=True)
def tile(
    regions: Path | None = typer.Argument(None, help="BED file of regions (or give --chrom)."),
    chrom: str | None = typer.Option(None, "--chrom", help="Tile this whole contig instead of a BED."),
    genome: Path = typer.Option(..., "--genome", help="Genome FASTA (pyfaidx index)."),
    model: list[str] = typer.Option(
        ..., "--model", "-m", help="DNA model: built-in name or .pt path; repeat for several."
    ),
    stride: int = typer.Option(50, "--stride", min=1, help="Bases between window centres (one bin each)."),
    output: Path = typer.Option(..., "--output", "-o", help="Track HDF5 file to write (atomically)."),
    export: list[str] = typer.Option(
        [],
        "--export",
        help="Also write bedgraph (OUT.bedgraph) and/or bigwig (OUT.bw): first model, first head.",
    ),
    class_name: str | None = typer.Option(
        None, "--class", help="Class shown in bedGraph/bigWig (default: the positive class of a binary head)."
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # the shared options (run_options)
) -> None:
    """Score windows every STRIDE bases along regions (BED or --chrom) into a genome track."""
    from seqrnn.core.runtime import resolve_device
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.io.files import output_errors
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.variants.api import load_scoring_models
    from seqrnn.variants.tracks import export_bedgraph, export_bigwig, tile_to_h5

    if (regions is None) == (chrom is None):
        raise typer.BadParameter("give either a BED file of regions or --chrom NAME")
    for kind in export:
        if kind not in ("bedgraph", "bigwig"):
            raise typer.BadParameter(f"--export {kind!r}: choose from bedgraph, bigwig")
    # Every output is planned and checked against every input before anything is read.
    plan = OutputPlan().read("BED file", regions).read_genome(genome).read_model(*model)
    plan.write("track file", output)
    targets = {kind: output.with_suffix(".bedgraph" if kind == "bedgraph" else ".bw") for kind in export}
    for kind, path in targets.items():
        plan.write(f"{kind} export", path)
    plan.check()
    if "bigwig" in export:
        try:
            import pyBigWig  # noqa: F401
        except ImportError:
            from seqrnn.errors import InputError

            raise InputError("bigWig export needs pyBigWig: pip install 'seqrnn[tracks]'") from None
    common.set_threads(run.threads)
    dev = resolve_device(run.device)
    models = load_scoring_models(model, dev, run.window)
    options = PredictOptions(**run.engine)
    with plan.writing():  # the track and its exports appear together, or none of them
        summary = tile_to_h5(
            models,
            genome,
            output,
            stride,
            options,
            dev,
            bed=regions,
            chrom=chrom,
            chunk_size=run.chunk_size,
            command=console.command_line(),
            progress=not console.STATE.quiet,
        )
        for kind, path in targets.items():
            with output_errors(path):
                write = export_bedgraph if kind == "bedgraph" else export_bigwig
                write(plan.current(output), path, class_name)
    exported = list(targets.values())
    rate = summary.bases / max(summary.seconds, 1e-9)
    event(
        "result",
        output=output,
        regions=summary.regions,
        bins=summary.bins,
        bases=summary.bases,
        seconds=round(summary.seconds, 3),
    )
    lines = [
        f"wrote {output}: {summary.regions} regions, {summary.bins} windows every {stride} bp, "
        f"{summary.bases:,} bp, {summary.seconds:.2f}s ({rate:,.0f} bp/s)"
    ]
    lines += [f"  exported {p}" for p in exported]
    common.say("\n".join(lines))
