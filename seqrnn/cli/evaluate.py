"""``seqrnn evaluate``: score a model, an ensemble, or each model of a set on labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from seqrnn.cli import common
from seqrnn.cli.options import CLASS_FILE_OPT, ENSEMBLE_OPT, MODEL_OPT, OnInvalid
from seqrnn.cli.run_args import RunArgs, run_options


@run_options(reading=True, views=True, quiet=False)
def evaluate(
    data: list[str] | None = typer.Argument(
        None, help="Labelled data (CSV/TSV/FASTA with label columns); or --class-file per class."
    ),
    model: list[str] = MODEL_OPT,
    ensemble: bool = ENSEMBLE_OPT,
    label: list[str] = typer.Option([], "--label", help="HEAD=COLUMN: read a head's labels from COLUMN."),
    class_file: list[str] = CLASS_FILE_OPT,
    mask_column: list[str] | None = typer.Option(
        None, "--mask-column", help="Score residues only where COLUMN is 1 (repeat; default: the model's)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write all metrics as JSON here."),
    on_invalid: OnInvalid = typer.Option(
        OnInvalid.error,
        "--on-invalid",
        help="error: stop; skip: report the record and score the rest (mask is not offered: labels would no longer match).",
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # the shared options (run_options)
) -> None:
    """Predict labelled data and report accuracy, per-class F1, confusion, MCC, AUROC, RMSE, ..."""
    from seqrnn.core.runtime import resolve_device
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.inference.evaluate import evaluate_models
    from seqrnn.io.files import atomic_write_text
    from seqrnn.io.formats import ReadOptions
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.models.metrics import format_table

    files = common.class_files(class_file)
    if bool(data) == bool(files):
        raise typer.BadParameter(
            "give labelled DATA files or --class-file CLASS=FILE per class, exactly one of the two"
        )
    columns = dict(item.partition("=")[::2] for item in label)
    if not all(columns.values()):
        raise typer.BadParameter(f"--label {label}: expected HEAD=COLUMN")
    read = ReadOptions(**run.reading)
    if json_out is not None:
        # Checked before the work, not after it; and never one of the inputs.
        plan = OutputPlan().read("input", *(data or []), *files.values()).read_genome(read.genome)
        plan.read_model(*model).write("metrics JSON", json_out)
        plan.check()
    options = PredictOptions(**run.engine, on_invalid=on_invalid.value)
    common.set_threads(run.threads)
    dev = resolve_device(run.device)
    loaded = common.load_models(model, ensemble, dev)
    try:
        scored = evaluate_models(loaded, data or [], files, options, dev, read, columns, mask_column)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    for done in scored:
        result, name = done.evaluation, done.bundle.name
        common.report_skipped(result.skipped)
        for head, metrics in result.metrics.items():
            where = f"{head} ({done.bundle.model.heads[head].kind}) of {name} on {', '.join(done.inputs)}"
            typer.echo(format_table(metrics, where) + "\n")
        typer.echo(
            f"{name}: {result.n_sequences} sequences scored in {done.seconds:.1f}s"
            + (f", {len(result.skipped)} skipped" if result.skipped else "")
        )
    if json_out is not None:
        reports = {done.bundle.name: done.report() for done in scored}
        payload = reports.popitem()[1] if len(reports) == 1 else {"models": reports}
        atomic_write_text(json_out, json.dumps(payload, indent=2))
