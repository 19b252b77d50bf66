"""The variants HDF5 file (``format = "seqrnn-variants"``) and its TSV / VCF exports.

Layout (N variants, one per ALT allele; C = classes or targets of a head; docs/hdf5-format.md):

- ``variants/{chrom,id,ref,alt,status}`` (N,) UTF-8 strings; ``variants/pos`` (N,) int64, 1-based as in
  the VCF; ``variants/record_index`` (N,) int64, the variant's position in the input (shards, merge);
  ``variants/vcf_record`` (N,) int64, the 0-based VCF record; ``variants/allele`` (N,) int64, 1-based ALT;
- ``variants/genome_ref`` (N,) UTF-8, the genome's bases where REF lies (``""`` for an unknown contig or
  a POS past its end); ``variants/padded_fraction`` (N,) float32, the share of N padding past a contig
  end in the scored windows (0 inside a contig, NaN when not scored). Files written before these two
  existed read as ``""`` / NaN (:func:`read_block`);
- ``variants/<model>/<head>/{ref,alt,diff,log_odds_diff}`` (N, C) float32, attribute ``classes``
  (and ``kind``); NaN where the variant was not scored.

A payload (what :meth:`VariantsWriter.append` takes and :func:`read_block` returns) is a flat dict of
those paths relative to ``variants/`` to arrays of the same length.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from seqrnn.errors import InputError, OutputError, UsageError
from seqrnn.io.files import AtomicOutput, disk_error
from seqrnn.io.hdf5 import AtomicH5
from seqrnn.io.outputs import OutputPlan, check_writable
from seqrnn.models.heads import head_class

FORMAT = "seqrnn-variants"
FORMAT_VERSION = 1
STRINGS = ("chrom", "id", "ref", "alt", "status", "genome_ref")
INTEGERS = ("pos", "record_index", "vcf_record", "allele")
FLOATS = ("padded_fraction",)
META = STRINGS + INTEGERS + FLOATS
#: Per-variant columns added after format_version 1 first shipped: what older files read as.
LATER = {"genome_ref": "", "padded_fraction": np.nan}
SCORES = ("ref", "alt", "diff", "log_odds_diff")
ROW_CHUNK = 4096
_STR = h5py.string_dtype("utf-8")

#: {model label: {head: (kind, classes)}}: which score datasets a file has.
ModelHeads = Mapping[str, Mapping[str, tuple[str, Sequence[str]]]]


def score_keys(models: ModelHeads) -> list[str]:
    """The score dataset paths (relative to ``variants/``) of ``models``, in file order."""
    return [f"{m}/{h}/{s}" for m, heads in models.items() for h in heads for s in SCORES]


class VariantsWriter:
    """Writes a variants file atomically (:class:`~seqrnn.io.files.AtomicOutput`): use as a context
    manager, :meth:`append` payloads in input order, set ``attrs`` before leaving the block."""

    def __init__(
        self,
        path: str | Path,
        attrs: Mapping[str, Any],
        models: ModelHeads,
        compression: str | None = "gzip",
        sweep: bool = True,
    ) -> None:
        self.path = check_writable(path)
        self.attrs = dict(attrs)
        self.models = models
        self.compression = compression
        self.sweep = sweep
        self.n = 0
        self._out: AtomicH5 | None = None
        self._file: h5py.File | None = None

    def __enter__(self) -> VariantsWriter:
        self._out = AtomicH5(self.path, sweep=self.sweep)
        f = self._file = self._out.open()
        group = f.create_group("variants")
        opts: dict[str, Any] = {"chunks": True}
        if self.compression:
            opts.update(compression=self.compression, shuffle=True)
        for name in STRINGS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=_STR, **opts)
        for name in INTEGERS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=np.int64, **opts)
        for name in FLOATS:
            group.create_dataset(name, (0,), maxshape=(None,), dtype=np.float32, **opts)
        for model, heads in self.models.items():
            for head, (kind, classes) in heads.items():
                for score in SCORES:
                    ds = group.create_dataset(
                        f"{model}/{head}/{score}",
                        (0, len(classes)),
                        maxshape=(None, len(classes)),
                        dtype=np.float32,
                        **opts,
                    )
                    ds.attrs["classes"] = np.array(list(classes), dtype="S")
                    ds.attrs["kind"] = kind
        return self

    def append(self, payload: Mapping[str, Any]) -> None:
        """Append one block of variants (a payload: every ``META`` and score path, same length)."""
        assert self._file is not None
        n = len(payload["record_index"])
        group = self._file["variants"]
        for key in (*META, *score_keys(self.models)):
            ds = group[key]
            ds.resize(self.n + n, axis=0)
            ds[self.n : self.n + n] = payload[key]
        self.n += n
        assert self._out is not None
        self._out.check()  # a full disk stops the run at this block, not at the end

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._file is not None and self._out is not None
        if exc_type is not None:
            error = self._out.abort(exc)
            if error is not None and not isinstance(exc, OutputError):
                raise error from None
            return
        try:
            self._file.attrs.update({**self.attrs, "n_variants": self.n})
        except BaseException as failed:
            raise (self._out.abort(failed) or failed) from None
        self._out.close()


def open_variants(path: str | Path) -> h5py.File:
    """Open a variants file for reading; anything else raises :class:`InputError`."""
    try:
        f = h5py.File(path, "r")
    except (OSError, FileNotFoundError):
        raise InputError("not a readable HDF5 file", source=str(path)) from None
    if f.attrs.get("format") != FORMAT:
        f.close()
        raise InputError(f"not a seqrnn variants file (format {FORMAT})", source=str(path))
    return f


def file_models(f: h5py.File) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """The ``{model: {head: (kind, classes)}}`` of an open variants file (from its ``models`` attr)."""
    models: dict[str, dict[str, tuple[str, list[str]]]] = {}
    for model in f.attrs["models"]:
        label = model.decode() if isinstance(model, bytes) else str(model)
        group = f[f"variants/{label}"]
        models[label] = {}
        for head in group:
            ds = group[f"{head}/ref"]
            classes = [c.decode() if isinstance(c, bytes) else str(c) for c in ds.attrs["classes"]]
            models[label][head] = (str(ds.attrs["kind"]), classes)
    return models


def read_block(f: h5py.File, start: int, stop: int, keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Rows ``start:stop`` of every dataset under ``variants/`` (a payload); a column that a file from
    an earlier seqrnn lacks (:data:`LATER`) reads as its default, so such files still merge and export."""
    group = f["variants"]
    keys = list(keys) if keys is not None else [*META, *score_keys(file_models(f))]
    block: dict[str, Any] = {}
    for k in keys:
        if k not in group and k in LATER:
            n = max(0, min(stop, int(group["record_index"].shape[0])) - start)
            dtype = object if k in STRINGS else np.float32
            block[k] = np.full(n, LATER[k], dtype=dtype)
        else:
            block[k] = group[k].asstr()[start:stop] if k in STRINGS else group[k][start:stop]
    return block


def read_part(path: Path, shas: Sequence[str], first: int, last: int, n: int) -> dict[str, Any] | None:
    """A finished ``--resume`` part for exactly these ``n`` variants and models, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = (
                [s.decode() if isinstance(s, bytes) else str(s) for s in f.attrs.get("model_sha256s", [])],
                f.attrs.get("first_record"),
                f.attrs.get("last_record"),
                f.attrs.get("n_variants"),
            )
            if found != (list(shas), first, last, n):
                return None
            return read_block(f, 0, n)
    except (OSError, KeyError):
        return None


# Exports ----------------------------------------------------------------------------------------------

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
                    for head, (_, classes) in heads.items():
                        for c, name in enumerate(classes):
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
            for c, name in enumerate(classes):
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
        from seqrnn.variants.vcf import require_pysam

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
        from seqrnn.variants.vcf import require_pysam, vcf_region

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
    vcf: Path, genome: Path, models: Sequence[str], output: Path, exports: Sequence[str]
) -> tuple[OutputPlan, dict[str, Path]]:
    """The output plan of a variants run (not yet checked) and where each export goes.

    ``--export tsv`` writes ``OUT.tsv``; ``vcf`` writes ``OUT.vcf``, or ``OUT.vcf.gz`` and its
    ``.tbi`` for a compressed input. A BCF input with ``--export vcf`` is a :class:`UsageError` here,
    before any scoring.
    """
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
