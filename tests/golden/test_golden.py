"""Golden-prediction test: a fixed tiny model must keep giving the same probabilities.

It catches silent changes in encoding policy, model code, packing or bundle loading. If a change is
intended, regenerate with ``python tests/golden/make_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqrnn.models.bundle import file_sha256
from tests.golden.make_golden import golden_predictions

HERE = Path(__file__).parent


def test_golden_predictions_unchanged() -> None:
    expected = json.loads((HERE / "expected.json").read_text())
    assert file_sha256(HERE / "tiny_protein.pt") == expected["model_sha256"]
    got = golden_predictions(HERE / "tiny_protein.pt")
    for head in ("ss8", "ss3"):
        np.testing.assert_allclose(np.array(got[head]), np.array(expected[head]), atol=2e-5, rtol=0)
    assert len(got["ss3"]) == 3 + 21 + 16 + 59
