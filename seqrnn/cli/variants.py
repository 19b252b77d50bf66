"""``seqrnn variants``: score the effect of VCF variants with DNA models into one HDF5 file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from seqrnn.cli import common, console
from seqrnn.cli.run_args import RunArgs, run_options
from seqrnn.core.logs import event


class RefPolicy(str, Enum):
    """What a REF allele that does not match the genome does (``--on-invalid``)."""

    ref_mismatch = "ref_mismatch"
    error = "error"


@run_options(windows=True)
def variants(
    vcf: Path | None = typer.Argument(None, help="VCF/BCF file (plain or bgzipped)."),
    genome: Path = typer.Option(..., "--genome", help="Genome FASTA the VCF refers to (pyfaidx index)."),
    model: list[str] = typer.Option(
        ...,
        "--model",
        "-m",
        help="DNA model: built-in name, group (tf) or pattern, or .pt path; repeat to score with several.",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="HDF5 file to write (atomically)."),
    export: list[str] = typer.Option(
        [], "--export", help="Also write tsv (OUT.tsv) and/or vcf (OUT.vcf or OUT.vcf.gz + .tbi)."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Only variants in chr:start-end (needs a tabix-indexed VCF)."
    ),
    shard: str | None = typer.Option(
        None, "--shard", help="K/N: score only variants i with i % N == K-1 (see seqrnn merge)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Keep finished chunks in .OUT.parts/ and reuse them when rerun after a kill."
    ),
    saturation: Path | None = typer.Option(
        None,
        "--saturation",
        help="Instead of a VCF: a BED file of regions; score every possible SNV in them (3 per base, "
        "in-silico saturation mutagenesis).",
    ),
    on_invalid: RefPolicy = typer.Option(
        RefPolicy.ref_mismatch,
        "--on-invalid",
        help="Bad records (REF differs from the genome, contig not in the genome). ref_mismatch: give them "
        "a status (ref_mismatch, skipped:unknown_contig, ...) and NaN scores, keep going; error: stop.",
    ),
    run: RunArgs = None,  # type: ignore[assignment]  # the shared options (run_options)
) -> None:
    """Score each ALT allele of a VCF (or every SNV of BED regions, --saturation): model outputs of the
    reference and alternative windows."""
    from seqrnn.core.runtime import resolve_device
    from seqrnn.inference.engine import PredictOptions
    from seqrnn.io.files import output_errors
    from seqrnn.io.inputs import parse_shard
    from seqrnn.io.vcf import require_pysam
    from seqrnn.variants import VariantOptions, export_tsv, export_vcf, score_vcf_to_h5
    from seqrnn.variants.api import load_scoring_models
    from seqrnn.variants.exports import plan_outputs

    for kind in export:
        if kind not in ("tsv", "vcf"):
            raise typer.BadParameter(f"--export {kind!r}: choose from tsv, vcf")
    if (vcf is None) == (saturation is None):
        raise typer.BadParameter("give a VCF or --saturation BED, not both or neither")
    if saturation is not None and region:
        raise typer.BadParameter(
            "--region selects VCF records; with --saturation, the BED file is the region"
        )
    source = saturation if saturation is not None else vcf
    assert source is not None
    shard_spec = parse_shard(shard) if shard else None
    plan, targets = plan_outputs(source, genome, model, output, export, saturation is not None)
    plan.check()  # every output against every input, before anything is read
    if saturation is None:
        require_pysam()
    common.set_threads(run.threads)
    dev = resolve_device(run.device)
    models = load_scoring_models(model, dev, run.window)
    options = VariantOptions(
        window=run.window,
        chunk_size=run.chunk_size,
        on_invalid=on_invalid.value,
        shard=shard_spec,
        region=region,
        saturation=saturation is not None,
        predict=PredictOptions(**run.engine),
    )
    with plan.writing():  # the HDF5 file, its exports and their index appear together, or none
        summary = score_vcf_to_h5(
            models,
            source,
            genome,
            output,
            options,
            dev,
            console.command_line(),
            resume,
            not console.STATE.quiet,
        )
        if "tsv" in targets:
            with output_errors(targets["tsv"]):
                export_tsv(plan.current(output), targets["tsv"])
        if "vcf" in targets:
            export_vcf(plan.current(output), source, targets["vcf"])
    exported = list(targets.values())
    rate = summary.n_variants / max(summary.seconds, 1e-9)
    event(
        "result",
        output=summary.output,
        variants=summary.n_variants,
        seconds=round(summary.seconds, 3),
        statuses=summary.statuses,
    )
    mix = ", ".join(f"{k} {v}" for k, v in sorted(summary.statuses.items()))
    lines = [
        f"wrote {summary.output}: {summary.n_variants} variants ({mix}), "
        f"{len(models)} model(s) {', '.join(m.label for m in models)}, window "
        f"{'/'.join(str(w) for w in sorted({m.width for m in models}))}, "
        f"{summary.seconds:.2f}s ({rate:,.0f} variants/s)"
        + (f", {summary.chunks_reused} finished chunks reused" if summary.chunks_reused else "")
    ]
    lines += [f"  exported {p}" for p in exported]
    common.say("\n".join(lines))
