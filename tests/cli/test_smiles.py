"""SMILES end to end through the CLI: invalid rows set aside with a report, a held-out test split,
per-molecule CSV next to the input columns, and a MoleculeNet config reused on another CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import pytest

from seqrnn.cli.main import main
from seqrnn.resources.synthetic import molecule_rows, write_table
from tests.conftest import write_config

pytest.importorskip("rdkit")

INVALID = {3: "C1CC", 10: "CC(C)(C)(C)(C)C"}  # unclosed ring; pentavalent carbon
REPO = Path(__file__).resolve().parents[2]


def _with_invalid(path: Path, n: int = 120) -> Path:
    rows = molecule_rows(n, seed=4)
    for i, smiles in INVALID.items():
        rows[i]["smiles"] = smiles
    return write_table(rows, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("smiles_cli")
    data = _with_invalid(tmp / "mols.csv")
    cfg = write_config("smiles", data, tmp / "run", tmp, epochs=1)
    args = ["train", str(cfg), "--quiet", "--set", "data.on_invalid=skip", "--set", "data.test_fraction=0.2"]
    assert main([*args, "--set", "data.standardize=canonical"]) == 0
    return tmp / "run", data


def test_training_sets_invalid_rows_aside_and_scores_the_test_split(trained: tuple[Path, Path]) -> None:
    run, data = trained
    with open(run / "rejected.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [(r["row"], r["id"], r["sequence"]) for r in rows] == [
        (str(i + 1), f"mol{i}", s) for i, s in INVALID.items()
    ]
    assert all(r["file"] == str(data) and "RDKit" in r["reason"] for r in rows)
    split = json.loads((run / "run.json").read_text())["split"]
    assert split["method"] == "random" and split["rejected"] == 2
    assert split["train"] + split["valid"] + split["test"] == 118
    with open(run / "split.tsv", newline="") as fh:
        parts = list(csv.DictReader(fh, delimiter="\t"))
    assert sorted(int(p["row"]) for p in parts) == [i + 1 for i in range(120) if i not in INVALID]
    assert {p["part"]: sum(q["part"] == p["part"] for q in parts) for p in parts} == {
        k: split[k] for k in ("train", "valid", "test")
    }
    test = json.loads((run / "test_metrics.json").read_text())
    assert test["n_test"] == split["test"] and "mean_rmse" in test["metrics"]["logs"]


def test_training_on_invalid_error_names_the_record(tmp_path: Path, capsys) -> None:
    data = _with_invalid(tmp_path / "mols.csv", n=40)
    cfg = write_config("smiles", data, tmp_path / "run", tmp_path, epochs=1)
    assert main(["train", str(cfg), "--quiet"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"seqrnn: error: {data}: record mol3: RDKit cannot parse") and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_predict_skip_and_csv_keep_every_input_row(
    trained: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    run, data = trained
    out = tmp_path / "pred.h5"
    args = ["predict", "-m", str(run / "model.pt"), str(data), "-o", str(out), "--on-invalid", "skip"]
    assert main([*args, "--export", "csv", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"seqrnn: skipped {data}:mol3 (row 4): RDKit cannot parse" in err
    with open(data, newline="") as fh:
        source = list(csv.DictReader(fh))
    with open(tmp_path / "pred.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        table = list(reader)
        header = reader.fieldnames or []
    assert header[: len(source[0])] == list(source[0])  # input columns first, in their order
    assert header[len(source[0]) :] == [
        "pred_logs", "pred_tox_Phalogen", "pred_tox_Pring", "pred_tox_Pamine", "pred_status", "pred_note",
    ]  # fmt: skip
    assert len(table) == len(source)
    assert all(a[k] == b[k] for a, b in zip(source, table, strict=True) for k in a)
    status = {r["mol_id"]: (r["pred_status"], r["pred_note"], r["pred_logs"]) for r in table}
    assert status["mol3"][0] == "skipped" and "RDKit" in status["mol3"][1] and status["mol3"][2] == ""
    assert status["mol0"][0] == "ok" and float(status["mol0"][2]) == pytest.approx(
        _h5_value(out, "mol0"), abs=1e-4
    )
    # The same table from the HDF5 file afterwards.
    assert main(["export", str(out), "-f", "csv", "-o", str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "pred.csv").read_text()


def _h5_value(path: Path, rec_id: str) -> float:
    with h5py.File(path) as f:
        i = list(f["ids"].asstr()[:]).index(rec_id)
        return float(f["sequence/logs/values"][i, 0])


def test_a_moleculenet_config_trains_on_another_csv(tmp_path: Path) -> None:
    """configs/moleculenet/esol.yaml on a Lipophilicity-style CSV, by path and column names only."""
    rows = [
        {"CMPD_CHEMBLID": f"CHEMBL{i}", "exp": r["logs"], "smiles": r["smiles"]}
        for i, r in enumerate(molecule_rows(60, seed=9))
    ]
    data = write_table(rows, tmp_path / "lipo.csv")
    tiny = ["model.hidden=16", "model.layers=1", "model.embed_dim=8", "model.head_hidden=0"]
    sets = [
        f"data.train={data}",
        "data.id_column=CMPD_CHEMBLID",
        "heads.0.columns=[exp]",
        f"output_dir={tmp_path / 'run'}",
        "train.epochs=2",
        "train.test_views=2",
        *tiny,
    ]
    config = REPO / "configs" / "moleculenet" / "esol.yaml"
    assert main(["train", str(config), "--quiet", *[a for s in sets for a in ("--set", s)]]) == 0
    bundle_meta = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert bundle_meta["split"]["method"] == "random" and bundle_meta["n_test"] == 6
    out = tmp_path / "p.h5"
    assert main(["predict", "-m", str(tmp_path / "run" / "model.pt"), str(data), "-o", str(out), "-q"]) == 0
    with h5py.File(out) as f:
        assert f["sequence/logS/values"].shape == (60, 1)


def test_split_and_standardize_mistakes_are_one_line_errors(tmp_path: Path, capsys) -> None:
    data = write_table(molecule_rows(40, seed=2), tmp_path / "mols.csv")
    cfg = write_config("smiles", data, tmp_path / "run", tmp_path, epochs=1)
    # Synthetic molecules share a handful of scaffolds: nothing is left for validation.
    assert main(["train", str(cfg), "--set", "data.split=scaffold", "--set", "data.test_fraction=0.1"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqrnn: error:") and "left no validation records" in err and "\n" not in err
    assert main(["train", str(cfg), "--set", "data.standardize=inchi"]) == 5
    assert "data.standardize" in capsys.readouterr().err


def test_ensemble_members_share_a_split_and_predict_as_their_mean(tmp_path: Path) -> None:
    data = write_table(molecule_rows(80, seed=6), tmp_path / "mols.csv")
    cfg = write_config("smiles", data, tmp_path / "unused", tmp_path, epochs=1)
    runs = [tmp_path / f"member{k}" for k in range(2)]
    for k, run in enumerate(runs):
        extra = ["--set", f"seed={7 + k}", "--set", "data.split_seed=3", "--set", f"output_dir={run}"]
        extra += ["--set", "train.augment=smiles_enumeration", "--set", "data.test_fraction=0.2"]
        assert main(["train", str(cfg), "--quiet", *extra]) == 0
    infos = [json.loads((run / "run.json").read_text()) for run in runs]
    assert infos[0]["split"] == infos[1]["split"] and infos[0]["split"]["seed"] == 3
    assert infos[0]["seed"] != infos[1]["seed"]
    assert (runs[0] / "split.tsv").read_text() == (runs[1] / "split.tsv").read_text()
    models = [str(run / "model.pt") for run in runs]
    outs = [tmp_path / f"p{k}.h5" for k in range(3)]
    for model, out in zip(models, outs, strict=False):
        assert main(["predict", "-m", model, str(data), "-o", str(out), "-q", "--test-views", "1"]) == 0
    args = ["predict", "-m", models[0], "-m", models[1], "--ensemble", str(data), "-o", str(outs[2]), "-q"]
    assert main([*args, "--test-views", "1"]) == 0
    with h5py.File(outs[0]) as a, h5py.File(outs[1]) as b, h5py.File(outs[2]) as both:
        key = "sequence/logs/values"
        assert not (a[key][:] == b[key][:]).all()
        assert both[key][:] == pytest.approx((a[key][:] + b[key][:]) / 2, rel=1e-5, abs=1e-5)
        assert [m.decode() for m in both.attrs["model_members"]] == models
        assert both.attrs["model_name"].startswith("ensemble(")
    report = tmp_path / "eval.json"
    assert (
        main(["evaluate", "-m", models[0], "-m", models[1], "--ensemble", str(data), "--json", str(report)])
        == 0
    )
    assert json.loads(report.read_text())["model"].startswith("ensemble(")
