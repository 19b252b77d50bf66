"""``seqrnn scan``: a PWM baseline without training, scored like ``seqrnn evaluate``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from seqrnn.cli import common
from seqrnn.cli.options import FORMAT_OPT, GENOME_OPT, IDCOL_OPT, SEQCOL_OPT


def scan(
    inputs: list[str] = typer.Argument(..., help="DNA sequences with labels (TSV / DeepBind .seq / FASTA)."),
    jaspar: Path = typer.Option(..., "--jaspar", help="JASPAR motif file."),
    motif: str = typer.Option(..., "--motif", help="Matrix id (MA0093.4) or TF name (USF1)."),
    label_column: str = typer.Option("Bound", "--label-column", help="Column with the 0/1 labels."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write all metrics as JSON here."),
    fmt: str | None = FORMAT_OPT,
    sequence_column: str | None = SEQCOL_OPT,
    id_column: str | None = IDCOL_OPT,
    genome: Path | None = GENOME_OPT,
) -> None:
    """Baseline without training: best PWM log-odds hit per sequence, scored like seqrnn evaluate."""
    from seqrnn.interpret.motifs import evaluate_pwm, find_motif, labelled_texts, load_jaspar
    from seqrnn.io.files import atomic_write_text
    from seqrnn.io.formats import chain_inputs
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.models.metrics import format_table

    if json_out is not None:
        plan = OutputPlan().read("input", *inputs).read_genome(genome).read("JASPAR file", jaspar)
        plan.write("metrics JSON", json_out)
        plan.check()
    found = find_motif(load_jaspar(jaspar), motif, str(jaspar))
    options = common.read_options(fmt, sequence_column, id_column, genome)
    texts, labels = labelled_texts(chain_inputs(inputs, options), label_column)
    metrics = evaluate_pwm(found, texts, labels)
    typer.echo(format_table(metrics, f"PWM scan {found.matrix_id} {found.name} on {', '.join(inputs)}"))
    if json_out is not None:
        payload = {
            "model": f"pwm:{found.matrix_id}",
            "motif": found.name,
            "data": list(inputs),
            "pwm": metrics,
        }
        atomic_write_text(json_out, json.dumps(payload, indent=1) + "\n")
