"""Weights and metadata checksums of model bundles and training checkpoints (damaged files fail loudly).

A ``torch.save`` file is a zip whose entries torch reads without checking their CRC, so a flipped byte
inside a weight tensor used to load silently with different outputs (issue: two flipped bytes in a copy
of tf-USF1 moved P(bound) from 0.133 to 0.154).
"""

from __future__ import annotations

import json
import logging
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
import torch

from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.errors import ModelError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import (
    build_model,
    builtin_index,
    load_bundle,
    resolve_model_path,
    save_bundle,
    weights_checksum,
)
from seqrnn.models.ensemble import Ensemble
from seqrnn.training.checkpoint import Progress, TrainingState

HEADS = [{"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]}]
BUILTIN = "tf-USF1"


def tiny_model(seed: int = 0) -> SeqRNN:
    torch.manual_seed(seed)
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=6)
    return build_model({"model": cfg.to_dict(), "heads": HEADS}, ProteinEncoder()).eval()


def flip_bytes_in_largest_tensor(path: Path, count: int = 2, key: str = "state_dict") -> None:
    """Flip ``count`` bytes in place inside the storage of the largest tensor of ``payload[key]`` in a
    ``torch.save`` zip: what a bad disk or copy does (the zip's CRC is left stale; torch does not check
    it)."""
    tensors = torch.load(path, map_location="cpu", weights_only=True)[key].values()
    target = max(tensors, key=lambda t: t.numel() * t.element_size())
    wanted = target.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename and archive.read(i) == wanted)
    assert info.compress_type == zipfile.ZIP_STORED
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    for i in range(count):
        data[start + 4 * i] ^= 0x01  # low mantissa bits: a small, plausible change of a weight
    path.write_bytes(bytes(data))


def without_checksums(path: Path) -> None:
    """Rewrite a bundle as an older seqrnn saved it: no checksum keys."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    payload.pop("weights_sha256")
    payload.pop("metadata_sha256")
    torch.save(payload, path)


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.pt"
    save_bundle(path, tiny_model(), ProteinEncoder(), {"name": "tiny"})
    return path


def test_saved_bundle_records_checksums_of_what_it_stores(saved: Path) -> None:
    payload = torch.load(saved, map_location="cpu", weights_only=True)
    assert payload["weights_sha256"] == weights_checksum(payload["state_dict"])
    assert len(payload["metadata_sha256"]) == 64
    load_bundle(saved)  # verifies


def test_weights_checksum_is_deterministic_and_order_independent() -> None:
    state = tiny_model().state_dict()
    reordered = dict(reversed(list(state.items())))
    assert (
        weights_checksum(state) == weights_checksum(reordered) == weights_checksum(tiny_model().state_dict())
    )
    assert weights_checksum(state) != weights_checksum(tiny_model(seed=1).state_dict())
    # The dtype and the shape count, not only the bytes.
    key = next(iter(state))
    assert weights_checksum({key: torch.zeros(4)}) != weights_checksum({key: torch.zeros(2, 2)})
    assert weights_checksum({key: torch.zeros(4, dtype=torch.int32)}) != weights_checksum(
        {key: torch.zeros(4)}
    )
    assert weights_checksum({"x": torch.tensor(1.0, dtype=torch.bfloat16)})  # 0-d and bfloat16 are hashed


def test_saving_stays_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "m.pt", tmp_path / "b" / "m.pt"
    save_bundle(a, tiny_model(), ProteinEncoder(), {"name": "tiny"})
    save_bundle(b, tiny_model(), ProteinEncoder(), {"name": "tiny"})
    assert a.read_bytes() == b.read_bytes()


def test_flipped_bytes_in_a_weight_tensor_are_a_model_error(saved: Path) -> None:
    flip_bytes_in_largest_tensor(saved)
    with pytest.raises(
        ModelError, match=r"tiny\.pt: the weights do not match their checksum \(damaged file\?\)"
    ):
        load_bundle(saved)


def test_changed_weights_saved_back_with_the_old_checksum_are_a_model_error(saved: Path) -> None:
    payload = torch.load(saved, map_location="cpu", weights_only=True)
    tensor = next(v for v in payload["state_dict"].values() if v.is_floating_point())
    tensor.view(-1)[0] += 1e-3
    torch.save(payload, saved)
    with pytest.raises(ModelError, match="the weights do not match their checksum"):
        load_bundle(saved)


def test_changed_metadata_is_a_model_error(saved: Path) -> None:
    payload = torch.load(saved, map_location="cpu", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["heads"][0]["classes"] = ["E", "H", "C"]  # swapped labels: same shapes, wrong answers
    payload["metadata"] = json.dumps(meta, sort_keys=True)
    torch.save(payload, saved)
    with pytest.raises(ModelError, match="the metadata do not match their checksum"):
        load_bundle(saved)


def test_half_and_ensemble_bundles_verify(tmp_path: Path) -> None:
    half = tmp_path / "half.pt"
    save_bundle(half, tiny_model(), ProteinEncoder(), {}, half=True)
    load_bundle(half)
    ens = tmp_path / "ens.pt"
    save_bundle(ens, Ensemble([tiny_model(0), tiny_model(1)]), ProteinEncoder(), {})
    load_bundle(ens)
    flip_bytes_in_largest_tensor(ens)
    with pytest.raises(ModelError, match=r"ens\.pt: the weights do not match"):
        load_bundle(ens)


def test_bundle_resave_adds_checksums(saved: Path, tmp_path: Path) -> None:
    without_checksums(saved)
    again = tmp_path / "again.pt"
    load_bundle(saved).save(again)
    assert "weights_sha256" in torch.load(again, map_location="cpu", weights_only=True)


def test_old_bundle_without_checksum_loads_with_one_note(
    saved: Path, caplog: pytest.LogCaptureFixture
) -> None:
    without_checksums(saved)
    with caplog.at_level(logging.INFO, logger="seqrnn"):
        load_bundle(saved)
        load_bundle(saved)  # the note is printed once per file and process
    notes = [r.getMessage() for r in caplog.records if "no weights checksum" in r.getMessage()]
    assert notes == [
        f"seqrnn: note: {saved} has no weights checksum (saved by an older seqrnn); re-save it to add one"
    ]


def test_builtin_and_its_exact_copy_load_without_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped, _, _ = resolve_model_path(BUILTIN)
    copy = tmp_path / "copy.pt"
    shutil.copyfile(shipped, copy)
    with caplog.at_level(logging.INFO, logger="seqrnn"):
        load_bundle(BUILTIN)
        load_bundle(copy)  # byte-identical to a shipped file: verified by its sha256 in index.json
    assert not [r for r in caplog.records if "checksum" in r.getMessage()]


def test_damaged_copy_of_a_builtin_is_a_model_error(tmp_path: Path) -> None:
    """The issue's case: a copy of tf-USF1 with two flipped bytes, loaded by path."""
    shipped, _, _ = resolve_model_path(BUILTIN)
    copy = tmp_path / "usf1-copy.pt"
    shutil.copyfile(shipped, copy)
    flip_bytes_in_largest_tensor(copy)
    message = rf"usf1-copy\.pt: a copy of built-in model {BUILTIN} \(v1\) whose weights differ from the shipped file"
    with pytest.raises(ModelError, match=message):
        load_bundle(copy)


def test_copy_of_a_builtin_with_edited_metadata_still_loads(tmp_path: Path) -> None:
    """Same weights as the shipped file: only the description changed (an older seqrnn's re-save)."""
    shipped, _, _ = resolve_model_path(BUILTIN)
    payload = torch.load(shipped, map_location="cpu", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["description"] = "my copy"
    payload["metadata"] = json.dumps(meta)
    copy = tmp_path / "edited.pt"
    torch.save(payload, copy)
    assert load_bundle(copy).metadata["description"] == "my copy"


def test_shipped_builtins_carry_their_index_name_and_version() -> None:
    """What recognising a changed copy relies on: each built-in's metadata names it and its version."""
    for name, entry in builtin_index().items():
        if entry.get("superseded_by"):
            continue  # protein-ss-v1 predates model cards: a changed copy of it only gets the note
        bundle = load_bundle(name)
        assert bundle.metadata.get("name") == name, name
        assert str((bundle.metadata.get("card") or {}).get("version")) == str(entry["version"]), name


def _state(tmp_path: Path) -> tuple[TrainingState, Path]:
    model = tiny_model()
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    state = TrainingState(
        {"encoder": ProteinEncoder().to_config(), "heads": HEADS}, 1, Progress(0.5, 1),
        model.state_dict(), optimizer.state_dict(), scheduler.state_dict(), torch.get_rng_state(),
    )  # fmt: skip
    return state, tmp_path / "checkpoints" / "last.pt"


def test_checkpoint_records_and_verifies_the_weights_checksum(tmp_path: Path) -> None:
    state, path = _state(tmp_path)
    state.save(path)
    first = path.read_bytes()
    state.save(path)
    assert path.read_bytes() == first  # still byte-identical for the same state
    loaded = TrainingState.load(path)
    assert weights_checksum(loaded.model) == weights_checksum(state.model)
    flip_bytes_in_largest_tensor(path, key="model")
    with pytest.raises(ModelError, match=r"last\.pt: the weights do not match their checksum"):
        TrainingState.load(path)


def test_checkpoint_without_checksum_and_unreadable_checkpoint(tmp_path: Path) -> None:
    state, path = _state(tmp_path)
    state.save(path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    del payload["weights_sha256"]
    torch.save(payload, path)
    assert TrainingState.load(path).epoch == 1  # an older seqrnn's checkpoint still resumes
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelError, match="not a readable seqrnn checkpoint"):
        TrainingState.load(path)
