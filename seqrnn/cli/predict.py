"""``seqrnn predict``: run one model, several side by side, or an ensemble over input files into one
HDF5 file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seqrnn.cli import common, console
from seqrnn.cli.options import ENSEMBLE_OPT, MODEL_OPT, OnInvalid
from seqrnn.cli.run_args import RunArgs, run_options
from seqrnn.core.logs import event

if TYPE_CHECKING:
    from seqrnn.encoding.encoders import Encoder
    from seqrnn.inference.pipeline import PredictSummary


@run_options(reading=True, views=True)
def predict(
    inputs: list[str] = typer.Argument(..., help="FASTA / SMILES / CSV / TSV files (.gz ok), '-' for stdin."),
    model: list[str] = MODEL_OPT,
    ensemble: bool = ENSEMBLE_OPT,
    output: Path = typer.Option(..., "--output", "-o", help="HDF5 file to write (atomically)."),
    on_invalid: OnInvalid = typer.Option(
        OnInvalid.error,
        "--on-invalid",
        help="error: stop; skip: report and leave out; mask: letters outside the alphabet -> X (protein) / N (DNA).",
    ),
    shard: str | None = typer.Option(
        None, "--shard", help="K/N: predict only records i with i % N == K-1 (array jobs; see seqrnn merge)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Keep finished windows in .OUT.parts/ and reuse them when rerun after a kill."
    ),
    compress: bool = typer.Option(False, "--compress", help="gzip the HDF5 datasets: ~1/4 smaller, slower."),
    window_tokens: int = typer.Option(
        250_000, "--window-tokens", min=1, help="Residues read, predicted and written per window."
    ),
    export: list[str] = typer.Option(
        [],
        "--export",
        help="Also write ss2, horiz (directories), tsv, or csv (input rows + predictions) next to the output (repeatable).",
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # the shared options (run_options)
) -> None:
    """Predict every record of the inputs with a model and write one HDF5 file."""
    from seqrnn.core.runtime import resolve_device
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.inference.export import export as export_predictions
    from seqrnn.inference.export import export_path, plan_outputs
    from seqrnn.inference.pipeline import predict_to_h5
    from seqrnn.io.formats import ReadOptions
    from seqrnn.io.inputs import parse_shard

    read = ReadOptions(**run.reading, shard=parse_shard(shard) if shard else None)
    plan = plan_outputs(inputs, output, export, genome=read.genome, models=model).check()  # before any read
    options = PredictOptions(**run.engine, window_tokens=window_tokens, on_invalid=on_invalid.value)
    common.set_threads(run.threads)
    dev = resolve_device(run.device)
    bundle = common.load_models(model, ensemble, dev)
    common.check_exports(bundle, export, inputs)
    with plan.writing():  # the HDF5 file and its exports appear together, or none of them
        summary = predict_to_h5(
            bundle,
            inputs,
            output,
            options,
            dev,
            read=read,
            command=console.command_line(),
            progress=not console.STATE.quiet,
            resume=resume,
            compression="gzip" if compress else None,
        )
        exported = [
            (kind, export_predictions(plan.current(output), kind, export_path(output, kind)))
            for kind in export
        ]
    common.report_skipped(summary.skipped)
    for rec, n in summary.masked:
        common.warn(
            f"seqrnn: masked {n} letter(s) outside the alphabet in {rec}", "masked", record=rec, letters=n
        )
    if summary.off_length:
        lo, hi = summary.length_range or (0, 0)
        common.warn(
            f"seqrnn: note: {summary.off_length} sequence(s) shorter than {lo} or longer than {hi}, far from "
            f"the lengths {bundle.name} was trained on: their scores are extrapolations (docs/models.md)",
            "off_length",
            sequences=summary.off_length,
        )
    event(
        "result",
        output=summary.output,
        sequences=summary.n_sequences,
        residues=summary.n_residues,
        seconds=round(summary.seconds, 3),
        skipped=len(summary.skipped),
    )
    lines = [
        f"wrote {summary.output}: {_amounts(bundle.encoder, summary)}, model {bundle.name}"
        + (f", {len(summary.skipped)} skipped" if summary.skipped else "")
        + (f", {len(summary.masked)} masked" if summary.masked else "")
        + (f", {summary.windows_reused} finished windows reused" if summary.windows_reused else "")
    ]
    for head, fractions in summary.class_fractions.items():
        lines.append(f"  {head}: " + "  ".join(f"{k} {v:.1%}" for k, v in fractions.items()))
    from seqrnn.encoding.encoders import counted

    noun = bundle.encoder.record_word
    lines += [f"  exported {counted(n, noun)} as {kind}: {export_path(output, kind)}" for kind, n in exported]
    common.say("\n".join(lines))


def _amounts(encoder: Encoder, summary: PredictSummary) -> str:
    """``3 sequences, 370 residues, 0.12s (3,083 residues/s)`` in the input's own units (molecules)."""
    from seqrnn.encoding.encoders import counted

    seconds = max(summary.seconds, 1e-9)
    items = [counted(summary.n_sequences, encoder.record_word)]
    unit, amount = encoder.record_word, summary.n_sequences
    if encoder.position_word is not None:
        items.append(counted(summary.n_residues, encoder.position_word))
        unit, amount = encoder.position_word, summary.n_residues
    return f"{', '.join(items)}, {summary.seconds:.2f}s ({amount / seconds:,.0f} {unit}s/s)"
