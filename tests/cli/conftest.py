"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqrnn.cli.main import main
from tests.conftest import write_config


@pytest.fixture(scope="session")
def two_strand_dna_model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny DNA model (one epoch on the synthetic data) that averages both strands (``test_views=2``),
    trained once for every variants test that needs one."""
    tmp = tmp_path_factory.mktemp("two_strand_dna_model")
    cfg = write_config("dna", synthetic["dna"], tmp / "run", tmp, epochs=1)
    sets = ["train.augment=reverse_complement", "train.test_views=2"]
    assert main(["train", str(cfg), "--quiet", *[a for s in sets for a in ("--set", s)]]) == 0
    return tmp / "run" / "model.pt"
