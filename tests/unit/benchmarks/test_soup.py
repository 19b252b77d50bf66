"""``benchmarks/soup.py``: weight averages of fine-tuned runs, an ingredient without the new head included."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import load_bundle, save_bundle
from tests.unit.encoding.test_head_masks import DISORDER, SS3

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from soup import averaged

TINY = {"hidden": 8, "layers": 1, "embed_dim": 4}


def _saved(path: Path, heads: list[dict], seed: int) -> Path:
    torch.manual_seed(seed)
    save_bundle(path, SeqRNN(ModelConfig(**TINY), ProteinEncoder().vocab_size, heads), ProteinEncoder(), {})
    return path


def test_soup_averages_each_tensor_over_the_ingredients_that_have_it(tmp_path: Path) -> None:
    start = load_bundle(_saved(tmp_path / "start.pt", [SS3], 0))  # v1-like: no disorder head
    a = load_bundle(_saved(tmp_path / "a.pt", [SS3, DISORDER], 1))
    b = load_bundle(_saved(tmp_path / "b.pt", [SS3, DISORDER], 2))
    soup = averaged([start, a, b])
    assert list(soup.model.heads) == ["ss3", "disorder"]
    got, sa, sb, s0 = (m.model.state_dict() for m in (soup, a, b, start))
    for key in got:
        if key.startswith("heads.disorder"):  # only a and b have it
            torch.testing.assert_close(got[key], (sa[key] + sb[key]) / 2)
        else:
            torch.testing.assert_close(got[key], (s0[key] + sa[key] + sb[key]) / 3)
    # The ingredients themselves are untouched.
    torch.testing.assert_close(a.model.state_dict(), load_bundle(tmp_path / "a.pt").model.state_dict())


def test_soup_refuses_different_shapes(tmp_path: Path) -> None:
    a = load_bundle(_saved(tmp_path / "a.pt", [SS3], 1))
    torch.manual_seed(3)
    wide = SeqRNN(ModelConfig(**{**TINY, "hidden": 6}), ProteinEncoder().vocab_size, [SS3])
    save_bundle(tmp_path / "w.pt", wide, ProteinEncoder(), {})
    with pytest.raises(SystemExit, match="shape"):
        averaged([a, load_bundle(tmp_path / "w.pt")])
