"""configs/protein_ss_v3.yaml: v1's frozen network with a disorder head that has a branch of its own
(a BiLSTM over the convolution features); trained for a step, it keeps v1's ss8/ss3 exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seqrnn.models.bundle import load_bundle
from seqrnn.resources import config_names, config_path
from seqrnn.training.config import load_config
from tests.unit.training.briefly import train_briefly


def test_v3_config_loads_with_a_disorder_branch() -> None:
    assert "protein_ss_v3" in config_names()
    config = load_config(config_path("protein_ss_v3"), ["data.train=x.csv"])
    ss8, ss3, disorder = config.heads
    assert disorder.branch == 32 and ss8.branch is None and ss3.branch is None
    assert config.train.init_from == "protein-ss-v1" and config.train.monitor == "disorder/auroc"
    assert config.train.freeze == ["embed", "convs", "rnn", "heads.ss8", "heads.ss3"]


def test_v3_trains_its_branch_and_keeps_v1s_secondary_structure(tmp_path: Path) -> None:
    model = train_briefly("protein_ss_v3", tmp_path, extra=("train.precision=fp32",))
    trained = load_bundle(model)
    assert trained.model.heads["disorder"].branch is not None
    v1 = load_bundle("protein-ss-v1").model.state_dict()
    new = trained.model.state_dict()
    assert all(np.array_equal(v1[k].numpy(), new[k].numpy()) for k in v1)  # frozen: v1's tensors
    assert any(k.startswith("heads.disorder.branch.") for k in new)
    import seqrnn

    fasta = tmp_path / "in.fa"
    fasta.write_text(">a\nMKTAYIAKQRQISFVKSHFSRQ\n")
    a = seqrnn.predict(fasta, model="protein-ss-v1", precision="fp32", threads=1)
    b = seqrnn.predict(fasta, model=str(model), precision="fp32", threads=1)
    np.testing.assert_array_equal(a[0]["ss3"], b[0]["ss3"])
    assert b[0]["disorder"].shape == (22, 2)
    with pytest.raises(KeyError):
        a[0]["disorder"]


def test_fast_config_is_the_smaller_multitask_network() -> None:
    """configs/protein_ss_fast.yaml (the built-in protein-ss-fast v2): v1's recipe with two stacked
    convolutions and 192 hidden units, all three heads trained from scratch together, on v1's
    validation split."""
    assert "protein_ss_fast" in config_names()
    config = load_config(config_path("protein_ss_fast"), ["data.train=x.csv"])
    assert config.name == "protein-ss-fast" and config.model.hidden == 192 and config.model.layers == 2
    assert config.model.conv_layers == 2 and config.model.conv_channels == 128
    assert [h.name for h in config.heads] == ["ss8", "ss3", "disorder"]
    assert config.train.init_from is None and not config.train.freeze
    assert config.data.split_seed == 1 and config.data.valid_fraction == 0.05
