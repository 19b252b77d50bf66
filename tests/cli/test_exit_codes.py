"""Exit codes and one-line errors for user mistakes: damaged model files (4), malformed ``--shard`` (2),
unwritable training output (6), ``--resume`` with nothing to resume (2), impossible model sizes (5).

Tests run as root, so a read-only directory is simulated (``os.access`` and ``mkdir`` patched).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from seqrnn.cli.main import main
from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.errors import UsageError
from seqrnn.io.inputs import parse_shard
from seqrnn.models import ModelConfig
from seqrnn.models.bundle import build_model, save_bundle
from tests.conftest import write_config
from tests.unit.models.test_bundle_checksum import flip_bytes_in_largest_tensor, without_checksums

HEADS = [{"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": ["H", "E", "C"]}]
BAD_SHARDS = ["0/2", "3/2", "a/b", "0/0", "1/0", "-1/2", "1/2/3", "", "1", "1/", "/2", "1.5/2"]


def error_line(err: str, *needles: str) -> str:
    """The single stderr line (``seqrnn: error: ...``), checked to contain every needle."""
    lines = [x for x in err.strip().splitlines() if x]
    assert len(lines) == 1, err
    assert lines[0].startswith("seqrnn: error:"), err
    assert "Traceback" not in err and "internal error" not in err
    for needle in needles:
        assert needle in lines[0], (needle, err)
    return lines[0]


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=6)
    model = build_model({"model": cfg.to_dict(), "heads": HEADS}, ProteinEncoder()).eval()
    path = tmp_path / "tiny.pt"
    save_bundle(path, model, ProteinEncoder(), {"name": "tiny"})
    return path


@pytest.fixture()
def fasta(tmp_path: Path) -> Path:
    path = tmp_path / "in.fa"
    path.write_text(">a\nMKTAYIAKQR\n>b\nMKVLAAGHE\n")
    return path


def predict(model: Path, fasta: Path, out: Path, *extra: str) -> int:
    return main(["predict", "-m", str(model), str(fasta), "-o", str(out), "--threads", "1", *extra])


# 1. checksummed bundles ---------------------------------------------------------------------------------


def test_predict_with_damaged_bundle_exits_4_naming_the_file(
    bundle: Path, fasta: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert predict(bundle, fasta, tmp_path / "ok.h5") == 0  # the untouched file loads and predicts
    capsys.readouterr()
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(bundle.read_bytes())
    flip_bytes_in_largest_tensor(damaged)
    assert predict(damaged, fasta, tmp_path / "bad.h5") == 4
    error_line(capsys.readouterr().err, f"{damaged}: the weights do not match their checksum (damaged file?)")
    assert not (tmp_path / "bad.h5").exists()


def test_predict_with_old_bundle_notes_missing_checksum(
    bundle: Path, fasta: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.pt"
    old.write_bytes(bundle.read_bytes())
    without_checksums(old)
    assert predict(old, fasta, tmp_path / "out.h5") == 0
    notes = [x for x in capsys.readouterr().err.splitlines() if "no weights checksum" in x]
    assert notes == [
        f"seqrnn: note: {old} has no weights checksum (saved by an older seqrnn); re-save it to add one"
    ]


# 2. --shard -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_SHARDS)
def test_parse_shard_rejects_with_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match=r"--shard .*: expected K/N, whole numbers with 1 <= K <= N"):
        parse_shard(value)


@pytest.mark.parametrize("value", ["1/1", "1/2", "2/2", "3/10"])
def test_parse_shard_accepts(value: str) -> None:
    k, n = parse_shard(value)
    assert f"{k}/{n}" == value


@pytest.mark.parametrize("value", ["0/2", "3/2", "a/b", "0/0", "1/0", "-1/2", "1/2/3"])
def test_predict_bad_shard_exits_2(
    value: str, bundle: Path, fasta: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert predict(bundle, fasta, tmp_path / "out.h5", "--shard", value) == 2
    error_line(capsys.readouterr().err, f"--shard {value!r}", "expected K/N")


# 3. unwritable output_dir ----------------------------------------------------------------------------------


def _train(cfg: Path, *extra: str) -> int:
    return main(["train", str(cfg), "--quiet", "--threads", "1", *extra])


def test_train_output_dir_under_a_file_exits_6(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    cfg = write_config("protein", synthetic["protein"], blocker / "run", tmp_path, epochs=1)
    assert _train(cfg) == 6
    error_line(
        capsys.readouterr().err, f"output_dir {blocker / 'run'}", f"{blocker} is a file, not a directory"
    )


def test_train_output_dir_that_is_a_file_exits_6(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.write_text("a file where the run directory should be")
    cfg = write_config("protein", synthetic["protein"], out, tmp_path, epochs=1)
    assert _train(cfg) == 6
    error_line(capsys.readouterr().err, f"output_dir {out}: is a file, not a directory")
    assert out.read_text() == "a file where the run directory should be"


def test_train_read_only_output_dir_exits_6_before_training(
    synthetic: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parent = tmp_path / "readonly"
    parent.mkdir()
    real_access = os.access
    # As on a read-only mount (or for a non-root user without write permission): access() says no.
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: False if Path(p) == parent else real_access(p, mode, **kw)
    )
    cfg = write_config("protein", synthetic["protein"], parent / "run", tmp_path, epochs=1)
    assert _train(cfg) == 6
    error_line(capsys.readouterr().err, f"output_dir {parent / 'run'}: {parent} is not writable")
    assert not (parent / "run").exists()


def test_train_mkdir_refused_exits_6(
    synthetic: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the early check cannot see (e.g. permissions changed meanwhile): the mkdir itself fails."""
    out = tmp_path / "run"
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        if self == out / "checkpoints":
            raise PermissionError(13, "Permission denied", str(self))
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    cfg = write_config("protein", synthetic["protein"], out, tmp_path, epochs=1)
    assert _train(cfg) == 6
    error_line(capsys.readouterr().err, f"cannot create {out / 'checkpoints'} (Permission denied)")


# 4. --resume with nothing to resume -------------------------------------------------------------------------


@pytest.mark.parametrize("existing", [False, True], ids=["no-dir", "empty-dir"])
def test_resume_without_checkpoint_exits_2(
    existing: bool, synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    if existing:
        out.mkdir()
    cfg = write_config("protein", synthetic["protein"], out, tmp_path, epochs=1)
    assert _train(cfg, "--resume") == 2
    error_line(
        capsys.readouterr().err,
        f"--resume: no checkpoint in {out / 'checkpoints'} to resume from; run without --resume to start",
    )


def test_resume_from_damaged_checkpoint_exits_4(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    cfg = write_config("protein", synthetic["protein"], out, tmp_path, epochs=2)
    assert _train(cfg, "--stop-after", "1") == 0
    last = out / "checkpoints" / "last.pt"
    flip_bytes_in_largest_tensor(last, key="model")
    capsys.readouterr()
    assert _train(cfg, "--resume") == 4
    error_line(capsys.readouterr().err, f"{last}: the weights do not match their checksum")


# 5. impossible model size -----------------------------------------------------------------------------------


def test_train_impossible_model_size_exits_5(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config("protein", synthetic["protein"], tmp_path / "run", tmp_path, epochs=1)
    assert _train(cfg, "--set", "model.hidden=100000000") == 5
    line = error_line(capsys.readouterr().err, "model.hidden=100000000: the model would have at least ")
    assert "parameters (" in line and "GB at fp32" in line and "more than this machine's memory (" in line
    assert not (tmp_path / "run").exists()  # refused before reading the data or creating anything


def test_model_size_checked_exactly_after_the_data(
    synthetic: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A limit between the architecture-only lower bound and the exact count: the second check refuses."""
    from seqrnn.training import model_size as trainer

    calls: list[int] = []
    real = trainer._parameter_count

    def count(model: ModelConfig, encoder: object, specs: object) -> int:
        n = real(model, encoder, specs)  # type: ignore[arg-type]
        calls.append(n)
        return n

    monkeypatch.setattr(trainer, "_parameter_count", count)
    monkeypatch.setattr(trainer, "total_memory", lambda device: 16 * (calls[0] + 1))
    cfg = write_config("protein", synthetic["protein"], tmp_path / "run", tmp_path, epochs=1)
    assert _train(cfg) == 5
    line = error_line(capsys.readouterr().err, f"the model would have {calls[1]:,} parameters")
    assert calls[1] > calls[0] and "at least" not in line


def test_allocation_failure_building_the_model_exits_5(
    synthetic: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory that other programs hold: torch's allocator fails although the size check passed."""
    from seqrnn.training import model_size as trainer

    real = trainer.build_model

    def fail(*args: object, **kwargs: object) -> object:
        if torch.empty(0).device.type == "meta":
            return real(*args, **kwargs)  # the size check counts on the meta device: it passes
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
            "you tried to allocate 1600000000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(trainer, "build_model", fail)
    cfg = write_config("protein", synthetic["protein"], tmp_path / "run", tmp_path, epochs=1)
    assert _train(cfg) == 5
    error_line(capsys.readouterr().err, "the model would have", "more than this machine's memory available (")
