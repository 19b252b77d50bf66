"""``seqrnn interpret``: per-base attributions and learned motifs of a DNA model."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common, console
from seqrnn.cli.options import FORMAT_OPT, GENOME_OPT, IDCOL_OPT, SEQCOL_OPT, THREADS_OPT, VIEWS_OPT


def interpret(
    inputs: list[str] = typer.Argument(..., help="DNA sequences (FASTA / TSV / DeepBind .seq, .gz ok)."),
    model: str = typer.Option(..., "--model", "-m", help="A DNA model (.pt) with a sequence-level head."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="HDF5 file for per-base attributions (ism, saliency) and scores."
    ),
    motifs_dir: Path | None = typer.Option(
        None, "--motifs", help="Directory for learned motifs: motifs.meme, motifs.tsv/json, logos/*.png."
    ),
    jaspar: Path | None = typer.Option(
        None, "--jaspar", help="JASPAR motif file to match the learned motifs against."
    ),
    method: list[str] = typer.Option(
        ["ism", "saliency"], "--method", help="Attributions for --output: ism and/or saliency (repeat)."
    ),
    head: str | None = typer.Option(None, "--head", help="Head to explain (default: the first)."),
    target: str | None = typer.Option(
        None, "--target", help="Class or target to explain (default: 1, else the last class)."
    ),
    all_sequences: bool = typer.Option(
        False, "--all-sequences", help="Explain every sequence, not only those the model calls positive."
    ),
    max_sequences: int = typer.Option(1000, "--max-sequences", min=1, help="Explain at most this many."),
    top: int = typer.Option(10, "--top", min=1, help="Filter motifs to keep, by influence."),
    logos: bool = typer.Option(True, "--logos/--no-logos", help="Draw sequence logos (needs logomaker)."),
    test_views: int | None = VIEWS_OPT,
    threads: int | None = THREADS_OPT,
    fmt: str | None = FORMAT_OPT,
    sequence_column: str | None = SEQCOL_OPT,
    id_column: str | None = IDCOL_OPT,
    genome: Path | None = GENOME_OPT,
) -> None:
    """Explain a DNA model: in-silico mutagenesis and saliency per base, and the motifs it learned."""
    from seqrnn.encoding.examples import encode_record
    from seqrnn.errors import InputError
    from seqrnn.interpret import attributions_to_h5, extract_motifs, resolve_target, select_examples
    from seqrnn.io.formats import chain_inputs
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.models.bundle import load_bundle

    if output is None and motifs_dir is None:
        raise typer.BadParameter("give --output (attributions) and/or --motifs (a directory)")
    for m in method:
        if m not in ("ism", "saliency"):
            raise typer.BadParameter(f"--method {m!r}: choose ism or saliency")
    plan = OutputPlan().read("input", *inputs).read_genome(genome).read_model(model)
    if jaspar is not None:
        plan.read("JASPAR file", jaspar)
    if output is not None:
        plan.write("attributions file", output)
    if motifs_dir is not None and motifs_dir.exists() and not motifs_dir.is_dir():
        raise typer.BadParameter(f"--motifs {motifs_dir}: exists and is not a directory")
    plan.check()
    common.set_threads(threads)
    bundle = load_bundle(model)
    tgt = resolve_target(bundle, head, target)
    options = common.read_options(fmt, sequence_column, id_column, genome)
    # Streamed: records are read and scored a chunk at a time, and no further than needed.
    examples = (encode_record(r, bundle.encoder) for r in chain_inputs(inputs, options))
    chosen, seen = select_examples(bundle, examples, tgt, test_views, not all_sequences, max_sequences)
    if not chosen:
        raise InputError(
            f"no sequence is called {tgt.head} = {tgt.label} by the model; nothing to explain "
            "(use --all-sequences)",
            source=", ".join(inputs),
        )
    what = f"{len(chosen)} of {seen} sequences read ({tgt.head} = {tgt.label})"
    if output is not None:
        attributions_to_h5(
            bundle, chosen, output, tgt, test_views, method, {"command": console.command_line()}
        )
        common.say(f"wrote {output}: {', '.join(method)} for {what}")
    if motifs_dir is not None:
        reports = extract_motifs(bundle, chosen, tgt, motifs_dir, test_views, jaspar, top, logos)
        lines = [f"wrote {len(reports)} motifs from {what} to {motifs_dir}"]
        for r in reports[:5]:
            best = r.matches[0] if r.matches else None
            match = f"  best match {best.matrix_id} {best.name} ({best.score:.2f})" if best else ""
            lines.append(f"  {r.pfm.name}: {r.pfm.trimmed().consensus()}{match}")
        common.say("\n".join(lines))
