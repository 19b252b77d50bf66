"""``seqrnn variants`` keeps going on bad records (statuses counted in the summary, genome_ref and
padded_fraction in the HDF5 and TSV, one wrong-build warning), reads plain-gzip VCFs, takes --region in
the genome's contig names; ``variants`` and ``tile`` emit progress events; ``tile`` exports overlapping
regions as bedGraph/bigWig."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from tests.conftest import write_config

pysam = pytest.importorskip("pysam")

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RNG = np.random.default_rng(7)
CHR1 = "".join(RNG.choice(list("ACGT"), 400))
MITO = "".join(RNG.choice(list("ACGT"), 120))


@pytest.fixture(scope="module")
def model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("progress_model")
    cfg = write_config("dna", synthetic["dna"], tmp / "run", tmp, epochs=1)
    assert main(["train", str(cfg), "--quiet", "--set", "train.max_steps_per_epoch=2"]) == 0
    return tmp / "run" / "model.pt"


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{CHR1}\n>chrM\n{MITO}\n")
    return path


def other(base: str) -> str:
    return "A" if base != "A" else "C"


def rows() -> list[tuple[str, str]]:
    """(id, VCF line) of one variant of each kind."""
    return [
        ("ok", f"chr1\t200\tok\t{CHR1[199]}\t{other(CHR1[199])}"),
        ("edge", f"chr1\t2\tedge\t{CHR1[1]}\t{other(CHR1[1])}"),
        ("unknown", "chr9\t5\tunknown\tA\tC"),
        ("past_end", f"chr1\t{len(CHR1) + 10}\tpast_end\tA\tC"),
        ("same", f"chr1\t100\tsame\t{CHR1[99]}\t{CHR1[99].lower()}"),
        ("mismatch", f"chr1\t150\tmismatch\t{other(CHR1[149])}{CHR1[150]}\tG"),
        ("mito", f"MT\t60\tmito\t{MITO[59]}\t{other(MITO[59])}"),
    ]


def write_vcf(path: Path) -> Path:
    path.write_text(HEADER + "".join(line + "\t.\t.\t.\n" for _, line in rows()))
    return path


def run(model: Path, vcf: Path, genome: Path, out: Path, *args: str) -> int:
    base = ["variants", str(vcf), "--genome", str(genome), "-m", str(model), "-o", str(out)]
    return main([*base, "--threads", "1", *args])


def test_bad_records_get_statuses_and_the_run_goes_on(
    model: Path, genome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vcf = write_vcf(tmp_path / "calls.vcf")
    out = tmp_path / "effects.h5"
    assert run(model, vcf, genome, out, "--export", "tsv") == 0
    captured = capsys.readouterr()
    with h5py.File(out) as f:
        status = dict(zip(f["variants/id"].asstr()[:], f["variants/status"].asstr()[:], strict=True))
        genome_ref = dict(zip(f["variants/id"].asstr()[:], f["variants/genome_ref"].asstr()[:], strict=True))
        padded = dict(zip(f["variants/id"].asstr()[:], f["variants/padded_fraction"][:], strict=True))
        diff = f["variants/run/bound/diff"][:]
        width = int(f.attrs["window"])
    assert status == {
        "ok": "ok",
        "edge": "ok:padded",
        "unknown": "skipped:unknown_contig",
        "past_end": "skipped:out_of_contig",
        "same": "skipped:ref_equals_alt",
        "mismatch": "ref_mismatch",
        "mito": "ok",
    }
    assert genome_ref == {
        "ok": CHR1[199],
        "edge": CHR1[1],
        "unknown": "",
        "past_end": "",
        "same": CHR1[99],
        "mismatch": CHR1[149:151],
        "mito": MITO[59],
    }
    assert padded["ok"] == padded["mito"] == 0.0
    # An SNV at 0-based 1: the window's left flank reaches (width - 1) // 2 - 1 letters before the start.
    assert padded["edge"] == pytest.approx(((width - 1) // 2 - 1) / width)
    assert all(math.isnan(padded[k]) for k in ("unknown", "past_end", "same", "mismatch"))
    assert np.isfinite(diff[[0, 1, 6]]).all() and np.isnan(diff[2:6]).all()
    # Every status is counted in the summary line.
    for name in ("skipped:unknown_contig 1", "skipped:out_of_contig 1", "skipped:ref_equals_alt 1"):
        assert name in captured.out, captured.out
    # 1 of 4 variants whose REF was compared mismatches: one warning about the genome build.
    warnings = [line for line in captured.err.splitlines() if "differs from the genome" in line]
    assert warnings == [
        f"seqrnn: warning: 1 of 4 variants (25.0%) have a REF that differs from the genome: "
        f"is {genome} the build the VCF was called on?"
    ]
    tsv = [line.split("\t") for line in (tmp_path / "effects.tsv").read_text().splitlines()]
    assert tsv[0][-2:] == ["genome_ref", "padded_fraction"]
    by_id = {r[2]: dict(zip(tsv[0], r, strict=True)) for r in tsv[1:]}
    assert by_id["mismatch"]["genome_ref"] == CHR1[149:151] and by_id["mismatch"]["padded_fraction"] == "nan"
    assert by_id["ok"]["padded_fraction"] == "0"


def test_on_invalid_error_stops_at_an_unknown_contig(
    model: Path, genome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vcf = tmp_path / "calls.vcf"
    vcf.write_text(
        HEADER + f"chr1\t200\t.\t{CHR1[199]}\t{other(CHR1[199])}\t.\t.\t.\nchr9\t5\t.\tA\tC\t.\t.\t.\n"
    )
    out = tmp_path / "effects.h5"
    assert run(model, vcf, genome, out, "--on-invalid", "error") == 3
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "record 2: chromosome 'chr9' is not in the genome" in err[0]
    assert not out.exists()


def test_plain_gzip_vcf_and_region_in_genome_names(model: Path, genome: Path, tmp_path: Path) -> None:
    plain = write_vcf(tmp_path / "calls.vcf")
    gz = tmp_path / "plain.vcf.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert run(model, gz, genome, tmp_path / "gz.h5", "-q") == 0
    with h5py.File(tmp_path / "gz.h5") as f:
        assert list(f["variants/id"].asstr()[:]) == [k for k, _ in rows()]
    # The VCF says MT, the genome chrM: --region may use either name.
    sorted_rows = sorted(
        (line for _, line in rows()), key=lambda r: (r.split("\t")[0], int(r.split("\t")[1]))
    )
    src = tmp_path / "sorted.vcf"
    src.write_text(HEADER + "".join(line + "\t.\t.\t.\n" for line in sorted_rows))
    bgz = tmp_path / "sorted.vcf.gz"
    pysam.tabix_compress(str(src), str(bgz))
    pysam.tabix_index(str(bgz), preset="vcf")
    assert run(model, bgz, genome, tmp_path / "m.h5", "-q", "--region", "chrM:1-100") == 0
    with h5py.File(tmp_path / "m.h5") as f:
        assert list(f["variants/id"].asstr()[:]) == ["mito"]


def _events(log: Path, name: str) -> list[dict]:
    return [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == name]


def test_variants_progress_events(
    model: Path, genome: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.variants.scoring as scoring

    monkeypatch.setattr(scoring, "HEARTBEAT_SECONDS", 0.0)
    vcf = write_vcf(tmp_path / "calls.vcf")
    log = tmp_path / "log.jsonl"
    args = ["variants", str(vcf), "--genome", str(genome), "-m", str(model), "-o", str(tmp_path / "e.h5")]
    assert main(["--log-json", str(log), *args, "--threads", "1", "--chunk-size", "2", "-q"]) == 0
    progress = _events(log, "progress")
    assert [e["variants"] for e in progress] == [2, 4, 6, 7]  # one per chunk of 2
    assert all(e["variants_per_s"] > 0 and e["seconds"] >= 0 for e in progress)
    assert _events(log, "wrong_build")[0]["mismatched"] == 1


def test_tile_progress_events_and_overlapping_regions(
    model: Path, genome: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import seqrnn.variants.tracks as tile

    monkeypatch.setattr(tile, "HEARTBEAT_SECONDS", 0.0)
    bed = tmp_path / "peaks.bed"
    # Overlapping peaks, the mitochondrial one first (genome order puts chr1 first).
    bed.write_text("chrM\t0\t100\nchr1\t0\t100\nchr1\t60\t160\nchr1\t70\t90\n")
    out = tmp_path / "track.h5"
    log = tmp_path / "log.jsonl"
    args = ["tile", str(bed), "--genome", str(genome), "-m", str(model), "--stride", "50", "-o", str(out)]
    export = ["--export", "bedgraph", "--export", "bigwig"]
    assert main(["--log-json", str(log), *args, *export, "--threads", "1", "--chunk-size", "3"]) == 0
    # Heartbeats go to the console as lines when there is no bar (stderr is not a terminal here).
    assert "tile: 3 of 7 windows" in capsys.readouterr().err
    progress = _events(log, "progress")
    assert [e["windows"] for e in progress] == [3, 6, 7]
    assert all(e["total_windows"] == 7 and e["windows_per_s"] > 0 for e in progress)
    assert progress[-1]["eta_s"] == 0 and progress[0]["eta_s"] >= 0 and progress[-1]["bases"] == 320
    with h5py.File(out) as f:
        scores = f["track/run/bound/scores"][:, 1]
        bins = list(zip(f["track/chrom"].asstr()[:], f["track/start"][:], f["track/end"][:], strict=True))
    value = {b: float(v) for b, v in zip(bins, scores, strict=True)}
    lines = [line.split("\t") for line in (tmp_path / "track.bedgraph").read_text().splitlines()]
    got = [(c, int(s), int(e)) for c, s, e, _ in lines]
    assert got == [
        ("chr1", 0, 50),
        ("chr1", 50, 100),
        ("chr1", 100, 110),  # the 60-110 bin, after what the 0-100 region covered
        ("chr1", 110, 160),
        ("chrM", 0, 50),
        ("chrM", 50, 100),
    ]
    assert float(lines[2][3]) == pytest.approx(value[("chr1", 60, 110)], rel=1e-5)
    import pyBigWig

    bw = pyBigWig.open(str(tmp_path / "track.bw"))
    try:
        assert list(bw.chroms()) == ["chr1", "chrM"]
        assert bw.values("chr1", 105, 106)[0] == pytest.approx(value[("chr1", 60, 110)], rel=1e-5)
        assert bw.values("chr1", 75, 76)[0] == pytest.approx(value[("chr1", 50, 100)], rel=1e-5)
    finally:
        bw.close()
