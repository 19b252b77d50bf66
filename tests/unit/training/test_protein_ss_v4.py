"""configs/protein_ss_v4.yaml: v1's network with its top BiLSTM layer and the heads fine-tuned, the SS
heads distilled from v1; trained for a step, v1's lower tensors stay fixed and the top layer moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqrnn.models.bundle import load_bundle
from seqrnn.resources import config_names, config_path
from seqrnn.training.config import load_config
from tests.unit.training.briefly import train_briefly

FROZEN = ("embed.", "convs.", "rnn.0.")


def test_v4_config_fine_tunes_the_top_layer_with_v1_as_teacher() -> None:
    assert "protein_ss_v4" in config_names()
    config = load_config(config_path("protein_ss_v4"), ["data.train=x.csv"])
    assert [h.name for h in config.heads] == ["ss8", "ss3", "disorder"]
    disorder = config.heads[2]
    assert disorder.branch is None and disorder.threshold == "mcc"  # v1's cost: no branch
    assert config.train.init_from == "protein-ss-v1" and config.train.distill_from == ["protein-ss-v1"]
    assert config.train.freeze == ["embed", "convs", "rnn.0"] and config.train.monitor == "disorder/auroc"
    assert config.data.split_seed == 1 and config.data.valid_fraction == 0.05  # v1's validation chains


def test_v4_trains_the_top_layer_and_keeps_the_lower_ones(tmp_path: Path) -> None:
    model = train_briefly("protein_ss_v4", tmp_path, steps=2, extra=("train.precision=fp32",))
    trained = load_bundle(model)
    v1 = load_bundle("protein-ss-v1").model.state_dict()
    new = trained.model.state_dict()
    assert set(v1) < set(new) and any(k.startswith("heads.disorder.") for k in new)
    for k in v1:
        same = np.array_equal(v1[k].numpy(), new[k].numpy())
        assert same == k.startswith(FROZEN), k  # fixed below, trained above (the SS heads too)
    assert trained.metadata.get("distilled_from")
