"""seqrnn.training.negatives: dinucleotide shuffle and shuffled negatives."""

from __future__ import annotations

import collections
import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqrnn.io.records import Record
from seqrnn.training.negatives import dinucleotide_shuffle, shuffled_negatives


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
