"""``train.init_from``: fine-tuning starts from the matching weights of an existing bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.errors import ConfigError, ModelError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import load_bundle, save_bundle
from seqrnn.models.ensemble import Ensemble
from seqrnn.resources.synthetic import protein_ss_rows, write_table
from seqrnn.training.config import config_from_mapping
from seqrnn.training.init_from import freeze_parameters, init_from_bundle
from seqrnn.training.trainer import train
from tests.unit.encoding.test_head_masks import DISORDER, SS3

TINY = {"hidden": 8, "layers": 1, "embed_dim": 4}


def _model(heads: list[dict], seed: int, **config: int) -> SeqRNN:
    torch.manual_seed(seed)
    return SeqRNN(ModelConfig(**{**TINY, **config}), ProteinEncoder().vocab_size, heads)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, SeqRNN]:
    model = _model([SS3], seed=1)
    path = tmp_path / "v1.pt"
    save_bundle(path, model, ProteinEncoder(), {"name": "v1"})
    return path, model


def test_copies_matching_tensors_and_leaves_new_heads(source: tuple[Path, SeqRNN]) -> None:
    path, old = source
    new = _model([SS3, DISORDER], seed=2)
    fresh = {k: v.clone() for k, v in new.state_dict().items()}
    report = init_from_bundle(new, ProteinEncoder(), str(path))
    state, before = new.state_dict(), old.state_dict()
    assert sorted(report.copied) == sorted(before)
    assert report.new == ["heads.disorder.net.1.weight", "heads.disorder.net.1.bias"]
    assert all(torch.equal(state[k], before[k]) for k in before)
    assert all(torch.equal(state[k], fresh[k]) for k in report.new)
    assert "copied" in report.summary() and "heads.disorder.net.1.weight" in report.summary()
    assert report.to_dict()["copied"] == len(before)


def test_errors(source: tuple[Path, SeqRNN], tmp_path: Path) -> None:
    path, _ = source
    with pytest.raises(ConfigError, match="no tensor of that model matches"):
        init_from_bundle(
            _model([{**SS3, "name": "other"}], 0, embed_dim=6, hidden=6), ProteinEncoder(), str(path)
        )
    dna = tmp_path / "dna.pt"
    save_bundle(dna, SeqRNN(ModelConfig(**TINY), DNAEncoder().vocab_size, [SS3]), DNAEncoder(), {})
    with pytest.raises(ConfigError, match="encoder"):
        init_from_bundle(_model([SS3], 0), ProteinEncoder(), str(dna))
    ensemble = tmp_path / "ens.pt"
    save_bundle(ensemble, Ensemble([_model([SS3], 0), _model([SS3], 1)]), ProteinEncoder(), {})
    with pytest.raises(ModelError, match="ensemble"):
        init_from_bundle(_model([SS3], 0), ProteinEncoder(), str(ensemble))
    with pytest.raises(ModelError, match="no such model"):
        init_from_bundle(_model([SS3], 0), ProteinEncoder(), str(tmp_path / "missing.pt"))


def test_training_starts_from_the_bundle_and_records_it(source: tuple[Path, SeqRNN], tmp_path: Path) -> None:
    path, _ = source
    data = write_table(protein_ss_rows(24, seed=3, max_len=60), tmp_path / "train.csv")
    raw = {
        "encoder": "protein",
        "output_dir": str(tmp_path / "run"),
        "data": {"train": str(data), "valid_fraction": 0.2, "mask_columns": ["disorder"], "id_column": "id"},
        "heads": [SS3, DISORDER],
        "model": {**TINY, "dropout": 0.0},
        "train": {"epochs": 1, "max_steps_per_epoch": 1, "threads": 1, "init_from": str(path)},
    }
    lines: list[str] = []
    result = train(config_from_mapping(raw), log=lines.append, progress=False)
    assert any(line.startswith(f"init_from {path}: copied") and "heads.disorder" in line for line in lines)
    bundle = load_bundle(result.model_path)
    record = bundle.metadata["init_from"]
    assert record["model"] == str(path) and record["new"] == [  # the source as given
        "heads.disorder.net.1.weight",
        "heads.disorder.net.1.bias",
    ]
    assert [h["name"] for h in bundle.heads] == ["ss3", "disorder"] and bundle.heads[1]["mask_columns"] == []
    assert json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])["valid"]["disorder"]
    # --resume ignores init_from (the checkpoint holds the weights) but keeps the record.
    raw["train"] = {**raw["train"], "epochs": 2, "init_from": str(tmp_path / "gone.pt")}
    lines.clear()
    again = train(config_from_mapping(raw), resume=True, log=lines.append, progress=False)
    assert not any(line.startswith("init_from") for line in lines)
    assert load_bundle(again.model_path).metadata["init_from"] == record


def test_freeze_keeps_the_named_parameters_fixed_and_trains_the_rest(
    source: tuple[Path, SeqRNN], tmp_path: Path
) -> None:
    path, old = source
    data = write_table(protein_ss_rows(24, seed=3, max_len=60), tmp_path / "train.csv")
    raw = {
        "encoder": "protein",
        "output_dir": str(tmp_path / "run"),
        "data": {"train": str(data), "valid_fraction": 0.2, "mask_columns": ["disorder"]},
        "heads": [SS3, DISORDER],
        "model": {**TINY, "dropout": 0.1},
        "train": {
            "epochs": 2,
            "max_steps_per_epoch": 2,
            "threads": 1,
            "lr": 0.05,
            "init_from": str(path),
            "freeze": ["embed", "rnn", "heads.ss3"],
            "monitor": "disorder/auroc",
        },
    }
    lines: list[str] = []
    result = train(config_from_mapping(raw), log=lines.append, progress=False)
    assert any(line.startswith("train.freeze: ") for line in lines)
    state, before = load_bundle(result.model_path).model.state_dict(), old.state_dict()
    # Every tensor of the source is unchanged (so its ss3 outputs are too); the new head trained.
    assert all(torch.equal(state[k], before[k]) for k in before)
    fresh = _model([SS3, DISORDER], seed=0).state_dict()
    assert not torch.equal(state["heads.disorder.net.1.weight"], fresh["heads.disorder.net.1.weight"])


def test_freeze_errors() -> None:
    model = _model([SS3, DISORDER], seed=0)
    with pytest.raises(ConfigError, match=r"'rnn\.9': no parameter"):
        freeze_parameters(model, ["rnn.9"])
    with pytest.raises(ConfigError, match=r"'heads\.ss': no parameter"):  # a prefix ends at a dot
        freeze_parameters(model, ["heads.ss"])
    with pytest.raises(ConfigError, match="nothing would be trained"):
        freeze_parameters(_model([SS3], seed=0), ["embed", "rnn", "heads"])
    assert freeze_parameters(model, []) == [] and all(p.requires_grad for p in model.parameters())
