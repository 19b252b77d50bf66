"""Is a candidate's validation gain over a reference model real? A paired bootstrap over chains.

    python benchmarks/paired_bootstrap.py protein-ss-v1 runs/v2c/model.pt runs/protein_ss_v2/model.pt \\
        --split runs/v2a/split.tsv --json docs/results/protein_ss_bootstrap.json

Every model predicts the validation records of ``--split`` (resolved residues, as in training). Per
chain and head (``ss8``, ``ss3``) the number of correctly predicted residues is counted; chains are then
resampled with replacement (``--resamples``, seeded) and the accuracy difference candidate - reference
recomputed on each resample. Reported: the difference on the whole split and its 2.5-97.5 percentile
interval. Residues of one chain are not independent, so chains, not residues, are resampled.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from seqrnn.encoding.examples import prepare_example
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import predict_with_targets
from seqrnn.models.bundle import load_bundle

sys.path.insert(0, str(Path(__file__).resolve().parent))
from soup import validation_records

HEADS = ("ss8", "ss3")


def correct_per_chain(model: str, records: list, masks: list[str]) -> dict[str, np.ndarray]:
    """Head -> (chains, 2) array of [correct, scored] residues per validation chain."""
    bundle = load_bundle(model)
    heads = list(bundle.model.heads.values())  # predict_with_targets reads every head's targets
    examples = [prepare_example(r, bundle.encoder, heads=heads, mask_columns=masks) for r in records]
    targets, outputs = predict_with_targets(
        bundle, examples, PredictOptions(precision="fp32"), torch.device("cpu")
    )
    out = {}
    for h in HEADS:
        rows = []
        for y, p in zip(targets[h], outputs[h], strict=True):
            keep = y >= 0  # IGNORE (-100): masked or unlabelled residue
            rows.append([int((p[keep].argmax(1) == y[keep]).sum()), int(keep.sum())])
        out[h] = np.asarray(rows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("candidates", nargs="+")
    ap.add_argument("--split", type=Path, required=True)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    records = validation_records(args.split)
    ref = correct_per_chain(args.reference, records, ["disorder"])
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(records), size=(args.resamples, len(records)))
    results: dict = {"reference": args.reference, "chains": len(records), "candidates": {}}
    for cand in args.candidates:
        counts = correct_per_chain(cand, records, ["disorder"])
        row = {}
        for h in HEADS:
            a, b = ref[h], counts[h]
            if not np.array_equal(a[:, 1], b[:, 1]):
                raise SystemExit(f"{cand}: scored other residues than {args.reference}")
            diff = (b[:, 0].sum() - a[:, 0].sum()) / a[:, 1].sum()
            boot = (b[picks, 0].sum(1) - a[picks, 0].sum(1)) / a[picks, 1].sum(1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            row[h] = {"difference": float(diff), "ci95": [float(lo), float(hi)]}
            print(
                f"{cand} - {args.reference} {h}: {100 * diff:+.2f} points (95% CI {100 * lo:+.2f} to {100 * hi:+.2f})"
            )
        results["candidates"][cand] = row
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
