"""Train a tiny model per task kind, reload it, predict to HDF5 and evaluate, all through the library."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.inference.pipeline import predict_to_h5
from seqrnn.io.formats import ReadOptions, read_records
from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config
from tests.conftest import write_config

CPU = torch.device("cpu")


def _train(task: str, synthetic: dict[str, Path], tmp_path: Path, **overrides: object):
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg_path = write_config(task, synthetic[task], tmp_path / "run", tmp_path, **overrides)
    return train(load_config(cfg_path), log=lambda _m: None, progress=False)


@pytest.mark.parametrize("task", ["protein", "dna", "smiles"])
def test_train_reload_predict_evaluate(task: str, synthetic: dict[str, Path], tmp_path: Path) -> None:
    result = _train(task, synthetic, tmp_path)
    run = tmp_path / "run"
    for name in ("model.pt", "config.yaml", "metrics.jsonl", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).is_file(), name
    record = json.loads((run / "run.json").read_text())
    assert record["seed"] == 0 and record["versions"]["torch"] == torch.__version__
    assert record["data_fingerprint"].startswith("sha256:")
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 3]
    assert lines[-1]["train_loss"] < lines[0]["train_loss"]

    bundle = load_bundle(result.model_path)
    assert bundle.metadata["data"]["fingerprint"].startswith("sha256:")
    assert bundle.metadata["valid_metrics"]
    out = tmp_path / "pred.h5"
    read = ReadOptions(sequence_column=bundle.metadata["data"]["sequence_column"])
    summary = predict_to_h5(bundle, [synthetic[task]], out, PredictOptions(), CPU, read=read, command="test")
    records = list(read_records(synthetic[task], sequence_column=read.sequence_column))
    assert summary.n_sequences == len(records)
    with h5py.File(out) as f:
        assert f.attrs["format"] == "seqrnn-predictions"
        assert f.attrs["model_sha256"] == bundle.sha256
        assert len(f["ids"]) == len(records)
        assert f["offsets"][-1] == f["lengths"][:].sum()
        for name, head in bundle.model.heads.items():
            ds = f[f"{head.level}/{name}/{head.output}"]
            assert list(ds.attrs[head.label_attr].astype(str)) == head.classes
            rows = f["offsets"][-1] if head.level == "residue" else len(records)
            assert ds.shape == (rows, len(head.classes))
            if head.kind in ("residue_classification", "sequence_classification"):
                np.testing.assert_allclose(ds[:].sum(1), 1.0, atol=1e-5)

    evaluation = evaluate_records(
        bundle, records, PredictOptions(), CPU, bundle.metadata["data"]["mask_columns"]
    )
    assert set(evaluation.metrics) == set(bundle.model.heads)


def test_tiny_models_learn_their_rule(tmp_path: Path) -> None:
    """More data and epochs must clearly beat chance: the pipeline really learns, not just runs."""
    from seqrnn.resources.synthetic import dna_binding_rows, protein_ss_rows, write_table

    dna = write_table(dna_binding_rows(800, seed=1), tmp_path / "dna.tsv", "\t")
    result = _train("dna", {"dna": dna}, tmp_path / "dna", epochs=10, lr=0.01)
    assert result.valid_metrics["bound"]["auroc"] > 0.9

    prot = write_table(protein_ss_rows(300, seed=1), tmp_path / "prot.csv")
    result = _train("protein", {"protein": prot}, tmp_path / "prot", epochs=10)
    # Majority class (coil) is about 40% of the resolved residues in this generator.
    assert result.valid_metrics["ss3"]["accuracy"] > 0.8


def test_regression_predictions_come_back_in_original_units(
    synthetic: dict[str, Path], tmp_path: Path
) -> None:
    result = _train("smiles", synthetic, tmp_path, epochs=8)
    bundle = load_bundle(result.model_path)
    head = bundle.model.heads["logs"]
    targets = np.array([float(r.fields["logs"]) for r in read_records(synthetic["smiles"])])
    assert head.mean.item() == pytest.approx(targets.mean(), abs=0.2)
    out = tmp_path / "p.h5"
    predict_to_h5(bundle, [synthetic["smiles"]], out, PredictOptions(), CPU)
    with h5py.File(out) as f:
        values = f["sequence/logs/values"][:, 0]
    # Same scale as the data (standardisation undone), and correlated with it.
    assert abs(values.mean() - targets.mean()) < 0.5 * targets.std()
    assert np.corrcoef(values, targets)[0, 1] > 0.5


def test_resume_matches_uninterrupted_run(synthetic: dict[str, Path], tmp_path: Path) -> None:
    full = _train("protein", synthetic, tmp_path / "a", epochs=3)
    (tmp_path / "b").mkdir()
    cfg_b = write_config("protein", synthetic["protein"], tmp_path / "b" / "run", tmp_path / "b", epochs=3)
    train(load_config(cfg_b), log=lambda _m: None, progress=False, stop_after=2)
    resumed = train(load_config(cfg_b), resume=True, log=lambda _m: None, progress=False)
    assert resumed.epochs_run == 3
    a = torch.load(full.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(resumed.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_same_seed_same_weights(synthetic: dict[str, Path], tmp_path: Path) -> None:
    a = _train("smiles", synthetic, tmp_path / "a", epochs=1)
    b = _train("smiles", synthetic, tmp_path / "b", epochs=1)
    sa = torch.load(a.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    sb = torch.load(b.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_fasta_with_labels_in_headers_trains(tmp_path: Path) -> None:
    """Per-residue (``ss3=HEC...``) and per-sequence (``family=a``) labels can ride in FASTA headers."""
    from seqrnn.resources.synthetic import protein_ss_rows

    rows = protein_ss_rows(60, seed=4)
    fasta = tmp_path / "labelled.fasta"
    with fasta.open("w") as fh:
        for i, row in enumerate(rows):
            seq = row["seq"].replace(" ", "")
            fh.write(f">{row['id']} ss3={row['dssp3'].replace(' ', '')} family={'ab'[i % 2]}\n{seq}\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "encoder: protein\n"
        f"output_dir: {tmp_path / 'run'}\n"
        f"data: {{train: {fasta}}}\n"
        "heads:\n"
        "  - {name: ss3, kind: residue_classification, columns: [ss3], classes: HEC}\n"
        "  - {name: family, kind: sequence_classification, columns: [family]}\n"
        "model: {hidden: 8, layers: 1, embed_dim: 4}\n"
        "train: {epochs: 1, warmup_steps: 0}\n"
    )
    result = train(load_config(cfg), log=lambda _m: None, progress=False)
    bundle = load_bundle(result.model_path)
    assert bundle.model.heads["family"].classes == ["a", "b"]
    assert 0.0 <= result.valid_metrics["ss3"]["accuracy"] <= 1.0


def test_sigterm_mid_epoch_checkpoints_and_resume_is_exact(
    synthetic: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from seqrnn.models.heads import ResidueClassification
    from seqrnn.training.interrupt import TrainingInterrupted

    full = _train("protein", synthetic, tmp_path / "a", epochs=2, batch_tokens=1500)
    (tmp_path / "b").mkdir()
    cfg = write_config(
        "protein", synthetic["protein"], tmp_path / "b" / "run", tmp_path / "b", epochs=2, batch_tokens=1500
    )
    original = ResidueClassification.loss
    calls = {"n": 0}

    def loss_then_signal(self, logits, target):
        calls["n"] += 1
        if calls["n"] == 7:  # during the 4th batch of epoch 1 (two heads per batch)
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, logits, target)

    monkeypatch.setattr(ResidueClassification, "loss", loss_then_signal)
    with pytest.raises(TrainingInterrupted, match="SIGTERM at epoch 1, batch 4/"):
        train(load_config(cfg), log=lambda _m: None, progress=False)
    monkeypatch.setattr(ResidueClassification, "loss", original)
    state = torch.load(tmp_path / "b" / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert (state["epoch"], state["step_in_epoch"]) == (0, 4)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handler restored
    resumed = train(load_config(cfg), resume=True, log=lambda _m: None, progress=False)
    a = torch.load(full.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(resumed.output_dir / "checkpoints" / "last.pt", weights_only=True)["model"]
    for key in a:
        assert torch.equal(a[key], b[key]), key
