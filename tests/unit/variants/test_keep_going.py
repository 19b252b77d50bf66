"""Bad VCF records give a status and the run goes on: unknown contigs, POS past a contig end, REF == ALT;
mitochondrial aliases; the genome's own REF bases and the padded fraction; plain-gzip VCFs; negative
POS; --region named as the genome names it; the wrong-build warning; overlapping bins in track exports."""

from __future__ import annotations

import gzip
import logging
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.errors import InputError
from seqrnn.io.genome import Genome
from seqrnn.io.vcf import (
    MISMATCH,
    OK,
    OUT_OF_CONTIG,
    PADDED,
    REF_EQUALS_ALT,
    STATUSES,
    UNKNOWN_CONTIG,
    check_variant,
    read_variants,
)
from seqrnn.variants.scoring import BuildCheck, chunk_windows
from tests.unit.variants.common import CHR1, HEADER, variant

pysam = pytest.importorskip("pysam")


@pytest.fixture
def genome(tmp_path: Path) -> Genome:
    path = tmp_path / "g.fa"
    path.write_text(f">chr1\n{CHR1}\n>chrM\nACGTACGTAC\n")
    with Genome(path) as g:
        yield g


def test_new_statuses_are_listed() -> None:
    assert {UNKNOWN_CONTIG, OUT_OF_CONTIG, REF_EQUALS_ALT} <= set(STATUSES)
    assert len(set(STATUSES)) == len(STATUSES)


def test_unknown_contig_is_a_status_unless_strict(genome: Genome) -> None:
    checked = check_variant(genome, variant(5, "A", "C", chrom="chr9"), 11)
    assert checked.status == UNKNOWN_CONTIG and checked.ref_window is None
    assert checked.genome_ref == "" and math.isnan(checked.padded_fraction)
    with pytest.raises(InputError, match=r"'chr9' is not in the genome.*has chr1, chrM"):
        check_variant(genome, variant(5, "A", "C", chrom="chr9"), 11, "v.vcf", strict=True)
    assert genome.find("chr9") is None and genome.find("1") == "chr1"


def test_ambiguous_alias_stays_an_error(tmp_path: Path) -> None:
    both = tmp_path / "both.fa"
    both.write_text(">chr1\nACGT\n>1\nACGT\n>chr2\nACGT\n>Chr2\nACGT\n")
    with Genome(both) as g:
        assert g.find("chr1") == "chr1"  # exact names win over aliases
        with pytest.raises(InputError, match="matches several contigs"):
            check_variant(g, variant(1, "A", "C", chrom="2"), 3)


@pytest.mark.parametrize("name", ["MT", "M", "chrMT", "chrM", "chrm"])
def test_mitochondrial_aliases(tmp_path: Path, name: str) -> None:
    for contig in ("chrM", "MT", "M", "chrMT"):
        path = tmp_path / f"{contig}.fa"
        path.write_text(f">chr1\nACGT\n>{contig}\nACGTACGT\n")
        with Genome(path) as g:
            assert g.resolve(name) == contig, (name, contig)
    # Two mitochondrial contigs the name is no chr-prefix alias of: which one is meant is unknown.
    two = tmp_path / "two.fa"
    others = ("chrM", "M") if _strip(name) == "mt" else ("chrMT", "MT")
    two.write_text(f">{others[0]}\nACGT\n>{others[1]}\nACGT\n")
    with Genome(two) as g, pytest.raises(InputError, match="several contigs by mitochondrial"):
        g.resolve(name)


def _strip(name: str) -> str:
    return (name[3:] if name.lower().startswith("chr") else name).lower()


def test_pos_past_the_contig_end_is_out_of_contig(genome: Genome) -> None:
    assert check_variant(genome, variant(41, "A", "C"), 11).status == OUT_OF_CONTIG
    assert check_variant(genome, variant(1000, "A", "C"), 11).genome_ref == ""
    # REF starting inside but running past the end: the genome's bases there differ from REF.
    checked = check_variant(genome, variant(40, "GA", "G"), 11)
    assert checked.status == MISMATCH and checked.genome_ref == "G"


def test_ref_equal_to_alt_is_skipped(genome: Genome) -> None:
    checked = check_variant(genome, variant(5, "A", "a"), 11)
    assert checked.status == REF_EQUALS_ALT and checked.ref_window is None
    assert checked.genome_ref == "A"


def test_genome_ref_and_padded_fraction(genome: Genome) -> None:
    mismatch = check_variant(genome, variant(11, "TTT", "T"), 11)
    assert mismatch.status == MISMATCH and mismatch.genome_ref == CHR1[10:13]
    inside = check_variant(genome, variant(20, CHR1[19], "A"), 11)
    assert inside.status == OK and inside.padded_fraction == 0.0 and inside.genome_ref == CHR1[19]
    edge = check_variant(genome, variant(2, "c", "T"), 11)
    # Window of 11 centred on 0-based 1: 4 letters before the contig start.
    assert edge.status == PADDED and edge.genome_ref == "C"
    assert edge.padded_fraction == pytest.approx(4 / 11)
    assert edge.ref_window is not None and edge.ref_window.count("N") == 4


def test_chunk_windows_keeps_going_and_fills_the_columns(genome: Genome) -> None:
    chunk = [
        variant(20, CHR1[19], "C" if CHR1[19] != "C" else "A"),
        variant(5, "A", "C", chrom="chrUn"),
        variant(99, "A", "C"),
        variant(7, CHR1[6], CHR1[6]),
        variant(2, "C", "G"),
    ]
    checks = chunk_windows(genome, chunk, [11, 7], "v.vcf", "ref_mismatch")
    assert checks.statuses == [OK, UNKNOWN_CONTIG, OUT_OF_CONTIG, REF_EQUALS_ALT, PADDED]
    assert checks.genome_refs == [CHR1[19], "", "", CHR1[6], "C"]
    assert checks.padded[0] == 0 and np.isnan(checks.padded[1:4]).all()
    assert checks.padded[4] == pytest.approx(4 / 11)  # the largest over the widths (11: 4/11, 7: 2/7)
    with pytest.raises(InputError, match="'chrUn'"):
        chunk_windows(genome, chunk, [11], "v.vcf", "error")


def test_plain_gzip_vcf_is_streamed_without_region(tmp_path: Path) -> None:
    text = HEADER + "".join(f"chr1\t{p}\t.\tA\tC\t.\t.\t.\n" for p in range(1, 2001))
    gz = tmp_path / "v.vcf.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert [v.pos for v in read_variants(gz)] == list(range(1, 2001))
    with pytest.raises(InputError, match="bgzip"):
        list(read_variants(gz, "chr1:1-5"))
    # Stopping early closes the pipe and its feeder thread.
    stream = read_variants(gz)
    assert next(stream).pos == 1
    stream.close()
    damaged = tmp_path / "damaged.vcf.gz"
    damaged.write_bytes(gz.read_bytes()[:-400])  # cut inside the header's deflate block
    with pytest.raises(InputError, match="truncated or damaged gzip"):
        list(read_variants(damaged))
    rng = np.random.default_rng(0)
    rows = "".join(f"chr1\t{p}\t.\tA\t{'ACGT'[rng.integers(4)]}\t.\t.\t.\n" for p in range(1, 60_001))
    damaged.write_bytes(gzip.compress((HEADER + rows).encode())[:-2000])  # cut among the records
    with pytest.raises(InputError, match="truncated or damaged gzip file after record"):
        list(read_variants(damaged))


def test_negative_pos_is_named(tmp_path: Path) -> None:
    vcf = tmp_path / "v.vcf"
    vcf.write_text(HEADER + "chr1\t5\t.\tA\tC\t.\t.\t.\nchr1\t-5\t.\tA\tC\t.\t.\t.\n")
    with pytest.raises(InputError, match=r"record 2: POS -5 must be 1 or more"):
        list(read_variants(vcf))


def test_region_may_use_the_genome_contig_name(tmp_path: Path) -> None:
    plain = tmp_path / "v.vcf"
    plain.write_text(HEADER + "1\t5\t.\tA\tC\t.\t.\t.\n1\t30\t.\tA\tG\t.\t.\t.\nMT\t3\t.\tA\tG\t.\t.\t.\n")
    gz = tmp_path / "v.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz))
    pysam.tabix_index(str(gz), preset="vcf")
    assert [v.pos for v in read_variants(gz, "chr1:20-40")] == [30]
    assert [v.pos for v in read_variants(gz, "1:20-40")] == [30]
    assert [(v.chrom, v.pos) for v in read_variants(gz, "chrM")] == [("MT", 3)]
    with pytest.raises(InputError, match="--region"):
        list(read_variants(gz, "chr7:1-5"))


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_wrong_build_warning_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="seqrnn")
    check = BuildCheck("hg19.fa", limit=100)
    check.add([MISMATCH] * 79 + [OK] * 10 + [UNKNOWN_CONTIG] * 50)  # unknown contigs are not counted
    assert _warnings(caplog) == []  # 89 checked: not decided yet
    check.add([PADDED] * 11 + [MISMATCH] * 500)
    check.finish()
    assert _warnings(caplog) == [
        "seqrnn: warning: 79 of 100 variants (79.0%) have a REF that differs from the genome: "
        "is hg19.fa the build the VCF was called on?"
    ]
    caplog.clear()
    few = BuildCheck("g.fa", limit=100)
    few.add([OK] * 99 + [MISMATCH])
    few.finish()  # 1 of 100 is not more than 1%
    assert _warnings(caplog) == []
    small = BuildCheck("g.fa")
    small.add([OK] * 20 + [MISMATCH] * 2)
    small.finish()
    assert len(_warnings(caplog)) == 1 and "2 of 22 variants (9.1%)" in _warnings(caplog)[0]


def _track(path: Path, bins: list[tuple[str, int, int, float]], contigs: dict[str, int]) -> None:
    with h5py.File(path, "w") as f:
        f.attrs.update(
            format="seqrnn-track",
            models=np.array([b"m"]),
            contig_names=np.array(list(contigs), dtype="S"),
            contig_lengths=np.array(list(contigs.values())),
            n_bins=len(bins),
        )
        f.create_dataset("track/chrom", data=[b[0] for b in bins], dtype=h5py.string_dtype())
        f.create_dataset("track/start", data=[b[1] for b in bins])
        f.create_dataset("track/end", data=[b[2] for b in bins])
        ds = f.create_dataset("track/m/h/scores", data=[[1 - b[3], b[3]] for b in bins])
        ds.attrs["classes"] = np.array([b"0", b"1"])


def test_overlapping_bins_are_sorted_and_clipped(tmp_path: Path) -> None:
    from seqrnn.variants.tracks import export_bedgraph, export_bigwig

    # Two overlapping regions on chr1 (0-100 and 60-160 at stride 50), listed after chr2.
    bins = [
        ("chr2", 10, 60, 0.9),
        ("chr1", 60, 110, 0.3),
        ("chr1", 110, 160, 0.4),
        ("chr1", 0, 50, 0.1),
        ("chr1", 50, 100, 0.2),
        ("chr1", 70, 80, 0.5),  # inside earlier bins: left out
    ]
    track = tmp_path / "t.h5"
    _track(track, bins, {"chr1": 200, "chr2": 100})
    out = tmp_path / "t.bedgraph"
    assert export_bedgraph(track, out) == 5
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert [(c, int(s), int(e), float(v)) for c, s, e, v in rows] == [
        ("chr1", 0, 50, 0.1),
        ("chr1", 50, 100, 0.2),
        ("chr1", 100, 110, 0.3),  # clipped to start where the earlier bin ended
        ("chr1", 110, 160, 0.4),
        ("chr2", 10, 60, 0.9),
    ]
    pyBigWig = pytest.importorskip("pyBigWig")
    bw_path = tmp_path / "t.bw"
    assert export_bigwig(track, bw_path) == 5
    bw = pyBigWig.open(str(bw_path))
    try:
        assert bw.values("chr1", 75, 76)[0] == pytest.approx(0.2)
        assert bw.values("chr1", 105, 106)[0] == pytest.approx(0.3)
        assert bw.values("chr2", 20, 21)[0] == pytest.approx(0.9)
    finally:
        bw.close()
