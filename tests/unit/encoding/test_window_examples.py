"""Genome windows encoded in one pass give the examples prepare_example gives one by one."""

from __future__ import annotations

import numpy as np
import pytest

from seqrnn.encoding.augment import build_augmentation
from seqrnn.encoding.encoders import build_encoder
from seqrnn.encoding.examples import NO_VIEWS, prepare_example, window_examples
from seqrnn.errors import InputError
from seqrnn.io.records import Record

DNA = build_encoder("dna")
BOTH_STRANDS = (build_augmentation("reverse_complement"), 2)


def _one_by_one(texts: list[str], views) -> list:  # type: ignore[no-untyped-def]
    return [prepare_example(Record(str(i), t, i, "w"), DNA, views=views) for i, t in enumerate(texts)]


def _same(fast: list, slow: list) -> None:  # type: ignore[type-arg]
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow, strict=True):
        assert (a.index, a.id, a.masked) == (b.index, b.id, b.masked)
        assert a.tokens.dtype == b.tokens.dtype == np.int16 and np.array_equal(a.tokens, b.tokens)
        assert [v.tolist() for v in a.views or []] == [v.tolist() for v in b.views or []]


@pytest.mark.parametrize("views", [NO_VIEWS, BOTH_STRANDS], ids=["one strand", "both strands"])
def test_windows_of_every_letter_match_prepare_example(views) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    letters = list("ACGTNRYSWKMBDHVUacgtnrys")  # IUPAC codes, U, soft-masked (lower case) bases
    texts = ["".join(rng.choice(letters, size=101)) for _ in range(200)]
    _same(window_examples(texts, DNA, views), _one_by_one(texts, views))


def test_uneven_widths_and_bad_letters_fall_back_to_one_by_one() -> None:
    texts = ["ACGT", "ACGTA"]
    _same(window_examples(texts, DNA, BOTH_STRANDS), _one_by_one(texts, BOTH_STRANDS))
    with pytest.raises(InputError, match="not in the dna alphabet"):
        window_examples(["ACGT", "AC*T"], DNA, BOTH_STRANDS)
