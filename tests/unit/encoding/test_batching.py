"""Tests for seqrnn.encoding.examples: token-budget batching, padding in collate, and target encoding."""

from __future__ import annotations

import numpy as np
import pytest

from seqrnn.encoding.encoders import ProteinEncoder, SmilesEncoder
from seqrnn.encoding.examples import Example, collate, encode_record, token_budget_batches
from seqrnn.errors import InputError
from seqrnn.io.records import Record
from seqrnn.models.heads import IGNORE, ResidueClassification, SequenceClassification, SequenceRegression

SS3 = {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]}


def ss3_head() -> ResidueClassification:
    return ResidueClassification(SS3, 8, 0, 0.0)


def check_batches(batches: list[np.ndarray], lengths: np.ndarray, max_tokens: int, max_batch: int) -> None:
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(lengths.size))  # every index exactly once
    for b in batches:
        assert 1 <= b.size <= max_batch
        padded = int(lengths[b].max()) * b.size
        if padded > max_tokens:
            assert b.size == 1 and lengths[b[0]] > max_tokens


# --------------------------------------------------------------------------------------------------------
# token_budget_batches


@pytest.mark.parametrize("seed", [None, 0, 1])
@pytest.mark.parametrize(("max_tokens", "max_batch"), [(100, 8), (1000, 4), (50, 100), (1, 3)])
def test_batches_cover_and_respect_budget(seed: int | None, max_tokens: int, max_batch: int) -> None:
    lengths = np.random.default_rng(3).integers(1, 120, size=97)
    rng = None if seed is None else np.random.default_rng(seed)
    batches = token_budget_batches(lengths, max_tokens, max_batch, rng)
    check_batches(batches, lengths, max_tokens, max_batch)


def test_overlong_sequence_gets_its_own_batch() -> None:
    lengths = np.array([10, 500, 10, 10, 300, 10])
    for rng in (None, np.random.default_rng(0)):
        batches = token_budget_batches(lengths, 100, 16, rng)
        check_batches(batches, lengths, 100, 16)
        alone = [b.tolist() for b in batches if b.size == 1]
        assert [1] in alone and [4] in alone
        assert len(batches) == 3  # the four short ones fit together


def test_batches_without_rng_are_sorted_by_length() -> None:
    lengths = np.array([5, 50, 20, 40, 10, 30])
    batches = token_budget_batches(lengths, 100, 2)
    assert [b.tolist() for b in batches] == [[1, 3], [5, 2], [4, 0]]


def test_batches_deterministic_per_seed() -> None:
    lengths = np.random.default_rng(5).integers(5, 200, size=300)

    def run(seed: int) -> list[list[int]]:
        return [b.tolist() for b in token_budget_batches(lengths, 800, 32, np.random.default_rng(seed))]

    assert run(11) == run(11)
    assert run(11) != run(12)


@pytest.mark.parametrize("seed", [None, 0])
@pytest.mark.parametrize(("max_tokens", "max_batch"), [(16000, 512), (3000, 64), (900, 100)])
def test_row_multiple_gives_multiples_within_the_budget(
    seed: int | None, max_tokens: int, max_batch: int
) -> None:
    lengths = np.random.default_rng(4).integers(20, 700, size=2000)
    rng = None if seed is None else np.random.default_rng(seed)
    batches = token_budget_batches(lengths, max_tokens, max_batch, rng, row_multiple=8, multiple_above=24)
    check_batches(batches, lengths, max_tokens, max_batch)
    assert all(b.size <= 24 or b.size % 8 == 0 for b in batches)
    assert any(8 < b.size <= 24 and b.size % 8 for b in batches)  # left as they were
    plain = token_budget_batches(lengths, max_tokens, max_batch)
    assert any(b.size > 24 and b.size % 8 for b in plain)  # the case the option exists for


def test_batches_empty_input() -> None:
    assert token_budget_batches(np.array([], dtype=np.int64), 100, 8) == []


# --------------------------------------------------------------------------------------------------------
# collate


def test_collate_pads_tokens_and_residue_targets() -> None:
    head = ss3_head()
    examples = [
        Example(4, "a", np.array([3, 4, 5], dtype=np.int16), {"ss3": np.array([0, 1, 2])}),
        Example(9, "b", np.array([7], dtype=np.int16), {"ss3": np.array([IGNORE])}),
        Example(2, "c", np.array([1, 2, 3, 4, 5], dtype=np.int16), {"ss3": np.array([2, 2, 1, 0, 0])}),
    ]
    batch = collate(examples, [head])
    assert batch.tokens.tolist() == [[3, 4, 5, 0, 0], [7, 0, 0, 0, 0], [1, 2, 3, 4, 5]]
    assert batch.lengths.tolist() == [3, 1, 5]
    assert batch.positions.tolist() == [4, 9, 2]
    assert batch.targets["ss3"].tolist() == [
        [0, 1, 2, IGNORE, IGNORE],
        [IGNORE] * 5,
        [2, 2, 1, 0, 0],
    ]


def test_collate_sequence_targets() -> None:
    head = SequenceClassification(
        {"name": "y", "kind": "sequence_classification", "columns": ["y"], "classes": ["0", "1"]}, 8, 0, 0.0
    )
    examples = [
        Example(0, "a", np.array([1, 2], dtype=np.int16), {"y": np.array(1)}),
        Example(1, "b", np.array([3], dtype=np.int16), {"y": np.array(IGNORE)}),
    ]
    batch = collate(examples, [head])
    assert batch.targets["y"].tolist() == [1, IGNORE]


# --------------------------------------------------------------------------------------------------------
# encode_record


def protein_record(**fields: str) -> Record:
    return Record(id="p1", text=fields.pop("seq"), index=3, source="in.csv", fields=fields)


def test_encode_record_without_heads() -> None:
    ex = encode_record(protein_record(seq="M K V"), ProteinEncoder())
    assert ex.index == 3 and ex.id == "p1"
    assert ProteinEncoder().decode(ex.tokens) == "MKV"
    assert ex.targets == {}


def test_encode_record_residue_head_with_mask() -> None:
    rec = protein_record(seq="M K V L", dssp3="C H E X", disorder="0 1 1 1")
    ex = encode_record(rec, ProteinEncoder(), [ss3_head()], mask_columns=["disorder"])
    # M masked by disorder=0; X is not a class -> IGNORE.
    assert ex.targets["ss3"].tolist() == [IGNORE, 0, 1, IGNORE]


def test_encode_record_labels_follow_dropped_characters() -> None:
    rec = protein_record(seq="M-KV*", dssp3="CHHEC", disorder="11101")
    ex = encode_record(rec, ProteinEncoder(), [ss3_head()], mask_columns=["disorder"])
    # '-' and the trailing '*' are dropped together with their labels; V is masked.
    assert ProteinEncoder().decode(ex.tokens) == "MKV"
    assert ex.targets["ss3"].tolist() == [2, 0, IGNORE]


def test_encode_record_label_length_mismatch_names_record() -> None:
    rec = protein_record(seq="M K V", dssp3="C H")
    with pytest.raises(InputError, match="2 labels for 3 residues") as info:
        encode_record(rec, ProteinEncoder(), [ss3_head()])
    assert info.value.record == "p1"
    assert "record p1" in str(info.value)


def test_encode_record_mask_length_mismatch() -> None:
    rec = protein_record(seq="MKV", dssp3="CHH", disorder="1 1")
    with pytest.raises(InputError, match="disorder") as info:
        encode_record(rec, ProteinEncoder(), [ss3_head()], mask_columns=["disorder"])
    assert info.value.record == "p1"


def test_encode_record_missing_label_column() -> None:
    rec = protein_record(seq="MKV")
    with pytest.raises(InputError, match="no label column 'dssp3") as info:
        encode_record(rec, ProteinEncoder(), [ss3_head()])
    assert info.value.record == "p1"


def test_encode_record_missing_label_column_message_intact() -> None:
    rec = protein_record(seq="MKV")
    with pytest.raises(InputError) as info:
        encode_record(rec, ProteinEncoder(), [ss3_head()])
    assert info.value.reason == "no label column 'dssp3'"


def test_encode_record_bad_sequence_names_record() -> None:
    rec = protein_record(seq="MK1V")
    with pytest.raises(InputError, match="position 3") as info:
        encode_record(rec, ProteinEncoder())
    assert info.value.record == "p1" and info.value.source == "in.csv"


def test_encode_record_sequence_regression() -> None:
    head = SequenceRegression(
        {"name": "logs", "kind": "sequence_regression", "columns": ["logs", "mw"], "classes": ["logs", "mw"]},
        8,
        0,
        0.0,
    )
    rec = Record(id="m1", text="CCO", index=0, source="in.csv", fields={"logs": " -1.5", "mw": "NA"})
    ex = encode_record(rec, SmilesEncoder.fit(["CCO"]), [head])
    assert ex.targets["logs"][0] == pytest.approx(-1.5)
    assert np.isnan(ex.targets["logs"][1])
