"""Exports of a variants file (:mod:`seqrnn.io.effects`): one TSV row per variant, model, head and
class, or the input VCF annotated with INFO fields; and the output plan of ``seqrnn variants``."""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py

from seqrnn.errors import InputError, UsageError
from seqrnn.io.effects import META, ROW_CHUNK, SCORES, ModelHeads, file_models, open_variants, read_block
from seqrnn.io.files import AtomicOutput, disk_error
from seqrnn.io.outputs import OutputPlan
from seqrnn.models.heads import head_class

TSV_COLUMNS = [
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "model",
    "head",
    "class",
    "ref_score",
    "alt_score",
    "diff",
    "log_odds_diff",
    "status",
    "genome_ref",
    "padded_fraction",
]


def exported_classes(kind: str, classes: Sequence[str]) -> list[tuple[int, str]]:
    """(column, class) of a head's scores in the exports: every class, except that a two-class
    probability head gives its second (positive) class only, since the other's scores are its mirror
    image (p0 = 1 - p1, diff and log-odds diff with the sign flipped)."""
    if len(classes) == 2 and head_class(kind).output == "probs":
        return [(1, classes[1])]
    return list(enumerate(classes))


def export_tsv(h5: str | Path, output: str | Path) -> int:
    """One row per variant, model, head and class (columns :data:`TSV_COLUMNS`; the per-variant
    ``genome_ref`` and ``padded_fraction`` come last, so readers of the older columns by position still
    work); returns variants."""
    with open_variants(h5) as f, AtomicOutput(output) as tmp, open(tmp, "w") as out:
        models = file_models(f)
        out.write("\t".join(TSV_COLUMNS) + "\n")
        n = int(f["variants/record_index"].shape[0])
        for start in range(0, n, ROW_CHUNK):
            block = read_block(f, start, min(start + ROW_CHUNK, n))
            for i in range(len(block["record_index"])):
                where = "\t".join(str(block[k][i]) for k in ("chrom", "pos", "id", "ref", "alt"))
                tail = f"{block['status'][i]}\t{block['genome_ref'][i]}\t{_fmt(block['padded_fraction'][i])}"
                for model, heads in models.items():
                    for head, (kind, classes) in heads.items():
                        for c, name in exported_classes(kind, classes):
                            values = "\t".join(_fmt(block[f"{model}/{head}/{s}"][i, c]) for s in SCORES)
                            out.write(f"{where}\t{model}\t{head}\t{name}\t{values}\t{tail}\n")
        return n


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6g}"


def info_name(*parts: str) -> str:
    """An INFO-legal key (``[A-Za-z_][0-9A-Za-z_.]*``), upper case: ``SEQRNN_<parts joined by _>``."""
    text = re.sub(r"[^0-9A-Za-z_.]", "_", "_".join(("SEQRNN", *parts))).upper()
    return text


def info_fields(models: ModelHeads) -> list[tuple[str, str, str]]:
    """(INFO key, score dataset path, description) for every model, head and class: the diff, and
    for probability heads the log-odds diff."""
    fields = []
    for model, heads in models.items():
        for head, (kind, classes) in heads.items():
            for c, name in exported_classes(kind, classes):
                fields.append(
                    (
                        info_name(model, head, name, "DIFF"),
                        f"{model}/{head}/diff#{c}",
                        f"seqrnn {model} {head} {name}: alt - ref score",
                    )
                )
                if head_class(kind).output == "probs":
                    fields.append(
                        (
                            info_name(model, head, name, "LOD"),
                            f"{model}/{head}/log_odds_diff#{c}",
                            f"seqrnn {model} {head} {name}: logit(alt) - logit(ref)",
                        )
                    )
    return fields


def export_vcf(h5: str | Path, vcf: str | Path, output: str | Path) -> int:
    """The input VCF with INFO fields added (Number=A: one value per ALT; ``.`` where not scored) and
    ``SEQRNN_STATUS``; bgzipped and tabix-indexed when ``output`` ends in ``.gz``. Returns records."""
    output = Path(output)
    with open_variants(h5) as f:
        region = str(f.attrs.get("region", ""))
        lines = _annotated_lines(f, _vcf_lines(Path(vcf), region), info_fields(file_models(f)))
        if output.suffix != ".gz":
            try:
                with AtomicOutput(output) as tmp, open(tmp, "w") as out:
                    return sum(out.write(line) > 0 and line[0] != "#" for line in lines)
            except OSError as exc:
                raise disk_error(exc, output) or exc from None
        from seqrnn.io.vcf import require_pysam

        pysam = require_pysam()
        with AtomicOutput(output) as tmp:
            n = 0
            try:
                with pysam.BGZFile(str(tmp), "wb") as out:
                    for line in lines:
                        out.write(line.encode())
                        n += line[0] != "#"
            except OSError as exc:
                raise disk_error(exc, output) or exc from None
            # The index is an output of its own: committed with the VCF, removed with it on failure.
            with AtomicOutput(f"{output}.tbi") as index_tmp:
                try:
                    pysam.tabix_index(str(tmp), preset="vcf", force=True)
                    Path(f"{tmp}.tbi").replace(index_tmp)
                except OSError as exc:
                    Path(f"{tmp}.tbi").unlink(missing_ok=True)
                    raise disk_error(exc, f"{output}.tbi") or _unsorted(vcf) from None
        return n


def _unsorted(vcf: str | Path) -> InputError:
    return InputError(
        "cannot tabix-index the annotated VCF: sort the input by position (bcftools sort)", source=str(vcf)
    )


def _vcf_lines(vcf: Path, region: str = "") -> Iterator[str]:
    """The text lines of a plain or bgzipped VCF; with ``region`` the header and that region's records
    (through its tabix index, the records ``--region`` scored)."""
    with open(vcf, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    if compressed:
        with gzip.open(vcf, "rb") as fh:
            if fh.read(3) == b"BCF":
                raise InputError("--export vcf needs a text VCF input, not BCF", source=str(vcf))
    if region:
        from seqrnn.io.vcf import require_pysam, vcf_region

        pysam = require_pysam()
        with pysam.VariantFile(str(vcf)) as vf:
            region = vcf_region(vf, region, note=False)  # as scoring read it (genome contig names too)
        tabix = pysam.TabixFile(str(vcf))
        try:
            yield from (line + "\n" for line in tabix.header)
            yield from (line + "\n" for line in tabix.fetch(region=region))
        finally:
            tabix.close()
        return
    with (gzip.open if compressed else open)(vcf, "rt") as handle:
        yield from handle


def _annotated_lines(f: h5py.File, lines: Iterator[str], fields: list[tuple[str, str, str]]) -> Iterator[str]:
    """``lines`` of a VCF with the INFO header lines and the values of the variants file ``f`` added."""
    n = int(f["variants/record_index"].shape[0])
    keys = sorted({path.split("#")[0] for _, path, _ in fields})
    row, block, block_start = 0, None, -1
    record = -1
    for line in lines:
        if line.startswith("##"):
            # An input annotated by seqrnn before (a rerun on an exported VCF): its fields are replaced,
            # not given twice (duplicate INFO IDs and keys make an invalid VCF).
            if not line.startswith("##INFO=<ID=SEQRNN_"):
                yield line
            continue
        if line.startswith("#"):
            for key, _, description in fields:
                yield f'##INFO=<ID={key},Number=A,Type=Float,Description="{description}">\n'
            yield '##INFO=<ID=SEQRNN_STATUS,Number=A,Type=String,Description="seqrnn variant status">\n'
            yield line
            continue
        if not line.strip():
            continue
        record += 1
        cols = line.rstrip("\n").split("\t")
        n_alt = len(cols[4].split(",")) if len(cols) > 4 else 1
        values: dict[str, list[str]] = {key: ["."] * n_alt for key, _, _ in fields}
        status = ["."] * n_alt
        while row < n:
            if block is None or row >= block_start + ROW_CHUNK:
                block_start = row
                block = read_block(f, row, min(row + ROW_CHUNK, n), [*META, *keys])
            i = row - block_start
            if int(block["vcf_record"][i]) != record:
                break
            a = int(block["allele"][i]) - 1
            status[a] = str(block["status"][i])
            for key, path, _ in fields:
                name, c = path.split("#")
                v = float(block[name][i, int(c)])
                values[key][a] = "." if math.isnan(v) else f"{v:.6g}"
            row += 1
        extra = ";".join(f"{k}={','.join(v)}" for k, v in values.items())
        extra += ";SEQRNN_STATUS=" + ",".join(status)
        if len(cols) > 7:
            kept = ";".join(x for x in cols[7].split(";") if x and not x.startswith("SEQRNN_"))
            cols[7] = extra if kept in ("", ".") else f"{kept};{extra}"
        yield "\t".join(cols) + "\n"


def plan_outputs(
    vcf: Path,
    genome: Path,
    models: Sequence[str],
    output: Path,
    exports: Sequence[str],
    saturation: bool = False,
) -> tuple[OutputPlan, dict[str, Path]]:
    """The output plan of a variants run (not yet checked) and where each export goes.

    ``--export tsv`` writes ``OUT.tsv``; ``vcf`` writes ``OUT.vcf``, or ``OUT.vcf.gz`` and its
    ``.tbi`` for a compressed input. A BCF input with ``--export vcf`` is a :class:`UsageError` here,
    before any scoring; so is ``--export vcf`` of a saturation run (``vcf`` is then the BED file of
    regions: there is no VCF to annotate).
    """
    if saturation:
        if "vcf" in exports:
            raise UsageError(
                "--export vcf annotates an input VCF; a --saturation run has none (use --export tsv)"
            )
        plan = OutputPlan().read("BED", vcf)
    else:
        plan = OutputPlan().read("VCF", vcf).read("VCF index", f"{vcf}.tbi", f"{vcf}.csi")
    plan.read_genome(genome).read_model(*models)
    plan.write("variants file", output)
    head = _first_bytes(vcf)
    targets: dict[str, Path] = {}
    for kind in exports:
        if kind == "vcf":
            if b"BCF" in head:
                raise UsageError(f"--export vcf needs a text VCF input, not BCF: {vcf} (bcftools view -Oz)")
            targets[kind] = output.with_suffix(".vcf.gz" if head[:2] == b"\x1f\x8b" else ".vcf")
        else:
            targets[kind] = output.with_suffix(f".{kind}")
        plan.write(f"{kind} export", targets[kind])
        if targets[kind].suffix == ".gz":
            plan.write("index of the vcf export", f"{targets[kind]}.tbi")
    return plan, targets


def _first_bytes(vcf: Path) -> bytes:
    """The first bytes of ``vcf``, with ``BCF`` appended for a gzip/BGZF file that holds BCF; what
    cannot be read gives what could (the run says why when it opens the VCF)."""
    try:
        with open(vcf, "rb") as fh:
            head = fh.read(2)
    except OSError:
        return b""
    if head == b"\x1f\x8b":
        try:
            with gzip.open(vcf, "rb") as fh:
                if fh.read(3) == b"BCF":
                    return head + b"BCF"
        except (OSError, EOFError):
            pass  # damaged: reported when the VCF is read
    return head
