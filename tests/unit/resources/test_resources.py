"""seqrnn/resources: the shipped configs, workflow and example inputs, found through the package."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqrnn import resources
from seqrnn.errors import ConfigError, OutputError
from seqrnn.training.config import load_config

ROOT = Path(__file__).resolve().parents[3]


def test_the_top_level_folders_are_the_package_data() -> None:
    """One copy: configs/, workflows/ and data/examples/ of the repository are the package's folders."""
    for name in ("configs", "workflows", "data/examples"):
        assert (ROOT / name).resolve() == (resources.root() / name).resolve(), name


def test_every_shipped_config_is_named_and_loads() -> None:
    names = resources.config_names()
    assert {"example_protein", "protein_ss", "dna/promoter", "moleculenet/esol"} <= set(names)
    for name, summary in resources.describe_configs():
        assert summary, name
        load_config(resources.config_path(name), ["data.train=x.csv"])  # valid as shipped
    assert resources.config_path("example_protein.yaml") == resources.config_path("example_protein")


def test_unknown_name_is_a_config_error_listing_the_names() -> None:
    with pytest.raises(ConfigError, match=r"no built-in config.*example_protein, .*moleculenet/esol"):
        resources.config_path("nope")


def test_a_path_wins_and_shipped_example_data_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "example_protein"
    mine.write_text("name: mine\n")
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_config("example_protein") == (Path("example_protein"), [])
    mine.unlink()
    path, overrides = resources.resolve_config("example_protein")
    assert path == resources.root() / "configs" / "example_protein.yaml"
    shipped = resources.root() / "data" / "examples" / "synthetic" / "protein_ss.csv"
    assert overrides == [f"data.train={shipped}"]
    assert load_config(path, overrides).data.train == str(shipped)
    assert resources.resolve_config("moleculenet/esol")[1] == []  # ../shared data is not shipped


def test_copy_workflow_brings_the_default_inputs(tmp_path: Path) -> None:
    written = resources.copy_workflow(tmp_path / "wf")
    rel = {p.relative_to(tmp_path / "wf").as_posix() for p in written}
    assert {
        "Snakefile",
        "config.yaml",
        "schemas/config.schema.yaml",
        "profiles/slurm/config.yaml",
        "envs/seqrnn.yaml",
    } <= rel
    defaults = yaml.safe_load((tmp_path / "wf" / "config.yaml").read_text())
    for key in ("train_config", "train_data", "predict_input"):
        assert (tmp_path / "wf" / defaults[key]).is_file(), key
    with pytest.raises(OutputError, match="--force"):
        resources.copy_workflow(tmp_path / "wf")
    assert len(resources.copy_workflow(tmp_path / "wf", force=True)) == len(written)
