"""Augmentations: registry, reverse-complement views, training with views, test-time averaging."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from seqrnn.encoding.augment import AUGMENTATIONS, build_augmentation
from seqrnn.encoding.examples import add_views, encode_record
from seqrnn.errors import ConfigError, ModelError
from seqrnn.inference.engine import PredictOptions, predict_examples
from seqrnn.io.records import Record
from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config
from tests.conftest import write_config


def test_reverse_complement_views() -> None:
    aug = build_augmentation("reverse_complement")
    assert aug is not None and "reverse_complement" in AUGMENTATIONS
    assert aug.views("AACGTN", 2) == ["AACGTN", "NACGTT"]
    assert aug.views("AACG", 1) == ["AACG"]
    assert aug.views("AACG", 5) == ["AACG", "CGTT"]  # a sequence has two strands, no more
    assert aug.random_view("ACCGRY", np.random.default_rng(0)) == "RYCGGT"
    assert build_augmentation(None) is None


def test_config_checks(tmp_path, synthetic) -> None:
    cfg = write_config("dna", synthetic["dna"], tmp_path / "run", tmp_path)
    with pytest.raises(ConfigError, match="did you mean"):
        load_config(cfg, ["train.augment=reverse_complemnt"])
    with pytest.raises(ConfigError, match=r"needs train\.augment"):
        load_config(cfg, ["train.test_views=2"])
    with pytest.raises(ConfigError, match="augment_prob"):
        load_config(cfg, ["train.augment=reverse_complement", "train.augment_prob=1.5"])
    prot = write_config("protein", synthetic["protein"], tmp_path / "p", tmp_path)
    with pytest.raises(ConfigError, match="residue heads"):
        load_config(prot, ["train.augment=reverse_complement"])


@pytest.fixture(scope="module")
def rc_model(tmp_path_factory, synthetic):
    tmp = tmp_path_factory.mktemp("rc")
    cfg = write_config("dna", synthetic["dna"], tmp / "run", tmp, epochs=2)
    config = load_config(cfg, ["train.augment=reverse_complement", "train.test_views=2"])
    result = train(config, log=lambda _m: None, progress=False)
    return result


def test_training_with_views_is_deterministic_and_stored(rc_model, tmp_path, synthetic) -> None:
    bundle = load_bundle(rc_model.model_path)
    assert bundle.metadata["augment"] == {"name": "reverse_complement", "test_views": 2}
    cfg = write_config("dna", synthetic["dna"], tmp_path / "again", tmp_path, epochs=2)
    config = load_config(cfg, ["train.augment=reverse_complement", "train.test_views=2"])
    again = train(config, log=lambda _m: None, progress=False)
    a = (rc_model.output_dir / "checkpoints" / "last.pt").read_bytes()
    assert a == (again.output_dir / "checkpoints" / "last.pt").read_bytes()
    first = json.loads((rc_model.output_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert first["valid"]["bound"]["auroc"] > 0


def test_test_time_views_average_both_strands(rc_model) -> None:
    bundle = load_bundle(rc_model.model_path)
    device = torch.device("cpu")
    texts = ["ACGTACGTTTGACCA", "GGGCCCATATATTGCGCA"]
    recs = [Record(f"s{i}", t, i, "x") for i, t in enumerate(texts)]
    opts = PredictOptions()
    views = bundle.views(opts.test_views)
    assert views[1] == 2
    both = predict_examples(
        bundle,
        [add_views(encode_record(r, bundle.encoder), r.text, bundle.encoder, views) for r in recs],
        opts,
        device,
    )
    single = PredictOptions(test_views=1)
    assert bundle.views(single.test_views) == (None, 1)
    fwd = predict_examples(bundle, [encode_record(r, bundle.encoder) for r in recs], single, device)
    rc_recs = [Record(r.id, views[0].views(r.text, 2)[1], r.index, "x") for r in recs]
    rev = predict_examples(bundle, [encode_record(r, bundle.encoder) for r in rc_recs], single, device)
    expected = (fwd.sequence["bound"] + rev.sequence["bound"]) / 2
    np.testing.assert_allclose(both.sequence["bound"], expected, atol=1e-6)
    assert not np.allclose(fwd.sequence["bound"], rev.sequence["bound"])  # views really differ


def test_views_need_an_augmentation(tmp_path, synthetic) -> None:
    cfg = write_config("smiles", synthetic["smiles"], tmp_path / "s", tmp_path, epochs=1)
    result = train(load_config(cfg), log=lambda _m: None, progress=False)
    bundle = load_bundle(result.model_path)
    with pytest.raises(ModelError, match="without an augmentation"):
        bundle.views(2)
