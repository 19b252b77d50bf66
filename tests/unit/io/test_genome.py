"""seqrnn.io.genome: the one genome opener of BED reading, variants and tracks (stale index, aliases)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqrnn.errors import InputError
from seqrnn.io.formats import read_records
from seqrnn.io.genome import Genome


def _bed(tmp_path: Path, text: str) -> Path:
    bed = tmp_path / "x.bed"
    bed.write_text(text)
    return bed


def test_a_stale_index_is_rebuilt_not_used(tmp_path: Path) -> None:
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGTACGTAC\n")
    bed = _bed(tmp_path, "chr1\t0\t6\n")
    assert [r.text for r in read_records(bed, genome=genome)] == ["ACGTAC"]
    # The FASTA is replaced by one with a longer header line: the old index's byte offsets would
    # cut the wrong bases (the old reader used the stale index as it was).
    genome.write_text(">chr1 with a description\nTTTTGGGGCC\n")
    fai = Path(str(genome) + ".fai")
    old = genome.stat().st_mtime - 100
    os.utime(fai, (old, old))
    assert [r.text for r in read_records(bed, genome=genome)] == ["TTTTGG"]


def test_bed_chromosomes_resolve_through_chr_aliases(tmp_path: Path) -> None:
    genome = tmp_path / "g.fa"
    genome.write_text(">1\nACGTACGTAC\n>chrX\nGGGGCCCC\n")
    bed = _bed(tmp_path, "chr1\t2\t5\nX\t0\t3\tpeak\n")
    records = list(read_records(bed, genome=genome))
    assert [(r.id, r.text) for r in records] == [("chr1:2-5", "GTA"), ("peak", "GGG")]


def test_an_unknown_bed_chromosome_names_the_line_and_the_contigs(tmp_path: Path) -> None:
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGTACGTAC\n")
    bed = _bed(tmp_path, "chr1\t0\t3\nchr7\t0\t3\n")
    with pytest.raises(InputError, match=r"'chr7' is not in the genome.*has chr1") as info:
        list(read_records(bed, genome=genome))
    assert "line 2" in str(info.value)


def test_a_stale_index_that_cannot_be_rebuilt_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    import pyfaidx

    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGTACGTAC\n")
    Genome(genome).close()
    old = genome.stat().st_mtime - 100
    os.utime(Path(str(genome) + ".fai"), (old, old))

    def read_only(*args: object, **kwargs: object) -> None:
        # What a read-only reference directory does to pyfaidx (the tests may run as root, which
        # writes into any directory).
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pyfaidx.Faidx, "_open_fai", read_only)
    with pytest.raises(InputError, match="older than the FASTA and cannot be rebuilt"):
        Genome(genome)
