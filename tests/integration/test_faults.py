"""Faults and determinism: a non-finite loss stops training with a usable checkpoint, identical runs give
identical files, predictions do not depend on batching, and an unwritable output fails before any work."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.cli.main import main
from seqrnn.errors import SeqrnnError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.pipeline import predict_to_h5
from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config
from tests.conftest import write_config

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"
CPU = torch.device("cpu")
QUIET = {"log": lambda _m: None, "progress": False}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config(task: str, data: Path, directory: Path, **train_overrides: object):
    directory.mkdir(parents=True, exist_ok=True)
    return load_config(write_config(task, data, directory / "run", directory, **train_overrides))


# --------------------------------------------------------------------------------------------------------
# non-finite loss


def test_nan_loss_in_epoch_2_names_last_good_checkpoint(
    synthetic: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.training.loop as loop_module
    from seqrnn.models.heads import SequenceRegression

    state = {"epoch": 0, "batch": 0}
    original_batches = loop_module.token_budget_batches
    original_loss = SequenceRegression.loss

    def counting_batches(lengths, max_tokens, max_batch, rng=None, **kwargs):
        if rng is not None:  # the per-epoch call (the sizing call has no rng)
            state["epoch"] += 1
            state["batch"] = 0
        return original_batches(lengths, max_tokens, max_batch, rng, **kwargs)

    def nan_from_third_batch_of_epoch_2(self, logits, target):
        state["batch"] += 1
        loss = original_loss(self, logits, target)
        return loss * float("nan") if state["epoch"] == 2 and state["batch"] >= 3 else loss

    monkeypatch.setattr(loop_module, "token_budget_batches", counting_batches)
    monkeypatch.setattr(SequenceRegression, "loss", nan_from_third_batch_of_epoch_2)
    config = _config("smiles", synthetic["smiles"], tmp_path, epochs=3, batch_size=16)
    run = tmp_path / "run"
    last = run / "checkpoints" / "last.pt"
    with pytest.raises(SeqrnnError, match=r"loss became nan at epoch 2") as info:
        train(config, **QUIET)
    assert str(last) in str(info.value)  # the message names the last good checkpoint
    assert state == {"epoch": 2, "batch": 3}  # it stopped at the first bad batch

    checkpoint = torch.load(last, weights_only=True)
    assert checkpoint["epoch"] == 1 and checkpoint["step_in_epoch"] == 0
    assert all(torch.isfinite(v).all() for v in checkpoint["model"].values() if v.is_floating_point())
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1]
    assert load_bundle(run / "model.pt").metadata["epoch"] == 1

    # The checkpoint is usable: with the fault gone, --resume finishes the run from epoch 2.
    monkeypatch.setattr(SequenceRegression, "loss", original_loss)
    result = train(config, resume=True, **QUIET)
    assert result.epochs_run == 3
    assert torch.load(last, weights_only=True)["epoch"] == 3


def test_huge_regression_targets_are_rejected_up_front(synthetic: dict[str, Path], tmp_path: Path) -> None:
    """Targets near float32's limit would overflow the standardisation: stop before training, naming them."""
    from seqrnn.errors import InputError

    data = _with_targets(synthetic["smiles"], tmp_path / "huge.csv", lambda i, v: "1e38" if i % 10 else v)
    config = _config("smiles", data, tmp_path / "a", epochs=2)
    with pytest.raises(InputError, match=r"record mol1: column 'logs': '1e38' is not a finite number"):
        train(config, **QUIET)
    assert not (tmp_path / "a" / "run" / "checkpoints").exists()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_large_regression_targets_give_finite_scaling(synthetic: dict[str, Path], tmp_path: Path) -> None:
    data = _with_targets(synthetic["smiles"], tmp_path / "large.csv", lambda i, v: f"{float(v) * 1e20:.6g}")
    config = _config("smiles", data, tmp_path / "a", epochs=1)
    try:
        result = train(config, **QUIET)
    except SeqrnnError:
        return  # a clear error is an acceptable outcome too
    std = torch.load(result.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"][
        "heads.logs.std"
    ]
    assert torch.isfinite(std).all()
    assert result.model_path.is_file()


def test_nan_monitor_still_gives_a_model_or_an_error(tmp_path: Path) -> None:
    from seqrnn.resources.synthetic import dna_binding_rows, write_table

    rows = dna_binding_rows(60, seed=3, length=30)
    train_tsv = write_table(rows[:40], tmp_path / "train.tsv", "\t")
    valid_tsv = write_table([r for r in rows[40:] if r["Bound"] == "1"], tmp_path / "valid.tsv", "\t")
    config = _config("dna", train_tsv, tmp_path / "a", epochs=1)
    config.data.valid = str(valid_tsv)
    try:
        result = train(config, **QUIET)
    except SeqrnnError as exc:
        assert "auroc" in str(exc) or "nan" in str(exc).lower()  # a clear error is fine
        return
    assert result.best_epoch >= 1
    assert result.model_path.is_file()


def _with_targets(source: Path, dest: Path, change) -> Path:
    with source.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):
        row["logs"] = change(i, row["logs"])
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return dest


# --------------------------------------------------------------------------------------------------------
# determinism


def _archive_prefixes(path: Path) -> set[str]:
    return {name.split("/", 1)[0] for name in zipfile.ZipFile(path).namelist()}


def _two_runs(synthetic: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    paths = []
    for name in ("a", "b"):
        train(_config("smiles", synthetic["smiles"], tmp_path / name, epochs=1), **QUIET)
        paths.append(tmp_path / name / "run" / "checkpoints" / "last.pt")
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def two_runs(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _two_runs(synthetic, tmp_path_factory.mktemp("repro"))
    finally:
        torch.set_num_threads(before)


def test_same_seed_checkpoints_have_identical_contents(two_runs: tuple[Path, Path]) -> None:
    """Every stored value is equal, and every zip member's bytes are equal."""
    a, b = two_runs
    za, zb = zipfile.ZipFile(a), zipfile.ZipFile(b)
    members_a = {n.split("/", 1)[1]: za.read(n) for n in za.namelist()}
    members_b = {n.split("/", 1)[1]: zb.read(n) for n in zb.namelist()}
    assert members_a.keys() == members_b.keys()
    assert [k for k in members_a if members_a[k] != members_b[k]] == []
    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    assert sa.keys() == sb.keys()
    for key in ("model", "optimizer"):
        for x, y in zip(_leaves(sa[key]), _leaves(sb[key]), strict=True):
            assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y, key
    assert torch.equal(sa["torch_rng"], sb["torch_rng"])
    assert {k: v for k, v in sa.items() if k not in ("model", "optimizer", "torch_rng")} == {
        k: v for k, v in sb.items() if k not in ("model", "optimizer", "torch_rng")
    }


def test_same_seed_checkpoints_are_byte_identical(two_runs: tuple[Path, Path]) -> None:
    a, b = two_runs
    assert _archive_prefixes(a) == _archive_prefixes(b)
    assert a.read_bytes() == b.read_bytes()


def _leaves(obj):
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            yield from _leaves(obj[key])
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _leaves(item)
    else:
        yield obj


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    path = tmp_path / "in.fa"
    with path.open("w") as fh:
        for i in range(30):
            seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=int(rng.integers(3, 120))))
            fh.write(f">s{i}\n{seq}\n")
    return path


def _probs(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        return {k: f[f"residue/{k}/probs"][:] for k in ("ss8", "ss3")} | {"ids": f["ids"].asstr()[:]}


def test_predictions_identical_across_runs_and_batchings(fasta: Path, tmp_path: Path) -> None:
    bundle = load_bundle(GOLDEN)
    outputs = {}
    for name, options in (
        ("first", PredictOptions()),
        ("second", PredictOptions()),
        ("tokens50", PredictOptions(batch_tokens=50)),
    ):
        outputs[name] = _probs(predict_to_h5(bundle, [fasta], tmp_path / f"{name}.h5", options, CPU).output)
    first, second, small = outputs["first"], outputs["second"], outputs["tokens50"]
    for key in ("ss8", "ss3"):
        assert first[key].dtype == np.float32
        assert first[key].tobytes() == second[key].tobytes(), key  # bit for bit
        np.testing.assert_allclose(small[key], first[key], rtol=0, atol=1e-5, err_msg=key)
    assert list(small["ids"]) == list(first["ids"]) == [f"s{i}" for i in range(30)]
    # A fresh load of the same bundle predicts the same bits too.
    again = predict_to_h5(load_bundle(GOLDEN), [fasta], tmp_path / "again.h5", PredictOptions(), CPU)
    assert _probs(again.output)["ss8"].tobytes() == first["ss8"].tobytes()


def test_cli_batch_tokens_50_matches_default(fasta: Path, tmp_path: Path) -> None:
    base = ["predict", "-m", str(GOLDEN), str(fasta), "--threads", "1", "-q"]
    assert main([*base, "-o", str(tmp_path / "a.h5")]) == 0
    assert main([*base, "-o", str(tmp_path / "b.h5"), "--batch-tokens", "50"]) == 0
    a, b = _probs(tmp_path / "a.h5"), _probs(tmp_path / "b.h5")
    for key in ("ss8", "ss3"):
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=1e-5, err_msg=key)


# --------------------------------------------------------------------------------------------------------
# unwritable output


def _predict_into(directory: Path, capsys) -> tuple[int, str]:
    missing_input = directory.parent / "never-read.fa"  # reading it would be exit 3 (file not found)
    code = main(["predict", "-m", str(GOLDEN), str(missing_input), "-o", str(directory / "out.h5"), "-q"])
    return code, capsys.readouterr().err


def test_unwritable_output_directory_exits_6_before_reading_input(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a 0o500 directory is still writable")
        code, err = _predict_into(locked, capsys)
    finally:
        locked.chmod(0o700)
    assert code == 6, err
    assert "not writable" in err
    assert list(locked.iterdir()) == []


def test_unwritable_output_directory_simulated(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check with os.access reporting the directory read-only, so it also runs as root."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    code, err = _predict_into(locked, capsys)
    assert code == 6, err
    assert "not writable" in err and "never-read.fa" not in err
    assert list(locked.iterdir()) == []


def test_missing_output_directory_exits_6(tmp_path: Path, capsys) -> None:
    code, err = _predict_into(tmp_path / "no" / "such" / "dir", capsys)
    assert code == 6, err
    assert "does not exist" in err
