"""``seqrnn variants --saturation BED``: every possible SNV of the regions (in-silico saturation
mutagenesis), scored exactly as the same SNVs given in a VCF; N bases give none; mistakes are one line."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from seqrnn.io.genome import Genome
from seqrnn.io.saturation import saturation_variants

pysam = pytest.importorskip("pysam")

RNG = np.random.default_rng(11)
CHR1 = "".join(RNG.choice(list("ACGT"), 400))
CHR2 = "".join(RNG.choice(list("ACGT"), 50)) + "NNNN" + "".join(RNG.choice(list("ACGT"), 46))


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    return path


def test_every_snv_of_each_interval_in_order(genome: Path, tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nchr1\t10\t14\tfirst\nchr2\t48\t56\n")  # chr2 48-56 holds NNNN at 50-53
    with Genome(genome) as g:
        got = list(saturation_variants(bed, g))
    positions = [11, 12, 13, 14, 49, 50, 55, 56]  # 1-based; chr2 51-54 are N
    assert [v.pos for v in got[::3]] == positions
    assert [v.index for v in got] == list(range(3 * len(positions)))
    assert [v.record for v in got[::3]] == list(range(len(positions)))
    for v in got:
        seq = CHR1 if v.chrom == "chr1" else CHR2
        assert v.ref == seq[v.pos - 1] and v.alt != v.ref and v.alt in "ACGT"
    assert [v.alt for v in got[:3]] == [b for b in "ACGT" if b != CHR1[10]]
    assert [v.allele for v in got[:3]] == [1, 2, 3]


def test_saturation_scores_equal_the_same_snvs_from_a_vcf(
    two_strand_dna_model: Path, genome: Path, tmp_path: Path
) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t200\t210\n")
    sat = tmp_path / "sat.h5"
    args = ["--genome", str(genome), "-m", str(two_strand_dna_model), "--threads", "1", "-q"]
    assert main(["variants", "--saturation", str(bed), "-o", str(sat), "--export", "tsv", *args]) == 0
    rows = []
    for pos in range(201, 211):
        ref = CHR1[pos - 1]
        rows.append(f"chr1\t{pos}\t.\t{ref}\t{','.join(b for b in 'ACGT' if b != ref)}\t.\t.\t.")
    vcf = tmp_path / "same.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(rows) + "\n"
    )
    same = tmp_path / "same.h5"
    assert main(["variants", str(vcf), "-o", str(same), *args]) == 0
    with h5py.File(sat) as a, h5py.File(same) as b:
        assert a.attrs["input_kind"] == "saturation" and b.attrs["input_kind"] == "vcf"
        assert a["variants/pos"].shape == (30,)
        for key in ("variants/pos", "variants/alt", "variants/status"):
            assert a[key][:].tolist() == b[key][:].tolist()
        scores: list[str] = []
        a.visititems(
            lambda name, obj: (
                scores.append(name)
                if name.count("/") == 3 and name.endswith(("/ref", "/alt", "/diff"))
                else None
            )
        )
        assert len(scores) == 3  # one model, one head: ref, alt, diff (log_odds_diff follows from them)
        for key in scores:
            np.testing.assert_array_equal(a[key][:], b[key][:])
    assert len((tmp_path / "sat.tsv").read_text().splitlines()) > 30


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give a VCF or --saturation BED"),
        (["VCF"], "give a VCF or --saturation BED"),
        (["--saturation", "BED", "--export", "vcf"], "--export vcf annotates an input VCF"),
        (["--saturation", "BED", "--region", "chr1:1-5"], "--region selects VCF records"),
    ],
)
def test_usage_mistakes_are_one_line(
    extra: list[str], message: str, genome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t1\t5\n")
    vcf = tmp_path / "c.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    if extra == ["VCF"]:
        extra = [str(vcf), "--saturation", str(bed)]
    extra = [str(bed) if a == "BED" else a for a in extra]
    code = main(["variants", *extra, "--genome", str(genome), "-m", "tf-USF1", "-o", str(tmp_path / "o.h5")])
    assert code == 2
    assert message in capsys.readouterr().err


def test_an_interval_outside_its_chromosome_names_the_bed_line(
    genome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t10\t20\nchr2\t90\t120\n")
    out = tmp_path / "o.h5"
    code = main(
        ["variants", "--saturation", str(bed), "--genome", str(genome), "-m", "tf-USF1", "-o", str(out), "-q"]
    )
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2" in err[0] and "outside the chromosome" in err[0]
    assert not out.exists()
