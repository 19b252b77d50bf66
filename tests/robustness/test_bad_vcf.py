"""Bad VCFs, genomes and models through ``seqrnn variants``: each case exits non-zero with exactly one
``seqrnn: error:`` line naming the problem, no traceback, and nothing left in the output directory;
or, where docs/variants.md says so, is accepted with a skip status."""

from __future__ import annotations

import gzip
import os
import sys
from pathlib import Path

import h5py
import pytest

from seqrnn.cli.main import main
from tests.conftest import write_config

pysam = pytest.importorskip("pysam")

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
CHR1 = "ACGTTGCAAC" * 20


@pytest.fixture(scope="module")
def models(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    found = {}
    for task in ("dna", "protein"):
        tmp = tmp_path_factory.mktemp(f"bad_vcf_{task}")
        cfg = write_config(task, synthetic[task], tmp / "run", tmp, epochs=1)
        assert main(["train", str(cfg), "--quiet", "--set", "train.max_steps_per_epoch=2"]) == 0
        found[task] = tmp / "run" / "model.pt"
    return found


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "genome.fa").write_text(f">chr1\n{CHR1}\n>chr2\n{CHR1}\n")
    (tmp_path / "out").mkdir()
    return directory


def good_row(pos: int = 5, chrom: str = "chr1") -> str:
    return f"{chrom}\t{pos}\t.\t{CHR1[pos - 1]}\t{'A' if CHR1[pos - 1] != 'A' else 'C'}\t.\t.\t.\n"


def variants(model: Path, vcf: Path, genome: Path, out_dir: Path, *args: str) -> int:
    out = out_dir / "out.h5"
    return main(
        [
            "variants",
            str(vcf),
            "--genome",
            str(genome),
            "-m",
            str(model),
            "-o",
            str(out),
            "--threads",
            "1",
            "--export",
            "tsv",
            "--export",
            "vcf",
            *args,
        ]
    )


def check_rejected(code: int, captured: pytest.CaptureFixture[str], out_dir: Path, *needles: str) -> None:
    out, err = captured.readouterr()
    assert code not in (0, 1), (code, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqrnn: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    assert sorted(p.name for p in out_dir.iterdir()) == [], "something was written"


def _bgzip(directory: Path, text: str, name: str = "calls.vcf.gz") -> Path:
    plain = directory / "plain.vcf"
    plain.write_text(text)
    gz = directory / name
    pysam.tabix_compress(str(plain), str(gz), force=True)
    plain.unlink()
    return gz


CASES = {
    "not_a_vcf": ("hello, this is not a VCF\n1,2,3\n", (), ("not a VCF",)),
    "empty": ("", (), ("empty file",)),
    "header_only": (HEADER, (), ("no variants",)),
    "missing_chrom_line": ("##fileformat=VCFv4.2\n" + good_row(), (), ("not a VCF",)),
    "no_header_at_all": (good_row(), (), ("not a VCF",)),
    "bad_pos": (HEADER + "chr1\tabc\t.\tA\tC\t.\t.\t.\n", (), ("malformed VCF line",)),
    "pos_zero": (HEADER + "chr1\t0\t.\tA\tC\t.\t.\t.\n", (), ("POS 0", "record 1")),
    # htslib reads a negative POS as a truncated file; the message names the POS instead.
    "pos_negative": (
        HEADER + good_row() + "chr1\t-5\t.\tA\tC\t.\t.\t.\n",
        (),
        ("record 2: POS -5 must be 1 or more",),
    ),
    "too_few_columns": (HEADER + good_row() + "chr1\t7\t.\n", (), ("malformed VCF line after record 1",)),
    "ref_mismatch_error": (
        HEADER + good_row() + "chr1\t8\t.\tT\tG\t.\t.\t.\n",
        ("--on-invalid", "error"),
        ("REF T at chr1:8", "record 2"),
    ),
    # Without --on-invalid error an unknown contig is a status (test_bad_records_get_a_status).
    "unknown_contig_error": (
        HEADER + good_row() + "chr9\t5\t.\tT\tA\t.\t.\t.\n",
        ("--on-invalid", "error"),
        ("'chr9'", "record 2", "chr1, chr2"),
    ),
    "unindexed_with_region": (HEADER + good_row(), ("--region", "chr1:1-50"), ("needs an index",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_vcf_text(case: str, models, inputs: Path, capsys) -> None:
    text, args, needles = CASES[case]
    vcf = inputs / "calls.vcf"
    vcf.write_text(text)
    code = variants(models["dna"], vcf, inputs / "genome.fa", inputs.parent / "out", *args)
    check_rejected(code, capsys, inputs.parent / "out", *needles)


def test_truncated_bgzip(models, inputs: Path, capsys) -> None:
    gz = _bgzip(inputs, HEADER + "".join(good_row(p) for p in range(5, 190)))
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])
    check_rejected(
        variants(models["dna"], gz, inputs / "genome.fa", inputs.parent / "out"),
        capsys,
        inputs.parent / "out",
        "truncated",
    )


def test_plain_gzip_is_not_bgzip(models, inputs: Path, capsys) -> None:
    gz = inputs / "calls.vcf.gz"
    gz.write_bytes(gzip.compress((HEADER + good_row()).encode()))
    code = variants(models["dna"], gz, inputs / "genome.fa", inputs.parent / "out", "--region", "chr1:1-50")
    check_rejected(code, capsys, inputs.parent / "out", "bgzip")
    # Without --region the plain-gzip file is streamed (and exported as a bgzipped, indexed VCF).
    assert variants(models["dna"], gz, inputs / "genome.fa", inputs.parent / "out") == 0
    with h5py.File(inputs.parent / "out" / "out.h5") as f:
        assert list(f["variants/status"].asstr()[:]) == ["ok:padded"]


def test_chr_alias_ambiguity(models, inputs: Path, capsys) -> None:
    genome = inputs / "twice.fa"
    genome.write_text(f">chr1\n{CHR1}\n>Chr1\n{CHR1}\n")
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row(5, "1"))
    check_rejected(
        variants(models["dna"], vcf, genome, inputs.parent / "out"),
        capsys,
        inputs.parent / "out",
        "matches several contigs",
    )


def test_genome_without_the_contig_file_or_index(models, inputs: Path, capsys) -> None:
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row())
    out = inputs.parent / "out"
    check_rejected(
        variants(models["dna"], vcf, inputs / "missing.fa", out), capsys, out, "genome FASTA not found"
    )
    broken = inputs / "broken.fa"
    broken.write_text(f">chr1\n{CHR1}\n")
    (inputs / "broken.fa.fai").mkdir()  # an index that cannot be read or written
    check_rejected(variants(models["dna"], vcf, broken, out), capsys, out, "broken.fa")


def test_genome_without_fai_in_a_read_only_directory(models, inputs: Path, capsys, monkeypatch) -> None:
    locked = inputs / "locked"
    locked.mkdir()
    (locked / "genome.fa").write_text(f">chr1\n{CHR1}\n")
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root writes into read-only directories: fail the index write as pyfaidx would
        import pyfaidx

        def cannot_write(self: object) -> None:
            raise OSError(f"{locked / 'genome.fa.fai'} may not be writable.")

        monkeypatch.setattr(pyfaidx.Faidx, "build_index", cannot_write)
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row())
    try:
        code = variants(models["dna"], vcf, locked / "genome.fa", inputs.parent / "out")
        check_rejected(code, capsys, inputs.parent / "out", "cannot be created", "genome.fa")
    finally:
        locked.chmod(0o755)
    assert not (locked / "genome.fa.fai").exists()


def test_protein_model_is_rejected(models, inputs: Path, capsys) -> None:
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row())
    code = variants(models["protein"], vcf, inputs / "genome.fa", inputs.parent / "out")
    check_rejected(code, capsys, inputs.parent / "out", "protein model", "DNA model")


def test_missing_vcf_and_bad_options(models, inputs: Path, capsys) -> None:
    out = inputs.parent / "out"
    check_rejected(
        variants(models["dna"], inputs / "nope.vcf", inputs / "genome.fa", out), capsys, out, "file not found"
    )
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row())
    assert variants(models["dna"], vcf, inputs / "genome.fa", out, "--shard", "4/3") != 0
    capsys.readouterr()
    assert sorted(out.iterdir()) == []


def test_without_pysam_the_error_says_how_to_install_it(models, inputs: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pysam", None)
    vcf = inputs / "calls.vcf"
    vcf.write_text(HEADER + good_row())
    code = variants(models["dna"], vcf, inputs / "genome.fa", inputs.parent / "out")
    check_rejected(code, capsys, inputs.parent / "out", "pip install 'seqrnn[variants]'")


def test_bad_records_get_a_status_not_an_error(models, inputs: Path, capsys) -> None:
    vcf = inputs / "calls.vcf"
    vcf.write_text(
        HEADER
        + "chr1\t5\t.\tT\t<DEL>\t.\t.\t.\nchr1\t6\t.\tG\t*\t.\t.\t.\nchr1\t8\t.\tT\tG\t.\t.\t.\n"
        + "chr9\t5\t.\tT\tA\t.\t.\t.\nchr1\t500\t.\tA\tC\t.\t.\t.\nchr1\t5\t.\tT\tT\t.\t.\t.\n"
    )
    out = inputs.parent / "out"
    assert variants(models["dna"], vcf, inputs / "genome.fa", out) == 0
    with h5py.File(out / "out.h5") as f:
        assert list(f["variants/status"].asstr()[:]) == [
            "skipped:symbolic",
            "skipped:symbolic",
            "ref_mismatch",
            "skipped:unknown_contig",
            "skipped:out_of_contig",
            "skipped:ref_equals_alt",
        ]


def test_bcf_input_scores_but_cannot_be_exported_as_vcf(models, inputs: Path, capsys) -> None:
    text = inputs / "calls.vcf"
    text.write_text(HEADER.replace("#CHROM", "##contig=<ID=chr1>\n#CHROM") + good_row())
    bcf = inputs / "calls.bcf"
    with pysam.VariantFile(str(text)) as src, pysam.VariantFile(str(bcf), "wb", header=src.header) as dst:
        for rec in src:
            dst.write(rec)
    out = inputs.parent / "out"
    assert (
        main(
            [
                "variants",
                str(bcf),
                "--genome",
                str(inputs / "genome.fa"),
                "-m",
                str(models["dna"]),
                "-o",
                str(out / "bcf.h5"),
                "-q",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    (out / "bcf.h5").unlink()
    check_rejected(variants(models["dna"], bcf, inputs / "genome.fa", out), capsys, out, "not BCF")


def test_unsorted_bgzipped_vcf_cannot_be_exported_indexed(models, inputs: Path, capsys) -> None:
    gz = _bgzip(inputs, HEADER + good_row(50) + good_row(5))
    check_rejected(
        variants(models["dna"], gz, inputs / "genome.fa", inputs.parent / "out"),
        capsys,
        inputs.parent / "out",
        "sort the input",
    )
    assert not [p for p in inputs.iterdir() if p.name.endswith(".tbi")]
