"""``seqrnn evaluate``: score a model (or an ensemble) on labelled data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from seqrnn.cli import common
from seqrnn.cli.common import (
    DEVICE_OPT,
    FORMAT_OPT,
    GENOME_OPT,
    IDCOL_OPT,
    PRECISION_OPT,
    SEQCOL_OPT,
    THREADS_OPT,
    TOKENS_OPT,
    VIEWS_OPT,
    Device,
    OnInvalid,
    Precision,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from seqrnn.inference.evaluate import Evaluation
    from seqrnn.models.bundle import ModelBundle


def evaluate(
    data: Optional[list[str]] = typer.Argument(  # noqa: UP045
        None, help="Labelled data (CSV/TSV/FASTA with label columns); or --class-file per class."
    ),
    model: list[str] = common.MODEL_OPT,
    ensemble: bool = common.ENSEMBLE_OPT,
    label: list[str] = typer.Option([], "--label", help="HEAD=COLUMN: read a head's labels from COLUMN."),
    class_file: list[str] = common.CLASS_FILE_OPT,
    mask_column: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--mask-column", help="Score residues only where COLUMN is 1 (repeat; default: the model's)."
    ),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write all metrics as JSON here."),  # noqa: UP045
    device: Device = DEVICE_OPT,
    threads: Optional[int] = THREADS_OPT,  # noqa: UP045
    batch_tokens: int = TOKENS_OPT,
    precision: Precision = PRECISION_OPT,
    test_views: Optional[int] = VIEWS_OPT,  # noqa: UP045
    fmt: Optional[str] = FORMAT_OPT,  # noqa: UP045
    sequence_column: Optional[str] = SEQCOL_OPT,  # noqa: UP045
    id_column: Optional[str] = IDCOL_OPT,  # noqa: UP045
    genome: Optional[Path] = GENOME_OPT,  # noqa: UP045
    on_invalid: OnInvalid = typer.Option(
        OnInvalid.error,
        "--on-invalid",
        help="error: stop; skip: report the record and score the rest (mask is not offered: labels would no longer match).",
    ),
) -> None:
    """Predict labelled data and report accuracy, per-class F1, confusion, MCC, AUROC, RMSE, ..."""
    from seqrnn.core.runtime import resolve_device
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.inference.evaluate import evaluate_records, labelled_inputs
    from seqrnn.io.files import atomic_write_text
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.models.metrics import format_table

    files = common.class_files(class_file)
    if bool(data) == bool(files):
        raise typer.BadParameter(
            "give labelled DATA files or --class-file CLASS=FILE per class, exactly one of the two"
        )
    if json_out is not None:
        # Checked before the work, not after it; and never one of the inputs.
        plan = OutputPlan().read("input", *(data or []), *files.values()).read_genome(genome)
        plan.read_model(*model).write("metrics JSON", json_out)
        plan.check()
    common.set_threads(threads)
    dev = resolve_device(device.value)
    loaded = common.load_models(model, ensemble, dev)
    columns = dict(item.partition("=")[::2] for item in label)
    if not all(columns.values()):
        raise typer.BadParameter(f"--label {label}: expected HEAD=COLUMN")
    if on_invalid == OnInvalid.mask:
        raise typer.BadParameter(
            "--on-invalid mask: evaluate offers error or skip (masked letters change what is scored)"
        )
    options = PredictOptions(
        batch_tokens=batch_tokens,
        on_invalid=on_invalid.value,
        precision=precision.value,
        test_views=test_views,
        read=common.read_options(fmt, sequence_column, id_column, genome),
    )
    reports = {}
    for bundle in loaded.members or [loaded]:  # several models: each scored on its own
        try:
            bundle.use_label_columns(
                {h: c for h, c in columns.items() if h in bundle.model.heads or not loaded.members}
            )
            inputs, records = labelled_inputs(bundle, data or [], files, options.read)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        masks = (
            mask_column
            if mask_column is not None
            else bundle.metadata.get("data", {}).get("mask_columns", [])
        )
        t0 = time.perf_counter()
        result = evaluate_records(bundle, records, options, dev, masks)
        common.report_skipped(result.skipped)
        for head, metrics in result.metrics.items():
            where = f"{head} ({bundle.model.heads[head].kind}) of {bundle.name} on {', '.join(inputs)}"
            typer.echo(format_table(metrics, where) + "\n")
        typer.echo(
            f"{bundle.name}: {result.n_sequences} sequences scored in {time.perf_counter() - t0:.1f}s"
            + (f", {len(result.skipped)} skipped" if result.skipped else "")
        )
        reports[bundle.name] = _report(bundle, inputs, masks, result)
    if json_out is not None:
        payload = reports.popitem()[1] if len(reports) == 1 else {"models": reports}
        atomic_write_text(json_out, json.dumps(payload, indent=2))


def _report(
    bundle: ModelBundle, data: Sequence[str], masks: Sequence[str], result: Evaluation
) -> dict[str, Any]:
    """The --json payload (the CLI's report format)."""
    from seqrnn.encoding.examples import head_mask_columns

    return {
        "model": bundle.name,
        "model_sha256": bundle.sha256,
        "data": list(data),
        "mask_columns": list(masks),
        # What each residue head was scored on: its own mask columns (heads[].mask_columns) or the above.
        "head_mask_columns": {
            name: list(head_mask_columns(head, masks))
            for name, head in bundle.model.heads.items()
            if head.level == "residue"
        },
        "n_sequences": result.n_sequences,
        "skipped": [{"record": k.record, "row": k.index + 1, "reason": k.reason} for k in result.skipped],
        "metrics": result.metrics,
    }
