"""Tests for seqrnn.models: batch invariance, output shapes, frozen one-hot input and packed backprop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.errors import ConfigError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models import rnn as rnn_module
from seqrnn.models.bundle import build_model
from seqrnn.models.heads import HeadSpec
from seqrnn.models.rnn import masked_mean_max

RESIDUE = {"name": "ss3", "kind": "residue_classification", "columns": ["ss3"], "classes": ["H", "E", "C"]}
SEQUENCE = {"name": "y", "kind": "sequence_classification", "columns": ["y"], "classes": ["0", "1"]}
MULTI = {
    "name": "tox",
    "kind": "sequence_multilabel",
    "columns": ["a", "b", "c", "d"],
    "classes": list("abcd"),
}
VOCAB = 22


def make_model(
    cell: str = "lstm", conv: int = 0, heads: list[dict] | None = None, **config: object
) -> SeqRNN:
    torch.manual_seed(0)
    config.setdefault("conv_kernel", 5)
    cfg = ModelConfig(
        cell=cell,
        hidden=8,
        layers=2,
        embed_dim=6,
        conv_channels=conv,
        conv_layers=2,
        input_dropout=0.1,
        head_dropout=0.3,
        **{"dropout": 0.3, **config},
    )
    return SeqRNN(cfg, VOCAB, heads or [RESIDUE, SEQUENCE, MULTI])


def pad(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([s.numel() for s in seqs])
    tokens = torch.zeros(len(seqs), int(lengths.max()), dtype=torch.int64)
    for i, s in enumerate(seqs):
        tokens[i, : s.numel()] = s
    return tokens, lengths


def random_seq(gen: torch.Generator, n: int) -> torch.Tensor:
    return torch.randint(1, VOCAB, (n,), generator=gen)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("conv", [0, 4])
def test_batch_invariance(cell: str, conv: int) -> None:
    model = make_model(cell, conv).eval()
    gen = torch.Generator().manual_seed(1)
    short = random_seq(gen, 7)
    others = [random_seq(gen, 30), random_seq(gen, 19), random_seq(gen, 1)]
    with torch.no_grad():
        alone = model(*pad([short]))
        batched = model(*pad([others[0], short, *others[1:]]))
    torch.testing.assert_close(batched["ss3"][1, :7], alone["ss3"][0], rtol=0, atol=1e-5)
    torch.testing.assert_close(batched["y"][1], alone["y"][0], rtol=0, atol=1e-5)
    torch.testing.assert_close(batched["tox"][1], alone["tox"][0], rtol=0, atol=1e-5)


def test_output_shapes() -> None:
    model = make_model().eval()
    gen = torch.Generator().manual_seed(2)
    tokens, lengths = pad([random_seq(gen, n) for n in (5, 12, 3)])
    with torch.no_grad():
        out = model(tokens, lengths)
    assert set(out) == {"ss3", "y", "tox"}
    assert out["ss3"].shape == (3, 12, 3)
    assert out["y"].shape == (3, 2)
    assert out["tox"].shape == (3, 4)
    assert model.residue_heads == ["ss3"]
    assert torch.isfinite(out["ss3"]).all() and torch.isfinite(out["y"]).all()


def test_features_zero_at_padding() -> None:
    model = make_model(conv=4).eval()
    gen = torch.Generator().manual_seed(3)
    tokens, lengths = pad([random_seq(gen, 10), random_seq(gen, 4)])
    with torch.no_grad():
        feats, _ = model.encode(tokens, lengths)
    assert feats.shape == (2, 10, 16)
    assert feats[1, 4:].abs().max() == 0
    assert feats[1, :4].abs().max() > 0


def test_eval_is_deterministic_and_train_uses_dropout() -> None:
    model = make_model()
    gen = torch.Generator().manual_seed(4)
    tokens, lengths = pad([random_seq(gen, 15), random_seq(gen, 9)])
    model.eval()
    with torch.no_grad():
        a = model(tokens, lengths)["ss3"]
        b = model(tokens, lengths)["ss3"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    model.train()
    torch.manual_seed(5)
    with torch.no_grad():
        c = model(tokens, lengths)["ss3"]
    assert not torch.allclose(a, c)


def test_masked_mean_max_ignores_padding() -> None:
    feats = torch.tensor([[[1.0, -2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    pooled = masked_mean_max(feats, mask)
    torch.testing.assert_close(pooled, torch.tensor([[2.0, 1.0, 3.0, 4.0]]))


def test_dna_onehot_embedding_is_frozen() -> None:
    encoder = DNAEncoder()
    cfg = ModelConfig(hidden=8, layers=1, dropout=0.0)
    model = build_model({"model": cfg.to_dict(), "heads": [SEQUENCE]}, encoder)
    weight = model.embed.weight
    assert weight.shape == (encoder.vocab_size, 4)
    assert not weight.requires_grad
    np.testing.assert_array_equal(weight.detach().numpy(), encoder.onehot_matrix())
    tokens, lengths = pad(
        [torch.from_numpy(encoder.encode("ACGTNACG")[0]), torch.from_numpy(encoder.encode("GG")[0])]
    )
    model(tokens, lengths)["y"].sum().backward()
    assert weight.grad is None
    assert model.rnn[0]["fwd"].weight_ih_l0.grad is not None
    assert model.rnn[0]["bwd"].weight_ih_l0.grad is not None


def test_protein_model_learns_embedding() -> None:
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=5)
    model = build_model({"model": cfg.to_dict(), "heads": [RESIDUE]}, ProteinEncoder())
    assert model.embed.weight.shape == (ProteinEncoder().vocab_size, 5)
    assert model.embed.weight.requires_grad
    forced = build_model(
        {"model": ModelConfig(hidden=8, layers=1, input="onehot").to_dict(), "heads": [RESIDUE]}, DNAEncoder()
    )
    assert not forced.embed.weight.requires_grad
    learned = build_model(
        {
            "model": ModelConfig(hidden=8, layers=1, input="embedding", embed_dim=7).to_dict(),
            "heads": [RESIDUE],
        },
        DNAEncoder(),
    )
    assert learned.embed.weight.shape[1] == 7 and learned.embed.weight.requires_grad


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backward_with_lengths_1_and_50(cell: str) -> None:
    model = make_model(cell, conv=4).train()
    gen = torch.Generator().manual_seed(6)
    tokens, lengths = pad([random_seq(gen, 1), random_seq(gen, 50)])
    out = model(tokens, lengths)
    target = torch.full((2, 50), -100, dtype=torch.int64)
    target[0, 0] = 1
    target[1, :] = torch.randint(0, 3, (50,), generator=gen)
    tox = torch.tensor([[1.0, 0.0, float("nan"), 1.0], [float("nan")] * 4])
    loss = (
        model.heads["ss3"].loss(out["ss3"], target)
        + model.heads["y"].loss(out["y"], torch.tensor([0, 1]))
        + model.heads["tox"].loss(out["tox"], tox)
    )
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e-3)
    assert torch.isfinite(norm) and norm > 1e-3
    clipped = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters() if p.grad is not None))
    assert clipped == pytest.approx(1e-3, rel=1e-3)


def test_lstm_forget_gate_bias_and_unknown_cell() -> None:
    model = make_model("lstm")
    h = model.config.hidden
    bias = model.rnn[0]["bwd"].bias_ih_l0.detach()
    assert torch.all(bias[h : 2 * h] == 1.0)
    assert torch.all(bias[:h] == 0.0)
    with pytest.raises(ConfigError, match="unknown cell"):
        SeqRNN(ModelConfig(cell="rnn"), VOCAB, [RESIDUE])


def test_conv_pool_is_batch_invariant_and_shortens_the_rnn() -> None:
    model = make_model(conv=4, heads=[SEQUENCE], conv_pool=3).eval()
    gen = torch.Generator().manual_seed(5)
    short = random_seq(gen, 7)  # 7 -> 3 pooled positions, the last one from a single residue
    others = [random_seq(gen, 31), random_seq(gen, 2)]
    with torch.no_grad():
        alone = model(*pad([short]))
        batched = model(*pad([others[0], short, others[1]]))
        feats, mask = model.encode(*pad([others[0], short]))
    torch.testing.assert_close(batched["y"][1], alone["y"][0], rtol=0, atol=1e-5)
    assert feats.shape[1] == 11 and mask.sum(1).tolist() == [11, 3]


def test_front_end_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch larger than one piece of the channels-last front end gives the rows' outputs unchanged."""
    model = make_model(conv=7, conv_pool=3, dropout=0.0).eval()
    g = torch.Generator().manual_seed(2)
    tokens, _ = pad([torch.randint(1, VOCAB, (20,), generator=g) for _ in range(9)])
    with torch.no_grad():
        x = model.embed(tokens).transpose(1, 2)
        whole = model.conv_front_channels_last(x, None)
        monkeypatch.setattr(rnn_module, "FRONT_POSITIONS", 40)  # 2 rows per piece: 5 pieces
        pieces = model.conv_front_channels_last(x, None)
    assert pieces.shape == whole.shape == (7, 9, 7)
    torch.testing.assert_close(pieces, whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kernel", [5, 6])
@pytest.mark.parametrize("pool", [1, 3])
def test_inference_front_end_matches_the_modules_path(kernel: int, pool: int) -> None:
    """The channels-last 2-D front end (inference) gives the conv1d modules' outputs, padded or not."""
    model = make_model(conv=7, conv_kernel=kernel, conv_pool=pool, dropout=0.0).eval()
    g = torch.Generator().manual_seed(1)
    for lengths in ([20, 20, 20], [20, 13, 4]):
        tokens, lens = pad([torch.randint(1, VOCAB, (n,), generator=g) for n in lengths])
        with torch.no_grad():
            x = model.embed(tokens).transpose(1, 2)
            keep = None if len(set(lengths)) == 1 else tokens.ne(0).unsqueeze(1)
            slow = model._conv_front(x, keep)
            fast = model.conv_front_channels_last(x, keep)
        assert fast.shape == slow.shape
        torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-6)
        with torch.inference_mode():
            hooked = model.convs[0].register_forward_hook(lambda m, i, o: o * 0)
            try:
                silenced = model(tokens, lens)  # a hooked convolution takes the modules' path
            finally:
                hooked.remove()
            plain = model(tokens, lens)
        assert any(not torch.equal(silenced[k], plain[k]) for k in plain)


BRANCH = {
    "name": "disorder",
    "kind": "residue_classification",
    "columns": ["d"],
    "classes": ["ordered", "disordered"],
    "branch": 4,
}


@pytest.mark.parametrize("conv", [0, 4])
def test_branch_head_is_batch_invariant_and_trains_alone(conv: int) -> None:
    """A residue head with its own BiLSTM (``branch``) reads the front features: its outputs do not depend
    on what a sequence is batched with, and with the trunk frozen only the branch head gets gradients."""
    model = make_model("lstm", conv, heads=[RESIDUE, BRANCH]).eval()
    assert model.heads["disorder"].net[-1].in_features == 2 * 8 + 2 * 4
    gen = torch.Generator().manual_seed(3)
    short = random_seq(gen, 9)
    with torch.no_grad():
        alone = model(*pad([short]))
        batched = model(*pad([random_seq(gen, 25), short, random_seq(gen, 2)]))
    torch.testing.assert_close(batched["disorder"][1, :9], alone["disorder"][0], rtol=0, atol=1e-5)
    model.train()
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith("heads.disorder"))
    out = model(*pad([short, random_seq(gen, 12)]))
    out["disorder"].sum().backward()
    grads = {n for n, p in model.named_parameters() if p.grad is not None and bool(p.grad.abs().sum() > 0)}
    assert any(n.startswith("heads.disorder.branch.bwd") for n in grads)
    assert all(n.startswith("heads.disorder") for n in grads)


@pytest.mark.parametrize("head_hidden", [0, 5])
def test_branch_logits_equal_the_joined_path(head_hidden: int) -> None:
    """At inference a branch head applies its first linear layer per input block (no joined copy): the
    logits equal those of the head on the joined features (train mode without dropout), padding too."""
    model = make_model("lstm", 4, heads=[RESIDUE, BRANCH], head_hidden=head_hidden, dropout=0.0)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    gen = torch.Generator().manual_seed(4)
    batch = pad([random_seq(gen, n) for n in (17, 5, 30)])
    with torch.no_grad():
        joined = model.train()(*batch)
        split = model.eval()(*batch)
    for name in ("disorder", "ss3"):
        torch.testing.assert_close(split[name], joined[name], rtol=0, atol=1e-6)


def test_branch_survives_a_bundle_round_trip() -> None:
    spec = HeadSpec.from_dict(BRANCH)
    assert spec.branch == 4 and spec.to_dict()["branch"] == 4
    assert "branch" not in HeadSpec.from_dict(RESIDUE).to_dict()  # older bundles are written unchanged
