"""Pair batches keep their row counts to multiples of ROWS, and the padding never reaches the outputs."""

from __future__ import annotations

import numpy as np
import torch

from seqrnn.variants import incremental


def test_rows_padded_and_dropped(monkeypatch) -> None:
    seen: list[tuple[int, int]] = []

    def fake_pairs(net, ref, alt, owner):
        seen.append((ref.shape[0], alt.shape[0]))
        # Each row's "output" is its first token, so the test can see which rows came back.
        return {"h": ref[:, :1].float()}, {"h": alt[:, :1].float() + 100 * owner[:, None].float()}

    monkeypatch.setattr(incremental, "predict_pairs", fake_pairs)
    refs = np.arange(1, 6, dtype=np.int16)[:, None].repeat(3, 1)  # 5 distinct REF windows
    alts = np.arange(11, 18, dtype=np.int16)[:, None].repeat(3, 1)  # 7 ALTs
    owner = np.array([0, 0, 1, 2, 2, 3, 4])  # two multi-allelic positions
    into: dict[str, np.ndarray] = {}
    incremental._run(None, [(refs, alts)], owner, np.arange(7), torch.device("cpu"), False, into)
    assert seen == [(8, 16)]  # 5 -> 8 REF rows; 7 + 3 dummies -> 16 ALT rows
    np.testing.assert_array_equal(into["ref/h"][:, 0], refs[owner, 0])
    np.testing.assert_array_equal(into["alt/h"][:, 0], alts[:, 0] + 100 * owner)
