"""The naive reference that ``benchmarks/performance.py`` compares seqrnn against.

What a first implementation would do: the same model and weights, fixed-size batches taken in input
order and padded to their longest member, fp32, ``torch.no_grad`` (not ``inference_mode``), no length
bucketing, no packing, no overlap of reading and compute. The outputs are the model's own, so they equal
seqrnn's (checked in the benchmark); only the batching and precision differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from seqrnn.models.bundle import ModelBundle


def naive_predict(
    bundle: ModelBundle, texts: Sequence[str], batch_size: int = 32
) -> dict[str, list[np.ndarray]]:
    """Per-residue probabilities of every residue head, per sequence, in input order."""
    model = bundle.model.eval()
    out: dict[str, list[np.ndarray]] = {name: [] for name in model.residue_heads}
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            chunk = [bundle.encoder.encode(t)[0] for t in texts[start : start + batch_size]]
            lengths = torch.tensor([c.size for c in chunk])
            tokens = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.int64)
            for i, c in enumerate(chunk):
                tokens[i, : c.size] = torch.from_numpy(c)
            logits = model(tokens, lengths)
            for name in out:
                probs = torch.softmax(logits[name].float(), dim=-1).numpy()
                out[name].extend(probs[i, : c.size] for i, c in enumerate(chunk))
    return out


def naive_train_steps(
    model: torch.nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], heads: Sequence[str]
) -> None:
    """Plain training steps (fp32, input-order padded batches) with random per-residue labels."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    generator = torch.Generator().manual_seed(0)
    for tokens, lengths in batches:
        logits = model(tokens, lengths)
        loss = 0.0
        for h in heads:
            labels = torch.randint(0, logits[h].shape[-1], logits[h].shape[:2], generator=generator)
            labels[tokens.eq(0)] = -100  # padding is not a residue
            loss = loss + torch.nn.functional.cross_entropy(logits[h].flatten(0, 1), labels.flatten())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
