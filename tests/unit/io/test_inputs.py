"""seqrnn.io.inputs.labelled_by_file: one file per class -> labelled, globally numbered records."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqrnn.errors import ConfigError, InputError
from seqrnn.io.formats import ReadOptions
from seqrnn.io.inputs import labelled_by_file
from seqrnn.training.config import load_config


@pytest.fixture
def fastas(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "p.fa").write_text(">p1\nACGT\n>p2 label=yes\nACGA\n>p3\nAC\n")
    (tmp_path / "n.fa").write_text(">n1 other=x\nTTTT\n>n2\nGGGG\n")
    return {"yes": str(tmp_path / "p.fa"), "no": str(tmp_path / "n.fa")}


def test_records_get_their_files_class_and_global_numbers(fastas: dict[str, str]) -> None:
    recs = list(labelled_by_file(fastas))
    assert [(r.id, r.index, r.fields["label"]) for r in recs] == [
        ("p1", 0, "yes"), ("p2", 1, "yes"), ("p3", 2, "yes"), ("n1", 3, "no"), ("n2", 4, "no"),
    ]  # fmt: skip
    assert recs[0].source == fastas["yes"] and recs[3].source == fastas["no"]
    assert recs[3].fields["other"] == "x"


def test_column_limit_and_shard(fastas: dict[str, str]) -> None:
    recs = list(labelled_by_file(fastas, "kind", limit=1))
    assert [(r.id, r.index, r.fields["kind"]) for r in recs] == [("p1", 0, "yes"), ("n1", 1, "no")]
    shard = list(labelled_by_file(fastas, options=ReadOptions(shard=(2, 2))))
    assert [r.index for r in shard] == [1, 3]


def test_a_contradicting_label_names_file_and_record(fastas: dict[str, str]) -> None:
    with pytest.raises(InputError, match=r"p\.fa: record p2: its label 'yes' contradicts the class 'no'"):
        list(labelled_by_file({"no": fastas["yes"]}))


BASE = "encoder: dna\nheads: [{name: h, kind: sequence_classification, columns: [label]}]\n"


def test_config_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "data: {class_files: {a: a.fa, 1: b.fa}}\n")
    config = load_config(path, ["data.class_files.c=c.fa"])
    assert config.data.class_files == {"a": "a.fa", "1": "b.fa", "c": "c.fa"}
    assert config.data.class_column == "label"
    with pytest.raises(ConfigError, match=r"data\.train and data\.class_files"):
        load_config(path, ["data.train=x.fa"])
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(path, ["data.class_files=[a.fa]"])
    with pytest.raises(ConfigError, match="one file is given for two classes"):
        load_config(path, ["data.class_files.c=a.fa"])
    with pytest.raises(ConfigError, match=r"data\.class_column: 'kind' is not a column of any head"):
        load_config(path, ["data.class_column=kind"])
