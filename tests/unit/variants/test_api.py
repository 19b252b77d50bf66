"""seqrnn.score_variants and seqrnn.tile: the Python calls for variant effects and genome tracks give
what the command line writes, as readers with to_dataframe()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import seqrnn
from seqrnn.cli.main import main
from seqrnn.errors import SeqrnnError, UsageError

pytest.importorskip("pysam")
pd = pytest.importorskip("pandas")

RNG = np.random.default_rng(3)
CHR1 = "".join(RNG.choice(list("ACGT"), 500))
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    genome = tmp_path / "g.fa"
    genome.write_text(f">chr1\n{CHR1}\n")
    alt = {b: next(c for c in "ACGT" if c != b) for b in "ACGT"}
    rows = [f"chr1\t{p}\tv{p}\t{CHR1[p - 1]}\t{alt[CHR1[p - 1]]}\t.\t.\t.\n" for p in (60, 200, 420)]
    rows.append("chr9\t10\tgone\tA\tC\t.\t.\t.\n")  # a contig the genome lacks
    ref = CHR1[299]
    alts = ",".join([ref, *(c for c in "ACGT" if c != ref)][:3])  # ALT 1 is REF itself
    rows.append(f"chr1\t300\tmulti\t{ref}\t{alts}\t.\t.\t.\n")
    vcf = tmp_path / "calls.vcf"
    vcf.write_text(HEADER + "".join(rows))
    return vcf, genome


def test_score_variants_gives_the_tsv_export_as_a_dataframe(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    vcf, genome = inputs
    out = tmp_path / "cli.h5"
    args = ["variants", str(vcf), "--genome", str(genome), "-m", "tf-USF1", "-o", str(out), "--export", "tsv"]
    assert main([*args, "--threads", "1", "-q"]) == 0
    cli = pd.read_csv(tmp_path / "cli.tsv", sep="\t", keep_default_na=False, na_values=["nan"])
    with seqrnn.score_variants(vcf, genome, "tf-USF1", threads=1) as effects:
        temporary = effects.path
        assert temporary.exists() and len(effects) == 7
        assert effects.statuses == {"ok": 5, "skipped:ref_equals_alt": 1, "skipped:unknown_contig": 1}
        assert list(effects.models) == ["tf-USF1"]
        table = effects.to_dataframe()
    assert not temporary.exists() and not temporary.parent.exists()  # the temporary file went with it
    assert list(table.columns) == list(cli.columns) and len(table) == len(cli) == 7  # positive class only
    for column in ("chrom", "id", "ref", "alt", "class", "status", "genome_ref"):
        assert table[column].astype(str).tolist() == cli[column].astype(str).tolist(), column
    for column in ("ref_score", "alt_score", "diff", "log_odds_diff"):
        np.testing.assert_allclose(table[column], cli[column], rtol=1e-5, atol=1e-6, err_msg=column)


def test_score_variants_keeps_its_file_where_asked_and_never_over_an_input(
    inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    vcf, genome = inputs
    kept = tmp_path / "effects.h5"
    with seqrnn.score_variants(vcf, genome, ["tf-USF1"], output=kept, threads=1) as effects:
        assert effects.path == kept
    assert kept.exists()
    with pytest.raises(UsageError, match="would overwrite the VCF"):
        seqrnn.score_variants(vcf, genome, "tf-USF1", output=vcf)
    with pytest.raises(SeqrnnError, match="on_invalid"):
        seqrnn.score_variants(vcf, genome, "tf-USF1", on_invalid="skip")


def test_tile_gives_one_row_per_bin(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    _, genome = inputs
    with seqrnn.tile(genome, "tf-USF1", chrom="chr1", stride=100, threads=1) as track:
        assert len(track) == 5
        table = track.to_dataframe()
    assert table["start"].tolist() == [0, 100, 200, 300, 400] and table["end"].tolist()[-1] == 500
    assert list(table.columns[:4]) == ["chrom", "start", "end", "center"]
    assert [c for c in table.columns[4:]] == ["tf-USF1/bound/0", "tf-USF1/bound/1"]
    np.testing.assert_allclose(table["tf-USF1/bound/0"] + table["tf-USF1/bound/1"], 1.0, atol=1e-5)
    with pytest.raises(SeqrnnError, match="either regions"):
        seqrnn.tile(genome, "tf-USF1")


def test_a_failed_call_leaves_no_temporary_directory(
    inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    vcf, genome = inputs
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(SeqrnnError):
        seqrnn.score_variants(vcf, genome, "no-such-model")
    with pytest.raises(SeqrnnError):
        seqrnn.tile(genome, "tf-USF1", chrom="chr7")
    assert list(scratch.iterdir()) == []
