"""seqrnn.interpret.motifs: PWM scan, motif comparison, JASPAR reading and MEME output."""

from __future__ import annotations

import numpy as np
import pytest
from Bio import motifs as bio_motifs

from seqrnn.errors import InputError
from seqrnn.interpret.motifs import (
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
