"""``seqrnn configs``, ``seqrnn train NAME`` and ``seqrnn workflow``: the shipped files from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqrnn.cli.main import main
from seqrnn.resources import config_path, workflow_dir


def test_configs_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("example_protein ") and "Tiny per-residue example" in line for line in lines)
    assert any(line.startswith("moleculenet/esol ") for line in lines)
    assert main(["configs", "show", "dna/promoter"]) == 0
    assert capsys.readouterr().out == config_path("dna/promoter").read_text()
    assert main(["configs", "show", "nope"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "example_protein" in err[0]


def test_train_takes_a_name_and_a_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # the shipped example data is found in the package, not here
    sets = ["--set", "train.epochs=1", "--set", "train.max_steps_per_epoch=1", "--set", "model.hidden=8"]
    assert main(["train", "example_protein", *sets, "--set", "output_dir=run", "-q"]) == 0
    assert (tmp_path / "run" / "model.pt").is_file()
    assert main(["train", "no_such_config", "-q"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_config" in err[0] and "moleculenet/esol" in err[0]
    (tmp_path / "example_protein").write_text("name: [unclosed\n")  # a file of that name wins
    assert main(["train", "example_protein", "-q"]) == 5
    assert "invalid YAML" in capsys.readouterr().err


def test_workflow_path_and_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workflow"]) == 0
    assert capsys.readouterr().out.strip() == str(workflow_dir() / "Snakefile")
    assert main(["workflow", "--copy", str(tmp_path / "wf")]) == 0
    assert (tmp_path / "wf" / "Snakefile").read_text() == (workflow_dir() / "Snakefile").read_text()
    assert "snakemake -s" in capsys.readouterr().out
    assert main(["workflow", "--copy", str(tmp_path / "wf")]) == 6  # nothing overwritten
    assert "--force" in capsys.readouterr().err
    assert main(["--quiet", "workflow", "--copy", str(tmp_path / "wf"), "--force"]) == 0
    assert capsys.readouterr().out == ""
