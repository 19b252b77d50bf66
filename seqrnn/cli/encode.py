"""``seqrnn encode``: write integer-encoded sequences to HDF5 (no model run)."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common, console
from seqrnn.cli.options import FORMAT_OPT, GENOME_OPT, IDCOL_OPT, SEQCOL_OPT, Alphabet


def encode(
    inputs: list[str] = typer.Argument(..., help="Input files, '-' for stdin."),
    output: Path = typer.Option(..., "--output", "-o", help="HDF5 file to write."),
    alphabet: Alphabet | None = typer.Option(None, "--alphabet", help="protein, dna or smiles."),
    model: str | None = typer.Option(None, "--model", "-m", help="Use this model's encoder."),
    fmt: str | None = FORMAT_OPT,
    sequence_column: str | None = SEQCOL_OPT,
    id_column: str | None = IDCOL_OPT,
    genome: Path | None = GENOME_OPT,
) -> None:
    """Write the integer-encoded sequences (ids, lengths, offsets, tokens) to HDF5."""
    from seqrnn.encoding.write import encode_to_h5, encoder_for_inputs
    from seqrnn.io.outputs import OutputPlan

    plan = OutputPlan().read("input", *inputs).read_genome(genome).read_model(*([model] if model else []))
    plan.write("encoded file", output)
    plan.check()
    options = common.read_options(fmt, sequence_column, id_column, genome)
    if (alphabet is None) == (model is None):
        raise typer.BadParameter("give exactly one of --alphabet or --model")
    if model is not None:
        from seqrnn.models.bundle import load_bundle

        encoder = load_bundle(model).encoder
    else:
        encoder = encoder_for_inputs(alphabet.value, inputs, options)  # type: ignore[union-attr]
    n, r = encode_to_h5(encoder, inputs, output, options, console.command_line())
    common.say(f"wrote {output}: {n} sequences, {r} tokens ({encoder.name}, vocabulary {encoder.vocab_size})")
