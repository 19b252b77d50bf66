"""Tests for seqrnn.models.bundle: save/load round trips and one clear ModelError for every broken file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.errors import ModelError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import FORMAT, FORMAT_VERSION, build_model, file_sha256, load_bundle, save_bundle

HEADS = [
    {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]},
    {
        "name": "logs",
        "kind": "sequence_regression",
        "columns": ["logs"],
        "classes": ["logs"],
        "mean": [2.0],
        "std": [3.0],
    },
]


def tiny_model(encoder: ProteinEncoder | DNAEncoder, **config: object) -> SeqRNN:
    torch.manual_seed(0)
    cfg = ModelConfig(
        **{"hidden": 8, "layers": 2, "embed_dim": 6, "conv_channels": 4, "conv_kernel": 3, **config}
    )
    return build_model({"model": cfg.to_dict(), "heads": HEADS}, encoder).eval()


def fixed_input(encoder: ProteinEncoder | DNAEncoder, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encoded = [encoder.encode(t)[0] for t in texts]
    lengths = torch.tensor([e.size for e in encoded])
    tokens = torch.zeros(len(encoded), int(lengths.max()), dtype=torch.int64)
    for i, e in enumerate(encoded):
        tokens[i, : e.size] = torch.from_numpy(e)
    return tokens, lengths


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, SeqRNN, str]:
    model = tiny_model(ProteinEncoder())
    path = tmp_path / "models" / "tiny.pt"
    sha = save_bundle(path, model, ProteinEncoder(), {"name": "tiny-ss", "metrics": {"acc": 0.5}})
    return path, model, sha


def test_round_trip_identical_outputs(saved: tuple[Path, SeqRNN, str]) -> None:
    path, model, sha = saved
    bundle = load_bundle(path)
    assert bundle.name == "tiny-ss"
    assert bundle.sha256 == sha == file_sha256(path)
    assert bundle.path == path
    assert bundle.metadata["metrics"] == {"acc": 0.5}
    assert [h["name"] for h in bundle.heads] == ["ss3", "logs"]
    assert bundle.encoder.tokens == ProteinEncoder().tokens
    assert not bundle.model.training
    tokens, lengths = fixed_input(bundle.encoder, ["MKVLAAGHE", "ACD", "WWWYYKRPQ"])
    with torch.no_grad():
        before = model(tokens, lengths)
        after = bundle.model(tokens, lengths)
    for name in ("ss3", "logs"):
        torch.testing.assert_close(after[name], before[name], rtol=0, atol=0)
    head = bundle.model.heads["logs"]
    assert head.mean.tolist() == [2.0] and head.std.tolist() == [3.0]


def test_round_trip_dna_onehot(tmp_path: Path) -> None:
    model = tiny_model(DNAEncoder(), conv_channels=0)
    path = tmp_path / "dna.pt"
    save_bundle(path, model, DNAEncoder(), {})
    bundle = load_bundle(path)
    assert bundle.name == "dna"  # falls back to the file stem
    assert not bundle.model.embed.weight.requires_grad
    np.testing.assert_array_equal(bundle.model.embed.weight.numpy(), DNAEncoder().onehot_matrix())
    tokens, lengths = fixed_input(DNAEncoder(), ["ACGTN", "GGRY"])
    with torch.no_grad():
        torch.testing.assert_close(bundle.model(tokens, lengths)["ss3"], model(tokens, lengths)["ss3"])


def test_file_loads_with_weights_only(saved: tuple[Path, SeqRNN, str]) -> None:
    path, _, _ = saved
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["format"] == FORMAT
    assert payload["format_version"] == FORMAT_VERSION
    meta = json.loads(payload["metadata"])
    assert meta["encoder"]["name"] == "protein"
    assert meta["model"]["hidden"] == 8
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())


def test_save_is_atomic_and_leaves_no_temp(saved: tuple[Path, SeqRNN, str]) -> None:
    path, _, _ = saved
    assert os.listdir(path.parent) == ["tiny.pt"]


def test_truncated_file(saved: tuple[Path, SeqRNN, str]) -> None:
    path, _, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="not a readable seqrnn model"):
        load_bundle(path)


@pytest.mark.parametrize("data", [np.random.default_rng(0).bytes(4096), b""])
def test_random_bytes_and_empty_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(data)
    with pytest.raises(ModelError):
        load_bundle(path)


def test_newer_format_version(saved: tuple[Path, SeqRNN, str]) -> None:
    path, _, _ = saved
    payload = torch.load(path, map_location="cpu", weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, path)
    with pytest.raises(ModelError, match="newer"):
        load_bundle(path)


@pytest.mark.parametrize(
    "obj",
    [
        {"weights": torch.zeros(3)},
        {"format": "other-tool", "format_version": 1},
        [torch.ones(2)],
        torch.ones(2),
    ],
)
def test_foreign_torch_file(tmp_path: Path, obj: object) -> None:
    path = tmp_path / "foreign.pt"
    torch.save(obj, path)
    with pytest.raises(ModelError, match="not a seqrnn model file"):
        load_bundle(path)


def test_weights_that_do_not_match_architecture(saved: tuple[Path, SeqRNN, str]) -> None:
    path, _, _ = saved
    payload = torch.load(path, map_location="cpu", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["model"]["hidden"] = 16
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, path)
    with pytest.raises(ModelError, match="do not match"):
        load_bundle(path)


def test_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        load_bundle("definitely-not-a-model-name")
    with pytest.raises(ModelError):
        load_bundle(tmp_path)  # a directory is not a model file


@pytest.mark.parametrize(
    "payload",
    [
        {"format": FORMAT, "format_version": 1},
        {"format": FORMAT, "format_version": 1, "metadata": "{not json", "state_dict": {}},
        {"format": FORMAT, "format_version": "x", "metadata": "{}", "state_dict": {}},
        {"format": FORMAT, "format_version": 1, "metadata": "{}", "state_dict": {}},
        {
            "format": FORMAT,
            "format_version": 1,
            "metadata": json.dumps({"encoder": {"name": "rna", "tokens": []}}),
            "state_dict": {},
        },
    ],
    ids=["no-metadata", "bad-json", "bad-version", "empty-metadata", "unknown-encoder"],
)
def test_damaged_bundle_payload_is_model_error(tmp_path: Path, payload: dict) -> None:
    path = tmp_path / "damaged.pt"
    torch.save(payload, path)
    with pytest.raises(ModelError):
        load_bundle(path)
