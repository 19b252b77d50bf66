"""Tests for seqrnn.encoding.encoders: the protein/DNA letter policies, the SMILES tokenizer and config round trips."""

from __future__ import annotations

import numpy as np
import pytest
from Bio.Seq import reverse_complement

from seqrnn.encoding.encoders import (
    PAD,
    UNK,
    DNAEncoder,
    Encoder,
    EncodingError,
    ProteinEncoder,
    SmilesEncoder,
    build_encoder,
    tokenize_smiles,
)


def decoded(encoder: Encoder, text: str) -> str:
    tokens, _ = encoder.encode(text)
    return encoder.decode(tokens)


@pytest.mark.parametrize("encoder", [ProteinEncoder(), DNAEncoder()], ids=["protein", "dna"])
def test_table_decode_equals_the_token_by_token_decode(encoder: Encoder) -> None:
    rng = np.random.default_rng(0)
    for tokens in (
        rng.integers(1, encoder.vocab_size, size=500),
        np.array([0, 1, 2, 0]),  # padding decodes to <pad>, as the generic decode writes it
        np.array([], dtype=np.int64),
        [1, 2, 3],  # any iterable of ints
    ):
        assert encoder.decode(tokens) == Encoder.decode(encoder, tokens)
    with pytest.raises(IndexError):
        encoder.decode(np.array([encoder.vocab_size]))


# --------------------------------------------------------------------------------------------------------
# protein


@pytest.fixture()
def protein() -> ProteinEncoder:
    return ProteinEncoder()


def test_protein_standard_residues_round_trip(protein: ProteinEncoder) -> None:
    text = "ACDEFGHIKLMNPQRSTVWYX"
    tokens, keep = protein.encode(text)
    assert tokens.dtype == np.int64
    assert tokens.min() >= 1 and tokens.max() < protein.vocab_size
    assert protein.decode(tokens) == text
    assert keep.all() and keep.size == len(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("B", "X"), ("Z", "X"), ("J", "X"), ("U", "C"), ("O", "K"), ("MBZJUO", "MXXXCK")],
)
def test_protein_aliases(protein: ProteinEncoder, raw: str, expected: str) -> None:
    assert decoded(protein, raw) == expected


def test_protein_internal_stop_is_x_and_trailing_stop_dropped(protein: ProteinEncoder) -> None:
    tokens, keep = protein.encode("MK*LV*")
    assert protein.decode(tokens) == "MKXLV"
    np.testing.assert_array_equal(keep, [True, True, True, True, True, False])


def test_protein_trailing_stop_before_whitespace(protein: ProteinEncoder) -> None:
    tokens, keep = protein.encode("MKV*\n")
    assert protein.decode(tokens) == "MKV"
    assert keep.size == 5
    np.testing.assert_array_equal(keep, [True, True, True, False, False])


def test_protein_gaps_dropped_and_keep_mask(protein: ProteinEncoder) -> None:
    tokens, keep = protein.encode("A-C.D--E")
    assert protein.decode(tokens) == "ACDE"
    np.testing.assert_array_equal(keep, [True, False, True, False, True, False, False, True])
    assert int(keep.sum()) == tokens.size


def test_protein_lowercase_equals_uppercase(protein: ProteinEncoder) -> None:
    upper, _ = protein.encode("MKVLAAGBZUO")
    lower, _ = protein.encode("mkvlaagbzuo")
    np.testing.assert_array_equal(upper, lower)


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [("ACD1EF", "1", 4), ("AC@D", "@", 3), ("MKé", "é", 3), ("A#", "#", 2)],
)
def test_protein_invalid_characters_named_with_position(
    protein: ProteinEncoder, text: str, char: str, position: int
) -> None:
    with pytest.raises(EncodingError) as info:
        protein.encode(text)
    message = str(info.value)
    assert repr(char) in message
    assert f"position {position}" in message


@pytest.mark.parametrize("text", ["", "---", "..", "*", "  \n"])
def test_protein_empty_raises(protein: ProteinEncoder, text: str) -> None:
    with pytest.raises(EncodingError, match="empty"):
        protein.encode(text)


def test_protein_never_produces_padding(protein: ProteinEncoder) -> None:
    tokens, _ = protein.encode("X" * 5 + "acdefghiklmnpqrstvwy")
    assert (tokens != 0).all()


@pytest.mark.parametrize(
    "text",
    [
        "GAGAGAGTTT",  # a real short peptide: all ACGTUN letters, but shorter than 20 residues
        "ACGTACGTACGTACGTACG",  # 19 nucleotide letters: still below the length threshold
        "AG" * 10 + "MKLWFYIPQE" * 2,  # 40 residues, 50% A/G
        "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ",  # ordinary protein
        "ACGTACGTACGTACGTAC" + "MKLWE",  # 23 residues, 78% ACGTUN: below 90%
    ],
)
def test_protein_nucleotide_guard_accepts_proteins(protein: ProteinEncoder, text: str) -> None:
    tokens, _ = protein.encode(text)
    assert tokens.size == len(text)


@pytest.mark.parametrize(
    ("text", "percent"),
    [
        ("ATGGCGTACGTTAGCCGATACGATCGGACT", "100%"),  # 30 nt
        ("acgtnacgtnacgtnacgtu", "100%"),  # 20 letters, lower case, N and U count as nucleotides
        ("ATGGCGTACG-TTAGCC GATACG\nATCGGACT*", "100%"),  # gaps, whitespace and a trailing * are not counted
        ("ATGGCGTACGTTAGCCGATACGATCGGACTEL", "94%"),  # 30 of 32
    ],
)
def test_protein_nucleotide_guard_rejects_dna(protein: ProteinEncoder, text: str, percent: str) -> None:
    with pytest.raises(EncodingError) as info:
        protein.encode(text)
    assert str(info.value) == f"looks like a nucleotide sequence ({percent} ACGTUN); this is a protein model"


# --------------------------------------------------------------------------------------------------------
# DNA


@pytest.fixture()
def dna() -> DNAEncoder:
    return DNAEncoder()


def test_dna_iupac_codes_accepted(dna: DNAEncoder) -> None:
    text = "ACGTNRYSWKMBDHV"
    assert decoded(dna, text) == text
    assert decoded(dna, text.lower()) == text


def test_dna_u_maps_to_t(dna: DNAEncoder) -> None:
    rna, _ = dna.encode("ACGUu")
    dna_tokens, _ = dna.encode("ACGTT")
    np.testing.assert_array_equal(rna, dna_tokens)


def test_dna_gaps_dropped_and_invalid_rejected(dna: DNAEncoder) -> None:
    tokens, keep = dna.encode("AC-GT")
    assert dna.decode(tokens) == "ACGT"
    assert keep.tolist() == [True, True, False, True, True]
    with pytest.raises(EncodingError, match=r"'E'.*position 3"):
        dna.encode("ACEGT")


@pytest.mark.parametrize("text", ["ACGTTGCA", "AACGNRYSWKMBDHV", "GATTACAKMRYBVDH"])
def test_dna_reverse_complement_matches_biopython(dna: DNAEncoder, text: str) -> None:
    tokens, _ = dna.encode(text)
    assert dna.decode(dna.reverse_complement(tokens)) == reverse_complement(text)


def test_dna_reverse_complement_is_an_involution(dna: DNAEncoder) -> None:
    tokens, _ = dna.encode("ACGTNRYSWKMBDHV")
    np.testing.assert_array_equal(dna.reverse_complement(dna.reverse_complement(tokens)), tokens)
    assert dna.complement_table()[0] == 0  # padding stays padding


def test_dna_onehot_rows(dna: DNAEncoder) -> None:
    mat = dna.onehot_matrix()
    assert mat.shape == (dna.vocab_size, 4)
    np.testing.assert_array_equal(mat[0], 0.0)  # padding
    np.testing.assert_allclose(mat[1:].sum(axis=1), 1.0, rtol=0, atol=1e-6)
    tokens, _ = dna.encode("ACGTN")
    rows = mat[tokens]
    np.testing.assert_array_equal(rows[:4], np.eye(4, dtype=np.float32))
    np.testing.assert_allclose(rows[4], [0.25, 0.25, 0.25, 0.25])
    r = mat[dna.encode("R")[0][0]]
    np.testing.assert_allclose(r, [0.5, 0.0, 0.5, 0.0])  # R = A/G


def test_dna_default_input_is_onehot() -> None:
    assert DNAEncoder.default_input == "onehot"
    assert ProteinEncoder.default_input == "embedding"


# --------------------------------------------------------------------------------------------------------
# SMILES


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("CCl", ["C", "Cl"]),
        ("BrCBr", ["Br", "C", "Br"]),
        ("c1cc[nH]c1", ["c", "1", "c", "c", "[nH]", "c", "1"]),
        ("N[C@@H](C)C(=O)O", ["N", "[C@@H]", "(", "C", ")", "C", "(", "=", "O", ")", "O"]),
        ("[NH3+]CC", ["[NH3+]", "C", "C"]),
        ("C%12CC%12", ["C", "%12", "C", "C", "%12"]),
        ("c1ccccc1", ["c", "1", "c", "c", "c", "c", "c", "1"]),
    ],
)
def test_tokenize_smiles(smiles: str, expected: list[str]) -> None:
    tokens = tokenize_smiles(smiles)
    assert tokens == expected
    assert "".join(tokens) == smiles


@pytest.mark.parametrize("smiles", ["CC(=O)Oc1ccccc1C(=O)O", "C[C@H](N)C(=O)O.[Na+].[Cl-]", "C1CC/C=C\\C1"])
def test_tokens_rejoin_to_input(smiles: str) -> None:
    assert "".join(tokenize_smiles(smiles)) == smiles


@pytest.mark.parametrize(("smiles", "position"), [("CC!C", 3), ("QCC", 1), ("CCQ", 3), ("C[nH", 2)])
def test_tokenize_smiles_rejects_untokenizable(smiles: str, position: int) -> None:
    with pytest.raises(EncodingError, match=f"position {position}"):
        tokenize_smiles(smiles)


def test_smiles_fit_sorted_and_deterministic() -> None:
    data = ["CCO", "c1ccccc1Cl", "[NH3+]CBr", "C!bad"]
    enc = SmilesEncoder.fit(data)
    assert enc.tokens[:2] == [PAD, UNK]
    assert enc.tokens[2:] == sorted(enc.tokens[2:])
    assert set(enc.tokens[2:]) == {"C", "O", "c", "1", "Cl", "[NH3+]", "Br"}
    again = SmilesEncoder.fit(list(reversed(data)))
    assert again.tokens == enc.tokens


def test_smiles_unseen_token_maps_to_unk() -> None:
    enc = SmilesEncoder.fit(["CCO"])
    tokens, keep = enc.encode("CCBr")
    unk = enc.index[UNK]
    assert tokens.tolist() == [enc.index["C"], enc.index["C"], unk]
    assert keep.all() and keep.size == 3


def test_smiles_encode_errors() -> None:
    enc = SmilesEncoder.fit(["CCO"])
    with pytest.raises(EncodingError, match="empty"):
        enc.encode("   ")
    with pytest.raises(EncodingError):
        enc.encode("CC!")


# --------------------------------------------------------------------------------------------------------
# config round trips


@pytest.mark.parametrize(
    ("encoder", "text"),
    [
        (ProteinEncoder(), "MKVbzu*LV*"),
        (DNAEncoder(), "ACGTNrykU-"),
        (SmilesEncoder.fit(["CCO", "c1ccccc1Cl"]), "ClCCOBr"),
    ],
)
def test_config_round_trip(encoder: Encoder, text: str) -> None:
    config = encoder.to_config()
    assert config["name"] == encoder.name
    restored = Encoder.from_config(config)
    assert type(restored) is type(encoder)
    assert restored.tokens == encoder.tokens
    a_tokens, a_keep = encoder.encode(text)
    b_tokens, b_keep = restored.encode(text)
    np.testing.assert_array_equal(a_tokens, b_tokens)
    np.testing.assert_array_equal(a_keep, b_keep)


def test_build_encoder_fits_smiles_and_builds_others() -> None:
    smiles = build_encoder("smiles", ["CCO"])
    assert isinstance(smiles, SmilesEncoder)
    assert smiles.tokens == [PAD, UNK, "C", "O"]
    assert isinstance(build_encoder("DNA"), DNAEncoder)
