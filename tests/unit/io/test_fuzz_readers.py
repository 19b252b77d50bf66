"""Bounded, seeded fuzzing of the readers and encoders: mutated FASTA / .smi / CSV / TSV bytes (flips,
inserted NUL/0xFF/CR bytes, deletions, truncation, gzip then truncate or corrupt) must either read and
encode or fail with an :class:`InputError`; any other exception is a bug.

Every case is derived from ``(SEED, case number)`` alone, so a failure printed as ``seed=.. case=..`` is
reproduced by :func:`make_case` with those two numbers.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import time
import traceback
from pathlib import Path

import numpy as np

from seqrnn.encoding.encoders import DNAEncoder, Encoder, ProteinEncoder, SmilesEncoder
from seqrnn.encoding.examples import encode_record
from seqrnn.errors import InputError
from seqrnn.io.formats import read_records
from seqrnn.models.heads import Head, ResidueClassification
from seqrnn.resources.synthetic import dna_binding_rows, molecule_rows, protein_ss_rows

SEED = 20240611
N_CASES = 6000
TIME_LIMIT_S = 5.0  # safety net on a slow or busy machine; the case count normally ends the loop first

INTERESTING = [
    b"\x00",
    b"\xff",
    b"\r",
    b"\n",
    b"\r\n",
    b">",
    b",",
    b'"',
    b"\t",
    b"#",
    b" ",
    b"\xc3",
    b"\x1f\x8b",
]


def _csv_bytes(rows: list[dict[str, str]], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def _fasta_bytes() -> bytes:
    rng = np.random.default_rng(3)
    out = []
    for i in range(6):
        seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWYXacdefgh-"), size=int(rng.integers(1, 90))))
        out.append(f">p{i} family=a{i} len={len(seq)}\n")
        out.extend(seq[j : j + 60] + "\n" for j in range(0, len(seq), 60))
    out.append(">last\nMKV*\n")
    return "".join(out).encode()


def _smi_bytes() -> bytes:
    rows = molecule_rows(8, seed=5)
    lines = (
        ["# molecules"]
        + [f"{r['smiles']} {r['mol_id']}" for r in rows]
        + ["", "c1ccccc1O", "C[C@@H](N)O x y"]
    )
    return ("\n".join(lines) + "\n").encode()


# (name, file suffix, valid bytes, encoder, heads, mask columns)
_PROTEIN_SS = protein_ss_rows(4, seed=2, min_len=8, max_len=25)
_MOLECULES = molecule_rows(8, seed=6)
_SS3 = ResidueClassification(
    {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": list("HEC")}, 4, 0, 0.0
)
CORPUS: list[tuple[str, str, bytes, Encoder, tuple[Head, ...], tuple[str, ...]]] = [
    ("fasta", ".fa", _fasta_bytes(), ProteinEncoder(), (), ()),
    ("smi", ".smi", _smi_bytes(), SmilesEncoder.fit(r["smiles"] for r in _MOLECULES), (), ()),
    ("csv", ".csv", _csv_bytes(_MOLECULES), SmilesEncoder.fit(r["smiles"] for r in _MOLECULES), (), ()),
    ("csv-labels", ".csv", _csv_bytes(_PROTEIN_SS), ProteinEncoder(), (_SS3,), ("disorder",)),
    ("tsv", ".tsv", _csv_bytes(dna_binding_rows(5, seed=1, length=30), "\t"), DNAEncoder(), (), ()),
]


def _mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """Apply 1-4 random byte-level mutations; returns the bytes and a description of what was done."""
    buf = bytearray(data)
    done = []
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(
            ["flip", "insert", "insert", "delete", "truncate", "duplicate", "drop-line", "swap-lines"]
        )
        pos = rng.randint(0, max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[pos] = rng.randrange(256)
        elif op == "insert":
            chunk = rng.choice(INTERESTING) if rng.random() < 0.7 else bytes([rng.randrange(256)])
            buf[pos:pos] = chunk * rng.randint(1, 3)
        elif op == "delete":
            del buf[pos : pos + rng.randint(1, 8)]
        elif op == "truncate":
            del buf[pos:]
        elif op == "duplicate":
            buf[pos:pos] = buf[pos : pos + rng.randint(1, 40)]
        elif op in ("drop-line", "swap-lines"):
            lines = bytes(buf).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == "drop-line":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            buf = bytearray(b"\n".join(lines))
            pos = i
        done.append(f"{op}@{pos}")
    return bytes(buf), done


def make_case(seed: int, case: int) -> tuple[int, bytes, list[str]]:
    """The corpus entry, the fuzzed file bytes and a description for ``(seed, case)``."""
    rng = random.Random(seed * 1_000_003 + case)
    which = rng.randrange(len(CORPUS))
    data = CORPUS[which][2]
    mode = rng.choice(["plain", "plain", "plain", "gzip-truncate", "gzip-corrupt", "gzip-mutated-text"])
    steps: list[str] = [mode]
    if mode == "plain":
        data, done = _mutate(data, rng)
        steps += done
    elif mode == "gzip-mutated-text":
        data, done = _mutate(data, rng)
        steps += done
        data = gzip.compress(data, mtime=0)
    else:
        data = gzip.compress(data, mtime=0)
        if mode == "gzip-truncate":
            cut = rng.randint(2, len(data) - 1)
            data = data[:cut]
            steps.append(f"truncate@{cut}")
        else:
            data, done = _mutate(data, rng)
            steps += done
    return which, data, steps


def _consume(path: Path, encoder: Encoder, heads: tuple[Head, ...], mask: tuple[str, ...]) -> int:
    n = 0
    for rec in read_records(path):
        encode_record(rec, encoder, heads, mask)
        n += 1
    return n


def test_valid_corpus_reads_and_encodes(tmp_path: Path) -> None:
    """The unmutated inputs are valid: the fuzz cases start from files that work."""
    for name, suffix, data, encoder, heads, mask in CORPUS:
        path = tmp_path / f"valid{suffix}"
        path.write_bytes(data)
        assert _consume(path, encoder, heads, mask) >= 4, name


def test_fuzzed_inputs_fail_only_with_input_errors(tmp_path: Path) -> None:
    failures: list[str] = []
    outcomes = {"ok": 0, "input_error": 0}
    start = time.perf_counter()
    for case in range(N_CASES):
        if time.perf_counter() - start > TIME_LIMIT_S:
            break
        which, data, steps = make_case(SEED, case)
        name, suffix, _, encoder, heads, mask = CORPUS[which]
        path = tmp_path / f"case{case}{suffix}"
        path.write_bytes(data)
        try:
            _consume(path, encoder, heads, mask)
            outcomes["ok"] += 1
        except InputError as exc:
            outcomes["input_error"] += 1
            assert str(exc).strip(), "an InputError must say something"
        except Exception as exc:  # the bug this test is looking for
            failures.append(
                f"seed={SEED} case={case} corpus={name} steps={' '.join(steps)}: {type(exc).__name__}: {exc}\n"
                f"  bytes[:120]={data[:120]!r}\n" + "".join(traceback.format_exception_only(type(exc), exc))
            )
        finally:
            path.unlink()
    assert sum(outcomes.values()) + len(failures) >= 200, "too few cases ran; the machine is very slow"
    assert outcomes["ok"] and outcomes["input_error"], outcomes  # both branches were exercised
    assert not failures, f"{len(failures)} unexpected exception(s):\n" + "\n".join(failures[:10])
