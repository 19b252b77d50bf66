"""The dense two-pass BiRNN must equal torch's packed bidirectional RNN with the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqrnn.models import ModelConfig, SeqRNN

SPEC = [{"name": "y", "kind": "residue_classification", "classes": ["a", "b"], "columns": ["y"]}]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_matches_packed_bidirectional(cell: str) -> None:
    torch.manual_seed(0)
    model = SeqRNN(ModelConfig(cell=cell, hidden=7, layers=2, embed_dim=5, dropout=0.0), 10, SPEC).eval()
    ref = {"lstm": nn.LSTM, "gru": nn.GRU}[cell](5, 7, num_layers=2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for i, layer in enumerate(model.rnn):
            for direction, suffix in (("fwd", ""), ("bwd", "_reverse")):
                for name, value in layer[direction].named_parameters():
                    getattr(ref, name.replace("_l0", f"_l{i}") + suffix).copy_(value)
    lengths = torch.tensor([9, 1, 5, 9, 3])
    tokens = torch.randint(1, 10, (5, 9))
    for i, n in enumerate(lengths):
        tokens[i, n:] = 0
    with torch.no_grad():
        ours, _ = model.encode(tokens, lengths)
        x = model.embed(tokens)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        theirs, _ = pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=9)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
