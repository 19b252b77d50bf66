"""Encoded examples -> length-bucketed, token-budgeted padded batches.

Batch contract: ``tokens`` (B, L) int64 padded with 0, ``lengths`` (B,) int64, ``targets[head]`` as
described in :mod:`seqrnn.models.heads`, ``positions`` (B,) indices of the examples in their list.
A batch holds at most ``max_tokens`` padded positions and ``max_batch`` sequences; a sequence longer than
the budget gets a batch of its own, so there is no maximum length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from seqrnn.encoding.examples import Example, TargetHead


@dataclass
class Batch:
    """Padded tensors of one batch (shapes in the module docstring)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    positions: np.ndarray
    targets: dict[str, torch.Tensor]

    def to(self, device: torch.device) -> Batch:
        """The batch with its tensors on ``device``."""
        return Batch(
            self.tokens.to(device, non_blocking=True),
            self.lengths,
            self.positions,
            {k: v.to(device, non_blocking=True) for k, v in self.targets.items()},
        )


# token_budget_batches options for bf16 (see there): row counts above 48 are multiples of 8.
BF16_ROWS: dict[str, int] = {"row_multiple": 8, "multiple_above": 48}


def token_budget_batches(
    lengths: np.ndarray,
    max_tokens: int,
    max_batch: int,
    rng: np.random.Generator | None = None,
    row_multiple: int = 1,
    multiple_above: int = 0,
) -> list[np.ndarray]:
    """Group example positions into batches of similar length.

    Sorting by length keeps padding waste low; with ``rng`` (training) lengths get a little noise and
    batch order is shuffled, so batches differ between epochs but stay deterministic for a seed.
    A batch of more than ``multiple_above`` rows holds a multiple of ``row_multiple`` rows. Why: torch's
    bf16 CPU RNN kernel (oneDNN, AMX) is slow for some row counts above about 50: 53, 59 or 61 rows ran
    5-10x slower than 56 or 64 in prediction, 53 rows 3x slower than 56 in training (the protein-ss
    BiLSTM, 1 thread), while 24-48 rows showed no such case (docs/performance.md).
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        return []
    keys = lengths.astype(np.float64)
    if rng is not None:
        keys = keys * rng.uniform(0.9, 1.1, size=keys.size)
    order = np.argsort(-keys, kind="stable")  # longest first: the biggest batch is tried first
    batches: list[np.ndarray] = []
    start = 0
    while start < order.size:
        longest = int(lengths[order[start]])
        n = max(1, min(max_batch, max_tokens // max(longest, 1)))
        end = start + n
        # Later (shorter) members may not exceed the budget set by the first; sorted order guarantees it
        # without noise; with noise, re-check and trim.
        chunk = order[start:end]
        while chunk.size > 1 and int(lengths[chunk].max()) * chunk.size > max_tokens:
            chunk = chunk[:-1]
        if chunk.size > max(multiple_above, row_multiple):
            chunk = chunk[: chunk.size - chunk.size % row_multiple]
        batches.append(chunk)
        start += chunk.size
    if rng is not None:
        perm = rng.permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches


def crop_example(example: Example, start: int, length: int) -> Example:
    """A window of a per-residue example (targets of residue heads are sliced alike)."""
    end = start + length
    return Example(
        example.index,
        example.id,
        example.tokens[start:end],
        {
            k: (v[start:end] if v.ndim == 1 and v.size == example.tokens.size else v)
            for k, v in example.targets.items()
        },
    )


def collate(examples: Sequence[Example], heads: Sequence[TargetHead] = ()) -> Batch:
    """Pad examples into one :class:`Batch`; each head stacks its own targets."""
    lengths = np.array([e.tokens.size for e in examples], dtype=np.int64)
    max_len = int(lengths.max())
    tokens = np.zeros((len(examples), max_len), dtype=np.int64)
    for i, e in enumerate(examples):
        tokens[i, : e.tokens.size] = e.tokens
    targets = {h.name: h.collate([e.targets[h.name] for e in examples], max_len) for h in heads}
    return Batch(
        torch.from_numpy(tokens), torch.from_numpy(lengths), np.array([e.index for e in examples]), targets
    )
