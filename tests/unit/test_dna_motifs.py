"""DNA helpers and motifs: dinucleotide shuffle, shuffled negatives, PWM scan, comparison, MEME output."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest
from Bio import motifs as bio_motifs
from hypothesis import given, settings
from hypothesis import strategies as st

from seqrnn.data.dna import dinucleotide_shuffle, shuffled_negatives
from seqrnn.data.records import Record
from seqrnn.errors import InputError
from seqrnn.motifs import (
    PFM,
    best_matches,
    compare,
    evaluate_pwm,
    find_motif,
    load_jaspar,
    pwm_scan_scores,
    to_pfm,
    write_meme,
)

JASPAR_TEXT = """>MA9001.1 TOY1
A [ 0 20 0 0 20 0 ]
C [ 20 0 0 0 0 0 ]
G [ 0 0 20 0 0 0 ]
T [ 0 0 0 20 0 20 ]
>MA9002.1 POLYA
A [ 20 20 20 20 20 ]
C [ 0 0 0 0 0 ]
G [ 0 0 0 0 0 ]
T [ 0 0 0 0 0 ]
"""


def dinucleotides(s: str) -> collections.Counter:
    return collections.Counter(itertools.pairwise(s))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ACGTN", min_size=0, max_size=120), st.integers(0, 2**32 - 1))
def test_shuffle_keeps_every_dinucleotide_count(seq: str, seed: int) -> None:
    out = dinucleotide_shuffle(seq, np.random.default_rng(seed))
    assert len(out) == len(seq)
    assert dinucleotides(out) == dinucleotides(seq)
    if seq:
        assert out[0] == seq[0] and out[-1] == seq[-1]


def test_shuffle_is_seeded_and_varied() -> None:
    seq = "ACGTTGCAACGGGTTTACGATCGATCGNACGTAGCTAGCATCGATCGATCGACTAGCTAGCAT"
    a = dinucleotide_shuffle(seq, np.random.default_rng(7))
    assert a == dinucleotide_shuffle(seq, np.random.default_rng(7))
    outs = {dinucleotide_shuffle(seq, np.random.default_rng(s)) for s in range(50)}
    assert len(outs) > 45  # many distinct shuffles, not a fixed permutation


def test_shuffled_negatives_skip_existing_negatives_and_do_not_depend_on_neighbours() -> None:
    recs = [
        Record("p1", "ACGTACGTTTGACA", 0, "f", {"Bound": "1", "FoldID": "A"}),
        Record("n1", "ACGTACGTTTGACA", 1, "f", {"Bound": "0"}),
        Record("p2", "GGGCCCATATCGCG", 2, "f", {"Bound": "1"}),
    ]
    neg = shuffled_negatives(recs, ["Bound"], "0", seed=3, start_index=10)
    assert [r.id for r in neg] == ["p1_shuf", "p2_shuf"]
    assert [r.index for r in neg] == [10, 11]
    assert all(r.fields["Bound"] == "0" for r in neg) and neg[0].fields["FoldID"] == "A"
    alone = shuffled_negatives(recs[2:], ["Bound"], "0", seed=3, start_index=0)
    assert alone[0].text == neg[1].text  # seeded by the record's own index


@pytest.fixture
def jaspar_file(tmp_path):
    path = tmp_path / "toy.jaspar"
    path.write_text(JASPAR_TEXT)
    return path


def test_pwm_scan_finds_both_strands_and_ignores_n(jaspar_file) -> None:
    found = load_jaspar(jaspar_file)
    toy = find_motif(found, "toy1")
    assert find_motif(found, "MA9001").matrix_id == "MA9001.1"
    with pytest.raises(InputError, match="no motif"):
        find_motif(found, "USF1")
    # CAGTAT and its reverse complement ATACTG both contain the full site
    scores = pwm_scan_scores(toy, ["GGGGCAGTATGGGG", "GGGATACTGGGGG", "GGGGGGGGGGGGG", "NNNNNNNN", "CAG"])
    assert scores[0] == pytest.approx(scores[1]) and scores[0] > 5
    assert scores[2] < 0 and scores[3] < scores[2] and scores[4] == -np.inf
    metrics = evaluate_pwm(
        toy, ["GGCAGTATGG", "GGGGGGGGGG", "TTATACTGCC", "CCCCCCCCCC"], ["1", "0", "1", "0"]
    )
    assert metrics["auroc"] == 1.0 and metrics["n"] == 4


def test_bad_jaspar_file(tmp_path) -> None:
    bad = tmp_path / "bad.jaspar"
    bad.write_text("not a motif\n")
    with pytest.raises(InputError):
        load_jaspar(bad)
    with pytest.raises(InputError, match="cannot read"):
        load_jaspar(tmp_path / "missing.jaspar")


def test_compare_identity_strand_and_ranking(jaspar_file) -> None:
    db = [to_pfm(m) for m in load_jaspar(jaspar_file)]
    toy = db[0]
    assert compare(toy, toy)[0] == pytest.approx(1.0)
    score, _offset, strand = compare(toy, toy.reverse_complement())
    assert score == pytest.approx(1.0) and strand == "-"
    noisy = PFM("q", np.vstack([np.full((2, 4), 0.25), toy.probs * 0.9 + 0.025]), 30)
    assert best_matches(noisy, db, 2)[0].name == "TOY1"
    assert compare(noisy, db[1])[0] < 0.5


def test_meme_output_reads_back(tmp_path, jaspar_file) -> None:
    db = [to_pfm(m) for m in load_jaspar(jaspar_file)]
    path = tmp_path / "m.meme"
    write_meme(db, path)
    with open(path) as fh:
        back = list(bio_motifs.parse(fh, "minimal"))
    assert [m.name for m in back] == ["TOY1", "POLYA"]
    assert back[0].consensus == "CAGTAT"
    np.testing.assert_allclose(np.array([back[0].counts[b] for b in "ACGT"]).T, db[0].probs * 20, atol=1e-3)
