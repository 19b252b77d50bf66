"""Bidirectional layers over padded, time-major batches, shared by the encoder
(:class:`seqrnn.models.rnn.SeqRNN`), its long-sequence path (:mod:`seqrnn.models.chunked`) and branch
heads (a residue head's own BiLSTM, ``HeadSpec.branch``).

Shapes: time-major (L, B, C) inputs, (B,) lengths; a layer's output (L, B, 2H), both directions side by
side, the backward one in sequence order. Each sequence is reversed within its own length, so padding
stays at the end and neither direction reads it before a real position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from seqrnn.models.threads import DirectionHelper, in_caller_modes

if TYPE_CHECKING:
    from seqrnn.models.head_base import Head


class Reverser:
    """Reverses each sequence of a time-major (L, B, C) batch within its own length, padding left in place.

    Row r = t * B + b of the flattened (L * B, C) tensor; a row gather is a memcpy per row, far cheaper
    than an element-wise gather with an index as large as the data."""

    def __init__(self, lengths: torch.Tensor, n_steps: int, batch: int) -> None:
        rows = reverse_index(lengths, n_steps).T * batch
        self.rows = (rows + torch.arange(batch, device=lengths.device)).reshape(-1)
        self.n_steps, self.batch = n_steps, batch

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        flat = t.reshape(self.n_steps * self.batch, t.shape[-1])
        return flat.index_select(0, self.rows).view(self.n_steps, self.batch, t.shape[-1])


def run_bidirectional(
    layer: nn.ModuleDict,
    x: torch.Tensor,
    reverse: Callable[[torch.Tensor], torch.Tensor],
    helper: DirectionHelper | None = None,
    backward: torch.Tensor | None = None,
) -> torch.Tensor:
    """One bidirectional layer (``layer["fwd"]``, ``layer["bwd"]``) over time-major (L, B, C) ``x``:
    (L, B, 2H), the backward direction run on the within-length reversed input (``backward`` when the
    caller has it already; on ``helper``'s spare thread when one is free) and put back in sequence order."""
    backward = reverse(x) if backward is None else backward
    pending = helper.try_submit(in_caller_modes(layer["bwd"]), backward) if helper else None
    fwd, _ = layer["fwd"](x)
    bwd, _ = pending.result() if pending is not None else layer["bwd"](backward)
    return torch.cat([fwd, reverse(bwd)], dim=-1)


def with_branch(
    head: Head,
    feats: torch.Tensor,
    front: torch.Tensor,
    reverse: Callable[[torch.Tensor], torch.Tensor],
    front_reversed: torch.Tensor | None = None,
) -> torch.Tensor:
    """A branch head's input: the shared (L, B, 2H) features and its own BiLSTM over the (L, B, C) front
    features side by side, (L, B, 2H + 2 * branch), in the features' dtype. ``front_reversed``: the
    front features reversed, when the encoder's first layer made them already."""
    assert head.branch is not None
    own = run_bidirectional(head.branch, front, reverse, backward=front_reversed)
    return torch.cat([feats, own.to(feats.dtype)], dim=-1)


def reverse_index(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B, L) gather index reversing positions [0, length) of each row and leaving padding in place."""
    positions = torch.arange(max_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)
