"""``seqrnn`` command line: train, predict, encode, evaluate, interpret, scan, export, merge, plot, info, models.

Exit codes: 0 success; 1 internal error (a bug: rerun with --debug for the traceback); 2 usage error;
3 bad input data; 4 model file problem; 5 config error; 6 output cannot be written; 130 interrupted.
Errors are one line on stderr: ``seqrnn: error: <file>: record <id>: <reason>``.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from seqrnn.errors import SeqrnnError
from seqrnn.version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from seqrnn.data.inputs import ReadOptions, Skipped

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Bidirectional LSTM/GRU models for protein, DNA and SMILES sequences, with HDF5 output.",
)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class OnInvalid(str, Enum):
    error = "error"
    skip = "skip"
    mask = "mask"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class Alphabet(str, Enum):
    protein = "protein"
    dna = "dna"
    smiles = "smiles"


_ARGV: list[str] = []
_JSON_LOG: list[Path] = []  # set by --log-json


def _event(event: str, **fields: object) -> None:
    """Append one JSON line to the --log-json file (machine-readable run log for pipelines)."""
    if not _JSON_LOG:
        return
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    with _JSON_LOG[0].open("a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


def _command_line() -> str:
    """The command as typed, recorded in every output file."""
    return " ".join(shlex.quote(a) for a in ["seqrnn", *_ARGV])


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seqrnn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    log_json: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--log-json", help="Append machine-readable JSON lines (start, progress, result, error) here."
    ),
) -> None:
    """seqrnn: read -> encode -> batch -> model -> heads -> write."""
    if log_json is not None:
        _JSON_LOG[:] = [log_json]
        _event("start", command=_command_line(), version=__version__)


def _report_skipped(skipped: Sequence[Skipped]) -> None:
    """One stderr line (and a JSON-log event) per record left out under --on-invalid skip."""
    for item in skipped:
        _err(f"seqrnn: skipped {item.record} (row {item.index + 1}): {item.reason}")
        _event("skipped", record=item.record, row=item.index + 1, reason=item.reason)


def _threads(threads: Optional[int]) -> None:  # noqa: UP045 - typer needs Optional on 3.10
    if threads:
        import torch

        torch.set_num_threads(threads)


def _read_options(
    fmt: str | None, seq_col: str | None, id_col: str | None, genome: Path | None = None
) -> ReadOptions:
    from seqrnn.data.inputs import ReadOptions

    return ReadOptions(
        fmt=fmt, sequence_column=seq_col, id_column=id_col, genome=str(genome) if genome else None
    )


FORMAT_OPT = typer.Option(
    None, "--format", help="Input format: fasta, smi, csv or tsv (default: from extension)."
)
SEQCOL_OPT = typer.Option(None, "--sequence-column", help="CSV/TSV column holding sequences or SMILES.")
IDCOL_OPT = typer.Option(None, "--id-column", help="CSV/TSV column holding record ids.")
GENOME_OPT = typer.Option(None, "--genome", help="Genome FASTA that BED inputs refer to (pyfaidx index).")
DEVICE_OPT = typer.Option(Device.auto, "--device", help="auto picks CUDA when available.")
THREADS_OPT = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's choice).")
TOKENS_OPT = typer.Option(
    32768,
    "--batch-tokens",
    min=1,
    help="Padded positions per batch (token budget; shared by concurrent CPU workers).",
)
BATCH_OPT = typer.Option(
    512, "--batch-size", min=1, help="Sequences per batch at most (shared by concurrent CPU workers)."
)
VIEWS_OPT = typer.Option(
    None,
    "--test-views",
    min=1,
    help="Average sequence-level outputs over N views (DNA: 2 = both strands); default: the model's.",
)


@app.command()
def train(
    config: Path = typer.Argument(..., help="YAML run config (see configs/)."),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set model.hidden=256."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in output_dir from its last checkpoint."
    ),
    device: Optional[Device] = typer.Option(None, "--device", help="Overrides train.device."),  # noqa: UP045
    threads: Optional[int] = THREADS_OPT,  # noqa: UP045
    stop_after: Optional[int] = typer.Option(  # noqa: UP045
        None,
        "--stop-after",
        min=1,
        help="Stop after N epochs with a resumable checkpoint (wall-time limits).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress messages."),
) -> None:
    """Train a model from a YAML config; writes model.pt, checkpoints and metrics.jsonl to output_dir."""
    from seqrnn.config import load_config
    from seqrnn.training import train as run_training

    overrides = list(set_)
    if device is not None:
        overrides.append(f"train.device={device.value}")
    if threads:
        overrides.append(f"train.threads={threads}")
    cfg = load_config(config, overrides)

    def log(message: str) -> None:
        _event("log", message=message)
        if not quiet:
            _err(message)

    result = run_training(cfg, resume=resume, log=log, progress=not quiet, stop_after=stop_after)
    _event(
        "result",
        model=result.model_path,
        best_epoch=result.best_epoch,
        monitor=result.monitor,
        value=result.best_value,
    )
    typer.echo(
        f"model: {result.model_path}\nbest epoch {result.best_epoch}: {result.monitor} = {result.best_value:.4f}"
    )


@app.command()
def predict(
    inputs: list[str] = typer.Argument(..., help="FASTA / SMILES / CSV / TSV files (.gz ok), '-' for stdin."),
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="Built-in model name (seqrnn models) or .pt path; repeat to average an ensemble.",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="HDF5 file to write (atomically)."),
    device: Device = DEVICE_OPT,
    threads: Optional[int] = THREADS_OPT,  # noqa: UP045
    batch_tokens: int = TOKENS_OPT,
    batch_size: int = BATCH_OPT,
    on_invalid: OnInvalid = typer.Option(
        OnInvalid.error,
        "--on-invalid",
        help="error: stop; skip: report and leave out; mask: letters outside the alphabet -> X (protein) / N (DNA).",
    ),
    precision: Precision = typer.Option(
        Precision.auto,
        "--precision",
        help="auto: bf16 autocast where the CPU (AVX512-BF16/AMX) or GPU computes it natively, else fp32.",
    ),
    fmt: Optional[str] = FORMAT_OPT,  # noqa: UP045
    sequence_column: Optional[str] = SEQCOL_OPT,  # noqa: UP045
    id_column: Optional[str] = IDCOL_OPT,  # noqa: UP045
    genome: Optional[Path] = GENOME_OPT,  # noqa: UP045
    shard: Optional[str] = typer.Option(  # noqa: UP045
        None, "--shard", help="K/N: predict only records i with i % N == K-1 (array jobs; see seqrnn merge)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Keep finished windows in .OUT.parts/ and reuse them when rerun after a kill."
    ),
    window_tokens: int = typer.Option(
        250_000, "--window-tokens", min=1, help="Residues read, predicted and written per window."
    ),
    test_views: Optional[int] = VIEWS_OPT,  # noqa: UP045
    workers: int = typer.Option(
        0,
        "--workers",
        min=0,
        help="CPU batches predicted at once, each on threads/workers threads (0: one per thread, up to 8).",
    ),
    export: list[str] = typer.Option(
        [],
        "--export",
        help="Also write ss2, horiz (directories), tsv, or csv (input rows + predictions) next to the output (repeatable).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Predict every record of the inputs with a model and write one HDF5 file."""
    from seqrnn.bundle import load_models
    from seqrnn.data.inputs import parse_shard
    from seqrnn.export import EXPORT_FORMATS, export_path
    from seqrnn.export import export as export_predictions
    from seqrnn.inference import PredictOptions
    from seqrnn.io import check_writable
    from seqrnn.predict import predict_to_h5
    from seqrnn.runtime import resolve_device

    check_writable(output)
    shard_spec = parse_shard(shard) if shard else None
    for kind in export:
        if kind not in EXPORT_FORMATS:
            raise typer.BadParameter(f"--export {kind!r}: choose from {', '.join(EXPORT_FORMATS)}")
    _threads(threads)
    dev = resolve_device(device.value)
    bundle = load_models(model, dev)
    read = _read_options(fmt, sequence_column, id_column, genome)
    read.shard = shard_spec
    options = PredictOptions(
        batch_tokens=batch_tokens,
        batch_size=batch_size,
        window_tokens=window_tokens,
        on_invalid=on_invalid.value,
        precision=precision.value,
        test_views=test_views,
        workers=workers,
        read=read,
    )
    summary = predict_to_h5(
        bundle, inputs, output, options, dev, _command_line(), progress=not quiet, resume=resume
    )
    _report_skipped(summary.skipped)
    for rec, n in summary.masked:
        _err(f"seqrnn: masked {n} letter(s) outside the alphabet in {rec}")
        _event("masked", record=rec, letters=n)
    _event(
        "result",
        output=summary.output,
        sequences=summary.n_sequences,
        residues=summary.n_residues,
        seconds=round(summary.seconds, 3),
        skipped=len(summary.skipped),
    )
    exported = [(kind, export_predictions(output, kind, export_path(output, kind))) for kind in export]
    if quiet:
        return
    rate = summary.n_residues / max(summary.seconds, 1e-9)
    typer.echo(
        f"wrote {summary.output}: {summary.n_sequences} sequences, {summary.n_residues} residues, "
        f"model {bundle.name}, {summary.seconds:.2f}s ({rate:,.0f} residues/s)"
        + (f", {len(summary.skipped)} skipped" if summary.skipped else "")
        + (f", {len(summary.masked)} masked" if summary.masked else "")
        + (f", {summary.windows_reused} finished windows reused" if summary.windows_reused else "")
    )
    for head, fractions in summary.class_fractions.items():
        typer.echo(f"  {head}: " + "  ".join(f"{k} {v:.1%}" for k, v in fractions.items()))
    for kind, n in exported:
        typer.echo(f"  exported {n} sequences as {kind}: {export_path(output, kind)}")


@app.command()
def encode(
    inputs: list[str] = typer.Argument(..., help="Input files, '-' for stdin."),
    output: Path = typer.Option(..., "--output", "-o", help="HDF5 file to write."),
    alphabet: Optional[Alphabet] = typer.Option(None, "--alphabet", help="protein, dna or smiles."),  # noqa: UP045
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Use this model's encoder."),  # noqa: UP045
    fmt: Optional[str] = FORMAT_OPT,  # noqa: UP045
    sequence_column: Optional[str] = SEQCOL_OPT,  # noqa: UP045
    id_column: Optional[str] = IDCOL_OPT,  # noqa: UP045
    genome: Optional[Path] = GENOME_OPT,  # noqa: UP045
) -> None:
    """Write the integer-encoded sequences (ids, lengths, offsets, tokens) to HDF5."""
    from seqrnn.encode import encode_to_h5, encoder_for_inputs

    options = _read_options(fmt, sequence_column, id_column, genome)
    if (alphabet is None) == (model is None):
        raise typer.BadParameter("give exactly one of --alphabet or --model")
    if model is not None:
        from seqrnn.bundle import load_bundle

        encoder = load_bundle(model).encoder
    else:
        encoder = encoder_for_inputs(alphabet.value, inputs, options)  # type: ignore[union-attr]
    n, r = encode_to_h5(encoder, inputs, output, options, _command_line())
    typer.echo(f"wrote {output}: {n} sequences, {r} tokens ({encoder.name}, vocabulary {encoder.vocab_size})")


@app.command()
def evaluate(
    data: list[str] = typer.Argument(..., help="Labelled data (CSV/TSV/FASTA with label columns)."),
    model: list[str] = typer.Option(
        ..., "--model", "-m", help="Built-in model name or .pt path; repeat to score an ensemble."
    ),
    label: list[str] = typer.Option([], "--label", help="HEAD=COLUMN: read a head's labels from COLUMN."),
    mask_column: Optional[list[str]] = typer.Option(  # noqa: UP045
        None, "--mask-column", help="Score residues only where COLUMN is 1 (repeat; default: the model's)."
    ),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write all metrics as JSON here."),  # noqa: UP045
    device: Device = DEVICE_OPT,
    threads: Optional[int] = THREADS_OPT,  # noqa: UP045
    batch_tokens: int = TOKENS_OPT,
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
    from seqrnn.bundle import load_models
    from seqrnn.data.inputs import chain_inputs
    from seqrnn.evaluate import evaluate_records
    from seqrnn.inference import PredictOptions
    from seqrnn.metrics import format_table
    from seqrnn.runtime import resolve_device

    _threads(threads)
    dev = resolve_device(device.value)
    bundle = load_models(model, dev)
    for item in label:
        head, _, column = item.partition("=")
        if head not in bundle.model.heads or not column:
            raise typer.BadParameter(
                f"{item!r}: expected HEAD=COLUMN with HEAD one of {list(bundle.model.heads)}"
            )
        bundle.model.heads[head].spec["columns"] = [column]
    masks = (
        mask_column if mask_column is not None else bundle.metadata.get("data", {}).get("mask_columns", [])
    )
    if on_invalid == OnInvalid.mask:
        raise typer.BadParameter(
            "--on-invalid mask: evaluate offers error or skip (masked letters change what is scored)"
        )
    options = PredictOptions(
        batch_tokens=batch_tokens,
        on_invalid=on_invalid.value,
        test_views=test_views,
        read=_read_options(fmt, sequence_column, id_column, genome),
    )
    t0 = time.perf_counter()
    result = evaluate_records(bundle, chain_inputs(data, options.read), options, dev, masks)
    _report_skipped(result.skipped)
    for head, metrics in result.metrics.items():
        typer.echo(format_table(metrics, f"{head} ({bundle.model.heads[head].kind}) on {', '.join(data)}"))
        typer.echo("")
    typer.echo(
        f"{result.n_sequences} sequences scored in {time.perf_counter() - t0:.1f}s"
        + (f", {len(result.skipped)} skipped" if result.skipped else "")
    )
    if json_out is not None:
        payload = {
            "model": bundle.name,
            "model_sha256": bundle.sha256,
            "data": list(data),
            "mask_columns": list(masks),
            "n_sequences": result.n_sequences,
            "skipped": [{"record": k.record, "row": k.index + 1, "reason": k.reason} for k in result.skipped],
            "metrics": result.metrics,
        }
        json_out.write_text(json.dumps(payload, indent=2))


@app.command()
def interpret(
    inputs: list[str] = typer.Argument(..., help="DNA sequences (FASTA / TSV / DeepBind .seq, .gz ok)."),
    model: str = typer.Option(..., "--model", "-m", help="A DNA model (.pt) with a sequence-level head."),
    output: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--output", "-o", help="HDF5 file for per-base attributions (ism, saliency) and scores."
    ),
    motifs_dir: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--motifs", help="Directory for learned motifs: motifs.meme, motifs.tsv/json, logos/*.png."
    ),
    jaspar: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--jaspar", help="JASPAR motif file to match the learned motifs against."
    ),
    method: list[str] = typer.Option(
        ["ism", "saliency"], "--method", help="Attributions for --output: ism and/or saliency (repeat)."
    ),
    head: Optional[str] = typer.Option(None, "--head", help="Head to explain (default: the first)."),  # noqa: UP045
    target: Optional[str] = typer.Option(  # noqa: UP045
        None, "--target", help="Class or target to explain (default: 1, else the last class)."
    ),
    all_sequences: bool = typer.Option(
        False, "--all-sequences", help="Explain every sequence, not only those the model calls positive."
    ),
    max_sequences: int = typer.Option(1000, "--max-sequences", min=1, help="Explain at most this many."),
    top: int = typer.Option(10, "--top", min=1, help="Filter motifs to keep, by influence."),
    logos: bool = typer.Option(True, "--logos/--no-logos", help="Draw sequence logos (needs logomaker)."),
    test_views: Optional[int] = VIEWS_OPT,  # noqa: UP045
    threads: Optional[int] = THREADS_OPT,  # noqa: UP045
    fmt: Optional[str] = FORMAT_OPT,  # noqa: UP045
    sequence_column: Optional[str] = SEQCOL_OPT,  # noqa: UP045
    id_column: Optional[str] = IDCOL_OPT,  # noqa: UP045
    genome: Optional[Path] = GENOME_OPT,  # noqa: UP045
) -> None:
    """Explain a DNA model: in-silico mutagenesis and saliency per base, and the motifs it learned."""
    from seqrnn.bundle import load_bundle
    from seqrnn.data.examples import encode_record
    from seqrnn.data.inputs import chain_inputs
    from seqrnn.errors import InputError
    from seqrnn.interpret import attributions_to_h5, extract_motifs, resolve_target, select_examples
    from seqrnn.io import check_writable

    if output is None and motifs_dir is None:
        raise typer.BadParameter("give --output (attributions) and/or --motifs (a directory)")
    for m in method:
        if m not in ("ism", "saliency"):
            raise typer.BadParameter(f"--method {m!r}: choose ism or saliency")
    if output is not None:
        check_writable(output)
    if motifs_dir is not None and motifs_dir.exists() and not motifs_dir.is_dir():
        raise typer.BadParameter(f"--motifs {motifs_dir}: exists and is not a directory")
    _threads(threads)
    bundle = load_bundle(model)
    tgt = resolve_target(bundle, head, target)
    options = _read_options(fmt, sequence_column, id_column, genome)
    examples = [encode_record(r, bundle.encoder) for r in chain_inputs(inputs, options)]
    chosen = select_examples(bundle, examples, tgt, test_views, not all_sequences, max_sequences)
    if not chosen:
        raise InputError(
            f"no sequence is called {tgt.head} = {tgt.label} by the model; nothing to explain "
            "(use --all-sequences)",
            source=", ".join(inputs),
        )
    what = f"{len(chosen)} of {len(examples)} sequences ({tgt.head} = {tgt.label})"
    if output is not None:
        attributions_to_h5(bundle, chosen, output, tgt, test_views, method, {"command": _command_line()})
        typer.echo(f"wrote {output}: {', '.join(method)} for {what}")
    if motifs_dir is not None:
        reports = extract_motifs(bundle, chosen, tgt, motifs_dir, test_views, jaspar, top, logos)
        typer.echo(f"wrote {len(reports)} motifs from {what} to {motifs_dir}")
        for r in reports[:5]:
            best = r.matches[0] if r.matches else None
            match = f"  best match {best.matrix_id} {best.name} ({best.score:.2f})" if best else ""
            typer.echo(f"  {r.pfm.name}: {r.pfm.trimmed().consensus()}{match}")


@app.command()
def scan(
    inputs: list[str] = typer.Argument(..., help="DNA sequences with labels (TSV / DeepBind .seq / FASTA)."),
    jaspar: Path = typer.Option(..., "--jaspar", help="JASPAR motif file."),
    motif: str = typer.Option(..., "--motif", help="Matrix id (MA0093.4) or TF name (USF1)."),
    label_column: str = typer.Option("Bound", "--label-column", help="Column with the 0/1 labels."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write all metrics as JSON here."),  # noqa: UP045
    fmt: Optional[str] = FORMAT_OPT,  # noqa: UP045
    sequence_column: Optional[str] = SEQCOL_OPT,  # noqa: UP045
    id_column: Optional[str] = IDCOL_OPT,  # noqa: UP045
    genome: Optional[Path] = GENOME_OPT,  # noqa: UP045
) -> None:
    """Baseline without training: best PWM log-odds hit per sequence, scored like seqrnn evaluate."""
    from seqrnn.data.inputs import chain_inputs
    from seqrnn.errors import InputError
    from seqrnn.metrics import format_table
    from seqrnn.motifs import evaluate_pwm, find_motif, load_jaspar

    found = find_motif(load_jaspar(jaspar), motif, str(jaspar))
    options = _read_options(fmt, sequence_column, id_column, genome)
    texts, labels = [], []
    for rec in chain_inputs(inputs, options):
        if label_column not in rec.fields:
            raise InputError(f"no label column {label_column!r}", source=rec.source, record=rec.id)
        texts.append(rec.text)
        labels.append(rec.fields[label_column])
    metrics = evaluate_pwm(found, texts, labels)
    title = f"PWM scan {found.matrix_id} {found.name} on {', '.join(inputs)}"
    typer.echo(format_table(metrics, title))
    if json_out is not None:
        payload = {
            "model": f"pwm:{found.matrix_id}",
            "motif": found.name,
            "data": list(inputs),
            "pwm": metrics,
        }
        json_out.write_text(json.dumps(payload, indent=1) + "\n")


@app.command("export")
def export_cmd(
    predictions: Path = typer.Argument(..., help="A predictions HDF5 file from seqrnn predict."),
    fmt: str = typer.Option(
        ...,
        "--format",
        "-f",
        help="ss2 or horiz (a file per sequence), tsv (one row per residue) or csv (input rows + predictions).",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory (ss2, horiz) or file (tsv)."),
) -> None:
    """Export predictions as PSIPRED .ss2 / .horiz files or a per-residue TSV."""
    from seqrnn.export import export

    n = export(predictions, fmt, output)
    typer.echo(f"exported {n} sequences as {fmt} to {output}")


@app.command()
def merge(
    shards: list[Path] = typer.Argument(..., help="Shard HDF5 files of one sharded run (all of 1..N)."),
    output: Path = typer.Option(..., "--output", "-o", help="Merged HDF5 file to write (atomically)."),
) -> None:
    """Merge the shard files of a --shard K/N prediction back into one file in input order."""
    from seqrnn.io import check_writable
    from seqrnn.merge import merge_shards

    check_writable(output)
    n = merge_shards(shards, output, _command_line())
    typer.echo(f"wrote {output}: {n} sequences from {len(shards)} shards")


@app.command()
def plot(
    predictions: Path = typer.Argument(..., help="A predictions HDF5 file from seqrnn predict."),
    output: Path = typer.Option(..., "--output", "-o", help="PNG file to write."),
    record: Optional[str] = typer.Option(None, "--id", help="Record id to draw (default: the first)."),  # noqa: UP045
) -> None:
    """Draw one sequence's per-residue probability tracks as PNG (needs matplotlib)."""
    from seqrnn.io import check_writable
    from seqrnn.plot import plot_track

    check_writable(output)
    drawn = plot_track(predictions, record, output)
    typer.echo(f"wrote {output} ({drawn})")


@app.command()
def info(
    model: str = typer.Argument(..., help="Built-in model name or .pt path."),
    as_json: bool = typer.Option(False, "--json", help="Print the full metadata as JSON."),
) -> None:
    """Describe a model bundle: heads, classes, architecture, training data and validation metrics."""
    from seqrnn.bundle import load_bundle

    bundle = load_bundle(model)
    meta = bundle.metadata
    if as_json:
        typer.echo(json.dumps({**meta, "sha256": bundle.sha256, "path": str(bundle.path)}, indent=2))
        return
    m = meta["model"]
    lines = [
        f"name:       {bundle.name}",
        f"file:       {bundle.path}",
        f"sha256:     {bundle.sha256}",
        f"seqrnn:     {meta.get('seqrnn_version')}   created {meta.get('created', '?')}",
        f"encoder:    {meta['encoder']['name']} ({len(meta['encoder']['tokens'])} tokens)",
        f"model:      Bi{m['cell'].upper()} {m['layers']} x {m['hidden']}, conv {m['conv_channels'] or 'none'}, "
        f"{sum(p.numel() for p in bundle.model.parameters()):,} parameters",
    ]
    for spec in meta["heads"]:
        lines.append(f"head:       {spec['name']} [{spec['kind']}] {' '.join(spec['classes'])}")
    data = meta.get("data", {})
    if data:
        lines.append(
            f"trained on: {data.get('train')} ({data.get('n_train')} train / {data.get('n_valid')} valid)"
        )
        lines.append(f"data hash:  {data.get('fingerprint')}")
    for head, metrics in meta.get("valid_metrics", {}).items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "n" and isinstance(v, float))
        lines.append(f"valid:      {head}: {shown}")
    if meta.get("description"):
        lines.append(f"about:      {meta['description']}")
    typer.echo("\n".join(lines))


@app.command()
def models() -> None:
    """List the built-in models."""
    from seqrnn.bundle import builtin_index

    index = builtin_index()
    if not index:
        typer.echo("no built-in models in this installation")
    for name, entry in index.items():
        typer.echo(f"{name:<14} {entry.get('description', '')}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; user errors become one line on stderr."""
    args = sys.argv[1:] if argv is None else list(argv)
    _ARGV[:] = args
    _JSON_LOG.clear()
    code = _run(args)
    _event("exit", exit_code=code)
    return code


def _run(args: list[str]) -> int:
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="seqrnn", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except (typer.Abort, KeyboardInterrupt):
        _err("seqrnn: interrupted")
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except SeqrnnError as exc:
        if debug:
            raise
        message = " ".join(str(exc).split())
        _err("seqrnn: error: " + message)
        _event("error", message=message, exit_code=exc.exit_code)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if debug:
            raise
        _err(f"seqrnn: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
        return 1


def _is_usage_error(exc: Exception) -> bool:
    # click's ClickException, or its copy vendored inside newer typer releases.
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)


def run() -> None:
    sys.exit(main())
