"""Is a candidate's gain (or loss) against a reference model real? A paired bootstrap over chains.

    python benchmarks/paired_bootstrap.py protein-ss-v1 runs/v2c/model.pt runs/protein_ss_v2/model.pt \\
        --split runs/v2a/split.tsv --json docs/results/protein_ss_bootstrap.json
    python benchmarks/paired_bootstrap.py protein-ss-v1 protein-ss --split runs/protein_ss_v4/split.tsv \\
        --test-data ../shared/data/protein_ss/netsurfp2 --json docs/results/protein_ss_v4_bootstrap.json

Every model predicts the validation records of ``--split`` (resolved residues, as in training) and, with
``--test-data``, each test set of ``benchmarks/protein_ss.py`` (CB513 with its ``cb513_mask``, TS115,
CASP12). Per chain and head (``ss8``, ``ss3``) the number of correctly predicted residues is counted;
chains are then resampled with replacement (``--resamples``, seeded) and the accuracy difference
candidate - reference recomputed on each resample. Reported per set: the difference on the whole set
and its 2.5-97.5 percentile interval. Residues of one chain are not independent, so chains, not
residues, are resampled.
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
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import ModelBundle, load_bundle

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protein_ss import SETS
from soup import validation_records

HEADS = ("ss8", "ss3")


def correct_per_chain(bundle: ModelBundle, records: list, masks: list[str]) -> dict[str, np.ndarray]:
    """Head -> (chains, 2) array of [correct, scored] residues per chain of ``records``."""
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


def compare(
    reference: str,
    candidates: list[str],
    bundles: dict[str, ModelBundle],
    records: list,
    masks: list[str],
    resamples: int,
) -> dict:
    """Per candidate and head: the accuracy difference candidate - reference on ``records`` and its 95%
    interval over chain resamples (the same resamples for every candidate); ``bundles`` by name."""
    ref = correct_per_chain(bundles[reference], records, masks)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(records), size=(resamples, len(records)))
    results: dict = {"chains": len(records), "candidates": {}}
    for cand in candidates:
        counts = correct_per_chain(bundles[cand], records, masks)
        row = {}
        for h in HEADS:
            a, b = ref[h], counts[h]
            if not np.array_equal(a[:, 1], b[:, 1]):
                raise SystemExit(f"{cand}: scored other residues than {reference}")
            diff = (b[:, 0].sum() - a[:, 0].sum()) / a[:, 1].sum()
            boot = (b[picks, 0].sum(1) - a[picks, 0].sum(1)) / a[picks, 1].sum(1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            row[h] = {"difference": float(diff), "ci95": [float(lo), float(hi)]}
        results["candidates"][cand] = row
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("candidates", nargs="+")
    ap.add_argument("--split", type=Path, required=True)
    ap.add_argument("--test-data", type=Path, help="folder of the CB513, TS115 and CASP12 CSV files")
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sets = {"validation": (validation_records(args.split), ["disorder"])}
    if args.test_data:
        sets |= {name: (list(read_records(args.test_data / f)), masks) for name, (f, masks) in SETS.items()}
    # Loaded once, scored on every set.
    bundles = {m: load_bundle(m) for m in [args.reference, *args.candidates]}
    results: dict = {"reference": args.reference, "sets": {}}
    for name, (records, masks) in sets.items():
        result = compare(args.reference, args.candidates, bundles, records, masks, args.resamples)
        results["sets"][name] = result
        for cand, row in result["candidates"].items():
            for h, r in row.items():
                lo, hi = r["ci95"]
                print(
                    f"{name}: {cand} - {args.reference} {h}: {100 * r['difference']:+.2f} points "
                    f"(95% CI {100 * lo:+.2f} to {100 * hi:+.2f})"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
