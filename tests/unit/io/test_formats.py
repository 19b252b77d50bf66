"""Tests for seqrnn.io.formats: format detection, every reader, and one-line errors for broken inputs."""

from __future__ import annotations

import gc
import gzip
import io
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from seqrnn.errors import InputError
from seqrnn.io.formats import detect_format, read_records, sniff_format


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# --------------------------------------------------------------------------------------------------------
# detect_format


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("x.fa", "fasta"),
        ("x.fasta", "fasta"),
        ("x.FAA", "fasta"),
        ("x.fa.gz", "fasta"),
        ("dir/x.v2.fna.gz", "fasta"),
        ("x.csv", "csv"),
        ("x.csv.gz", "csv"),
        ("x.smi", "smi"),
        ("x.smiles", "smi"),
        ("x.tsv", "tsv"),
        ("x.seq.gz", "tsv"),
        ("x.txt", "tsv"),
        ("-", "fasta"),
    ],
)
def test_detect_format_by_extension(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


@pytest.mark.parametrize("name", ["x.bam", "x", "x.gz", "x.fa.bz2"])
def test_detect_format_unknown_raises(name: str) -> None:
    with pytest.raises(InputError, match="--format"):
        detect_format(name)


def test_detect_format_explicit() -> None:
    assert detect_format("anything.bin", "smi") == "smi"
    with pytest.raises(InputError, match="unknown format 'xml'"):
        detect_format("x.fa", "xml")


# --------------------------------------------------------------------------------------------------------
# FASTA


FASTA = ">seq1 desc split=train score=0.5\nMKV\nLAA\n\n>seq2\nacgt\n>seq3 k=v=w\nM\n"


def check_fasta_records(records: list) -> None:
    assert [r.id for r in records] == ["seq1", "seq2", "seq3"]
    assert [r.text for r in records] == ["MKVLAA", "acgt", "M"]
    assert [r.index for r in records] == [0, 1, 2]
    assert records[0].fields == {"split": "train", "score": "0.5"}
    assert records[1].fields == {}
    assert records[2].fields == {"k": "v=w"}


def test_fasta_plain_multiline(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fa", FASTA)
    records = list(read_records(path))
    check_fasta_records(records)
    assert records[0].source == str(path)


def test_fasta_gzip(tmp_path: Path) -> None:
    path = tmp_path / "in.fa.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(FASTA)
    check_fasta_records(list(read_records(path)))


def test_gzip_detected_by_magic_not_name(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fa", gzip.compress(FASTA.encode()))
    check_fasta_records(list(read_records(path)))


def test_gzip_input_closes_its_file(tmp_path: Path) -> None:
    path = write(tmp_path / "in.smi.gz", gzip.compress(b"CCO x\n"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [r.text for r in read_records(path)] == ["CCO"]
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_fasta_crlf_and_leading_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fasta", "\n\n" + FASTA.replace("\n", "\r\n"))
    check_fasta_records(list(read_records(path)))


def test_fasta_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fa", b"\xef\xbb\xbf" + FASTA.encode())
    check_fasta_records(list(read_records(path)))


def test_fasta_not_starting_with_header(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fa", "MKVLAA\n>seq1\nMK\n")
    with pytest.raises(InputError, match="FASTA header") as info:
        list(read_records(path))
    assert info.value.record == 1
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_fasta_empty_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "in.fa", content)
    with pytest.raises(InputError, match="empty"):
        list(read_records(path))


def test_fasta_header_without_id(tmp_path: Path) -> None:
    path = write(tmp_path / "in.fa", ">a\nMK\n>\nLV\n")
    with pytest.raises(InputError, match="without an id") as info:
        list(read_records(path))
    assert info.value.record == 2


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(buffer=io.BytesIO(FASTA.encode()))
    monkeypatch.setattr(sys, "stdin", fake)
    records = list(read_records("-"))
    check_fasta_records(records)
    assert records[0].source == "-"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        list(read_records(tmp_path / "nope.fa"))
    folder = tmp_path / "dir.fa"
    folder.mkdir()
    with pytest.raises(InputError, match="directory"):
        list(read_records(folder))


# --------------------------------------------------------------------------------------------------------
# SMILES files


def test_smi_with_and_without_ids_and_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.smi",
        "# a comment\nCCO ethanol\n\nc1ccccc1\tbenzene ring\n  # indented comment\nCl\n",
    )
    records = list(read_records(path))
    assert [r.text for r in records] == ["CCO", "c1ccccc1", "Cl"]
    assert [r.id for r in records] == ["ethanol", "benzene ring", "mol3"]
    assert [r.index for r in records] == [0, 1, 2]


# --------------------------------------------------------------------------------------------------------
# tables


def test_csv_header_with_spaces_and_per_residue_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path / "in.csv",
        "id, seq, dssp3, disorder\np1,M K V,C H H,0 1 1\np2,A C,E E,1 1\n",
    )
    records = list(read_records(path))
    assert [r.id for r in records] == ["p1", "p2"]
    assert [r.text for r in records] == ["M K V", "A C"]
    assert records[0].fields["disorder"] == "0 1 1"
    assert records[0].fields["dssp3"] == "C H H"
    assert set(records[1].fields) == {"id", "seq", "dssp3", "disorder"}


def test_csv_default_id_when_no_id_column(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "smiles,logs\nCCO,0.1\n\nCCC,0.2\n")
    records = list(read_records(path))
    assert [r.id for r in records] == ["seq1", "seq2"]  # blank line skipped; records numbered as read
    assert [r.text for r in records] == ["CCO", "CCC"]


def test_tsv(tmp_path: Path) -> None:
    path = write(tmp_path / "in.tsv", "FoldID\tEventID\tseq\tBound\nA\tpeak0\tACGT\t1\nA\tpeak1\tGGCC\t0\n")
    records = list(read_records(path, id_column="EventID"))
    assert [(r.id, r.text, r.fields["Bound"]) for r in records] == [
        ("peak0", "ACGT", "1"),
        ("peak1", "GGCC", "0"),
    ]


def test_explicit_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "name,molecule,y\nm1,CCO,1\n")
    [record] = read_records(path, sequence_column="molecule", id_column="name")
    assert (record.id, record.text) == ("m1", "CCO")


def test_missing_sequence_column_named(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "id,seq\np1,MK\n")
    with pytest.raises(InputError, match="'peptide'"):
        list(read_records(path, sequence_column="peptide"))
    nodefault = write(tmp_path / "other.csv", "id,residues\np1,MK\n")
    with pytest.raises(InputError, match="--sequence-column"):
        list(read_records(nodefault))


def test_row_with_wrong_column_count(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "id,seq,y\np1,MK,1\np2,LV\n")
    reader = read_records(path)
    assert next(reader).id == "p1"
    with pytest.raises(InputError, match="2 columns") as info:
        next(reader)
    assert info.value.record == 2
    assert "record 2" in str(info.value)


def test_csv_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        list(read_records(write(tmp_path / "in.csv", "")))


def test_csv_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", b"\xef\xbb\xbfseq,id\nMK,p1\n")
    [record] = read_records(path)
    assert (record.id, record.text) == ("p1", "MK")


# --------------------------------------------------------------------------------------------------------
# broken inputs


@pytest.mark.parametrize("name", ["junk.fa", "junk.csv", "junk.tsv", "junk.smi"])
def test_binary_garbage_is_input_error(tmp_path: Path, name: str) -> None:
    data = np.random.default_rng(7).bytes(5000)
    assert data[:2] != b"\x1f\x8b"
    data = b"\xff\xfe\x80" + data  # certainly invalid UTF-8
    path = write(tmp_path / name, data)
    with pytest.raises(InputError):
        list(read_records(path))


def test_invalid_utf8_after_valid_records(tmp_path: Path) -> None:
    path = write(tmp_path / "in.smi", b"CCO a\n" * 3000 + b"C\xff\xfeC b\n")
    with pytest.raises(InputError, match="UTF-8"):
        list(read_records(path))


@pytest.mark.parametrize("cut", [5, 0.5])
def test_truncated_gzip(tmp_path: Path, cut: float) -> None:
    rng = np.random.default_rng(1)
    body = "".join(f">s{i}\n{''.join(rng.choice(list('ACDEFGHIKLMNPQRSTVWY'), 60))}\n" for i in range(500))
    data = gzip.compress(body.encode())
    n = cut if isinstance(cut, int) else int(len(data) * cut)
    path = write(tmp_path / "in.fa.gz", data[:n])
    with pytest.raises(InputError, match="gzip"):
        list(read_records(path))


def test_reading_is_lazy(tmp_path: Path) -> None:
    # The part after the second header is garbage (invalid UTF-8 well beyond the reader's buffer, then a
    # header without an id): reading only the first record must not touch it.
    text = ">first\n" + "M" * 100 + "\n>second\n" + "ACDE\n" * 5000
    path = write(tmp_path / "in.fa", text.encode() + b"\xff\xfe\x00garbage\n>\n")
    records = read_records(path)
    first = next(records)
    assert (first.id, first.text) == ("first", "M" * 100)
    with pytest.raises(InputError):
        list(records)


def test_read_records_is_a_generator(tmp_path: Path) -> None:
    # Nothing is opened or checked until the first record is requested.
    records = read_records(tmp_path / "missing.fa")
    assert isinstance(records, types.GeneratorType)
    with pytest.raises(InputError):
        next(records)


def test_bed_intervals_from_an_indexed_genome(tmp_path: Path) -> None:
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1 test\nACGTACGTTTGACCAGGT\nAAACCCGGGT\n>chr2\nGGGGAAAA\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("track name=peaks\nchr1\t0\t4\tp1\t5\t+\t1\nchr1\t8\t12\t.\t0\t-\t0\nchr2\t2\t6\n")
    recs = list(read_records(bed, genome=genome))
    assert [r.id for r in recs] == ["p1", "chr1:8-12", "chr2:2-6"]
    assert [r.text for r in recs] == ["ACGT", "TCAA", "GGAA"]  # TTGA on the minus strand
    assert recs[0].fields["col7"] == "1" and recs[1].fields["strand"] == "-"
    assert [r.index for r in recs] == [0, 1, 2]


@pytest.mark.parametrize(
    "line, reason",
    [
        ("chrX\t0\t4", "not in"),
        ("chr1\t5\t50", "outside the chromosome"),
        ("chr1\t5\t5", "empty"),
        ("chr1\tfive\t9", "integers"),
        ("chr1 0 4", "tab separated"),
    ],
)
def test_bad_bed_lines(tmp_path: Path, line: str, reason: str) -> None:
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1\nACGTACGTTTGACCAGGT\n")
    bed = tmp_path / "x.bed"
    bed.write_text(line + "\n")
    with pytest.raises(InputError, match=reason) as info:
        list(read_records(bed, genome=genome))
    assert "line 1" in str(info.value)


def test_bed_needs_a_genome(tmp_path: Path) -> None:
    bed = tmp_path / "x.bed"
    bed.write_text("chr1\t0\t4\n")
    with pytest.raises(InputError, match="--genome"):
        list(read_records(bed))
    with pytest.raises(InputError, match="genome FASTA"):
        list(read_records(bed, genome=tmp_path / "missing.fa"))


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("\n>a desc\nMKV\n", "fasta"),
        ("smiles,name\nCCO,ethanol\n", "csv"),
        ("seq\tid\nACGT\tx\n", "tsv"),
        ("CCO ethanol\nc1ccccc1\n", "smi"),
    ],
)
def test_standard_input_is_told_by_content(text: str, fmt: str) -> None:
    found, handle = sniff_format(io.StringIO(text))
    assert found == fmt
    assert "".join(handle) == text  # the lines read to tell the format are given back


def test_smi_title_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "mols.smi"
    path.write_text("SMILES Name\nCCO ethanol\nc1ccccc1 benzene\nC\n")
    records = list(read_records(path))
    assert [(r.id, r.text) for r in records] == [("ethanol", "CCO"), ("benzene", "c1ccccc1"), ("mol3", "C")]
