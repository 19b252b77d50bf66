"""Tests for seqrnn.training.config: YAML loading, strict validation and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqrnn.errors import ConfigError
from seqrnn.training.config import RunConfig, dump_config, load_config

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
        ({"model": {"hidden": 0}}, r"model\.hidden: 0 is out of range \(must be >= 1\)"),
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


# --- train.monitor is checked against the heads at load time (bug: "rmse" failed after epoch 1) --------

SMILES_HEADS = [
    {"name": "logs", "kind": "sequence_regression", "columns": ["logs"]},
    {"name": "tox", "kind": "sequence_multilabel", "columns": ["halogen", "ring"]},
    {"name": "y", "kind": "sequence_classification", "columns": ["y"], "classes": ["0", "1"]},
]


@pytest.mark.parametrize(
    ("monitor", "needles"),
    [
        ("rmse", ["train.monitor", "'rmse'", "logs/mean_rmse", "tox/mean_auroc", "y/auroc"]),
        ("logs/rmse", ["train.monitor", "'logs/rmse'", "logs/mean_rmse", "logs/mean_r2"]),
        ("tox/accuracy", ["train.monitor", "tox/mean_auroc", "tox/mean_auprc"]),
        ("nope/mean_rmse", ["train.monitor", "logs/mean_rmse"]),
        ("y/auroc_macro", ["train.monitor", "y/auroc"]),  # two classes: binary auroc, not the macro
        ("logs/n", ["train.monitor"]),  # a count, not a quality
    ],
)
def test_monitor_must_name_a_head_metric(tmp_path: Path, monitor: str, needles: list[str]) -> None:
    path = write_yaml(tmp_path, with_changes(encoder="smiles", heads=SMILES_HEADS))
    with pytest.raises(ConfigError) as info:
        load_config(path, [f"train.monitor={monitor}"])
    for needle in needles:
        assert needle in str(info.value)


@pytest.mark.parametrize(
    "monitor", ["logs/mean_rmse", "logs/mean_r2", "tox/mean_auprc", "y/auroc", "y/mcc", "y/accuracy"]
)
def test_monitor_accepts_each_head_metric(tmp_path: Path, monitor: str) -> None:
    path = write_yaml(tmp_path, with_changes(encoder="smiles", heads=SMILES_HEADS))
    assert load_config(path, [f"train.monitor={monitor}"]).train.monitor == monitor


def test_monitor_of_a_head_with_inferred_classes(tmp_path: Path) -> None:
    # ss8's classes come from the data: any classification metric may turn out to exist.
    config = load_config(write_yaml(tmp_path, BASE), ["train.monitor=ss8/auroc_macro"])
    assert config.train.monitor == "ss8/auroc_macro"
    with pytest.raises(ConfigError, match="ss3/auroc_macro"):  # ss3 has 3 classes: no binary auroc
        load_config(write_yaml(tmp_path, BASE), ["train.monitor=ss3/auroc"])


def test_cli_rejects_bad_monitor_before_reading_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from seqrnn.cli.main import main

    data = {**BASE, "data": {"train": str(tmp_path / "not-there.csv")}, "output_dir": str(tmp_path / "run")}
    cfg = write_yaml(tmp_path, data)
    # Exit 5 (ConfigError), not 3: the missing training file is never opened.
    assert main(["train", str(cfg), "--set", "train.monitor=rmse"]) == 5
    err = capsys.readouterr().err
    assert "train.monitor" in err and "ss8/accuracy" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


# --- every numeric key has a declared range, checked generically --------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.lr=-1", "config train.lr: -1.0 is out of range (must be > 0)"),
        ("train.lr=0", "config train.lr: 0.0 is out of range (must be > 0)"),
        ("model.dropout=1.5", "config model.dropout: 1.5 is out of range (must be in [0, 1))"),
        ("train.warmup_steps=-5", "config train.warmup_steps: -5 is out of range (must be >= 0)"),
        ("train.patience=-1", "config train.patience: -1 is out of range (must be >= 1)"),
        ("train.weight_decay=-0.1", "config train.weight_decay: -0.1 is out of range (must be >= 0)"),
        ("train.clip_grad_norm=0", "config train.clip_grad_norm: 0.0 is out of range (must be > 0)"),
        ("train.augment_prob=1.5", "config train.augment_prob: 1.5 is out of range (must be in [0, 1])"),
        ("train.threads=0", "config train.threads: 0 is out of range (must be >= 1)"),
        ("train.crop_length=0", "config train.crop_length: 0 is out of range (must be >= 1)"),
        ("data.valid_fraction=1.0", "config data.valid_fraction: 1.0 is out of range (must be in [0, 1))"),
        ("data.max_records=0", "config data.max_records: 0 is out of range (must be >= 1)"),
        ("seed=-3", "config seed: -3 is out of range (must be >= 0)"),
        ("heads.0.loss_weight=-1", "config heads.0.loss_weight: -1.0 is out of range (must be >= 0)"),
        (
            "heads.1.label_smoothing=2",
            "config heads.1.label_smoothing: 2.0 is out of range (must be in [0, 1])",
        ),
        ("model.hidden=0", "config model.hidden: 0 is out of range (must be >= 1)"),
        ("model.input_dropout=-0.1", "config model.input_dropout: -0.1 is out of range (must be in [0, 1))"),
        ("model.conv_channels=-1", "config model.conv_channels: -1 is out of range (must be >= 0)"),
    ],
)
def test_numeric_ranges(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_yaml(tmp_path, BASE), [override])
    assert str(info.value) == message


def test_label_smoothing_only_where_the_head_applies_it(tmp_path: Path) -> None:
    residue = load_config(write_yaml(tmp_path, BASE), ["heads.0.label_smoothing=0.1"])
    assert residue.heads[0].label_smoothing == 0.1
    sequence = {**BASE, "heads": [{"name": "y", "kind": "sequence_regression", "columns": ["y"]}]}
    sequence["train"] = {**BASE["train"], "monitor": "y/mean_rmse"}
    with pytest.raises(ConfigError, match=r"heads.0.label_smoothing \(y\): sequence_regression heads do not"):
        load_config(write_yaml(tmp_path, sequence), ["heads.0.label_smoothing=0.1"])


def test_every_numeric_key_declares_a_valid_range_and_defaults_are_inside() -> None:
    import dataclasses
    import typing

    from seqrnn.models import ModelConfig
    from seqrnn.training.config import DataConfig, HeadConfig, TrainConfig
    from seqrnn.training.config_parse import check_ranges

    for cls in (RunConfig, DataConfig, HeadConfig, TrainConfig, ModelConfig):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            numeric = {int, float} & ({hints[f.name]} | set(typing.get_args(hints[f.name])))
            if numeric:
                assert "range" in f.metadata, f"{cls.__name__}.{f.name} declares no range"
        check_ranges(cls(), "")  # the defaults satisfy their own ranges


# --- every documented value is an accepted value (bug: data.negatives=none was rejected) ----------------


def _documented_defaults() -> list[tuple[str, str]]:
    """(key, default) pairs from the table in docs/configuration.md, e.g. ('train.lr', '1e-3')."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
    pairs = []
    for line in doc.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`") or not cells[1] or cells[1].startswith("("):
            continue
        keys = [k.strip().strip("`") for k in cells[0].split(",")]
        prefix = keys[0].rsplit(".", 1)[0] + "." if "." in keys[0] else ""
        keys = [k if "." in k or k == keys[0] else prefix + k for k in keys]
        defaults = [d.strip().split(" (")[0].strip("`") for d in cells[1].split(", ")]
        if len(defaults) == 1:  # one default for every key of the row
            defaults *= len(keys)
        assert len(defaults) == len(keys), line
        pairs += [(k.replace("heads[].", "heads.0."), d) for k, d in zip(keys, defaults, strict=True)]
    return pairs


def test_documentation_lists_defaults() -> None:
    keys = [k for k, _ in _documented_defaults()]
    assert "data.negatives" in keys and "train.max_steps_per_epoch" in keys and "model.hidden" in keys


@pytest.mark.parametrize(("key", "default"), _documented_defaults())
def test_every_documented_default_is_accepted(tmp_path: Path, key: str, default: str) -> None:
    config = load_config(write_yaml(tmp_path, BASE), [f"{key}={default}"])
    value: object = config
    for part in key.split("."):
        value = value[int(part)] if part.isdigit() else getattr(value, part)  # type: ignore[index]
    fresh = load_config(None, ["heads=[{name: a, kind: residue_classification, columns: [a]}]"])
    expected: object = fresh
    for part in key.split("."):
        expected = expected[int(part)] if part.isdigit() else getattr(expected, part)  # type: ignore[index]
    assert value == expected, f"documented default of {key} is {default!r}, but the code's is {expected!r}"


@pytest.mark.parametrize("word", ["none", "None", "null", "~"])
def test_none_means_null_for_optional_keys(tmp_path: Path, word: str) -> None:
    config = load_config(
        write_yaml(tmp_path, BASE),
        [
            f"data.negatives={word}",
            f"train.augment={word}",
            f"data.valid={word}",
            f"train.crop_length={word}",
        ],
    )
    assert config.data.negatives is None and config.train.augment is None
    assert config.data.valid is None and config.train.crop_length is None


def test_documented_ranges_are_the_declared_ones() -> None:
    import dataclasses

    from seqrnn.models import ModelConfig
    from seqrnn.training.config import DataConfig, HeadConfig, TrainConfig

    sections = {"": RunConfig, "data.": DataConfig, "heads[].": HeadConfig, "train.": TrainConfig}
    declared = {
        prefix + f.name: f.metadata["range"]
        for prefix, cls in {**sections, "model.": ModelConfig}.items()
        for f in dataclasses.fields(cls)
        if "range" in f.metadata
    }
    doc = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    documented = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0][:1] in "<>[(" and "`" in cells[1]:
            for key in cells[1].split("`")[1::2]:
                documented[key] = cells[0]
    assert documented == declared


# --- ${NAME} in data paths and the dataset section ----------------------------------------------------

SHA = "21c46d1637ba49d371ec233454a3833bc7123a98f76204841e1674b5767a23a8"
DATASET = {"name": "Set A", "url": "https://example.org/a.csv", "sha256": SHA, "licence": "CC0"}


def test_data_paths_take_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQRNN_DATA", "/data/sets/")  # a trailing slash does not double
    monkeypatch.setenv("OTHER", "/elsewhere")
    data = {
        "train": "${SEQRNN_DATA}/smiles/a.csv",
        "valid": "${OTHER}/v_${OTHER}.csv",
        "test": "$HOME/t.csv",  # only ${NAME} is replaced
        "mask_columns": ["disorder"],
    }
    config = load_config(write_yaml(tmp_path, with_changes(data=data)))
    assert config.data.train == "/data/sets/smiles/a.csv"
    assert config.data.valid == "/elsewhere/v_/elsewhere.csv"
    assert config.data.test == "$HOME/t.csv"
    files = {"1": "${SEQRNN_DATA}/p.fa", "0": "n.fa"}
    sets = ["data.train=''", f"data.class_files={files}", "heads.0.columns=[label]"]
    config = load_config(write_yaml(tmp_path, BASE), sets)
    assert config.data.class_files == {"1": "/data/sets/p.fa", "0": "n.fa"}


def test_an_unset_variable_is_one_line_naming_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEQRNN_DATA", raising=False)
    path = write_yaml(tmp_path, with_changes(data={"train": "${SEQRNN_DATA}/smiles/moleculenet/BBBP.csv"}))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: data.train: ${{SEQRNN_DATA}} is not set; set it to the folder holding "
        "smiles/moleculenet/BBBP.csv or pass --set data.train=PATH"
    )
    assert info.value.exit_code == 5
    monkeypatch.setenv("SEQRNN_DATA", "")
    with pytest.raises(ConfigError, match=r"\$\{SEQRNN_DATA\} is empty; set it to the folder holding"):
        load_config(path)
    assert load_config(path, ["data.train=mine.csv"]).data.train == "mine.csv"  # the override needs none
    with pytest.raises(ConfigError, match=r"^config: data.test: \$\{NOPE\} is not set; set it or pass --set"):
        load_config(
            None, ["heads=[{name: a, kind: sequence_regression, columns: [y]}]", "data.test=x/${NOPE}"]
        )
    from seqrnn.training.config import config_from_mapping

    with pytest.raises(ConfigError, match=r"^config: data.train: \$\{SEQRNN_DATA\} is empty"):
        config_from_mapping(yaml.safe_load(path.read_text()))


def test_config_errors_come_before_environment_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEQRNN_DATA", raising=False)
    path = write_yaml(tmp_path, with_changes(data={"train": "${SEQRNN_DATA}/a.csv"}, model={"cell": "x"}))
    with pytest.raises(ConfigError, match="unknown cell"):
        load_config(path)


def test_the_dataset_section_is_checked_and_kept_with_the_data_it_names(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, with_changes(dataset=DATASET))
    assert load_config(path).to_dict()["dataset"] == DATASET
    assert load_config(path, ["seed=3"]).dataset.name == "Set A"
    # Other training data: the config's dataset no longer describes them.
    assert load_config(path, ["data.train=mine.csv"]).dataset.name == ""
    per_class = ["data.train=''", "data.class_files={a: x.fa}", "heads.0.columns=[label]"]
    assert load_config(path, per_class).dataset.url == ""
    mine = load_config(path, ["data.train=mine.csv", "dataset.name=Mine"])
    assert (mine.dataset.name, mine.dataset.sha256) == ("Mine", SHA)
    for key, bad, match in [
        ("sha256", "abc", "not a sha256"),
        ("sha256", SHA.upper(), "not a sha256"),
        ("url", "example.org/a.csv", "not an http"),
        ("size", "3", "unknown config key 'dataset.size'"),
    ]:
        with pytest.raises(ConfigError, match=match):
            load_config(path, [f"dataset.{key}={bad}"])
