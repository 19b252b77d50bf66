"""Per-residue disorder on CB513, TS115 and CASP12 against NetSurfP-2.0's unresolved residues.

    python benchmarks/disorder.py --threads 1 2 --json docs/results/disorder_anchor.json
    python benchmarks/disorder.py --model runs/protein_ss_v2/model.pt --threads 1 2 \
        --json docs/results/disorder_anchor.json                      # seqrnn beside metapredict
    python benchmarks/disorder.py --model runs/protein_ss_v2/model.pt --no-metapredict
    python benchmarks/disorder.py --model protein-ss --bootstrap 1000   # + chain-resampled differences

Label: a residue is *disordered* where the set's ``disorder`` column is 0.0 (unresolved in the
structure), *ordered* where it is 1.0; every residue of every chain is scored (no ``cb513_mask``).
Tools: metapredict (``pip install metapredict``; its default network, scores in [0, 1], called at its
own default threshold read from the package) and, with ``--model``, a seqrnn bundle with a
``disorder`` head (P(disordered) from ``/residue/disorder/probs``, called at the head's stored
threshold, else 0.5). Metrics: AUROC
(:func:`seqrnn.models.metrics.binary_auroc`), AUPRC, MCC at the tool's threshold, counts, and residues/s of
the prediction call alone (all chains of a set in one call; median of ``--rounds`` after a warm-up
call), per torch thread count. metapredict
predicts *intrinsic* disorder, a related but different label from "unresolved in a crystal
structure": its figures are an anchor, not a ceiling. Test sets: final evaluation only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.io.formats import read_records
from seqrnn.models.metrics import binary_auprc, binary_auroc

SETS = {"CB513": "CB513_HHblits.csv", "TS115": "TS115_HHblits.csv", "CASP12": "CASP12_HHblits.csv"}
# metapredict's one-hot encoder takes the 20 canonical letters only; rare letters are replaced.
CANONICAL = {"X": "A", "U": "C", "Z": "Q", "B": "N", "O": "K", "J": "L"}

Chains = list[tuple[str, str]]  # (id, sequence)
Predictor = Callable[[Chains], list[np.ndarray]]  # per-chain P(disordered) / disorder score


def read_set(path: Path) -> tuple[Chains, list[np.ndarray]]:
    """(id, sequence) pairs and per-chain boolean labels (True = disordered: ``disorder`` == 0)."""
    chains: Chains = []
    labels: list[np.ndarray] = []
    for rec in read_records(path):
        seq = "".join(rec.text.split())
        values = np.asarray(rec.fields["disorder"].split(), dtype=np.float64)
        if values.size != len(seq):
            raise ValueError(
                f"{path}: record {rec.id}: {values.size} disorder values for {len(seq)} residues"
            )
        chains.append((rec.id, seq))
        labels.append(values < 0.5)
    return chains, labels


def mcc(y: np.ndarray, called: np.ndarray) -> float:
    """Matthews correlation of boolean calls against boolean labels (NaN when undefined)."""
    tp = float(np.sum(called & y))
    tn = float(np.sum(~called & ~y))
    fp = float(np.sum(called & ~y))
    fn = float(np.sum(~called & y))
    den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / den if den else math.nan


def metapredict_tool() -> tuple[dict[str, Any], Predictor]:
    """metapredict's description (version, network, default threshold) and its batch predictor."""
    import metapredict
    from metapredict.backend.network_parameters import metapredict_networks
    from metapredict.parameters import DEFAULT_NETWORK

    threshold = float(metapredict_networks[DEFAULT_NETWORK]["parameters"]["disorder_threshold"])
    info = {
        "tool": "metapredict",
        "version": getattr(metapredict, "__version__", "unknown"),
        "network": DEFAULT_NETWORK,
        "threshold": threshold,
        "replaced_letters": CANONICAL,
    }

    def predict(chains: Chains) -> list[np.ndarray]:
        seqs = ["".join(CANONICAL.get(c, c) for c in seq) for _id, seq in chains]
        out = metapredict.predict_disorder(
            seqs, device="cpu", round_values=False, show_progress_bar=False, silence_warnings=True
        )
        # A list in gives [sequence, scores] pairs in input order.
        if [o[0] for o in out] != seqs:
            raise SystemExit("metapredict returned its chains in another order")
        return [np.asarray(o[1], dtype=np.float64) for o in out]

    return info, predict


def seqrnn_tool(model: str, precision: str) -> tuple[dict[str, Any], Predictor]:
    """A seqrnn bundle with a ``disorder`` head: its description and P(disordered) per residue."""
    import seqrnn

    bundle = seqrnn.load_model(model, device="cpu")
    heads = {h["name"]: h for h in bundle.heads}
    if "disorder" not in heads or "disordered" not in heads["disorder"]["classes"]:
        raise SystemExit(f"{model}: no 'disorder' head with a 'disordered' class (heads: {', '.join(heads)})")
    column = heads["disorder"]["classes"].index("disordered")
    info = {
        "tool": "seqrnn",
        "model": bundle.name,
        "model_sha256": bundle.sha256,
        "precision": precision,
        # The head's decision threshold (chosen on validation when trained with heads[].threshold), else
        # argmax: 0.5.
        "threshold": heads["disorder"].get("threshold") or 0.5,
    }

    def predict(chains: Chains) -> list[np.ndarray]:
        pred = seqrnn.predict(chains, bundle, device="cpu", precision=precision)
        try:
            return [np.asarray(pred[i]["disorder"][:, column], dtype=np.float64) for i in range(len(chains))]
        finally:
            pred.close()

    return info, predict


def score_tool(
    info: dict[str, Any],
    predict: Predictor,
    sets: dict[str, tuple[Chains, list[np.ndarray]]],
    threads: Sequence[int],
    rounds: int = 3,
) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """Metrics per set (from the first round's scores) and, per thread count, the prediction time of
    ``rounds`` rounds after a warm-up call (residues/s over the median round); and the per-chain scores
    of each set."""
    result: dict[str, Any] = {**info, "sets": {}}
    per_chain: dict[str, list[np.ndarray]] = {}
    for name, (chains, labels) in sets.items():
        timings: dict[str, Any] = {}
        scores: list[np.ndarray] = []
        residues = sum(len(s) for _id, s in chains)
        for n in threads:
            torch.set_num_threads(n)
            predict(chains[:2])  # warm-up: network loading and first-call costs are not timed
            seconds = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                out = predict(chains)
                seconds.append(time.perf_counter() - t0)
                scores = scores or out
            median = float(np.median(seconds))
            timings[str(n)] = {
                "seconds": [round(t, 2) for t in seconds],
                "residues_per_s": round(residues / median),  # over the median round
            }
        per_chain[name] = scores
        y = np.concatenate(labels)
        s = np.concatenate(scores)
        if s.size != y.size:
            raise SystemExit(f"{info['tool']} on {name}: {s.size} scores for {y.size} residues")
        result["sets"][name] = {
            "chains": len(chains),
            "residues": int(y.size),
            "disordered": int(y.sum()),
            "disordered_fraction": round(float(y.mean()), 4),
            "auroc": round(binary_auroc(y, s), 4),
            "auprc": round(binary_auprc(y, s), 4),
            "mcc": round(mcc(y, s >= info["threshold"]), 4),
            "called_disordered": int((s >= info["threshold"]).sum()),
            "timing": timings,
        }
    return result, per_chain


def paired_bootstrap(
    labels: list[np.ndarray],
    a: list[np.ndarray],
    b: list[np.ndarray],
    thresholds: tuple[float, float],
    resamples: int,
) -> dict[str, Any]:
    """AUROC and MCC (each tool at its own threshold) of ``b`` minus ``a`` over the set's chains, and the
    2.5-97.5 percentile interval over ``resamples`` resamples of whole chains with replacement (seeded):
    residues of one chain are not independent, and a small set's figures rest on a few chains."""
    rng = np.random.default_rng(0)

    def diff(idx: np.ndarray) -> tuple[float, float]:
        y = np.concatenate([labels[i] for i in idx])
        sa = np.concatenate([a[i] for i in idx])
        sb = np.concatenate([b[i] for i in idx])
        return (
            binary_auroc(y, sb) - binary_auroc(y, sa),
            mcc(y, sb >= thresholds[1]) - mcc(y, sa >= thresholds[0]),
        )

    whole = diff(np.arange(len(labels)))
    boots = np.asarray([diff(rng.integers(0, len(labels), len(labels))) for _ in range(resamples)])
    lo, hi = np.nanpercentile(boots, [2.5, 97.5], axis=0)
    return {
        "auroc": {"difference": round(whole[0], 4), "ci95": [round(lo[0], 4), round(hi[0], 4)]},
        "mcc": {"difference": round(whole[1], 4), "ci95": [round(lo[1], 4), round(hi[1], 4)]},
        "resamples": resamples,
    }


def main() -> None:
    """Score the tools asked for on the three sets; print a markdown table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/protein_ss/netsurfp2"))
    parser.add_argument("--model", help="a seqrnn bundle (path or built-in name) with a disorder head")
    parser.add_argument("--no-metapredict", action="store_true", help="score --model alone")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts to time")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per set and thread count")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="seqrnn model only")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="with --model and metapredict: N chain resamples for the AUROC and MCC differences",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads[0])
    sets = {name: read_set(args.data / filename) for name, filename in SETS.items()}
    tools = [] if args.no_metapredict else [metapredict_tool()]
    if args.model:
        tools.append(seqrnn_tool(args.model, args.precision))
    if not tools:
        raise SystemExit("nothing to score: give --model or drop --no-metapredict")
    results = {
        "label": "disordered = NetSurfP-2.0 disorder column 0.0 (unresolved residue); all residues",
        "torch": torch.__version__,
        "cpu_cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],  # other jobs slow the timings
        "tools": [],
    }
    scores = []
    for info, predict in tools:
        result, per_chain = score_tool(info, predict, sets, args.threads, args.rounds)
        results["tools"].append(result)
        scores.append(per_chain)
    if args.bootstrap and len(tools) == 2:  # metapredict, then the seqrnn model
        thresholds = (tools[0][0]["threshold"], tools[1][0]["threshold"])
        results["seqrnn_minus_metapredict"] = {
            name: paired_bootstrap(labels, scores[0][name], scores[1][name], thresholds, args.bootstrap)
            for name, (_chains, labels) in sets.items()
        }
    print("| tool | set | residues | disordered | AUROC | AUPRC | MCC @ thr | residues/s (threads) |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in results["tools"]:
        label = tool["tool"] if tool["tool"] == "metapredict" else f"seqrnn {tool['model']}"
        for name, r in tool["sets"].items():
            speed = ", ".join(f"{t['residues_per_s']:,} ({n})" for n, t in r["timing"].items())
            print(
                f"| {label} | {name} | {r['residues']:,} | {100 * r['disordered'] / r['residues']:.1f}% | "
                f"{r['auroc']:.3f} | {r['auprc']:.3f} | {r['mcc']:.3f} @ {tool['threshold']:.3g} | {speed} |"
            )
    for name, r in results.get("seqrnn_minus_metapredict", {}).items():
        print(
            f"{name}: seqrnn - metapredict AUROC {r['auroc']['difference']:+.3f} "
            f"(95% CI {r['auroc']['ci95'][0]:+.3f} to {r['auroc']['ci95'][1]:+.3f}), MCC "
            f"{r['mcc']['difference']:+.3f} (95% CI {r['mcc']['ci95'][0]:+.3f} to {r['mcc']['ci95'][1]:+.3f})"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
