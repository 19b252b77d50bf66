"""configs/protein_ss_v2.yaml: SS heads + a disorder head, trained end to end, and its outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import pytest

from seqrnn.cli.main import main
from seqrnn.resources import config_names, config_path
from seqrnn.resources.synthetic import protein_ss_rows, write_table
from seqrnn.training.config import load_config
from tests.unit.training.briefly import train_briefly


def test_v2_config_loads_and_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert "protein_ss_v2" in config_names()
    config = load_config(config_path("protein_ss_v2"), ["data.train=x.csv"])
    ss8, ss3, disorder = config.heads
    assert config.data.mask_columns == ["disorder"] and ss8.mask_columns is None and ss3.mask_columns is None
    assert disorder.mask_columns == [] and disorder.classes == ["ordered", "disordered"]
    assert disorder.threshold == "mcc"  # a residue head's decision cut-off, chosen on validation
    assert disorder.labels["1.0"] == "ordered" and disorder.labels["0.0"] == "disordered"
    assert config.train.init_from == "protein-ss-v1" and config.train.monitor == "disorder/auroc"
    assert config.train.freeze == ["embed", "convs", "rnn", "heads.ss8", "heads.ss3"]
    assert config.train.precision == "fp32"
    assert main(["configs"]) == 0
    assert any(line.startswith("protein_ss_v2 ") for line in capsys.readouterr().out.splitlines())


@pytest.fixture(scope="module")
def v2_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The v2 config trained for one step from the built-in protein-ss on a tiny NetSurfP-like CSV."""
    return train_briefly("protein_ss_v2", tmp_path_factory.mktemp("v2"))


def test_v2_trains_and_writes_disorder(
    v2_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fasta = tmp_path / "in.fa"
    fasta.write_text(">first\nMKTAYIAKQRQISFVKSHFSRQ\n>second\nGSSGSSGMEEPQSDPSV\n")
    out = tmp_path / "p.h5"
    assert main(["predict", "-m", str(v2_model), str(fasta), "-o", str(out), "--threads", "1", "-q"]) == 0
    with h5py.File(out) as f:
        probs = f["residue/disorder/probs"]
        assert probs.shape == (22 + 17, 2)
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in probs.attrs["classes"]]
        assert classes == ["ordered", "disordered"]
        assert set(f["residue"]) == {"ss8", "ss3", "disorder"}
        threshold = float(probs.attrs["threshold"])  # chosen on the validation residues after training
        called = probs[:, 1] >= threshold
    tsv = tmp_path / "p.tsv"
    assert main(["export", str(out), "-f", "tsv", "-o", str(tsv)]) == 0
    with tsv.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert len(rows) == 39 and {"disorder", "disorder_Pordered", "disorder_Pdisordered"} <= set(rows[0])
    assert rows[0]["disorder"] in ("ordered", "disordered") and rows[0]["ss3"] in ("H", "E", "C")
    from seqrnn.io.predictions import Predictions

    with Predictions(out) as pred:  # the reader gives the same cut-off; heads without one give None
        assert pred.threshold("disorder") == pytest.approx(threshold) and pred.threshold("ss3") is None
    # The TSV's call is the threshold's, not argmax.
    assert [r["disorder"] == "disordered" for r in rows] == called.tolist()
    # csv is one row per input record: a per-residue file is pointed to tsv, in one line.
    capsys.readouterr()
    assert main(["export", str(out), "-f", "csv", "-o", str(tmp_path / "p.csv")]) != 0
    assert "-f tsv" in capsys.readouterr().err and not (tmp_path / "p.csv").exists()
    # PSIPRED formats pick the 3-state head beside the disorder head.
    assert main(["export", str(out), "-f", "ss2", "-o", str(tmp_path / "ss2")]) == 0
    assert (tmp_path / "ss2" / "first.ss2").read_text().startswith("# PSIPRED VFORMAT")
    assert main(["export", str(out), "-f", "horiz", "-o", str(tmp_path / "horiz")]) == 0
    pytest.importorskip("matplotlib")
    png = tmp_path / "first.png"
    assert main(["plot", str(out), "--id", "first", "-o", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_v2_evaluate_scores_disorder_on_every_residue(v2_model: Path, tmp_path: Path) -> None:
    data = write_table(protein_ss_rows(4, seed=9, max_len=40), tmp_path / "test.csv")
    report = tmp_path / "e.json"
    args = ["evaluate", "-m", str(v2_model), str(data), "--json", str(report), "--threads", "1"]
    assert main(["--quiet", *args]) == 0
    payload = json.loads(report.read_text())
    assert payload["mask_columns"] == ["disorder"]  # the data-level default; the disorder head has its own
    assert payload["head_mask_columns"] == {"ss8": ["disorder"], "ss3": ["disorder"], "disorder": []}
    metrics = payload["metrics"]
    residues = sum(len(r["seq"].split()) for r in protein_ss_rows(4, seed=9, max_len=40))
    assert metrics["disorder"]["n"] == residues and metrics["ss3"]["n"] == residues - 2 * 4
