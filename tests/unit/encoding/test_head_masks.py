"""Per-head residue masks (``heads[].mask_columns``) and label mappings (``heads[].labels``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.encoding.examples import head_mask_columns, prepare_example
from seqrnn.errors import ConfigError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.labels import label_mapper
from seqrnn.io.records import Record
from seqrnn.models import HEADS, ModelConfig, SeqRNN
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.heads import IGNORE, Head, specs_from_records
from seqrnn.models.specs import HeadSpec
from seqrnn.training.config import HeadConfig, load_config

LABELS = {"1.0": "ordered", "0.0": "disordered"}
SS3 = {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]}
DISORDER = {
    "name": "disorder",
    "kind": "residue_classification",
    "columns": ["disorder"],
    "classes": ["ordered", "disordered"],
    "mask_columns": [],
    "labels": LABELS,
}


def _record(i: int = 0) -> Record:
    fields = {
        "dssp3": "H H H E E C",
        "disorder": "0.0 1.0 1.0 1.0 1.0 0.0",
        "extra": "1 1 0 1 1 1",
    }
    return Record(f"p{i}", "M K T A Y I", i, "x.csv", fields)


def _head(spec: dict) -> Head:
    return HEADS.get(spec["kind"])(spec, 4, 0, 0.0)


def test_each_head_gets_its_own_mask() -> None:
    heads = [_head(SS3), _head(DISORDER), _head({**SS3, "name": "ss3b", "mask_columns": ["extra"]})]
    ex = prepare_example(_record(), ProteinEncoder(), heads=heads, mask_columns=["disorder"])
    # ss3 takes the data-level default (disorder == 1), the disorder head every residue, ss3b its own.
    assert ex.targets["ss3"].tolist() == [IGNORE, 0, 0, 1, 1, IGNORE]
    assert ex.targets["disorder"].tolist() == [1, 0, 0, 0, 0, 1]
    assert ex.targets["ss3b"].tolist() == [0, 0, IGNORE, 1, 1, 2]
    assert head_mask_columns(heads[0], ["disorder"]) == ("disorder",)
    assert head_mask_columns(heads[1], ["disorder"]) == ()


def test_label_mapper_matches_as_written_and_by_value() -> None:
    mapped = label_mapper(LABELS)
    assert [mapped(v) for v in ["1.0", "1", "0", "0.00", "H", "2.0"]] == [
        "ordered",
        "ordered",
        "disordered",
        "disordered",
        "H",
        "2",
    ]
    assert label_mapper(None)(" 1.0 ") == "1"


def test_sequence_classification_labels_and_inferred_classes() -> None:
    config = HeadConfig(
        name="y", kind="sequence_classification", columns=["y"], labels={"1": "active", "0": "inactive"}
    )
    records = [Record(f"r{i}", "MKT", i, "x.csv", {"y": v}) for i, v in enumerate(["1.0", "0", "NA"])]
    (spec,) = specs_from_records([config], records)
    assert spec.classes == ["active", "inactive"] and spec.labels == {"1": "active", "0": "inactive"}
    head = _head(spec.to_dict())
    keep = np.ones(3, bool)
    assert [int(head.parse_target(r.fields, keep, None)) for r in records] == [0, 1, IGNORE]
    residue = HeadConfig(name="d", kind="residue_classification", columns=["disorder"], labels=LABELS)
    (inferred,) = specs_from_records([residue], [_record()])
    assert inferred.classes == ["disordered", "ordered"] and inferred.mask_columns is None


def test_spec_stores_masks_and_labels_only_when_set() -> None:
    plain = HeadSpec.from_dict(SS3).to_dict()
    assert "mask_columns" not in plain and "labels" not in plain
    spec = HeadSpec.from_dict(DISORDER)
    assert spec.mask_columns == [] and spec.labels == LABELS and not spec.extra
    out = spec.to_dict()
    assert out["mask_columns"] == [] and out["labels"] == LABELS
    assert HeadSpec.from_dict(out).to_dict() == out


def _config(tmp_path: Path, head: dict) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"train": "x.csv"}, "heads": [head]}))
    return path


@pytest.mark.parametrize(
    ("head", "match"),
    [
        (
            {"name": "y", "kind": "sequence_classification", "columns": ["y"], "mask_columns": ["m"]},
            r"heads\.0\.mask_columns \(y\): only residue heads",
        ),
        (
            {"name": "y", "kind": "sequence_regression", "columns": ["y"], "labels": {"1": "a"}},
            r"heads\.0\.labels \(y\): sequence_regression heads take no label mapping",
        ),
        (
            {**DISORDER, "labels": {"1.0": "ordered", "0.0": "unresolved"}},
            r"heads\.0\.labels \(disorder\): 'unresolved' not among the classes",
        ),
    ],
)
def test_config_rules(tmp_path: Path, head: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(_config(tmp_path, head))


def test_yaml_number_keys_become_text(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "data: {train: x.csv}\nheads:\n  - {name: d, kind: residue_classification, columns: [disorder],\n"
        "     labels: {1.0: ordered, 0: disordered}, mask_columns: []}\n"
    )
    head = load_config(path).heads[0]
    assert head.labels == {"1.0": "ordered", "0": "disordered"} and head.mask_columns == []


def test_evaluate_scores_each_head_on_its_own_residues() -> None:
    torch.manual_seed(0)
    encoder = ProteinEncoder()
    model = SeqRNN(ModelConfig(hidden=4, layers=1, embed_dim=4), encoder.vocab_size, [SS3, DISORDER])
    bundle = ModelBundle(model.eval(), encoder, {"heads": [SS3, DISORDER]})
    records = [_record(i) for i in range(3)]
    options = PredictOptions(precision="fp32")
    result = evaluate_records(bundle, records, options, torch.device("cpu"), ["disorder"])
    assert result.metrics["ss3"]["n"] == 3 * 4  # resolved residues only
    assert result.metrics["disorder"]["n"] == 3 * 6  # every residue
    everything = evaluate_records(bundle, records, options, torch.device("cpu"), [])
    assert everything.metrics["ss3"]["n"] == 3 * 6 and everything.metrics["disorder"]["n"] == 3 * 6
