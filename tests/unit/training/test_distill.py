"""``train.distill_from``: the student's classification heads learn the teachers' probabilities too."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.encoding.examples import Example, collate
from seqrnn.errors import ConfigError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import load_bundle, save_bundle
from seqrnn.resources.synthetic import protein_ss_rows, write_table
from seqrnn.training.config import config_from_mapping
from seqrnn.training.distill import build_distiller
from seqrnn.training.trainer import train
from tests.unit.encoding.test_head_masks import DISORDER, SS3

TINY = {"hidden": 8, "layers": 1, "embed_dim": 4}
CPU = torch.device("cpu")


def _model(heads: list[dict], seed: int, **config: int) -> SeqRNN:
    torch.manual_seed(seed)
    return SeqRNN(ModelConfig(**{**TINY, **config}), ProteinEncoder().vocab_size, heads).eval()


def _teacher(tmp_path: Path, seed: int = 1, heads: list[dict] | None = None) -> Path:
    path = tmp_path / f"teacher{seed}.pt"
    save_bundle(path, _model(heads or [SS3], seed), ProteinEncoder(), {"name": f"t{seed}"})
    return path


def _batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    encoder = ProteinEncoder()
    rows = protein_ss_rows(n, seed=5, min_len=10, max_len=40)
    examples = [Example(i, str(i), encoder.encode(r["seq"])[0]) for i, r in enumerate(rows)]
    batch = collate(examples)
    return batch.tokens, batch.lengths


def test_the_soft_loss_is_least_at_the_teachers_own_logits_and_ignores_padding(tmp_path: Path) -> None:
    path = _teacher(tmp_path)
    student = _model([SS3], seed=2)
    distiller = build_distiller([str(path)], 0.5, student, ProteinEncoder(), CPU, False, lambda _m: None)
    assert distiller is not None and distiller.heads == ["ss3"]
    tokens, lengths = _batch()
    with torch.no_grad():
        teacher_logits = load_bundle(path).model(tokens, lengths)
        own = distiller.soft_losses(tokens, lengths, teacher_logits)["ss3"]
        other = distiller.soft_losses(tokens, lengths, student(tokens, lengths))["ss3"]
    assert float(own) < float(other)
    # Soft cross-entropy at the teacher's own logits = the teacher's mean entropy over real positions.
    p = torch.softmax(teacher_logits["ss3"], -1)
    entropy = -(p * p.log()).sum(-1)
    real = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
    assert float(own) == pytest.approx(float(entropy[real].mean()), rel=1e-5)
    # Logits at padded positions do not count.
    noisy = {"ss3": teacher_logits["ss3"].clone()}
    noisy["ss3"][~real] = 100.0 * torch.randn_like(noisy["ss3"][~real])
    assert float(distiller.soft_losses(tokens, lengths, noisy)["ss3"]) == pytest.approx(float(own), rel=1e-6)


def test_training_on_the_teachers_probabilities_moves_the_student_towards_them(tmp_path: Path) -> None:
    teachers = [_teacher(tmp_path, 1), _teacher(tmp_path, 3)]
    data = write_table(protein_ss_rows(40, seed=3, max_len=60), tmp_path / "train.csv")
    raw = {
        "encoder": "protein",
        "seed": 2,
        "output_dir": str(tmp_path / "run"),
        "data": {"train": str(data), "valid_fraction": 0.2, "mask_columns": ["disorder"]},
        "heads": [SS3, DISORDER],
        "model": {**TINY, "dropout": 0.0},
        "train": {
            "epochs": 3,
            "threads": 1,
            "lr": 0.02,
            "warmup_steps": 0,
            "distill_from": [str(t) for t in teachers],
            "distill_weight": 1.0,  # the labels are not seen: only the teachers teach
        },
    }
    lines: list[str] = []
    result = train(config_from_mapping(raw), log=lines.append, progress=False)
    assert any(line.startswith("distilling from ensemble(t1,t3) into ss3 (weight 1)") for line in lines)
    bundle = load_bundle(result.model_path)
    record = bundle.metadata["distilled_from"]
    assert [t["model"] for t in record["teachers"]] == [str(t) for t in teachers]
    assert record["heads"] == ["ss3"] and record["weight"] == 1.0
    tokens, lengths = _batch(20)
    ensemble = [load_bundle(t).model.predict(tokens, lengths)["ss3"] for t in teachers]
    target = (ensemble[0] + ensemble[1]) / 2
    real = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]

    def kl(model: torch.nn.Module) -> float:
        q = model.predict(tokens, lengths)["ss3"]
        return float((target * (target.log() - q.log())).sum(-1)[real].mean())

    torch.manual_seed(2)
    untrained = SeqRNN(ModelConfig(**{**TINY, "dropout": 0.0}), ProteinEncoder().vocab_size, bundle.heads)
    # The same run on the labels alone (weight 0) ends farther from the teachers.
    raw["output_dir"] = str(tmp_path / "labels_only")
    raw["train"] = {**raw["train"], "distill_weight": 0.0}
    labels_only = load_bundle(train(config_from_mapping(raw), log=lines.append, progress=False).model_path)
    with torch.no_grad():
        trained, fresh, control = kl(bundle.model), kl(untrained.eval()), kl(labels_only.model)
    assert trained < 0.5 * fresh and trained < 0.5 * control, (trained, fresh, control)


def test_errors(tmp_path: Path) -> None:
    student = _model([SS3], seed=2)

    def build(sources: list[str], model: torch.nn.Module = student) -> object:
        return build_distiller(sources, 0.5, model, ProteinEncoder(), CPU, False, lambda _m: None)

    assert build([]) is None
    with pytest.raises(ConfigError, match="no such model"):
        build([str(tmp_path / "missing.pt")])
    dna = tmp_path / "dna.pt"
    save_bundle(dna, SeqRNN(ModelConfig(**TINY), DNAEncoder().vocab_size, [SS3]), DNAEncoder(), {})
    with pytest.raises(ConfigError, match="encoder"):
        build([str(dna)])
    other_classes = _teacher(tmp_path, 4, [{**SS3, "classes": ["H", "E", "L"]}])
    with pytest.raises(ConfigError, match="no classification head of this run's"):
        build([str(other_classes)])
    with pytest.raises(ConfigError, match="heads differ"):
        build([str(_teacher(tmp_path, 5)), str(other_classes)])
