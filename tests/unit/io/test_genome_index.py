"""The genome index check: a ``.fai`` is checked against the FASTA's bytes before use, not trusted
because it is newer than the FASTA."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from seqrnn.errors import InputError
from seqrnn.io.formats import read_records
from seqrnn.io.genome import Genome, index_problem

CHR1 = "ACGTTGCAACGGATCCATGCAAGTCTAGGCATTACG"  # 36 bases
CHR2 = "TTGACCAGGTCAAGGCTT"  # 18 bases


def _fasta(path: Path, width: int, header: str = "", newline: str = "\n") -> Path:
    lines = []
    for name, seq in (("chr1", CHR1), ("chr2", CHR2)):
        lines.append(f">{name}{header}")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def _newer(fai: Path) -> None:
    later = time.time() + 100
    os.utime(fai, (later, later))


@pytest.mark.parametrize(
    ("width", "header", "newline"),
    [(10, "", "\n"), (36, "", "\n"), (7, " a description", "\n"), (10, "", "\r\n"), (60, "", "\n")],
)
def test_indexes_pyfaidx_builds_fit(tmp_path: Path, width: int, header: str, newline: str) -> None:
    fasta = _fasta(tmp_path / "g.fa", width, header, newline)
    Genome(fasta).close()
    assert index_problem(fasta, f"{fasta}.fai") is None


def test_an_index_newer_than_the_fasta_but_of_other_line_widths_is_rebuilt(tmp_path: Path) -> None:
    fasta = _fasta(tmp_path / "g.fa", 10)
    Genome(fasta).close()
    fai = Path(f"{fasta}.fai")
    stale = fai.read_text()
    _fasta(fasta, 7)  # the same contigs rewritten with 7 bases per line
    fai.write_text(stale)
    _newer(fai)  # looks up to date: pyfaidx alone would use it and cut the wrong bases
    assert index_problem(fasta, fai) is not None
    with Genome(fasta) as genome:
        assert genome.fetch("chr1", 20, 30)[0] == CHR1[20:30]
        assert genome.fetch("chr2", 10, 18)[0] == CHR2[10:18]
    assert fai.read_text() != stale and index_problem(fasta, fai) is None


def test_a_bed_read_through_a_stale_newer_index_gives_the_right_letters(tmp_path: Path) -> None:
    fasta = _fasta(tmp_path / "g.fa", 36)
    Genome(fasta).close()
    fai = Path(f"{fasta}.fai")
    stale = fai.read_text()
    _fasta(fasta, 5, header=" renamed description")
    fai.write_text(stale)
    _newer(fai)
    bed = tmp_path / "x.bed"
    bed.write_text("chr1\t3\t20\nchr2\t0\t12\n")
    assert [r.text for r in read_records(bed, genome=fasta)] == [CHR1[3:20], CHR2[0:12]]


def test_a_stale_index_that_cannot_be_rebuilt_is_one_clear_error(tmp_path: Path, monkeypatch) -> None:
    fasta = _fasta(tmp_path / "g.fa", 10)
    Genome(fasta).close()
    fai = Path(f"{fasta}.fai")
    stale = fai.read_text()
    _fasta(fasta, 7)
    fai.write_text(stale)
    _newer(fai)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    with pytest.raises(InputError, match=r"does not fit the FASTA .* cannot be rebuilt there") as info:
        Genome(fasta)
    assert str(fasta) in str(info.value) and "\n" not in str(info.value)
    assert fai.read_text() == stale  # nothing removed where it could not be rebuilt


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("chr1\t36\t6\t10\t11", "fits"),
        ("chr1\t40\t6\t10\t11", "not at the end"),  # longer: runs into the next contig
        ("chr1\t400\t6\t10\t11", "reach"),  # past the end of the file
        ("chr1\t36\t9\t10\t11", "start a line"),  # offset inside the sequence
        ("chr9\t36\t6\t10\t11", "header"),  # another contig's name
        ("chr1\tx\t6\t10\t11", "not name, length"),
        ("chr1\t36\t6\t12\t11", "line layout"),
    ],
)
def test_index_problem_names_what_does_not_fit(tmp_path: Path, line: str, reason: str) -> None:
    fasta = _fasta(tmp_path / "g.fa", 10)
    fai = tmp_path / "g.fa.fai"
    fai.write_text(line + "\n")
    problem = index_problem(fasta, fai)
    if reason == "fits":
        assert problem is None
    else:
        assert problem is not None and reason in problem
