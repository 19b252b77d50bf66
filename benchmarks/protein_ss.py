"""Evaluate a protein secondary-structure model on CB513, TS115 and CASP12 and print a markdown table.

    python benchmarks/protein_ss.py --model protein-ss --data ../shared/data/protein_ss/netsurfp2 \
        --json docs/results/protein_ss.json
    python benchmarks/protein_ss.py --model protein-ss-v1 --model protein-ss   # side by side, one run

Scoring follows the NetSurfP-2.0 / ProtTrans convention: residues with disorder == 1, and for CB513 also
cb513_mask == 1. A ``disorder`` head scores every residue (its own mask); its AUROC is shown
(``benchmarks/disorder.py`` has the full disorder comparison). Test sets are used for this final
evaluation only, never for tuning.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import load_bundle

SETS = {
    "CB513": ("CB513_HHblits.csv", ["disorder", "cb513_mask"]),
    "TS115": ("TS115_HHblits.csv", ["disorder"]),
    "CASP12": ("CASP12_HHblits.csv", ["disorder"]),
}
ANCHORS = "S4PRED 75.3 Q3 on CB513 (single sequence); SPOT-1D-Single ~72-74 Q3; ProtT5 86/87/81 Q3 (CB513/TS115/CASP12)"


def evaluate_model(model: str, data: Path, precision: str) -> dict:
    """One bundle on the three sets: per set its chain count, seconds and every head's metrics."""
    bundle = load_bundle(model)
    results = {"model": str(model), "model_sha256": bundle.sha256, "precision": precision, "sets": {}}
    for name, (filename, masks) in SETS.items():
        t0 = time.perf_counter()
        ev = evaluate_records(
            bundle,
            read_records(data / filename),
            PredictOptions(precision=precision),
            torch.device("cpu"),
            masks,
        )
        results["sets"][name] = {
            "sequences": ev.n_sequences,
            "seconds": round(time.perf_counter() - t0, 2),
            **ev.metrics,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", action="append", help="built-in name or file; repeat to compare (default protein-ss)"
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/protein_ss/netsurfp2"))
    parser.add_argument("--json", type=Path, help="one model: its results; several: a list of them")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = [evaluate_model(m, args.data, args.precision) for m in args.model or ["protein-ss"]]
    print("| model | set | chains | residues | Q3 | Q8 | MCC (3) | macro F1 (8) | disorder AUROC |")
    print("|---|---|---|---|---|---|---|---|---|")
    for results in runs:
        for name, r in results["sets"].items():
            disorder = f"{r['disorder']['auroc']:.3f}" if "disorder" in r else ""
            print(
                f"| {results['model']} | {name} | {r['sequences']} | {r['ss3']['n']} | "
                f"{100 * r['ss3']['accuracy']:.2f} | {100 * r['ss8']['accuracy']:.2f} | {r['ss3']['mcc']:.3f} | "
                f"{r['ss8']['macro_f1']:.3f} | {disorder} |"
            )
    print(f"\nAnchors: {ANCHORS}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(runs[0] if len(runs) == 1 else runs, indent=1))


if __name__ == "__main__":
    main()
