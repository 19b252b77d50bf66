"""Ensembles: the mean of the members' post-processed outputs, and a clear error for members that differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.encoding.examples import encode_record
from seqrnn.errors import ModelError
from seqrnn.inference.engine import PredictOptions, predict_examples
from seqrnn.io.records import Record
from seqrnn.models.bundle import load_bundle, load_models, save_bundle
from seqrnn.models.ensemble import Ensemble
from tests.unit.models.test_bundle import HEADS, tiny_model


def _save(path: Path, seed: int, encoder=None, heads=HEADS) -> Path:
    from seqrnn.models import ModelConfig
    from seqrnn.models.bundle import build_model

    torch.manual_seed(seed)
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=6)
    model = build_model({"model": cfg.to_dict(), "heads": heads}, encoder or ProteinEncoder()).eval()
    save_bundle(path, model, encoder or ProteinEncoder(), {"name": path.stem})
    return path


def _predict(bundle, texts: list[str]):
    examples = [encode_record(Record(f"s{i}", t, i, "mem"), bundle.encoder) for i, t in enumerate(texts)]
    return predict_examples(bundle, examples, PredictOptions(precision="fp32"), torch.device("cpu"))


def test_ensemble_is_the_mean_of_member_outputs(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"m{k}.pt", seed=k) for k in range(3)]
    texts = ["MKVLAAGHE", "ACD", "WWWYYKRPQLLLLA"]
    singles = [_predict(load_bundle(p), texts) for p in paths]
    ensemble = load_models(paths)
    assert isinstance(ensemble.model, Ensemble)
    assert [m["name"] for m in ensemble.metadata["ensemble"]] == ["m0", "m1", "m2"]
    assert [m["model"] for m in ensemble.metadata["ensemble"]] == [str(p) for p in paths]
    together = _predict(ensemble, texts)
    probs = [s.residue["ss3"] for s in singles]
    assert not np.allclose(probs[0], probs[1])  # the members differ, so the test can fail
    np.testing.assert_allclose(together.residue["ss3"], np.mean(probs, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(together.residue["ss3"].sum(1), 1.0, rtol=1e-5)
    values = np.mean([s.sequence["logs"] for s in singles], axis=0)  # in units: each member de-standardises
    np.testing.assert_allclose(together.sequence["logs"], values, rtol=1e-5, atol=1e-5)
    assert load_models(paths[::-1]).sha256 != ensemble.sha256
    assert load_models(paths[:1]).sha256 == load_bundle(paths[0]).sha256


def test_members_must_share_encoder_and_heads(tmp_path: Path) -> None:
    a = _save(tmp_path / "a.pt", 0)
    dna = _save(tmp_path / "dna.pt", 1, encoder=DNAEncoder())
    other_heads = [dict(HEADS[0], classes=["H", "E", "X"]), HEADS[1]]
    b = _save(tmp_path / "b.pt", 2, heads=other_heads)
    with pytest.raises(ModelError, match="encoders differ"):
        load_models([a, dna])
    with pytest.raises(ModelError, match="heads differ"):
        load_models([a, b])


def test_single_model_predict_matches_forward_postprocessed() -> None:
    model = tiny_model(ProteinEncoder())
    tokens = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    lengths = torch.tensor([3, 4])
    with torch.no_grad():
        out = model.predict(tokens, lengths)
        logits = model(tokens, lengths)
    torch.testing.assert_close(out["ss3"], torch.softmax(logits["ss3"], -1))
