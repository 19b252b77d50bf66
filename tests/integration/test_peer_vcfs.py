"""Real-world VCF test files of other projects through ``seqrnn variants --export tsv --export vcf``.

``tests/data/peer/`` (provenance and licences in its README.md):

- ``bcftools-norm.vcf`` + ``bcftools-norm.fa`` (samtools/bcftools ``test/norm.vcf``, ``test/norm.fa``):
  indels, multi-allelic records, a 192-bp REF, ``*`` and ``.`` ALTs, an ``I`` ALT, a REF that is not
  the genome's, contigs of 31..301 bp (so most windows are N-padded), FASTA headers with descriptions;
- ``cyvcf2-test.vcf.gz`` (+ ``.tbi``; brentp/cyvcf2 ``cyvcf2/tests/test.vcf.gz``): a bgzipped GATK
  VCF of 115 records on b37 contig ``1`` with 73 INFO fields and 500+ samples. It has no genome, so
  one is made here: seeded random bases with every REF allele written at its POS, as contig ``chr1``
  (the ``chr`` alias); the overlapping telomere deletions agree with each other, so all 115 are ``ok``.
  On the random bases alone (no REF written) most REFs differ: the wrong-build warning fires.

janggu's ``sample.vcf`` / ``sample_genome.fa`` (BIMSBbioinfo/janggu, GPL-3.0) were run by hand but are
not committed (this project is MIT); ``test_janggu_like`` is a hand-made VCF with the same features:
no ``##contig`` lines, records out of order, positions past the contig end, a record without ALT,
POS 1, a wrong REF and an IUPAC (``M``) REF at the same position, a multi-allelic record.

Every run: exit 0, the status counts checked by hand (docs/variants.md), the exported VCF re-read by
pysam with one SEQRNN_STATUS value per ALT and no ##INFO line or INFO key twice, and one TSV row per
variant x model x head x class.
"""

from __future__ import annotations

import collections
import gzip
import random
import shutil
from pathlib import Path

import h5py
import pytest

from seqrnn.cli.main import main
from seqrnn.models.bundle import builtin_index

pysam = pytest.importorskip("pysam")

PEER = Path(__file__).resolve().parents[1] / "data" / "peer"
RUN_MODEL = Path(__file__).resolve().parents[2] / "runs" / "zoo" / "deepbind" / "USF1_hybrid" / "model.pt"


@pytest.fixture(scope="module")
def model() -> str:
    """A small DNA model with a 101-bp window: the built-in tf-USF1 (about 0.3 s to load and run)."""
    if "tf-USF1" in builtin_index():
        return "tf-USF1"
    if RUN_MODEL.is_file():
        return str(RUN_MODEL)
    pytest.skip("no USF1 model: neither the built-in tf-USF1 nor runs/zoo/deepbind/USF1_hybrid/model.pt")


def run(model: str, vcf: Path, genome: Path, out: Path, *args: str) -> int:
    argv = ["variants", str(vcf), "--genome", str(genome), "-m", model, "-o", str(out)]
    return main([*argv, "--export", "tsv", "--export", "vcf", "--threads", "1", *args])


def statuses(h5: Path) -> collections.Counter:
    with h5py.File(h5) as f:
        return collections.Counter(f["variants/status"].asstr()[:])


def by_variant(h5: Path) -> dict[tuple[str, int, str, str], str]:
    with h5py.File(h5) as f:
        v = f["variants"]
        keys = zip(v["chrom"].asstr()[:], v["pos"][:], v["ref"].asstr()[:], v["alt"].asstr()[:], strict=True)
        return {(c, int(p), r, a): s for (c, p, r, a), s in zip(keys, v["status"].asstr()[:], strict=True)}


def n_columns(h5: Path) -> int:
    """Exported score columns per variant: classes summed over every model's heads (a two-class head
    exports its positive class only)."""
    with h5py.File(h5) as f:
        models = [m.decode() if isinstance(m, bytes) else str(m) for m in f.attrs["models"]]
        widths = [f[f"variants/{m}/{h}/diff"].shape[1] for m in models for h in f[f"variants/{m}"]]
        return sum(1 if w == 2 else w for w in widths)


def check_tsv(tsv: Path, h5: Path) -> None:
    rows = tsv.read_text().splitlines()
    header = rows[0].split("\t")
    assert header[:5] == ["chrom", "pos", "id", "ref", "alt"] and "status" in header
    counts = statuses(h5)
    assert len(rows) - 1 == sum(counts.values()) * n_columns(h5)
    col = header.index("status")
    tsv_counts = collections.Counter(r.split("\t")[col] for r in rows[1:])
    assert tsv_counts == {s: n * n_columns(h5) for s, n in counts.items()}


def check_vcf(exported: Path, source: Path, h5: Path) -> int:
    """The exported VCF: valid for pysam, same records as the input, one status per ALT, no duplicates."""
    opener = gzip.open if exported.suffix == ".gz" else open
    with opener(exported, "rt") as fh:
        lines = fh.read().splitlines()
    with (gzip.open if source.suffix == ".gz" else open)(source, "rt") as fh:
        source_records = [line for line in fh.read().splitlines() if line and not line.startswith("#")]
    info_ids = [line.split("ID=")[1].split(",")[0] for line in lines if line.startswith("##INFO=")]
    assert [k for k, n in collections.Counter(info_ids).items() if n > 1] == []
    records = [line.split("\t") for line in lines if line and not line.startswith("#")]
    assert len(records) == len(source_records)
    for cols, original in zip(records, source_records, strict=True):
        keys = [kv.split("=")[0] for kv in cols[7].split(";")]
        assert len(keys) == len(set(keys)), f"INFO key twice: {cols[:5]}"
        status = dict(kv.split("=", 1) for kv in cols[7].split(";") if "=" in kv)["SEQRNN_STATUS"]
        assert len(status.split(",")) == len(cols[4].split(","))
        assert cols[:7] + cols[8:] == original.split("\t")[:7] + original.split("\t")[8:]
    counts: collections.Counter = collections.Counter()
    with pysam.VariantFile(str(exported)) as vf:
        n = 0
        for rec in vf:
            n += 1
            values = rec.info["SEQRNN_STATUS"]
            assert len(values) == max(len(rec.alts or ()), 1)
            counts.update(values)
    assert n == len(records)
    assert counts == statuses(h5)
    if exported.suffix == ".gz":
        assert Path(f"{exported}.tbi").is_file()
        with open(exported, "rb") as fh:
            assert fh.read(4) == b"\x1f\x8b\x08\x04"  # bgzip (BGZF extra field), not plain gzip
    return n


def copy_inputs(tmp_path: Path, *names: str) -> list[Path]:
    """Copies of peer files in ``tmp_path/in`` (the genome's .fai is made next to it, not in tests/data)."""
    (tmp_path / "in").mkdir(exist_ok=True)
    return [Path(shutil.copy(PEER / name, tmp_path / "in" / name)) for name in names]


def fasta(path: Path, contigs: dict[str, str]) -> Path:
    path.write_text(
        "".join(
            f">{name}\n" + "".join(s[i : i + 60] + "\n" for i in range(0, len(s), 60))
            for name, s in contigs.items()
        )
    )
    return path


# bcftools test/norm.vcf ------------------------------------------------------------------------------

NORM_COUNTS = {
    "ok": 10,  # 1:105 (2 ALTs), 2:101, 2:114 (2), 2:115, 20:80, 20:81, 20:95 (2)
    "ok:padded": 24,  # everything on contigs 3, 4, 5 (31..60 bp), 20:3, 20:5, 20:273..278
    "ref_mismatch": 1,  # 1:60 A>T where norm.fa has C
    "skipped:invalid_allele": 1,  # 4:37 C>I
    "skipped:long_allele": 1,  # 2:1, REF of 192 bp
    "skipped:symbolic": 2,  # 20:59 AG>. and the * of 4:25 T>TT,*
}


def test_bcftools_norm(model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vcf, genome = copy_inputs(tmp_path, "bcftools-norm.vcf", "bcftools-norm.fa")
    out = tmp_path / "norm.h5"
    assert run(model, vcf, genome, out) == 0
    assert "1 of 35 variants (2.9%) have a REF that differs" in capsys.readouterr().err
    assert statuses(out) == NORM_COUNTS
    status = by_variant(out)
    assert status[("1", 60, "A", "T")] == "ref_mismatch"
    assert status[("4", 25, "T", "TT")] == "ok:padded"
    assert status[("4", 25, "T", "*")] == "skipped:symbolic"
    assert status[("20", 59, "AG", ".")] == "skipped:symbolic"
    assert status[("4", 37, "C", "I")] == "skipped:invalid_allele"
    assert status[("20", 5, "TGGG", "AC")] == "ok:padded"
    assert status[("20", 95, "TCACCG", "AAAAAA")] == "ok"
    with h5py.File(out) as f:
        pos = f["variants/pos"][:]
        assert f["variants/genome_ref"].asstr()[list(pos).index(60)] == "C"
    check_tsv(tmp_path / "norm.tsv", out)
    assert check_vcf(tmp_path / "norm.vcf", PEER / "bcftools-norm.vcf", out) == 24


# cyvcf2 cyvcf2/tests/test.vcf.gz ---------------------------------------------------------------------


def cyvcf2_genome(path: Path, place_refs: bool) -> Path:
    """Contig chr1 up to the last REF + 200 bp: seeded random bases, with every REF written at its POS."""
    with gzip.open(PEER / "cyvcf2-test.vcf.gz", "rt") as fh:
        recs = [(int(c[1]), c[3]) for c in (line.split("\t", 5) for line in fh if not line.startswith("#"))]
    rng = random.Random(0)
    seq = ["ACGT"[rng.getrandbits(2)] for _ in range(max(p + len(r) - 1 for p, r in recs) + 200)]
    if place_refs:
        for p, r in recs:
            seq[p - 1 : p - 1 + len(r)] = r.upper()
    return fasta(path, {"chr1": "".join(seq)})


@pytest.mark.parametrize(
    ("place_refs", "expected"),
    [(True, {"ok": 115}), (False, {"ok": 23, "ref_mismatch": 92})],
    ids=["genome-with-refs", "random-genome"],
)
def test_cyvcf2_bgzipped(
    model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], place_refs: bool, expected: dict
) -> None:
    vcf, _ = copy_inputs(tmp_path, "cyvcf2-test.vcf.gz", "cyvcf2-test.vcf.gz.tbi")
    genome = cyvcf2_genome(tmp_path / "genome.fa", place_refs)
    out = tmp_path / "effects.h5"
    assert run(model, vcf, genome, out) == 0
    err = capsys.readouterr().err
    assert "chromosome 1 read as genome contig chr1 (chr prefix alias)" in err
    assert ("92 of 115 variants (80.0%) have a REF that differs" in err) == (not place_refs)
    assert statuses(out) == expected
    check_tsv(tmp_path / "effects.tsv", out)
    assert not (tmp_path / "effects.vcf").exists()
    assert check_vcf(tmp_path / "effects.vcf.gz", PEER / "cyvcf2-test.vcf.gz", out) == 115
    with pysam.VariantFile(str(tmp_path / "effects.vcf.gz")) as vf:  # the .tbi works
        assert len(vf.header.samples) == 189
        assert sum(1 for _ in vf.fetch("1", 13000, 14000)) == 29


@pytest.mark.parametrize("region", ["1:13001-14000", "chr1:13001-14000"])
def test_cyvcf2_region(model: str, tmp_path: Path, region: str) -> None:
    """``--region`` through the cyvcf2 file's own .tbi, named as the VCF and as the genome name the contig."""
    vcf, _ = copy_inputs(tmp_path, "cyvcf2-test.vcf.gz", "cyvcf2-test.vcf.gz.tbi")
    genome = cyvcf2_genome(tmp_path / "genome.fa", True)
    out = tmp_path / "part.h5"
    assert run(model, vcf, genome, out, "--region", region, "-q") == 0
    assert statuses(out) == {"ok": 29}
    check_tsv(tmp_path / "part.tsv", out)
    with pysam.VariantFile(str(tmp_path / "part.vcf.gz")) as vf:
        assert [rec.info["SEQRNN_STATUS"] for rec in vf] == [("ok",)] * 29


# janggu-like (hand-made; janggu's own files are GPL-3.0) -----------------------------------------------


def test_janggu_like(model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(1)
    chr2 = "".join("ACGT"[rng.getrandbits(2)] for _ in range(300))
    chr1 = "".join("ACGT"[rng.getrandbits(2)] for _ in range(120))
    genome = fasta(tmp_path / "genome.fa", {"chr2": chr2, "chr1": chr1})
    other = {b: next(c for c in "ACGT" if c != b) for b in "ACGT"}
    rows = [  # out of POS order, as in janggu's sample.vcf; no ##contig lines
        ("chr2", 9000, "past_end_noalt", "T", "."),
        ("chr2", 8000, "past_end_multi", "A", "G,T"),
        ("chr2", 1, "first_base", chr2[0], other[chr2[0]]),
        ("chr2", 60, "ref_mismatch", other[chr2[59]], "C"),
        ("chr2", 60, "iupac_ref", "M", "T"),
        ("chr2", 60, "snv", chr2[59], other[chr2[59]]),
        ("chr2", 120, "indels", chr2[119:123], f"{chr2[119]},{chr2[119:123]}AC"),
        ("chr2", 180, "snv_no_info", chr2[179], other[chr2[179]]),
        ("chr1", 119, "end_padded", chr1[118], other[chr1[118]]),
        ("chrY", 10, "unknown_contig", "A", "G"),
    ]
    header = (
        "##fileformat=VCFv4.2\n"
        '##INFO=<ID=NS,Number=1,Type=Integer,Description="Number of samples with data">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n"
    )
    body = "".join(
        f"{c}\t{p}\t{i}\t{r}\t{a}\t30\tPASS\t{'.' if i == 'snv_no_info' else 'NS=2'}\tGT\t0|1\t1/1\n"
        for c, p, i, r, a in rows
    )
    vcf = tmp_path / "in.vcf"
    vcf.write_text(header + body)
    out = tmp_path / "sample.h5"
    assert run(model, vcf, genome, out) == 0
    assert "1 of 7 variants (14.3%) have a REF that differs" in capsys.readouterr().err
    assert statuses(out) == {
        "skipped:out_of_contig": 3,
        "ok:padded": 2,
        "ref_mismatch": 1,
        "skipped:invalid_allele": 1,
        "ok": 4,
        "skipped:unknown_contig": 1,
    }
    with h5py.File(out) as f:
        got = dict(zip(f["variants/id"].asstr()[:], f["variants/status"].asstr()[:], strict=True))
    assert got["past_end_noalt"] == "skipped:out_of_contig"  # out_of_contig comes before symbolic
    assert got["iupac_ref"] == "skipped:invalid_allele"
    assert got["first_base"] == got["end_padded"] == "ok:padded"
    check_tsv(tmp_path / "sample.tsv", out)
    assert check_vcf(tmp_path / "sample.vcf", vcf, out) == 10
    exported = (tmp_path / "sample.vcf").read_text()
    assert "\t.\tGT" not in exported  # INFO "." replaced by the seqrnn fields, not appended to


# re-scoring an exported VCF ----------------------------------------------------------------------------


def test_rescore_exported_vcf(model: str, tmp_path: Path) -> None:
    """An exported VCF scored again: its seqrnn fields are replaced, not given twice."""
    vcf, genome = copy_inputs(tmp_path, "bcftools-norm.vcf", "bcftools-norm.fa")
    (tmp_path / "first").mkdir()
    assert run(model, vcf, genome, tmp_path / "first" / "norm.h5", "-q") == 0
    again = tmp_path / "again.h5"
    assert run(model, tmp_path / "first" / "norm.vcf", genome, again, "-q") == 0
    check_vcf(tmp_path / "again.vcf", vcf, again)
