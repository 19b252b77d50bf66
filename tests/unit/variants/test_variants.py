"""seqrnn.io.vcf: reading VCFs (multi-allelic split), genome windows (centring, N padding, indel
re-centring), chr aliases, REF checks; seqrnn.variants.scoring: widths and labels; the io layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqrnn.errors import InputError
from seqrnn.io.genome import Genome
from seqrnn.io.vcf import (
    LONG,
    MISMATCH,
    OK,
    PADDED,
    SYMBOLIC,
    allele_window,
    classify,
    read_variants,
    variant_windows,
)
from seqrnn.variants.exports import info_name
from seqrnn.variants.scoring import _logit, trained_width
from tests.unit.variants.common import CHR1, HEADER, variant

pytest.importorskip("pysam")


@pytest.fixture
def genome(tmp_path: Path) -> Genome:
    path = tmp_path / "g.fa"
    path.write_text(f">chr1\n{CHR1[:25]}\n{CHR1[25:]}\n>chr2\nacgtnacgtn\n")
    with Genome(path) as g:
        yield g


def test_snv_window_is_centred(genome: Genome) -> None:
    status, ref, alt = variant_windows(genome, variant(20, CHR1[19], "A"), 11)
    assert status == OK
    assert ref == CHR1[14:25] and ref[5] == CHR1[19]
    assert alt == CHR1[14:19] + "A" + CHR1[20:25]


def test_windows_past_contig_ends_are_padded_with_n(genome: Genome) -> None:
    status, ref, alt = variant_windows(genome, variant(2, "C", "T"), 11)
    assert status == PADDED
    assert ref == "NNNN" + CHR1[:7] and alt == "NNNNA" + "T" + CHR1[2:7]
    status, ref, _ = variant_windows(genome, variant(40, "G", "T"), 11)
    assert status == PADDED and ref == CHR1[34:40] + "NNNNN"
    assert genome.fetch("chr1", -3, 2) == ("NNNAC", True)
    assert genome.fetch("chr2", 0, 4) == ("ACGT", False)  # upper case


def test_indel_windows_are_recentred_on_each_allele(genome: Genome) -> None:
    # Deletion of GGG after T (0-based 9..12: C GGG): REF CGGG, ALT C.
    pos = 10
    ref_allele = CHR1[pos - 1 : pos + 3]
    status, ref, alt = variant_windows(genome, variant(pos, ref_allele, ref_allele[0]), 11)
    assert status == OK and len(ref) == len(alt) == 11
    # REF (4 letters) centred: left flank (11-4)//2 = 3, right flank 4.
    assert ref == CHR1[pos - 4 : pos - 1] + ref_allele + CHR1[pos + 3 : pos + 7]
    # ALT (1 letter) centred: left flank 5, right flank 5, after the deleted bases.
    assert alt == CHR1[pos - 6 : pos - 1] + ref_allele[0] + CHR1[pos + 3 : pos + 8]
    # Insertion: REF T, ALT TAAA.
    status, ref, alt = variant_windows(genome, variant(16, CHR1[15], CHR1[15] + "AAA"), 11)
    assert status == OK and ref[5] == CHR1[15] and alt[3:7] == CHR1[15] + "AAA"
    assert alt == CHR1[12:15] + CHR1[15] + "AAA" + CHR1[16:20]


def test_swapping_alleles_swaps_windows(genome: Genome, tmp_path: Path) -> None:
    """On a genome carrying the ALT allele, the swapped variant's windows are the original's, swapped."""
    pos, ref_allele = 10, CHR1[9:13]
    assert allele_window(genome, "chr1", 9, 4, ref_allele, 11) == (CHR1[6:17], False)
    carried = CHR1[:9] + "C" + CHR1[13:]
    path = tmp_path / "alt.fa"
    path.write_text(f">chr1\n{carried}\n")
    with Genome(path) as other:
        s1, r1, a1 = variant_windows(genome, variant(pos, ref_allele, "C"), 11)
        s2, r2, a2 = variant_windows(other, variant(pos, "C", ref_allele), 11)
    assert s1 == s2 == OK
    assert (r1, a1) == (a2, r2)


def test_ref_mismatch_is_case_insensitive_and_reported(genome: Genome) -> None:
    assert variant_windows(genome, variant(1, "a", "T"), 11)[0] == PADDED
    assert variant_windows(genome, variant(1, "G", "T"), 11) == (MISMATCH, None, None)
    assert variant_windows(genome, variant(3, "n", "A", chrom="chr2"), 5)[0] == MISMATCH  # genome G


@pytest.mark.parametrize(
    ("ref", "alt", "status"),
    [
        ("A", "C", None),
        ("A", "<DEL>", SYMBOLIC),
        ("A", "*", SYMBOLIC),
        ("A", ".", SYMBOLIC),
        ("A", "A[chr2:5[", SYMBOLIC),
        ("A", "]chr2:5]A", SYMBOLIC),
        ("A", "A" * 51, LONG),
        ("A", "R", "skipped:invalid_allele"),
    ],
)
def test_allele_kinds(ref: str, alt: str, status: str | None) -> None:
    assert classify(ref, alt) == status


def test_alleles_longer_than_the_window_are_skipped(genome: Genome) -> None:
    assert variant_windows(genome, variant(5, "A", "ACGTACGTACGT"), 11)[0] == LONG


def test_chr_aliases(tmp_path: Path, genome: Genome) -> None:
    assert genome.resolve("1") == "chr1"
    assert genome.resolve("chr2") == "chr2"
    assert genome.aliases == {"1": "chr1"}
    bare = tmp_path / "bare.fa"
    bare.write_text(">1\nACGT\n>X\nACGT\n")
    with Genome(bare) as g:
        assert g.resolve("chrX") == "X"
        with pytest.raises(InputError, match=r"'chr7' is not in the genome.*has 1, X"):
            g.resolve("chr7", "v.vcf", 3)
    both = tmp_path / "both.fa"
    both.write_text(">chr1\nACGT\n>Chr1\nACGT\n")
    with Genome(both) as g, pytest.raises(InputError, match="matches several contigs"):
        g.resolve("1")


def test_multi_allelic_records_are_split_in_order(tmp_path: Path) -> None:
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        HEADER
        + "chr1\t5\trs1\tA\tC,G,<DEL>\t.\t.\t.\nchr1\t9\t.\tAC\tA\t.\t.\t.\nchr1\t12\t.\tA\t.\t.\t.\t.\n"
    )
    found = list(read_variants(vcf))
    assert [(v.index, v.record, v.allele, v.alt) for v in found] == [
        (0, 0, 1, "C"),
        (1, 0, 2, "G"),
        (2, 0, 3, "<DEL>"),
        (3, 1, 1, "A"),
        (4, 2, 1, "."),
    ]
    assert found[0].id == "rs1" and found[3].id == "." and found[3].pos == 9


def test_bgzipped_vcf_with_region(tmp_path: Path) -> None:
    import pysam

    plain = tmp_path / "v.vcf"
    plain.write_text(
        HEADER.replace("#CHROM", "##contig=<ID=chr1>\n#CHROM")
        + "chr1\t5\t.\tA\tC\t.\t.\t.\nchr1\t30\t.\tA\tG\t.\t.\t.\n"
    )
    gz = tmp_path / "v.vcf.gz"
    pysam.tabix_compress(str(plain), str(gz))
    pysam.tabix_index(str(gz), preset="vcf")
    assert [v.pos for v in read_variants(gz)] == [5, 30]
    assert [v.pos for v in read_variants(gz, "chr1:20-40")] == [30]
    with pytest.raises(InputError, match="needs an index"):
        list(read_variants(plain, "chr1:20-40"))


def test_trained_width_and_logit() -> None:
    class B:
        def __init__(self, data: dict) -> None:
            self.metadata = {"data": data}

    assert trained_width(B({"lengths": [90, 101]})) == 101  # type: ignore[arg-type]
    assert trained_width(B({}), 77) == 77  # type: ignore[arg-type]
    p = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(_logit(p), [np.log(1e-6 / (1 - 1e-6)), 0.0, np.log((1 - 1e-6) / 1e-6)])


def test_info_names_are_legal() -> None:
    assert info_name("tf-USF1", "bound", "1", "DIFF") == "SEQRNN_TF_USF1_BOUND_1_DIFF"


def test_worked_example_has_every_kind(tmp_path: Path) -> None:
    from collections import Counter

    from seqrnn.variants.example import write_example

    paths = write_example(tmp_path / "ex")
    with Genome(paths["genome"]) as g:
        statuses = Counter(variant_windows(g, v, 60)[0] for v in read_variants(paths["vcf"]))
    assert statuses == {OK: 28, PADDED: 1, MISMATCH: 1, SYMBOLIC: 2}


def test_identical_windows_are_scored_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A multi-allelic record's REF window is the same for each ALT: it goes through the model once,
    and every copy gets its scores."""
    import seqrnn.variants.scoring as scoring
    from seqrnn.inference.engine import BatchRunner, PredictOptions
    from seqrnn.models.zoo import load_named

    model = scoring.scoring_models([("tf-USF1", load_named(["tf-USF1"], torch.device("cpu"), False))], 21)[0]
    seen: list[int] = []
    real = scoring.start_window

    def counting(bundle, examples, *args, **kwargs):
        seen.append(len(examples))
        return real(bundle, examples, *args, **kwargs)

    monkeypatch.setattr(scoring, "start_window", counting)
    ref, alts = "ACGTACGTACGTACGTACGTA", ["ACGTACGTAAGTACGTACGTA", "ACGTACGTAGGTACGTACGTA"]
    texts = [ref, alts[0], ref, alts[1]]
    with BatchRunner(0, torch.device("cpu")) as runner:
        got = scoring.score_windows(model, texts, PredictOptions(), torch.device("cpu"), runner)
        alone = scoring.score_windows(model, [ref, *alts], PredictOptions(), torch.device("cpu"), runner)
    assert seen == [3, 3]
    for head, values in got.items():
        np.testing.assert_array_equal(values, alone[head][[0, 1, 0, 2]])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_pairs_path_equals_the_window_path(monkeypatch: pytest.MonkeyPatch, precision: str) -> None:
    """SNVs, a multi-allelic record and an indel, both strands: REF/ALT scored as pairs (each REF once,
    each ALT from its REF's state) equal every distinct window predicted on its own."""
    import seqrnn.variants.scoring as scoring
    from seqrnn.core.runtime import resolve_precision
    from seqrnn.inference.engine import BatchRunner, PredictOptions
    from seqrnn.models.zoo import load_named

    if precision == "bf16" and resolve_precision("auto", torch.device("cpu")) != "bf16":
        pytest.skip("this CPU has no native bf16")
    model = scoring.scoring_models([("tf-USF1", load_named(["tf-USF1"], torch.device("cpu"), False))], 101)[0]
    rng = np.random.default_rng(0)
    refs = ["".join(rng.choice(list("ACGT"), 101)) for _ in range(3)]
    snv = [r[:50] + ("A" if r[50] != "A" else "C") + r[51:] for r in refs]
    pairs = [(refs[0], snv[0]), (refs[1], snv[1]), (refs[1], refs[1][:50] + "N" + refs[1][51:])]
    pairs.append((refs[2], refs[2][:48] + refs[2][52:] + "ACGT"))  # an indel's ALT window, recentred
    pairs.append((refs[2], snv[2]))
    options = PredictOptions(precision=precision)
    taken: list[int] = []
    real = scoring.pair_scores

    def watching(*args, **kwargs):
        got = real(*args, **kwargs)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(scoring, "pair_scores", watching)
    with BatchRunner(0, torch.device("cpu")) as runner:
        paired = scoring.score_pairs(model, pairs, options, torch.device("cpu"), runner)
        texts = [t for p in pairs for t in p]
        alone = scoring.score_windows(model, texts, options, torch.device("cpu"), runner)
    assert taken == [True]
    tolerance = 1e-6 if precision == "fp32" else 2e-2
    for head in model.heads:
        np.testing.assert_allclose(paired[f"{head}/ref"], alone[head][0::2], rtol=0, atol=tolerance)
        np.testing.assert_allclose(paired[f"{head}/alt"], alone[head][1::2], rtol=0, atol=tolerance)
