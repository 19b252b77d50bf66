"""Training and evaluation from one FASTA file per class (``data.class_files``, ``--class-file``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

import seqrnn
from seqrnn.cli.main import main
from seqrnn.models.bundle import load_bundle
from seqrnn.resources.synthetic import dna_binding_rows


def _config(tmp: Path, out: Path, data: dict) -> Path:
    cfg = {
        "name": "promoters",
        "encoder": "dna",
        "output_dir": str(out),
        "data": data,
        "heads": [{"name": "kind", "kind": "sequence_classification", "columns": ["label"]}],
        "model": {"hidden": 8, "layers": 1, "dropout": 0.0},
        "train": {"epochs": 2, "lr": 0.01, "batch_size": 16, "warmup_steps": 0, "device": "cpu"},
    }
    path = tmp / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("class_files")
    rows = dna_binding_rows(80, seed=3)
    pos, neg = tmp / "promoters.fa", tmp / "nonpromoters.fa"
    pos.write_text("".join(f">{r['EventID']}\n{r['seq']}\n" for r in rows if r["Bound"] == "1"))
    neg.write_text(
        "".join(f">{r['EventID']} source=shuffled\n{r['seq']}\n" for r in rows if r["Bound"] == "0")
    )
    table = tmp / "labelled.tsv"  # the same records as one file with a label column
    with table.open("w", newline="") as fh:
        w = csv.writer(fh, delimiter="\t")
        w.writerow(["id", "seq", "label"])
        for label, bound in (("promoter", "1"), ("other", "0")):
            w.writerows([r["EventID"], r["seq"], label] for r in rows if r["Bound"] == bound)
    return {"tmp": tmp, "pos": pos, "neg": neg, "table": table}


@pytest.fixture(scope="module")
def config_run(files: dict[str, Path]) -> Path:
    tmp = files["tmp"]
    cfg = _config(
        tmp, tmp / "run_cfg", {"class_files": {"promoter": str(files["pos"]), "other": str(files["neg"])}}
    )
    assert main(["train", str(cfg), "--quiet"]) == 0
    return tmp / "run_cfg"


def _split(run: Path) -> list[dict[str, str]]:
    with (run / "split.tsv").open() as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_config_mapping_trains_a_classifier_of_the_files(config_run: Path, files: dict[str, Path]) -> None:
    bundle = load_bundle(config_run / "model.pt")
    assert sorted(bundle.model.heads["kind"].spec.classes) == ["other", "promoter"]
    rows = _split(config_run)
    assert {r["file"] for r in rows} == {str(files["pos"]), str(files["neg"])}
    assert len(rows) == 80 and sorted(int(r["row"]) for r in rows) == list(range(1, 81))  # global, in order
    first = {r["file"] for r in rows if int(r["row"]) <= 40}
    assert first == {str(files["pos"])}  # files in mapping order
    run = json.loads((config_run / "run.json").read_text())
    assert "sha256:" in json.dumps(run)


def test_cli_class_file_trains_and_evaluate_matches_a_labelled_file(
    config_run: Path, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cfg = _config(tmp_path, tmp_path / "run_cli", {"train": str(files["table"])})  # replaced by --class-file
    args = ["--class-file", f"promoter={files['pos']}", "--class-file", f"other={files['neg']}"]
    assert main(["train", str(cfg), "--quiet", *args]) == 0
    assert {r["file"] for r in _split(tmp_path / "run_cli")} == {str(files["pos"]), str(files["neg"])}
    model = str(config_run / "model.pt")
    by_file, by_table = tmp_path / "by_file.json", tmp_path / "by_table.json"
    assert main(["evaluate", "-m", model, *args, "--json", str(by_file), "--device", "cpu"]) == 0
    assert (
        main(["evaluate", str(files["table"]), "-m", model, "--json", str(by_table), "--device", "cpu"]) == 0
    )
    a, b = json.loads(by_file.read_text()), json.loads(by_table.read_text())
    assert a["n_sequences"] == b["n_sequences"] == 80
    assert a["metrics"] == b["metrics"]
    assert a["data"] == [str(files["pos"]), str(files["neg"])]
    api = seqrnn.evaluate(
        None, model, class_files={"promoter": files["pos"], "other": files["neg"]}, device="cpu"
    )
    assert api.metrics == b["metrics"]


def test_set_overrides_one_class_file(files: dict[str, Path], tmp_path: Path) -> None:
    from seqrnn.training.config import load_config

    cfg = _config(tmp_path, tmp_path / "r", {"class_files": {"promoter": "x.fa", "other": "y.fa"}})
    config = load_config(cfg, [f"data.class_files.promoter={files['pos']}"])
    assert config.data.class_files == {"promoter": str(files["pos"]), "other": "y.fa"}


def test_conflicts_are_one_line_errors(
    config_run: Path, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    both = {"train": str(files["table"]), "class_files": {"promoter": str(files["pos"])}}
    assert main(["train", str(_config(tmp_path, tmp_path / "both", both)), "--quiet"]) == 5
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "data.train" in err and "data.class_files" in err
    neither = _config(tmp_path, tmp_path / "neither", {})
    assert main(["train", str(neither), "--quiet"]) == 5
    assert "data.class_files" in capsys.readouterr().err

    model = str(config_run / "model.pt")
    assert main(["evaluate", "-m", model, "--class-file", f"enhancer={files['pos']}"]) == 2
    err = capsys.readouterr().err
    assert "'enhancer'" in err and "promoter" in err
    assert main(["evaluate", "-m", model]) == 2
    capsys.readouterr()

    liar = tmp_path / "liar.fa"
    liar.write_text(">a\nACGTACGTAC\n>b label=other\nACGTACGTAC\n")
    assert main(["evaluate", "-m", model, "--class-file", f"promoter={liar}"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(liar) in err and "record b" in err and "'other'" in err
    cfg = _config(
        tmp_path, tmp_path / "liar", {"class_files": {"promoter": str(liar), "other": str(files["neg"])}}
    )
    assert main(["train", str(cfg), "--quiet"]) == 3
    assert "record b" in capsys.readouterr().err
