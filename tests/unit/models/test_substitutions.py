"""Tests for seqrnn.models.substitutions: REF/ALT pairs from the reference's state equal two full passes."""

from __future__ import annotations

import pytest
import torch

from seqrnn.encoding.encoders import DNAEncoder
from seqrnn.models import SeqRNN
from seqrnn.models.bundle import build_model
from seqrnn.models.substitutions import predict_pairs, takes_pairs

SEQUENCE = {"name": "y", "kind": "sequence_classification", "columns": ["y"], "classes": ["0", "1"]}
VALUE = {"name": "v", "kind": "sequence_regression", "columns": ["v"], "classes": ["v"]}
RESIDUE = {"name": "r", "kind": "residue_classification", "columns": ["r"], "classes": ["a", "b"]}
WIDTH = 41


def dna_model(**config: object) -> SeqRNN:
    torch.manual_seed(0)
    settings = {
        "cell": "lstm",
        "hidden": 8,
        "layers": 1,
        "conv_channels": 6,
        "conv_kernel": 7,
        "conv_pool": 4,
    }
    settings.update(config)
    model = build_model(
        {"model": settings, "heads": [SEQUENCE, VALUE], "task": {"alphabet": "dna"}}, DNAEncoder()
    )
    return model.eval()


def windows(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(1, 5, (n, WIDTH), generator=gen)  # A, C, G, T tokens of the DNA encoder


def mutate(ref: torch.Tensor, positions: list[list[int]], seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    alt = ref.clone()
    for row, where in enumerate(positions):
        for p in where:
            alt[row, p] = (alt[row, p] + torch.randint(1, 4, (1,), generator=gen) - 1) % 4 + 1
    return alt


def full(model: SeqRNN, rows: torch.Tensor) -> dict[str, torch.Tensor]:
    return model.predict(rows, torch.full((rows.shape[0],), rows.shape[1]))


# Changes in the middle (one group), at both ends (the convolution reads past the window), several
# positions in one row (an MNV), and a row equal to its reference.
POSITIONS = [[20], [20], [0], [WIDTH - 1], [3, 4, 5], [18, 30], [], [20], [1], [39]]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"cell": "gru"},
        {"layers": 2},
        {"conv_pool": 1},
        {"conv_channels": 0},
        {"conv_kernel": 6, "conv_pool": 3},  # even kernel: "same" pads one more on the right
        {"input": "embedding", "embed_dim": 24},  # wide input: the conv1d front end
    ],
    ids=["lstm", "gru", "two-layers", "no-pool", "no-conv", "even-kernel", "embedding"],
)
def test_pairs_equal_two_full_passes(config: dict) -> None:
    model = dna_model(**config)
    ref = windows(len(POSITIONS))
    alt = mutate(ref, POSITIONS)
    with torch.inference_mode():
        assert takes_pairs(model)
        ref_out, alt_out = predict_pairs(model, ref, alt)
        want_ref, want_alt = full(model, ref), full(model, alt)
    for head in ("y", "v"):
        torch.testing.assert_close(ref_out[head], want_ref[head], rtol=0, atol=1e-6)
        torch.testing.assert_close(alt_out[head], want_alt[head], rtol=0, atol=1e-6)
    # The unchanged row gets its reference's outputs, bit for bit.
    assert torch.equal(alt_out["y"][6], ref_out["y"][6])


def test_shared_references() -> None:
    """Three ALTs per reference (a saturation run) and a reference no ALT uses: each reference once."""
    model = dna_model()
    ref = windows(4, seed=3)
    owner = torch.tensor([0, 0, 0, 2, 2, 2, 1])
    alt = mutate(ref[owner], [[20], [20], [20], [20], [5], [36], [20]], seed=4)
    with torch.inference_mode():
        ref_out, alt_out = predict_pairs(model, ref, alt, owner)
        want_ref, want_alt = full(model, ref), full(model, alt)
    torch.testing.assert_close(ref_out["y"], want_ref["y"], rtol=0, atol=1e-6)
    torch.testing.assert_close(alt_out["y"], want_alt["y"], rtol=0, atol=1e-6)


def test_bf16_close_to_full_pass() -> None:
    model = dna_model(conv_channels=16, hidden=16)
    ref = windows(32, seed=5)
    alt = mutate(ref, [[20]] * 32, seed=6)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        _, alt_out = predict_pairs(model, ref, alt)
        want = full(model, alt)
    assert float((alt_out["y"] - want["y"]).abs().max()) < 1e-2


def test_not_taken() -> None:
    """Residue heads, training mode, gradients and two convolution layers take the general path."""
    with torch.inference_mode():
        assert not takes_pairs(
            build_model(
                {"model": {"hidden": 4, "layers": 1}, "heads": [RESIDUE], "task": {"alphabet": "dna"}},
                DNAEncoder(),
            ).eval()
        )
        assert not takes_pairs(dna_model(conv_layers=2))
        assert not takes_pairs(dna_model().train())
    assert not takes_pairs(dna_model())  # gradients on


def test_shapes_checked() -> None:
    model = dna_model()
    with torch.inference_mode(), pytest.raises(ValueError, match="ref"):
        predict_pairs(model, windows(2), windows(2)[:, :-1])
