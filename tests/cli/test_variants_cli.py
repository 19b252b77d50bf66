"""``seqrnn variants`` and ``seqrnn tile`` end to end with a tiny DNA model: HDF5 layout, TSV/VCF exports,
shard + merge == unsharded, killed + resumed == uninterrupted, REF/ALT symmetry, agreement with predict."""

from __future__ import annotations

import gzip
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from tests.conftest import write_config

pysam = pytest.importorskip("pysam")

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RNG = np.random.default_rng(7)
CHR1 = "".join(RNG.choice(list("ACGT"), 600))
CHR2 = "".join(RNG.choice(list("ACGT"), 300))


@pytest.fixture
def model(two_strand_dna_model: Path) -> Path:
    return two_strand_dna_model  # tests/cli/conftest.py


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    path = tmp_path / "genome.fa"
    path.write_text(f">chr1\n{CHR1}\n>chr2\n{CHR2}\n")
    return path


def vcf_rows() -> list[str]:
    rows = []
    for i, pos in enumerate(range(20, 580, 37)):
        ref = CHR1[pos - 1]
        alts = [b for b in "ACGT" if b != ref]
        rows.append(f"chr1\t{pos}\tv{i}\t{ref}\t{alts[0]}" + (f",{alts[1]}" if i % 4 == 0 else ""))
    rows.append(f"chr1\t300\tdel\t{CHR1[299:303]}\t{CHR1[299]}")
    rows.append(f"chr1\t350\tins\t{CHR1[349]}\t{CHR1[349]}GATC")
    rows.append(f"chr2\t3\tedge\t{CHR2[2]}\t{'A' if CHR2[2] != 'A' else 'C'}")
    rows.append(f"chr2\t100\tsv\t{CHR2[99]}\t<DEL>")
    rows.append(f"chr2\t150\tbad\t{'A' if CHR2[149] != 'A' else 'C'}\tG")
    rows.sort(key=lambda r: (r.split("\t")[0], int(r.split("\t")[1])))  # sorted, so tabix can index it
    return [r + "\t.\t.\t." for r in rows]


@pytest.fixture
def vcf(tmp_path: Path) -> Path:
    path = tmp_path / "calls.vcf"
    path.write_text(HEADER + "\n".join(vcf_rows()) + "\n")
    return path


def width(model: Path) -> int:
    """The window the model is scored with: its trained length when stored, else 101."""
    from seqrnn.models.bundle import load_bundle

    lengths = load_bundle(model).metadata.get("data", {}).get("lengths")
    return int(max(lengths)) if lengths else 101


def run(model: Path, vcf: Path, genome: Path, out: Path, *args: str) -> int:
    base = ["variants", str(vcf), "--genome", str(genome), "-m", str(model), "-o", str(out)]
    return main([*base, "--threads", "1", "-q", *args])


def datasets(path: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    with h5py.File(path) as f:
        f.visititems(lambda n, o: found.__setitem__(n, o[:]) if isinstance(o, h5py.Dataset) else None)
    return found


def test_variants_end_to_end_with_exports(
    model: Path, vcf: Path, genome: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "effects.h5"
    assert run(model, vcf, genome, out, "--export", "tsv", "--export", "vcf") != 1
    capsys.readouterr()
    args = ["variants", str(vcf), "--genome", str(genome), "-m", str(model), "-o", str(out), "--threads", "1"]
    assert main([*args, "--export", "tsv", "--export", "vcf"]) == 0
    assert "variants/s" in capsys.readouterr().out
    n_alleles = sum(len(r.split("\t")[4].split(",")) for r in vcf_rows())
    with h5py.File(out) as f:
        assert f.attrs["format"] == "seqrnn-variants" and f.attrs["format_version"] == 1
        assert f.attrs["window"] == width(model) and list(f.attrs["models"]) == [b"run"]
        assert len(f.attrs["model_sha256s"][0]) == 64 and f.attrs["genome"] == str(genome)
        status = list(f["variants/status"].asstr()[:])
        assert len(status) == n_alleles
        np.testing.assert_array_equal(f["variants/record_index"][:], np.arange(n_alleles))
        ids = list(f["variants/id"].asstr()[:])
        assert status[ids.index("del")] == "ok" and status[ids.index("ins")] == "ok"
        assert status[ids.index("edge")] == "ok:padded"
        assert status[ids.index("sv")] == "skipped:symbolic"
        assert status[ids.index("bad")] == "ref_mismatch"
        ref, alt, diff, lod = (
            f[f"variants/run/bound/{k}"][:] for k in ("ref", "alt", "diff", "log_odds_diff")
        )
        assert ref.shape == (n_alleles, 2) and ref.dtype == np.float32
        assert list(f["variants/run/bound/diff"].attrs["classes"].astype(str)) == ["0", "1"]
        scored = np.array([s.startswith("ok") for s in status])
        assert np.isnan(ref[~scored]).all() and not np.isnan(ref[scored]).any()
        np.testing.assert_allclose(diff[scored], alt[scored] - ref[scored], atol=1e-6)
        logit = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6)) - np.log1p(-np.clip(p, 1e-6, 1 - 1e-6))  # noqa: E731
        np.testing.assert_allclose(lod[scored], logit(alt[scored]) - logit(ref[scored]), atol=1e-3)
        np.testing.assert_allclose(ref[scored].sum(1), 1.0, atol=1e-5)
    rows = (tmp_path / "effects.tsv").read_text().splitlines()
    # The column list, verbatim.
    spec = "chrom pos id ref alt model head class ref_score alt_score diff log_odds_diff status genome_ref padded_fraction"
    assert rows[0].split("\t") == spec.split()
    assert len(rows) == 1 + n_alleles  # a two-class head exports its positive class only
    assert {r.split("\t")[7] for r in rows[1:]} == {"1"}
    annotated = pysam.VariantFile(str(tmp_path / "effects.vcf"))
    assert "SEQRNN_RUN_BOUND_1_DIFF" in annotated.header.info
    assert "SEQRNN_RUN_BOUND_0_DIFF" not in annotated.header.info  # the mirror image is left out
    recs = list(annotated)
    assert len(recs) == len(vcf_rows())
    first = recs[0]
    assert len(first.info["SEQRNN_RUN_BOUND_1_DIFF"]) == len(first.alts) == 2
    assert first.info["SEQRNN_RUN_BOUND_1_DIFF"][1] == pytest.approx(float(diff[1, 1]), abs=1e-5)
    assert next(r for r in recs if r.id == "sv").info["SEQRNN_STATUS"] == ("skipped:symbolic",)


def test_bgzipped_input_gives_an_indexed_vcf_gz(model: Path, vcf: Path, genome: Path, tmp_path: Path) -> None:
    gz = tmp_path / "calls.vcf.gz"
    pysam.tabix_compress(str(vcf), str(gz))
    pysam.tabix_index(str(gz), preset="vcf")
    out = tmp_path / "gz.h5"
    assert run(model, gz, genome, out, "--export", "vcf") == 0
    exported = tmp_path / "gz.vcf.gz"
    assert exported.read_bytes()[:2] == b"\x1f\x8b" and Path(f"{exported}.tbi").is_file()
    region = list(pysam.VariantFile(str(exported)).fetch("chr2", 0, 200))
    assert [r.id for r in region] == ["edge", "sv", "bad"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with gzip.open(exported, "rt") as fh:
        assert sum(1 for line in fh if not line.startswith("#")) == len(vcf_rows())
    # --region scores (and exports) only the records there, still in step with the VCF lines.
    assert run(model, gz, genome, tmp_path / "region.h5", "--region", "chr2:1-200", "--export", "vcf") == 0
    with h5py.File(tmp_path / "region.h5") as f:
        assert list(f["variants/id"].asstr()[:]) == ["edge", "sv", "bad"]
        edge_diff = float(f["variants/run/bound/diff"][0, 1])
    region = list(pysam.VariantFile(str(tmp_path / "region.vcf.gz")))
    assert [r.id for r in region] == ["edge", "sv", "bad"]
    assert region[0].info["SEQRNN_RUN_BOUND_1_DIFF"][0] == pytest.approx(edge_diff, abs=1e-5)
    assert region[2].info["SEQRNN_STATUS"] == ("ref_mismatch",)


def test_shards_merged_equal_the_unsharded_file(model: Path, vcf: Path, genome: Path, tmp_path: Path) -> None:
    assert run(model, vcf, genome, tmp_path / "all.h5", "--chunk-size", "4") == 0
    for k in (1, 2, 3):
        assert run(model, vcf, genome, tmp_path / f"s{k}.h5", "--shard", f"{k}/3", "--chunk-size", "3") == 0
    shards = [str(tmp_path / f"s{k}.h5") for k in (3, 1, 2)]
    assert main(["merge", *shards, "-o", str(tmp_path / "merged.h5")]) == 0
    whole, merged = datasets(tmp_path / "all.h5"), datasets(tmp_path / "merged.h5")
    assert whole.keys() == merged.keys()
    for key in whole:
        if whole[key].dtype.kind == "f":
            # Chunks of 4 and of 3 batch the windows differently, and oneDNN's float sums may differ in
            # the last bit with the batch (seen on AVX512 CPUs): equal to float32 rounding, not bitwise.
            np.testing.assert_allclose(whole[key], merged[key], rtol=0, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(whole[key], merged[key], err_msg=key)
    assert main(["merge", *shards[:2], "-o", str(tmp_path / "bad.h5")]) != 0


def test_killed_run_resumes_to_the_uninterrupted_file(
    model: Path, vcf: Path, genome: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.variants.scoring as scoring

    assert run(model, vcf, genome, tmp_path / "plain.h5", "--chunk-size", "4") == 0
    original = scoring.score_pairs
    calls = {"n": 0}

    def dies_on_third_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(scoring, "score_pairs", dies_on_third_chunk)
    out = tmp_path / "resumed.h5"
    assert run(model, vcf, genome, out, "--chunk-size", "4", "--resume") == 130
    assert not out.exists()
    parts = sorted(p.name for p in (tmp_path / ".resumed.h5.parts").glob("part*.h5"))
    assert parts == ["part000000.h5", "part000001.h5"]
    calls["n"] = -1000
    assert run(model, vcf, genome, out, "--chunk-size", "4", "--resume") == 0
    n_alleles = sum(len(r.split("\t")[4].split(",")) for r in vcf_rows())
    assert calls["n"] + 1000 == -(-n_alleles // 4) - 2  # chunks of 4 alleles, 2 reused
    assert not (tmp_path / ".resumed.h5.parts").exists()
    plain, resumed = datasets(tmp_path / "plain.h5"), datasets(out)
    for key in plain:
        np.testing.assert_array_equal(plain[key], resumed[key], err_msg=key)


def test_swapping_ref_and_alt_negates_the_diff(model: Path, genome: Path, tmp_path: Path) -> None:
    """A genome carrying the ALT alleles, with REF and ALT swapped: the same windows, roles swapped.

    Variants are 50 bp apart and scored with 41-bp windows, so no window sees another variant; the
    deletion comes last, so it shifts no other position on the ALT genome."""
    rows, swapped, carried = [], [], list(CHR1)
    for i, pos in enumerate(range(30, 480, 50)):
        ref = CHR1[pos - 1]
        alt = "ACGT"[("ACGT".index(ref) + 1 + i % 3) % 4]
        rows.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\t.\t.")
        swapped.append(f"chr1\t{pos}\t.\t{alt}\t{ref}\t.\t.\t.")
        carried[pos - 1] = alt
    deleted = CHR1[529:533]
    rows.append(f"chr1\t530\t.\t{deleted}\t{deleted[0]}\t.\t.\t.")
    swapped.append(f"chr1\t530\t.\t{deleted[0]}\t{deleted}\t.\t.\t.")
    carried[530:533] = []
    alt_genome = tmp_path / "alt.fa"
    alt_genome.write_text(f">chr1\n{''.join(carried)}\n")
    (tmp_path / "a.vcf").write_text(HEADER + "\n".join(rows) + "\n")
    (tmp_path / "b.vcf").write_text(HEADER + "\n".join(swapped) + "\n")
    assert run(model, tmp_path / "a.vcf", genome, tmp_path / "a.h5", "--window", "41") == 0
    assert run(model, tmp_path / "b.vcf", alt_genome, tmp_path / "b.h5", "--window", "41") == 0
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert set(a["variants/status"].asstr()[:]) == set(b["variants/status"].asstr()[:]) == {"ok"}
        np.testing.assert_allclose(a["variants/run/bound/ref"][:], b["variants/run/bound/alt"][:], atol=1e-5)
        for key in ("diff", "log_odds_diff"):
            first, second = a[f"variants/run/bound/{key}"][:], b[f"variants/run/bound/{key}"][:]
            np.testing.assert_allclose(first, -second, atol=1e-4)
            assert np.abs(first).max() > 1e-4  # the scores do change


def test_ref_scores_are_what_predict_gives_for_the_window(model: Path, genome: Path, tmp_path: Path) -> None:
    pos = 200
    ref = CHR1[pos - 1]
    (tmp_path / "one.vcf").write_text(
        HEADER + f"chr1\t{pos}\t.\t{ref}\t{'A' if ref != 'A' else 'C'}\t.\t.\t.\n"
    )
    assert run(model, tmp_path / "one.vcf", genome, tmp_path / "one.h5") == 0
    bed = tmp_path / "win.bed"
    left = (width(model) - 1) // 2
    bed.write_text(f"chr1\t{pos - 1 - left}\t{pos - 1 - left + width(model)}\twin\n")
    assert (
        main(
            [
                "predict",
                str(bed),
                "--genome",
                str(genome),
                "-m",
                str(model),
                "-o",
                str(tmp_path / "p.h5"),
                "-q",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    with h5py.File(tmp_path / "one.h5") as v, h5py.File(tmp_path / "p.h5") as p:
        np.testing.assert_allclose(v["variants/run/bound/ref"][0], p["sequence/bound/probs"][0], atol=1e-5)


def test_several_models_get_their_own_groups(model: Path, vcf: Path, genome: Path, tmp_path: Path) -> None:
    out = tmp_path / "two.h5"
    assert (
        main(
            [
                "variants",
                str(vcf),
                "--genome",
                str(genome),
                "-m",
                str(model),
                "-m",
                str(model),
                "-o",
                str(out),
                "-q",
                "--threads",
                "1",
                "--window",
                "51",
            ]
        )
        == 0
    )
    with h5py.File(out) as f:
        assert list(f.attrs["models"].astype(str)) == ["run", "run_2"] and f.attrs["window"] == 51
        np.testing.assert_array_equal(f["variants/run/bound/diff"][:], f["variants/run_2/bound/diff"][:])


def test_tile_track_bedgraph_and_bigwig(model: Path, genome: Path, tmp_path: Path, capsys) -> None:
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t0\t230\nchr2\t100\t300\n")
    out = tmp_path / "track.h5"
    args = ["tile", str(bed), "--genome", str(genome), "-m", str(model), "--stride", "50", "-o", str(out)]
    assert (
        main([*args, "--threads", "1", "--export", "bedgraph", "--export", "bigwig", "--chunk-size", "3"])
        == 0
    )
    assert "bp/s" in capsys.readouterr().out
    with h5py.File(out) as f:
        starts, ends = f["track/start"][:], f["track/end"][:]
        assert list(zip(starts[:5], ends[:5], strict=True)) == [
            (0, 50),
            (50, 100),
            (100, 150),
            (150, 200),
            (200, 230),
        ]
        assert f.attrs["format"] == "seqrnn-track" and len(starts) == 5 + 4
        probs = f["track/run/bound/scores"][:]
    lines = (tmp_path / "track.bedgraph").read_text().splitlines()
    assert len(lines) == 9 and lines[0].split("\t")[:3] == ["chr1", "0", "50"]
    np.testing.assert_allclose([float(x.split("\t")[3]) for x in lines], probs[:, 1], rtol=1e-5)
    import pyBigWig

    bw = pyBigWig.open(str(tmp_path / "track.bw"))
    assert bw.values("chr1", 60, 61)[0] == pytest.approx(probs[1, 1], rel=1e-5)
    assert (
        main(
            [
                "tile",
                "--chrom",
                "2",
                "--genome",
                str(genome),
                "-m",
                str(model),
                "--stride",
                "100",
                "-o",
                str(tmp_path / "c.h5"),
                "-q",
            ]
        )
        == 0
    )
    with h5py.File(tmp_path / "c.h5") as f:
        assert list(f["track/chrom"].asstr()[:]) == ["chr2"] * 3


def test_tile_errors_are_one_line(model: Path, genome: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "t.h5"
    base = ["tile", "--chrom", "chr1", "--genome", str(genome), "-m", str(model), "-o", str(out), "-q"]
    assert main([*base, "--export", "bedgraph", "--class", "nope"]) == 3
    assert "--class 'nope'" in capsys.readouterr().err and not out.exists()
    assert main([*base[:1], *base[3:]]) == 2  # neither a BED file nor --chrom
    capsys.readouterr()
    assert main([*base[:2], "chr7", *base[3:]]) == 3
    assert "'chr7'" in capsys.readouterr().err
    import sys

    monkeypatch.setitem(sys.modules, "pyBigWig", None)
    assert main([*base, "--export", "bigwig"]) == 3
    assert "pip install 'seqrnn[tracks]'" in capsys.readouterr().err and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genome.fa", "genome.fa.fai"]


@pytest.mark.parametrize("command", ["variants", "tile"])
def test_subcommand_modules_are_small_and_listed(command: str, capsys) -> None:
    import seqrnn.cli

    path = Path(seqrnn.cli.__file__).parent / f"{command}.py"
    assert len(path.read_text().splitlines()) < 150
    assert main(["--help"]) == 0
    assert f"\n  {command} " in capsys.readouterr().out


def test_regression_heads_have_no_log_odds(
    synthetic: dict[str, Path], genome: Path, vcf: Path, tmp_path: Path
) -> None:
    import yaml

    cfg = write_config("dna", synthetic["dna"], tmp_path / "reg", tmp_path, epochs=1)
    config = yaml.safe_load(cfg.read_text())
    config["heads"] = [{"name": "signal", "kind": "sequence_regression", "columns": ["Bound"]}]
    cfg.write_text(yaml.safe_dump(config))
    assert main(["train", str(cfg), "--quiet", "--set", "train.max_steps_per_epoch=2"]) == 0
    model = tmp_path / "reg" / "model.pt"
    out = tmp_path / "reg.h5"
    assert run(model, vcf, genome, out, "--export", "vcf") == 0
    with h5py.File(out) as f:
        scored = np.char.startswith(f["variants/status"].asstr()[:].astype(str), "ok")
        assert np.isnan(f["variants/reg/signal/log_odds_diff"][:]).all()
        assert np.isfinite(f["variants/reg/signal/diff"][:][scored]).all()
    header = str(pysam.VariantFile(str(tmp_path / "reg.vcf")).header)
    assert "SEQRNN_REG_SIGNAL_BOUND_DIFF" in header and "_LOD" not in header
    track = tmp_path / "reg_track.h5"
    assert (
        main(
            [
                "tile",
                "--chrom",
                "chr2",
                "--genome",
                str(genome),
                "-m",
                str(model),
                "-o",
                str(track),
                "-q",
                "--export",
                "bedgraph",
            ]
        )
        == 0
    )
    assert len((tmp_path / "reg_track.bedgraph").read_text().splitlines()) == 6
