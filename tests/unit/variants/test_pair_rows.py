"""Pair batches keep their row counts to multiples of ROWS, and the padding never reaches the outputs."""

from __future__ import annotations

from typing import ClassVar

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


def test_pairs_come_back_in_their_order(monkeypatch) -> None:
    """A REF window seen again later in the chunk (a repeat, an unsorted VCF) puts that pair in an
    earlier batch than its neighbours: every pair still gets its own scores."""
    from seqrnn.inference.engine import BatchRunner, PredictOptions

    def fake_pairs(net, ref, alt, owner):
        return {"h": ref[:, :1].float()}, {"h": alt[:, :1].float()}

    monkeypatch.setattr(incremental, "predict_pairs", fake_pairs)
    monkeypatch.setattr(incremental, "takes_pairs", lambda net: True)

    class Encoder:
        def encode_rows(self, texts):
            return np.array([[int(t)] * 3 for t in texts], dtype=np.int16)

    class Bundle:
        members = None
        model = None
        encoder = Encoder()

        def views(self, n):
            return None, 1

    class Model:
        bundle = Bundle()
        heads: ClassVar[dict] = {"h": ("sequence_classification", ["0"])}

    refs = [str(i % 40) for i in range(60)]  # pairs 40..59 reuse the REFs of pairs 0..19
    pairs = [(r, str(100 + i)) for i, r in enumerate(refs)]
    options = PredictOptions(batch_tokens=3 * 16, batch_size=512)  # 16 REF windows per batch
    with BatchRunner(1, torch.device("cpu")) as runner:
        ref_out, alt_out = incremental.pair_scores(Model(), pairs, options, torch.device("cpu"), runner)
    np.testing.assert_array_equal(ref_out["h"][:, 0], [float(r) for r in refs])
    np.testing.assert_array_equal(alt_out["h"][:, 0], np.arange(100, 160, dtype=np.float32))
