"""Property tests (hypothesis): readers round-trip what writers wrote, encoders keep their contract,
batching and sharding partition their inputs. Example counts are small so the file runs in seconds."""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from Bio.Seq import reverse_complement as bio_reverse_complement
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqrnn.encoding.encoders import (
    NUCLEOTIDE_MAX_FRACTION,
    NUCLEOTIDE_MIN_LENGTH,
    DNAEncoder,
    ProteinEncoder,
    tokenize_smiles,
)
from seqrnn.encoding.examples import token_budget_batches
from seqrnn.errors import InputError
from seqrnn.io.formats import ReadOptions, chain_inputs, read_records

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
)

AMINO = "ACDEFGHIKLMNPQRSTVWY"
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.|:/"
SMILES_TOKENS = ["C", "c", "N", "O", "Cl", "Br", "[nH]", "[C@@H]", "(", ")", "=", "#", "1", "2", "%12"]
ATOM_TOKENS = ["C", "c", "N", "O", "Cl", "Br", "[nH]", "[C@@H]"]

ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=12)
protein_seqs = st.text(alphabet=AMINO + AMINO.lower(), min_size=0, max_size=200)
smiles_strings = st.builds(
    lambda first, rest: "".join([first, *rest]),
    st.sampled_from(ATOM_TOKENS),
    st.lists(st.sampled_from(SMILES_TOKENS), max_size=30),
)


def _write(directory: Path, name: str, text: str, compress: bool) -> Path:
    data = text.encode("utf-8")
    path = directory / name
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def _wrap(seq: str, width: int) -> list[str]:
    return [seq[i : i + width] for i in range(0, len(seq), width)]


# --------------------------------------------------------------------------------------------------------
# readers


@SETTINGS
@given(
    records=st.lists(
        st.tuples(ids, protein_seqs, st.dictionaries(ids, ids, max_size=2)),
        min_size=1,
        max_size=25,
    ),
    width=st.integers(1, 80),
    compress=st.booleans(),
    gz_suffix=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_fasta_round_trip(records, width, compress, gz_suffix, newline) -> None:
    lines = []
    for rec_id, seq, fields in records:
        header = " ".join([rec_id, *(f"{k}={v}" for k, v in fields.items())])
        lines.append(">" + header)
        lines.extend(_wrap(seq, width))
    name = "in.fa.gz" if compress and gz_suffix else "in.fa"
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), name, newline.join(lines) + newline, compress)
        got = list(read_records(path))
    assert [r.id for r in got] == [r[0] for r in records]
    assert [r.text for r in got] == [r[1] for r in records]  # case preserved
    assert [r.index for r in got] == list(range(len(records)))
    assert [r.fields for r in got] == [f for _, _, f in records]


@SETTINGS
@given(
    records=st.lists(st.tuples(st.one_of(st.none(), ids), smiles_strings), min_size=0, max_size=25),
    compress=st.booleans(),
    sep=st.sampled_from([" ", "\t", "  "]),
    comments=st.booleans(),
)
def test_smi_round_trip(records, compress, sep, comments) -> None:
    lines = ["# a comment line", ""] if comments else []
    for rec_id, smi in records:
        lines.append(smi if rec_id is None else f"{smi}{sep}{rec_id}")
        if comments:
            lines.append("")
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "in.smi", "\n".join(lines) + "\n", compress)
        got = list(read_records(path))
    expected_ids = [f"mol{i + 1}" if rec_id is None else rec_id for i, (rec_id, _) in enumerate(records)]
    assert [r.id for r in got] == expected_ids
    assert [r.text for r in got] == [smi for _, smi in records]
    assert [r.index for r in got] == list(range(len(records)))


# Cells that force csv.writer to quote: delimiters, quotes, embedded newlines, non-ASCII.
csv_cells = st.text(alphabet=ID_ALPHABET + ",\"; \n'é→", min_size=1, max_size=15).filter(
    lambda s: s == s.strip()
)


@SETTINGS
@given(
    rows=st.lists(st.tuples(csv_cells, smiles_strings, st.text(max_size=10)), min_size=0, max_size=25),
    compress=st.booleans(),
    bom=st.booleans(),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
)
def test_csv_round_trip(rows, compress, bom, quoting) -> None:
    # Text in the free column may hold any character except a lone CR (universal newlines turn it into
    # LF, and a quoted cell is not exempt) and NUL.
    rows = [(i, s, note.replace("\r", "").replace("\x00", "")) for i, s, note in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=quoting)
    writer.writerow(["mol_id", "smiles", "note"])
    writer.writerows(rows)
    text = ("\ufeff" if bom else "") + buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), "in.csv", text, compress)
        got = list(read_records(path))
    assert [r.id for r in got] == [r[0] for r in rows]
    assert [r.text for r in got] == [r[1] for r in rows]
    assert [r.fields["note"] for r in got] == [r[2] for r in rows]
    assert [r.index for r in got] == list(range(len(rows)))
    assert all(set(r.fields) == {"mol_id", "smiles", "note"} for r in got)


def test_csv_blank_row_does_not_leave_an_index_gap(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("sequence\nMKV\n\nACDE\n")
    got = list(read_records(path))
    assert [r.text for r in got] == ["MKV", "ACDE"]
    assert [(r.index, r.id) for r in got] == [(0, "seq1"), (1, "seq2")]


# --------------------------------------------------------------------------------------------------------
# encoders

PROTEIN_LETTERS = AMINO + "XBZJUO"
_EXPECTED = {**{c: c for c in AMINO + "X"}, "B": "X", "Z": "X", "J": "X", "U": "C", "O": "K"}
DROPPED = "-. \t\r\n"


@SETTINGS
@given(
    st.text(
        alphabet=st.sampled_from(PROTEIN_LETTERS + PROTEIN_LETTERS.lower() + DROPPED),
        min_size=0,
        max_size=120,
    )
)
def test_protein_encoder_contract(text: str) -> None:
    kept = [c for c in text if c not in DROPPED]
    assume(kept)
    nucleotide = sum(c.upper() in "ACGTUN" for c in kept) / len(kept)
    assume(not (len(kept) >= NUCLEOTIDE_MIN_LENGTH and nucleotide >= NUCLEOTIDE_MAX_FRACTION))
    enc = ProteinEncoder()
    tokens, keep = enc.encode(text)
    assert keep.dtype == bool and keep.shape == (len(text),)
    assert len(tokens) == keep.sum() == len(kept)
    assert tokens.dtype == np.int64
    assert ((tokens >= 1) & (tokens < enc.vocab_size)).all()
    assert enc.decode(tokens) == "".join(_EXPECTED[c.upper()] for c in kept)
    for variant in (text.upper(), text.lower(), text.swapcase()):
        t2, k2 = enc.encode(variant)
        np.testing.assert_array_equal(t2, tokens)
        np.testing.assert_array_equal(k2, keep)


DNA_LETTERS = "ACGTN" + "RYSWKMBDHV"


@SETTINGS
@given(st.text(alphabet=st.sampled_from(DNA_LETTERS + DNA_LETTERS.lower()), min_size=1, max_size=150))
def test_dna_reverse_complement(text: str) -> None:
    enc = DNAEncoder()
    tokens, _ = enc.encode(text)
    rc = enc.reverse_complement(tokens)
    np.testing.assert_array_equal(enc.reverse_complement(rc), tokens)
    expected, _ = enc.encode(str(bio_reverse_complement(text)))
    np.testing.assert_array_equal(rc, expected)
    # The one-hot rows of a complement are the A<->T, C<->G swapped rows of the original.
    onehot = enc.onehot_matrix()
    np.testing.assert_allclose(onehot[rc][::-1], onehot[tokens][:, ::-1])


@SETTINGS
@given(st.lists(st.sampled_from(SMILES_TOKENS), min_size=0, max_size=40))
def test_smiles_tokenizer_rejoins(parts: list[str]) -> None:
    smiles = "".join(parts)
    tokens = tokenize_smiles(smiles)
    assert "".join(tokens) == smiles
    assert tokens == parts  # this token set has a single tokenization


# --------------------------------------------------------------------------------------------------------
# batching and sharding


@SETTINGS
@given(
    lengths=st.lists(st.integers(0, 600), min_size=0, max_size=120),
    budget=st.integers(1, 5000),
    max_batch=st.integers(1, 64),
    seed=st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)
def test_token_budget_batches_partition(lengths, budget, max_batch, seed) -> None:
    arr = np.array(lengths, dtype=np.int64)
    rng = None if seed is None else np.random.default_rng(seed)
    batches = token_budget_batches(arr, budget, max_batch, rng)
    flat = np.concatenate(batches) if batches else np.array([], dtype=np.int64)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    for b in batches:
        assert 1 <= b.size <= max_batch
        assert b.size == 1 or int(arr[b].max()) * b.size <= budget
    if seed is not None:  # deterministic for a seed
        again = token_budget_batches(arr, budget, max_batch, np.random.default_rng(seed))
        assert [x.tolist() for x in again] == [x.tolist() for x in batches]


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(n=st.integers(0, 200), shards=st.integers(1, 10))
def test_shards_partition_the_records(n: int, shards: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.fa"
        path.write_text("".join(f">r{i}\nMK{'V' * (i % 5)}\n" for i in range(n)))
        if n == 0:  # an empty FASTA is an input error, whichever shard reads it
            for k in range(1, shards + 1):
                with pytest.raises(InputError, match="empty file"):
                    list(chain_inputs([path], ReadOptions(shard=(k, shards))))
            return
        seen: list[int] = []
        for k in range(1, shards + 1):
            got = list(chain_inputs([path], ReadOptions(shard=(k, shards))))
            idx = [r.index for r in got]
            assert idx == sorted(idx)
            assert all(i % shards == k - 1 for i in idx)
            assert [r.id for r in got] == [f"r{i}" for i in idx]
            seen.extend(idx)
    assert sorted(seen) == list(range(n))
    assert len(seen) == len(set(seen))
