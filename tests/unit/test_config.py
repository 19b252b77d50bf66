"""Tests for seqrnn.config: YAML loading, strict validation and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqrnn.config import RunConfig, dump_config, load_config
from seqrnn.errors import ConfigError

BASE = {
    "name": "ss",
    "encoder": "protein",
    "data": {"train": "train.csv", "mask_columns": ["disorder"]},
    "heads": [
        {"name": "ss8", "kind": "residue_classification", "columns": ["dssp8"]},
        {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]},
    ],
    "model": {"cell": "gru", "hidden": 64},
    "train": {"epochs": 3, "lr": 0.002},
}


def write_yaml(tmp_path: Path, data: object, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_changes(**sections: object) -> dict:
    return {**BASE, **sections}


def test_load_from_yaml(tmp_path: Path) -> None:
    config = load_config(write_yaml(tmp_path, BASE))
    assert isinstance(config, RunConfig)
    assert config.name == "ss"
    assert config.data.train == "train.csv"
    assert config.data.mask_columns == ["disorder"]
    assert [h.name for h in config.heads] == ["ss8", "ss3"]
    assert config.heads[0].classes is None
    assert config.heads[1].classes == ["H", "E", "C"]
    assert config.model.cell == "gru" and config.model.hidden == 64
    assert config.model.layers == 2  # default kept
    assert config.train.epochs == 3 and config.train.lr == pytest.approx(0.002)
    assert isinstance(config.train.lr, float)


def test_dump_and_reload_round_trip(tmp_path: Path) -> None:
    config = load_config(write_yaml(tmp_path, BASE))
    out = tmp_path / "resolved.yaml"
    dump_config(config, out)
    assert load_config(out) == config


def test_unknown_key_with_did_you_mean(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, with_changes(model={"hiden": 64}))
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.hiden'.*did you mean 'model\.hidden'"):
        load_config(path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, with_changes(trian={"epochs": 1}))
    with pytest.raises(ConfigError, match=r"'trian'.*did you mean 'train'"):
        load_config(path)


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"train": {"epochs": "many"}}, "train.epochs: expected an integer"),
        ({"train": {"epochs": 2.5}}, "train.epochs: expected an integer"),
        ({"train": {"lr": "fast"}}, "train.lr: expected a number"),
        ({"train": {"lr": True}}, "train.lr: expected a number"),
        ({"data": {"mask_columns": {"a": 1}}}, "data.mask_columns: expected a list"),
        ({"model": "big"}, "expected a mapping"),
        ({"name": ["a"]}, "name: expected text"),
    ],
)
def test_wrong_types(tmp_path: Path, section: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_yaml(tmp_path, with_changes(**section)))


def test_exponent_float_without_dot(tmp_path: Path) -> None:
    # PyYAML reads 1e-3 (no dot) as a string; a learning rate written that way must still be a number.
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in BASE.items() if k != "train"}) + "train:\n  lr: 1e-3\n")
    assert load_config(path).train.lr == pytest.approx(1e-3)


def test_set_overrides_nested_and_list_index(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, BASE)
    config = load_config(
        path,
        [
            "model.hidden=256",
            "heads.0.columns=[dssp8_alt]",
            "train.lr=5e-4",
            "train.weight_decay=0",
            "data.valid=valid.csv",
            "name=renamed",
        ],
    )
    assert config.model.hidden == 256
    assert config.heads[0].columns == ["dssp8_alt"]
    assert config.heads[1].columns == ["dssp3"]
    assert config.train.lr == pytest.approx(5e-4)
    assert config.train.weight_decay == 0.0 and isinstance(config.train.weight_decay, float)
    assert config.data.valid == "valid.csv"
    assert config.name == "renamed"


def test_set_new_numeric_value_parsed_as_number(tmp_path: Path) -> None:
    config = load_config(write_yaml(tmp_path, BASE), ["train.patience=9", "model.conv_channels=32"])
    assert config.train.patience == 9
    assert config.model.conv_channels == 32


def test_set_into_empty_section(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in BASE.items() if k != "model"}) + "model:\n")
    config = load_config(path, ["model.hidden=8"])
    assert config.model.hidden == 8


def test_set_without_config_file() -> None:
    config = load_config(
        None, ["heads=[{name: y, kind: sequence_classification, columns: [label]}]", "encoder=smiles"]
    )
    assert config.encoder == "smiles"
    assert config.heads[0].columns == ["label"]


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("model.hidden", "KEY=VALUE"),
        ("heads.7.name=x", "not an index"),
        ("heads.x.name=x", "not an index"),
        ("model.cell.kind=lstm", "not a section"),
        ("data.mask_columns.0.x=1", "not a section"),
        ("model.hidden=lots", "expected an integer"),
        ("model.hiddn=3", "did you mean 'model.hidden'"),
    ],
)
def test_bad_overrides(tmp_path: Path, override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_yaml(tmp_path, BASE), [override])


def test_classes_given_as_string(tmp_path: Path) -> None:
    heads = [
        {"name": "ss8", "kind": "residue_classification", "columns": ["dssp8"], "classes": "HGIEBTSC"},
        {"name": "y", "kind": "sequence_classification", "columns": "label", "classes": "yes,no"},
    ]
    config = load_config(write_yaml(tmp_path, with_changes(heads=heads)))
    assert config.heads[0].classes == list("HGIEBTSC")
    assert config.heads[1].classes == ["yes", "no"]
    assert config.heads[1].columns == ["label"]  # a single column name is not split into letters


@pytest.mark.parametrize("heads", [None, []])
def test_missing_heads(tmp_path: Path, heads: list | None) -> None:
    data = {k: v for k, v in BASE.items() if k != "heads"}
    if heads is not None:
        data["heads"] = heads
    with pytest.raises(ConfigError, match="heads"):
        load_config(write_yaml(tmp_path, data))


@pytest.mark.parametrize(
    ("head", "match"),
    [
        ({"kind": "residue_classification", "columns": ["x"]}, "'name' is required"),
        ({"name": "a", "kind": "residue_clasification", "columns": ["x"]}, "did you mean"),
        ({"name": "a", "kind": "residue_classification"}, "'columns'"),
        ({"name": "a", "kind": "sequence_classification", "columns": ["x", "y"]}, "exactly one column"),
    ],
)
def test_head_validation(tmp_path: Path, head: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_yaml(tmp_path, with_changes(heads=[head])))


def test_duplicate_head_names(tmp_path: Path) -> None:
    head = {"name": "a", "kind": "residue_classification", "columns": ["x"]}
    with pytest.raises(ConfigError, match="duplicate"):
        load_config(write_yaml(tmp_path, with_changes(heads=[head, head])))


@pytest.mark.parametrize(
    ("section", "match"),
    [
        ({"encoder": "rna"}, "unknown encoder"),
        ({"model": {"cell": "transformer"}}, "unknown cell"),
        ({"train": {"scheduler": "step"}}, "scheduler"),
        ({"data": {"train": "x", "valid_fraction": 1.0}}, "valid_fraction"),
        ({"model": {"hidden": 0}}, "hidden: must be at least 1"),
    ],
)
def test_semantic_checks(tmp_path: Path, section: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write_yaml(tmp_path, with_changes(**section)))


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: {hidden: 3\nheads: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(path)


def test_non_mapping_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
