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


def test_shipped_configs_name_their_dataset_and_read_it_below_seqrnn_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No developer's folder in a shipped config: a benchmark config names its dataset (as the table of
    published files has it) and reads the file below $SEQRNN_DATA, or from --set data.train=PATH."""
    from seqrnn.models.datasets import find_file

    named = []
    for name in resources.config_names():
        raw = yaml.safe_load(resources.config_path(name).read_text())
        paths = [raw["data"].get(k) or "" for k in ("train", "valid", "test", "genome")]
        assert not any(p.startswith(("/", "..")) or "/../" in p for p in paths), name
        if "dataset" not in raw:
            assert not any("${" in p for p in paths), name
            continue
        named.append(name)
        prefix, _, rel = raw["data"]["train"].partition("/")
        assert prefix == "${" + resources.DATA_ENV + "}", name
        entry = find_file(Path(rel).name)
        assert entry is not None and rel == f"{entry.folder}/{entry.file}", name
        expected = {"name": entry.dataset, "url": entry.url, "sha256": entry.sha256, "licence": entry.licence}
        assert raw["dataset"] == expected, name
        monkeypatch.setenv(resources.DATA_ENV, str(tmp_path))
        config = load_config(resources.config_path(name))
        assert config.data.train == f"{tmp_path}/{rel}" and config.dataset.sha256 == entry.sha256
        monkeypatch.delenv(resources.DATA_ENV)
        with pytest.raises(ConfigError) as info:
            load_config(resources.config_path(name))
        assert str(info.value) == (
            f"built-in config {name}: data.train: ${{SEQRNN_DATA}} is not set; "
            f"set it to the folder holding {rel} or pass --set data.train=PATH"
        )
    assert {"protein_ss", "protein_ss_v2", "dna/deepbind_hybrid", "moleculenet/bbbp"} <= set(named)
    assert len([n for n in named if n.startswith("moleculenet/")]) == 6


def test_config_label_names_a_shipped_config_by_its_name() -> None:
    assert (
        resources.config_label(resources.config_path("moleculenet/bbbp"))
        == "built-in config moleculenet/bbbp"
    )
    assert resources.config_label("configs/moleculenet/bbbp.yaml") == "configs/moleculenet/bbbp.yaml"
    assert resources.config_label("/tmp/elsewhere/run.yaml") == "/tmp/elsewhere/run.yaml"


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
    assert resources.resolve_config("moleculenet/esol")[1] == []  # the benchmark data are not shipped


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
