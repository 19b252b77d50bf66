"""``seqrnn predict``: run one model, several side by side, or an ensemble over input files into one
HDF5 file."""

from __future__ import annotations

from pathlib import Path

import typer

from seqrnn.cli import common, console
from seqrnn.cli.options import ENSEMBLE_OPT, MODEL_OPT, OnInvalid
from seqrnn.cli.run_args import RunArgs, run_options
from seqrnn.core.logs import event


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
    rate = summary.n_residues / max(summary.seconds, 1e-9)
    lines = [
        f"wrote {summary.output}: {summary.n_sequences} sequences, {summary.n_residues} residues, "
        f"model {bundle.name}, {summary.seconds:.2f}s ({rate:,.0f} residues/s)"
        + (f", {len(summary.skipped)} skipped" if summary.skipped else "")
        + (f", {len(summary.masked)} masked" if summary.masked else "")
        + (f", {summary.windows_reused} finished windows reused" if summary.windows_reused else "")
    ]
    for head, fractions in summary.class_fractions.items():
        lines.append(f"  {head}: " + "  ".join(f"{k} {v:.1%}" for k, v in fractions.items()))
    lines += [f"  exported {n} sequences as {kind}: {export_path(output, kind)}" for kind, n in exported]
    common.say("\n".join(lines))
