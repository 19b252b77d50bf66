"""REF and ALT windows scored as pairs: each reference window once, each alternative from the state its
reference reached before the allele (:func:`seqrnn.models.substitutions.predict_pairs`).

Shapes: ``k`` pairs of texts of the model's width W -> tokens (R, W) for the R distinct reference
windows and (k, W) for the alternatives, with ``owner`` (k,) the reference row of each -> with the
strand view, the other strand's rows after them (2R, 2k) -> batches of at most the token budget ->
per sequence-level head (k, C) float32 for REF and for ALT, the strands averaged as
:func:`seqrnn.inference.engine.start_window` averages views.

This is the path of a single model with only sequence-level heads whose windows encode in one pass
(every letter in the alphabet); anything else (:func:`pair_scores` returns None) goes through the
general prediction path with the same results up to float rounding. No examples are built: the
windows go from text to token rows to the model in a few array operations.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import torch

from seqrnn.core.memory import release_free_memory, tune_allocator
from seqrnn.core.runtime import resolve_precision
from seqrnn.inference.engine import BatchRunner, PredictOptions
from seqrnn.models.substitutions import predict_pairs, takes_pairs
from seqrnn.variants.scoring_options import ScoringModel

__all__ = ["ROWS", "pair_scores"]

#: A batch's reference and alternative row counts are multiples of this (see :func:`_run`).
ROWS = 8


def pair_scores(
    model: ScoringModel,
    pairs: Sequence[tuple[str, str]],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """``(ref, alt)``: per head (k, C) float32 outputs of the ``k`` pairs' windows, or None when this path
    does not apply (see the module docstring)."""
    bundle = model.bundle
    net = bundle.model
    with torch.inference_mode():
        if bundle.members or not takes_pairs(net):
            return None
    augmentation, n_views = bundle.views(options.test_views)
    strand = augmentation is not None and n_views >= 2
    if strand and augmentation.name != "reverse_complement":  # type: ignore[union-attr]
        return None
    first: dict[str, int] = {}
    owner = np.array([first.setdefault(ref, len(first)) for ref, _ in pairs], dtype=np.int64)
    encoder = bundle.encoder
    refs = encoder.encode_rows(list(first))
    alts = encoder.encode_rows([alt for _, alt in pairs])
    if refs is None or alts is None or refs.shape[1] != alts.shape[1]:
        return None
    views = [(refs, alts)]
    if strand:
        views.append((encoder.reverse_complement(refs), encoder.reverse_complement(alts)))
    tune_allocator()
    bf16 = resolve_precision(options.precision, device) == "bf16"
    out: dict[str, np.ndarray] = {}
    # Budget: the reference windows (one per view) of a batch; their alternatives' recomputed stretch is
    # a fraction of a window each. Pairs sharing a reference (numbered in order of first use) stay together.
    per_ref = len(views) * refs.shape[1]
    size = max(
        1, min(options.batch_tokens // runner.workers // per_ref, options.batch_size // runner.workers)
    )
    size = max(ROWS, size - size % ROWS)
    group = owner // size
    batches = [np.flatnonzero(group == k) for k in range(int(group.max()) + 1)]
    results: list[dict[str, np.ndarray]] = [{} for _ in batches]
    futures = [
        runner.submit(partial(_run, net, views, owner, idx, device, bf16, results[b]))
        for b, idx in enumerate(batches)
    ]
    for future in futures:
        future.result()
    release_free_memory()  # once per chunk: keeps resident memory flat
    # Batches hold pairs by reference number, so a pair whose REF window came up earlier in the chunk
    # sits in an earlier batch: each batch's rows go back to its pairs' places.
    for idx, result in zip(batches, results, strict=True):
        for key, value in result.items():
            if key not in out:
                out[key] = np.empty((len(pairs), *value.shape[1:]), dtype=value.dtype)
            out[key][idx] = value
    return {h: out[f"ref/{h}"] for h in model.heads}, {h: out[f"alt/{h}"] for h in model.heads}


def _run(
    net: torch.nn.Module,
    views: list[tuple[np.ndarray, np.ndarray]],
    owner: np.ndarray,
    idx: np.ndarray,
    device: torch.device,
    bf16: bool,
    into: dict[str, np.ndarray],
) -> None:
    """Score the pairs ``idx`` in every view; ``into["ref/<head>"]``, ``into["alt/<head>"]`` (len(idx), C)
    float32, averaged over the views."""
    refs_used, local = np.unique(owner[idx], return_inverse=True)
    r, g = len(refs_used), len(idx)
    # Rows padded to multiples of ROWS with copies of the first pair (dropped below): the RNN kernel
    # compiles one primitive per shape and runs some row counts far slower (bf16: 316 or 326 rows 1.5x
    # the time per row of 320 or 328), so every batch keeps to a few shapes of fast row counts.
    extra_refs = -r % ROWS
    extra_alts = -(g + extra_refs) % ROWS
    refs_used = np.concatenate([refs_used, np.repeat(refs_used[local[0]], extra_refs)])
    pairs = np.concatenate([idx, np.repeat(idx[0], extra_refs + extra_alts)])
    local = np.concatenate([local, np.arange(r, r + extra_refs), np.repeat(local[0], extra_alts)])
    n_refs, n_alts = len(refs_used), len(pairs)
    ref_rows = np.concatenate([refs[refs_used] for refs, _ in views])
    alt_rows = np.concatenate([alts[pairs] for _, alts in views])
    owners = np.concatenate([local + v * n_refs for v in range(len(views))])
    # inference_mode and autocast are thread-local: entered by whichever thread runs the batch.
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        ref_out, alt_out = predict_pairs(
            net,
            torch.from_numpy(ref_rows.astype(np.int64)).to(device),
            torch.from_numpy(alt_rows.astype(np.int64)).to(device),
            torch.from_numpy(owners).to(device),
        )
    for name, values in (("ref", ref_out), ("alt", alt_out)):
        n = n_refs if name == "ref" else n_alts
        for head, v in values.items():
            per_view = v.float().cpu().numpy().reshape(len(views), n, -1).astype(np.float64)
            mean = (per_view.sum(0) / len(views)).astype(np.float32)
            into[f"{name}/{head}"] = mean[local[:g]] if name == "ref" else mean[:g]
