"""The bad-input matrix: every malformed or surprising input through the real CLI (``seqrnn.cli.main``).

Each case either is rejected (exit code, exactly one ``seqrnn: error:`` line on stderr naming the file,
the record where there is one, and the reason; no traceback; no output file and no ``.*.tmp`` left in
the output directory) or is accepted with the behaviour documented in docs/input-policy.md. The table in
docs/robustness.md lists every case with the test id that proves it.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from tests.conftest import write_config

PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ"
DNA30 = "ATGGCGTACGTTAGCCGATACGATCGGACT"
AMINO = "ACDEFGHIKLMNPQRSTVWY"


# --------------------------------------------------------------------------------------------------------
# models (trained once per module) and helpers


def _train(task: str, synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp(f"robust_{task}")
    cfg = write_config(task, synthetic[task], tmp / "run", tmp, epochs=1)
    assert main(["train", str(cfg), "--quiet"]) == 0
    return tmp / "run" / "model.pt"


@pytest.fixture(scope="module")
def protein_model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train("protein", synthetic, tmp_path_factory)


@pytest.fixture(scope="module")
def dna_model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train("dna", synthetic, tmp_path_factory)


@pytest.fixture(scope="module")
def smiles_model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train("smiles", synthetic, tmp_path_factory)


def _predict(model: Path, inputs: list[Path], out: Path, *args: str) -> int:
    return main(
        ["predict", "-m", str(model), *map(str, inputs), "-o", str(out), "--threads", "1", "-q", *args]
    )


def _assert_one_line_error(captured: pytest.CaptureFixture[str], *needles: str) -> str:
    out, err = captured.out, captured.err
    assert "Traceback" not in out + err, err
    assert "internal error" not in err, err
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("seqrnn: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    return lines[0]


def _assert_nothing_written(directory: Path, inputs: list[Path]) -> None:
    """Only the inputs remain: no output file, no ``.*.tmp`` half-written file."""
    left = sorted(p.name for p in directory.iterdir())
    assert left == sorted(p.name for p in inputs), left


def _fasta(records: list[tuple[str, str]], newline: str = "\n") -> bytes:
    return "".join(f">{k}{newline}{v}{newline}" for k, v in records).encode()


def _ids(f: h5py.File) -> list[str]:
    return list(f["ids"].asstr()[:])


# --------------------------------------------------------------------------------------------------------
# rejected inputs


def _random_protein_fasta(n: int, length: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return _fasta([(f"s{i}", "".join(rng.choice(list(AMINO), size=length))) for i in range(n)])


def _truncated_gzip() -> bytes:
    data = gzip.compress(_random_protein_fasta(300, 120), mtime=0)
    return data[: len(data) // 2]


def _corrupt_gzip() -> bytes:
    data = bytearray(gzip.compress(_random_protein_fasta(300, 120), mtime=0))
    data[-8] ^= 0xFF  # damage the CRC-32 in the trailer: every byte decompresses, the check fails at the end
    return bytes(data)


def _garbage() -> bytes:
    rng = np.random.default_rng(1)
    # NUL, an invalid UTF-8 start byte and a lone continuation byte up front, random bytes after.
    return b"\x00\xff\x80" + rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes()


@dataclass(frozen=True)
class Bad:
    """One rejected input: which model reads it, file name and bytes, extra CLI args, expected error."""

    model: str
    name: str
    content: bytes
    needles: tuple[str, ...]
    args: tuple[str, ...] = ()
    code: int = 3


REJECTED = {
    "empty_file": Bad("protein", "in.fa", b"", ("empty file: no FASTA records",)),
    "blank_lines_only": Bad("protein", "in.fa", b"\n  \n\n", ("empty file: no FASTA records",)),
    "no_header": Bad(
        "protein", "in.fa", b"MKTAYIAKQR\n>a\nMK\n", ("record 1", "does not start with a FASTA header")
    ),
    "header_without_sequence": Bad("protein", "in.fa", b">a\n>b\nMK\n", ("record a", "empty sequence")),
    "gaps_and_spaces_only": Bad("protein", "in.fa", b">a\nMKT\n>b\n-- ..\n", ("record b", "empty sequence")),
    "header_without_id": Bad("protein", "in.fa", b">\nMKT\n", ("record 1", "header without an id")),
    "digit_in_sequence": Bad(
        "protein", "in.fa", b">a\nMKTAY\nIA9KQ\n", ("record a", "character '9' at position 8")
    ),
    "at_sign_protein": Bad(
        "protein",
        "in.fa",
        b">a x=1\nMK@T\n",
        ("record a", "'@' at position 3", "not in the protein alphabet"),
    ),
    "nul_in_sequence": Bad("protein", "in.fa", b">a\nMK\x00TA\n", ("record a", r"'\x00' at position 3")),
    "j_for_dna": Bad(
        "dna", "in.fa", b">d1\nACGTJACGT\n", ("record d1", "'J' at position 5", "not in the dna alphabet")
    ),
    "protein_to_dna_model": Bad(
        "dna",
        "in.fa",
        _fasta([("p1", PROTEIN)]),
        # M, K, T, A, Y are IUPAC nucleotide codes; I is the first letter that is not.
        ("record p1", "'I' at position 6", "not in the dna alphabet"),
    ),
    "dna_to_protein_model": Bad(
        "protein",
        "in.fa",
        _fasta([("ok", PROTEIN), ("chr1", DNA30)]),
        ("record chr1", "looks like a nucleotide sequence (100% ACGTUN); this is a protein model"),
    ),
    "rna_to_protein_model": Bad(
        "protein",
        "in.fa",
        _fasta([("mrna", DNA30.replace("T", "U").lower())]),
        ("record mrna", "looks like a nucleotide sequence"),
    ),
    "binary_garbage": Bad("protein", "garbage.fa", _garbage(), ("not UTF-8 text (binary file?)",)),
    "invalid_utf8_after_header": Bad(
        "protein", "in.fa", b">a\nMK\xff\xfeTA\n", ("not UTF-8 text (binary file?)",)
    ),
    "truncated_gzip": Bad(
        "protein", "in.fa.gz", _truncated_gzip(), ("corrupt or truncated gzip after record",)
    ),
    "corrupt_gzip": Bad("protein", "in.fa.gz", _corrupt_gzip(), ("corrupt or truncated gzip after record",)),
    "invalid_smiles": Bad(
        "smiles", "in.smi", b"CCO ok1\nCC!C bad1\n", ("record bad1", "cannot tokenize SMILES at position 3")
    ),
    "csv_missing_sequence_column": Bad(
        "smiles",
        "in.csv",
        b"mol_id,structure\nm1,CCO\n",
        ("no sequence column", "columns: mol_id, structure"),
    ),
    "csv_named_column_missing": Bad(
        "smiles",
        "in.csv",
        b"mol_id,smiles\nm1,CCO\n",
        ("no column 'SMILES'", "columns: mol_id, smiles"),
        args=("--sequence-column", "SMILES"),
    ),
    "csv_extra_column": Bad(
        "smiles",
        "in.csv",
        b"mol_id,smiles\nm1,CCO\nm2,CCN,extra\n",
        ("record 2", "has 3 columns, the header has 2"),
    ),
    "skip_but_all_invalid": Bad(
        "protein",
        "in.fa",
        _fasta([("a", "MK1"), ("b", DNA30)]),
        ("no sequences to predict",),
        args=("--on-invalid", "skip"),
    ),
    "skip_does_not_hide_file_errors": Bad(
        "protein", "in.fa.gz", _truncated_gzip(), ("truncated gzip",), args=("--on-invalid", "skip")
    ),
}


@pytest.mark.parametrize("case", list(REJECTED.values()), ids=list(REJECTED))
def test_rejected(case: Bad, tmp_path: Path, request: pytest.FixtureRequest, capsys) -> None:
    model = request.getfixturevalue(f"{case.model}_model")
    path = tmp_path / case.name
    path.write_bytes(case.content)
    capsys.readouterr()
    assert _predict(model, [path], tmp_path / "out.h5", *case.args) == case.code
    _assert_one_line_error(capsys.readouterr(), f"seqrnn: error: {path}: ", *case.needles)
    _assert_nothing_written(tmp_path, [path])


def test_truncated_gzip_names_the_last_good_record(protein_model: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "in.fa.gz"
    path.write_bytes(_truncated_gzip())
    assert _predict(protein_model, [path], tmp_path / "out.h5") == 3
    line = _assert_one_line_error(capsys.readouterr(), str(path))
    good = int(line.split("after record ")[1].split()[0])
    assert 0 < good < 300  # records before the damage were read; the count is reported
    _assert_nothing_written(tmp_path, [path])


# --------------------------------------------------------------------------------------------------------
# accepted inputs


def _probs(path: Path, key: str = "residue/ss3/probs") -> np.ndarray:
    with h5py.File(path) as f:
        return f[key][:]


def test_duplicate_ids_kept_in_order(protein_model: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "in.fa"
    path.write_bytes(_fasta([("a", "MKT"), ("a", "ACDE"), ("b", "MK"), ("a", "WY")]))
    out = tmp_path / "out.h5"
    assert _predict(protein_model, [path], out) == 0
    assert capsys.readouterr().err == ""
    with h5py.File(out) as f:
        assert _ids(f) == ["a", "a", "b", "a"]
        assert list(f["lengths"][:]) == [3, 4, 2, 2]
        assert list(f["sequences"].asstr()[:]) == ["MKT", "ACDE", "MK", "WY"]


RECORDS = [("a", PROTEIN), ("b", "MKV*"), ("c", "ACDEFGHIKLMNPQRSTVWYBZUO")]


@pytest.mark.parametrize(
    ("newline", "prefix"),
    [("\r\n", b""), ("\r", b""), ("\r\n", b"\xef\xbb\xbf")],
    ids=["crlf", "cr_only", "crlf_with_bom"],
)
def test_windows_line_endings_same_as_lf(
    protein_model: Path, tmp_path: Path, capsys, newline: str, prefix: bytes
) -> None:
    lf, other = tmp_path / "lf.fa", tmp_path / "other.fa"
    lf.write_bytes(_fasta(RECORDS))
    other.write_bytes(prefix + _fasta(RECORDS, newline))
    assert _predict(protein_model, [lf], tmp_path / "lf.h5") == 0
    assert _predict(protein_model, [other], tmp_path / "other.h5") == 0
    assert capsys.readouterr().err == ""
    with h5py.File(tmp_path / "lf.h5") as a, h5py.File(tmp_path / "other.h5") as b:
        assert _ids(b) == _ids(a) == ["a", "b", "c"]
        np.testing.assert_array_equal(b["lengths"][:], a["lengths"][:])
        np.testing.assert_array_equal(b["residue/ss8/probs"][:], a["residue/ss8/probs"][:])


def test_windows_line_endings_csv_with_bom(smiles_model: Path, tmp_path: Path, capsys) -> None:
    rows = [("m1", "CCO", ""), ("m2", "c1ccccc1Cl", ""), ("m3", "CC(=O)N", "")]
    lf, crlf = tmp_path / "lf.csv", tmp_path / "crlf.csv"
    lf.write_text("mol_id,smiles,note\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    crlf.write_bytes(b"\xef\xbb\xbf" + lf.read_bytes().replace(b"\n", b"\r\n"))
    assert _predict(smiles_model, [lf], tmp_path / "lf.h5") == 0
    assert _predict(smiles_model, [crlf], tmp_path / "crlf.h5") == 0
    assert capsys.readouterr().err == ""
    with h5py.File(tmp_path / "lf.h5") as a, h5py.File(tmp_path / "crlf.h5") as b:
        assert _ids(b) == _ids(a) == ["m1", "m2", "m3"]
        np.testing.assert_array_equal(b["sequence/logs/values"][:], a["sequence/logs/values"][:])


@pytest.mark.parametrize(
    ("model", "key", "text"),
    [
        ("protein", "residue/ss3/probs", PROTEIN + "BZUO"),
        ("dna", "sequence/bound/probs", DNA30 + "NRYKM"),  # soft-masked repeats are lower case
    ],
    ids=["protein", "dna"],
)
def test_lowercase_same_as_uppercase(
    model: str, key: str, text: str, tmp_path: Path, request: pytest.FixtureRequest, capsys
) -> None:
    bundle = request.getfixturevalue(f"{model}_model")
    upper, lower = tmp_path / "upper.fa", tmp_path / "lower.fa"
    upper.write_bytes(_fasta([("x", text)]))
    lower.write_bytes(_fasta([("x", text.lower())]))
    assert _predict(bundle, [upper], tmp_path / "u.h5") == 0
    assert _predict(bundle, [lower], tmp_path / "l.h5") == 0
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(_probs(tmp_path / "l.h5", key), _probs(tmp_path / "u.h5", key))
    with h5py.File(tmp_path / "l.h5") as lo, h5py.File(tmp_path / "u.h5") as up:
        assert lo["sequences"].asstr()[0] == up["sequences"].asstr()[0]


def test_whitespace_inside_sequence_is_dropped(protein_model: Path, tmp_path: Path, capsys) -> None:
    plain, spaced = tmp_path / "plain.fa", tmp_path / "spaced.fa"
    plain.write_bytes(_fasta([("a", "MKTAYIAKQR")]))
    spaced.write_bytes(b">a\nMK TA\tYI  AK\n QR \t\n")
    assert _predict(protein_model, [plain], tmp_path / "p.h5") == 0
    assert _predict(protein_model, [spaced], tmp_path / "s.h5") == 0
    assert capsys.readouterr().err == ""
    with h5py.File(tmp_path / "s.h5") as f:
        assert list(f["lengths"][:]) == [10]
        assert f["sequences"].asstr()[0] == "MKTAYIAKQR"
    np.testing.assert_array_equal(_probs(tmp_path / "s.h5"), _probs(tmp_path / "p.h5"))


def test_stop_codons_trailing_dropped_internal_x(protein_model: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "in.fa"
    path.write_bytes(_fasta([("trailing", "MKV*"), ("internal", "MK*LV"), ("both", "MK*LV*")]))
    out = tmp_path / "out.h5"
    assert _predict(protein_model, [path], out) == 0
    assert capsys.readouterr().err == ""
    with h5py.File(out) as f:
        assert _ids(f) == ["trailing", "internal", "both"]
        assert list(f["sequences"].asstr()[:]) == ["MKV", "MKXLV", "MKXLV"]
        assert list(f["lengths"][:]) == [3, 5, 5]


@pytest.mark.slow
def test_two_million_residues_on_one_line(protein_model: Path, tmp_path: Path, capsys) -> None:
    n = 2_000_000
    rng = np.random.default_rng(0)
    seq = np.frombuffer(AMINO.encode(), dtype=np.uint8)[rng.integers(0, 20, size=n)].tobytes()
    path = tmp_path / "long.fa"
    path.write_bytes(b">giant\n" + seq + b"\n>tail\nMKTAY\n")
    out = tmp_path / "out.h5"
    assert _predict(protein_model, [path], out) == 0
    assert capsys.readouterr().err == ""
    with h5py.File(out) as f:
        assert _ids(f) == ["giant", "tail"]
        assert list(f["lengths"][:]) == [n, 5]
        assert list(f["offsets"][:]) == [0, n, n + 5]
        probs = f["residue/ss3/probs"]
        assert probs.shape == (n + 5, 3)
        np.testing.assert_allclose(probs[n - 1000 : n + 5].sum(axis=1), 1.0, atol=1e-5)
        assert f["sequences"].asstr()[0].encode() == seq


def test_skip_reports_and_keeps_the_rest(protein_model: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "mixed.fa"
    path.write_bytes(
        _fasta(
            [
                ("good1", PROTEIN),
                ("digit", "MKT1AY"),
                ("dna", DNA30),
                ("empty", "--"),
                ("at", "MK@"),
                ("good2", "ACDEFG*"),
            ]
        )
    )
    out = tmp_path / "out.h5"
    assert main(["predict", "-m", str(protein_model), str(path), "-o", str(out), "--on-invalid", "skip"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.splitlines() == [
        f"seqrnn: skipped {path}:digit (row 2): character '1' at position 4 is not in the protein alphabet",
        f"seqrnn: skipped {path}:dna (row 3): looks like a nucleotide sequence (100% ACGTUN); this is a protein model",
        f"seqrnn: skipped {path}:empty (row 4): empty sequence",
        f"seqrnn: skipped {path}:at (row 5): character '@' at position 3 is not in the protein alphabet",
    ]
    assert "2 sequences" in captured.out and "4 skipped" in captured.out
    with h5py.File(out) as f:
        assert _ids(f) == ["good1", "good2"]
        assert list(f["sequences"].asstr()[:]) == [PROTEIN, "ACDEFG"]
        assert f.attrs["n_skipped"] == 4
        assert list(f["skipped/record_index"][:]) == [1, 2, 3, 4]
        assert f["skipped/records"].asstr()[0] == f"{path}:digit"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.fa", "out.h5"]


# --------------------------------------------------------------------------------------------------------
# training data


def _smiles_tables(synthetic: dict[str, Path], directory: Path, bad_in: str) -> tuple[Path, Path, str]:
    """Train/valid CSVs from the synthetic molecules with one non-numeric ``logs`` in ``bad_in``."""
    with open(synthetic["smiles"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    train_rows, valid_rows = rows[:120], rows[120:]
    target = train_rows if bad_in == "train" else valid_rows
    target[5]["logs"] = "high"
    paths = []
    for name, part in (("train.csv", train_rows), ("valid.csv", valid_rows)):
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(part)
        (directory / name).write_text(buf.getvalue())
        paths.append(directory / name)
    return paths[0], paths[1], target[5]["mol_id"]


@pytest.mark.parametrize(
    "bad_in",
    [
        "train",
        "valid",
    ],
)
def test_non_numeric_regression_target_in_training(
    bad_in: str, synthetic: dict[str, Path], tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    train, valid, bad_id = _smiles_tables(synthetic, data, bad_in)
    cfg = write_config("smiles", train, tmp_path / "run", tmp_path, epochs=1)
    code = main(["train", str(cfg), "--set", f"data.valid={valid}", "--quiet"])
    captured = capsys.readouterr()
    bad_file = train if bad_in == "train" else valid
    assert code == 3, captured.err
    _assert_one_line_error(captured, str(bad_file), f"record {bad_id}", "'logs'", "'high' is not a number")
    # No model, config or checkpoint file (the run directory may exist, empty).
    assert [p for p in (tmp_path / "run").rglob("*") if p.is_file()] == []
