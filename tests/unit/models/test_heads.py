"""Tests for seqrnn.models.heads: typed specs that keep the bundle JSON, and heads that own their kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.errors import ConfigError, InputError
from seqrnn.io.columns import SEQUENCE_STYLES, sequence_columns
from seqrnn.io.records import Record
from seqrnn.models import HEADS, ModelConfig, SeqRNN
from seqrnn.models.bundle import load_bundle, save_bundle
from seqrnn.models.heads import Head, HeadSpec, head_class, specs_from_records
from seqrnn.models.metrics import (
    classification_metrics,
    higher_is_better,
    multilabel_metrics,
    regression_metrics,
)
from seqrnn.training.config import HeadConfig, check_monitor, monitor_choices

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = [
    ROOT / "seqrnn" / "models" / "pretrained" / "protein-ss-v1.pt",
    ROOT / "seqrnn" / "models" / "pretrained" / "protein-ss-v2.pt",
    ROOT / "seqrnn" / "models" / "pretrained" / "protein-ss-v3.pt",
    ROOT / "seqrnn" / "models" / "pretrained" / "protein-ss-fast-v1.pt",
    ROOT / "seqrnn" / "models" / "pretrained" / "protein-ss-fast-v2.pt",
    ROOT / "tests" / "golden" / "tiny_protein.pt",
]
REGRESSION = {
    "name": "logs",
    "kind": "sequence_regression",
    "columns": ["logs", "mw"],
    "loss_weight": 0.5,
    "label_smoothing": 0.0,
    "classes": ["logs", "mw"],
    "mean": [2.0, 300.0],
    "std": [1.5, 40.0],
}


def stored_heads(path: Path) -> list[dict]:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return json.loads(payload["metadata"])["heads"]


# --- HeadSpec: the bundle's JSON, typed --------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_bundle_specs_round_trip_unchanged(path: Path) -> None:
    for stored in stored_heads(path):
        spec = HeadSpec.from_dict(stored)
        assert spec.to_dict() == stored
        assert json.dumps(spec.to_dict(), sort_keys=True) == json.dumps(stored, sort_keys=True)


def test_saved_bundle_keeps_the_stored_heads(tmp_path: Path) -> None:
    bundle = load_bundle(SHIPPED[1])
    assert all(isinstance(h.spec, HeadSpec) for h in bundle.model.heads.values())
    save_bundle(tmp_path / "again.pt", bundle.model, bundle.encoder, {"name": "again"})
    assert stored_heads(tmp_path / "again.pt") == stored_heads(SHIPPED[1])


def test_spec_fields_key_order_and_unknown_keys() -> None:
    spec = HeadSpec.from_dict({**REGRESSION, "future_key": {"a": 1}})
    assert spec.columns == ["logs", "mw"] and spec.loss_weight == 0.5 and spec.std == [1.5, 40.0]
    out = spec.to_dict()
    # Checkpoints store json.dumps(meta) unsorted: the order written by every earlier version.
    assert list(out) == [*REGRESSION, "future_key"]
    assert out["future_key"] == {"a": 1}
    classification = HeadSpec.from_dict(
        {"name": "y", "kind": "sequence_classification", "classes": ["0", "1"]}
    )
    assert "mean" not in classification.to_dict() and classification.loss_weight == 1.0
    with pytest.raises(KeyError):
        HeadSpec.from_dict({"name": "y", "kind": "sequence_classification"})  # classes are required


def test_a_head_may_have_its_own_hidden_layer(tmp_path: Path) -> None:
    linear = {"name": "ss3", "kind": "residue_classification", "classes": ["H", "E", "C"]}
    mlp = {"name": "disorder", "kind": "residue_classification", "classes": ["o", "d"], "hidden": 16}
    assert (
        HeadSpec.from_dict(mlp).to_dict()["hidden"] == 16
        and "hidden" not in HeadSpec.from_dict(linear).to_dict()
    )
    model = SeqRNN(ModelConfig(hidden=4, layers=1, embed_dim=4), 22, [linear, mlp])
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("heads.")}
    assert shapes["heads.ss3.net.1.weight"] == (3, 8)  # model.head_hidden = 0: linear
    assert shapes["heads.disorder.net.1.weight"] == (16, 8) and shapes["heads.disorder.net.4.weight"] == (
        2,
        16,
    )
    save_bundle(tmp_path / "m.pt", model, ProteinEncoder(), {})
    again = load_bundle(tmp_path / "m.pt")  # the bundle rebuilds the head it stored
    assert again.model.heads["disorder"].spec.hidden == 16
    config = HeadConfig(name="d", kind="residue_classification", columns=["d"], hidden=16)
    records = [Record("a", "MKV", 0, "t", {"d": "1 0 1"})]
    assert specs_from_records([config], records)[0].hidden == 16


def test_model_accepts_specs_and_dicts_alike() -> None:
    config = ModelConfig(hidden=4, layers=1, embed_dim=4)
    torch.manual_seed(0)
    a = SeqRNN(config, 22, [REGRESSION])
    torch.manual_seed(0)
    b = SeqRNN(config, 22, [HeadSpec.from_dict(REGRESSION)])
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert b.heads["logs"].mean.tolist() == [2.0, 300.0]


# --- what each kind owns -----------------------------------------------------------------------------


def test_registered_kinds_declare_their_rules() -> None:
    assert set(HEADS) == {
        "residue_classification",
        "sequence_classification",
        "sequence_multilabel",
        "sequence_regression",
    }
    for kind in HEADS:
        cls = HEADS.get(kind)
        assert cls.kind == kind and cls.level in ("residue", "sequence")
        # Residue labels survive cropping but not views or pooling; sequence labels the other way round.
        assert cls.allows_crop == (cls.level == "residue")
        assert cls.allows_augment == cls.allows_conv_pool == (cls.level == "sequence")
        assert cls.scalar_metrics() and "n" not in cls.scalar_metrics()
    assert [k for k in HEADS if HEADS.get(k).n_columns == 1] == [
        "residue_classification",
        "sequence_classification",
    ]
    assert [k for k in HEADS if HEADS.get(k).allows_negatives] == ["sequence_classification"]


def _head(kind: str, classes: list[str]) -> Head:
    spec = {"name": "h", "kind": kind, "columns": ["c"] * (1 if "classification" in kind else len(classes))}
    return HEADS.get(kind)({**spec, "classes": classes}, 4, 0, 0.0)


@pytest.mark.parametrize(
    ("kind", "classes", "main", "higher"),
    [
        ("residue_classification", list("HEC"), "accuracy", True),
        ("residue_classification", list("HE"), "accuracy", True),
        ("sequence_classification", ["0", "1"], "auroc", True),
        ("sequence_classification", ["a", "b", "c"], "accuracy", True),
        ("sequence_multilabel", ["x", "y"], "mean_auroc", True),
        ("sequence_regression", ["x"], "mean_rmse", False),
    ],
)
def test_main_metric_and_its_direction(kind: str, classes: list[str], main: str, higher: bool) -> None:
    head = _head(kind, classes)
    assert head.main_metric() == main
    assert main in head.scalar_metrics(len(classes))
    assert higher_is_better(main) is higher


@pytest.mark.parametrize("n", [2, 3])
def test_scalar_metrics_are_what_the_metric_functions_report(n: int) -> None:
    rng = np.random.default_rng(0)
    names = [f"c{i}" for i in range(n)]

    def scalars(metrics: dict) -> set[str]:
        return {k for k, v in metrics.items() if isinstance(v, int | float)} - {"n"}

    probs = rng.dirichlet(np.ones(n), size=20)
    y = np.arange(20) % n
    assert scalars(classification_metrics(y, probs, names)) == set(
        HEADS.get("sequence_classification").scalar_metrics(n)
    )
    assert set(HEADS.get("residue_classification").scalar_metrics(n)) <= set(
        HEADS.get("residue_classification").scalar_metrics()
    )
    values = rng.random((20, n))
    labels = (values > 0.5).astype(float)
    assert scalars(multilabel_metrics(labels, values, names)) == set(
        HEADS.get("sequence_multilabel").scalar_metrics(n)
    )
    assert scalars(regression_metrics(values, values, names)) == set(
        HEADS.get("sequence_regression").scalar_metrics(n)
    )


def test_score_per_kind() -> None:
    residue = _head("residue_classification", list("HEC"))
    out = residue.score([np.array([0, 1, -100]), np.array([2])], [np.eye(3), np.eye(3)[[2]]])
    assert out["n"] == 3 and out["accuracy"] == 1.0
    seq = _head("sequence_classification", ["0", "1"])
    out = seq.score(
        [np.array(1), np.array(0), np.array(-100)],
        [np.array([0.2, 0.8]), np.array([0.9, 0.1]), np.array([0.5, 0.5])],
    )
    assert out["n"] == 2 and out["auroc"] == 1.0
    reg = _head("sequence_regression", ["x"])
    out = reg.score([np.array([1.0]), np.array([np.nan])], [np.array([2.0]), np.array([0.0])])
    assert out["mean_rmse"] == 1.0


def test_monitor_choices_and_check() -> None:
    heads = [("ss3", "residue_classification", 3), ("y", "sequence_classification", None)]
    choices = monitor_choices(heads)
    assert "ss3/auroc_macro" in choices and "ss3/auroc" not in choices
    assert {"y/auroc", "y/auroc_macro"} <= set(choices)  # classes not known yet
    check_monitor("y/mcc", heads)
    with pytest.raises(ConfigError, match=r"config train\.monitor: 'rmse'.*choose one of: ss3/accuracy"):
        check_monitor("rmse", heads)


# --- specs from training records ---------------------------------------------------------------------


def _records(rows: list[dict[str, str]]) -> list[Record]:
    return [Record(f"r{i}", "MKV", i, "train.csv", fields) for i, fields in enumerate(rows)]


def test_specs_from_records_infers_classes_and_fits_statistics() -> None:
    records = _records(
        [
            {"ss": "HHC", "y": "b", "logs": "1", "mw": "10", "t1": "0", "t2": "1"},
            {"ss": "EEC", "y": "a", "logs": "3", "mw": "", "t1": "1", "t2": ""},
            {"ss": "HXC", "y": "NA", "logs": "2", "mw": "30", "t1": "0", "t2": "0"},
        ]
    )
    configs = [
        HeadConfig(name="ss", kind="residue_classification", columns=["ss"]),
        HeadConfig(name="y", kind="sequence_classification", columns=["y"], loss_weight=2.0),
        HeadConfig(name="logs", kind="sequence_regression", columns=["logs", "mw"]),
        HeadConfig(name="tox", kind="sequence_multilabel", columns=["t1", "t2"], classes=["one", "two"]),
    ]
    torch.manual_seed(0)
    ss, y, logs, tox = specs_from_records(configs, records)
    assert ss.classes == ["C", "E", "H", "X"]
    assert y.classes == ["a", "b"] and y.loss_weight == 2.0 and y.mean is None
    assert logs.classes == ["logs", "mw"]
    assert logs.mean == pytest.approx([2.0, 20.0]) and logs.std == pytest.approx([np.sqrt(2 / 3), 10.0])
    assert tox.classes == ["one", "two"]
    assert list(logs.to_dict()) == [
        "name",
        "kind",
        "columns",
        "loss_weight",
        "label_smoothing",
        "classes",
        "mean",
        "std",
    ]


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [
        (
            HeadConfig(name="y", kind="sequence_classification", columns=["nope"]),
            InputError,
            "no label column 'nope'",
        ),
        (
            HeadConfig(name="y", kind="sequence_classification", columns=["one"]),
            InputError,
            "fewer than 2 classes",
        ),
        (
            HeadConfig(name="t", kind="sequence_multilabel", columns=["one", "v"], classes=["a"]),
            ConfigError,
            "2 columns but 1",
        ),
        (HeadConfig(name="r", kind="sequence_regression", columns=["bad"]), InputError, "record r0"),
    ],
)
def test_specs_from_records_errors(config: HeadConfig, error: type[Exception], match: str) -> None:
    records = _records([{"one": "x", "v": "1", "bad": "abc"}, {"one": "x", "v": "2", "bad": "1"}])
    with pytest.raises(error, match=match):
        specs_from_records([config], records)


# --- export columns ----------------------------------------------------------------------------------


def test_csv_columns_per_kind() -> None:
    row = np.array([0.25, 0.75])
    header, fmt = head_class("sequence_classification").csv_columns("y", ["a", "b"])
    assert header == ["pred_y", "pred_y_Pa", "pred_y_Pb"] and fmt(row) == ["b", "0.2500", "0.7500"]
    header, fmt = head_class("sequence_regression").csv_columns("logs", ["logs"])
    assert header == ["pred_logs"] and fmt(np.array([1.23456789])) == ["1.23457"]
    header, _ = head_class("sequence_regression").csv_columns("r", ["a", "b"])
    assert header == ["pred_r_a", "pred_r_b"]
    header, fmt = head_class("sequence_multilabel").csv_columns("tox", ["a", "b"])
    assert header == ["pred_tox_Pa", "pred_tox_Pb"] and fmt(row) == ["0.2500", "0.7500"]
    assert head_class("") is Head and head_class("made_up").csv_columns("z", ["a"])[0] == ["pred_z_Pa"]


def test_every_sequence_kind_has_its_export_columns_in_io() -> None:
    # Reading a predictions file (seqrnn.io, no torch) names the csv columns by the stored kind: a new
    # sequence-level kind needs its entry in seqrnn.io.columns.SEQUENCE_STYLES.
    sequence_kinds = {kind for kind in HEADS.names() if HEADS.get(kind).level == "sequence"}
    assert set(SEQUENCE_STYLES) == sequence_kinds
    for kind in sequence_kinds:
        header, fmt = head_class(kind).csv_columns("h", ["a", "b"], 0.3)
        columns = sequence_columns(kind, "h", ["a", "b"], 0.3)
        assert header == columns.names and fmt(np.array([0.6, 0.4])) == columns.cells(np.array([0.6, 0.4]))


def test_builtin_model_loads_with_typed_heads() -> None:
    # The checksum in index.json is verified on load: the shipped file is untouched.
    v1, v2 = load_bundle("protein-ss-v1"), load_bundle("protein-ss")
    assert isinstance(v1.encoder, ProteinEncoder) and isinstance(v2.encoder, ProteinEncoder)
    assert [h.spec.classes for h in v1.model.heads.values()] == [list("HGIEBTSC"), list("HEC")]
    classes = [list("HGIEBTSC"), list("HEC"), ["ordered", "disordered"]]
    assert [h.spec.classes for h in v2.model.heads.values()] == classes
    # v2's disorder head reads every residue; its SS heads keep the data-level mask (resolved only).
    assert (
        v2.model.heads["disorder"].spec.mask_columns == [] and v2.model.heads["ss8"].spec.mask_columns is None
    )
