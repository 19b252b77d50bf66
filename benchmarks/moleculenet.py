"""Train the MoleculeNet configs over several seeds, score each best model on its test split, and print a
markdown table (mean ± std over seeds) next to the published figures.

    python benchmarks/moleculenet.py --seeds 0 1 2 --threads 1 \
        --data ../shared/data/smiles/moleculenet --json docs/results/moleculenet.json

Each run is ``seqrnn train configs/moleculenet/<set>.yaml --set seed=S --set output_dir=<runs>/<set>_sS``;
a run directory that already holds ``test_metrics.json`` is reused, so an interrupted benchmark
continues where it stopped. Model choices were made on the validation splits; the test splits are
scored once per run, by the trainer, with the best-validation model.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import ReadOptions, chain_inputs
from seqrnn.models.bundle import load_models
from seqrnn.training import train
from seqrnn.training.config import load_config

# dataset -> (config, file, metric key in test_metrics.json, label, higher is better, chemprop, MoleculeNet best)
SETS = {
    "esol": ("esol.yaml", "delaney-processed.csv", ("logS", "mean_rmse"), "RMSE", False, 0.555, 0.58),
    "lipophilicity": (
        "lipophilicity.yaml",
        "Lipophilicity.csv",
        ("logD", "mean_rmse"),
        "RMSE",
        False,
        0.555,
        0.655,
    ),
    "bbbp": ("bbbp.yaml", "BBBP.csv", ("p_np", "auroc"), "AUROC", True, 0.737, 0.729),
    "tox21": ("tox21.yaml", "tox21.csv", ("tox", "mean_auroc"), "mean AUROC", True, 0.851, 0.829),
    "clintox": (
        "clintox.yaml",
        "clintox.csv.gz",
        ("clintox", "mean_auroc"),
        "mean AUROC",
        True,
        0.864,
        0.832,
    ),
    "sider": ("sider.yaml", "sider.csv.gz", ("side_effects", "mean_auroc"), "mean AUROC", True, 0.676, 0.648),
}
TARGETS = {"esol": 0.65, "lipophilicity": 0.75, "bbbp": 0.70, "tox21": 0.80, "clintox": 0.832, "sider": 0.648}


def member_dir(args: argparse.Namespace, name: str, seed: int, member: int) -> Path:
    return args.runs / (f"{name}_s{seed}" if member == 0 else f"{name}_s{seed}_m{member}")


def run_one(name: str, seed: int, args: argparse.Namespace, member: int = 0) -> dict:
    """Train (or reuse) one model on split ``seed``; member m > 0 differs only in its init seed."""
    config_file, data_file, (head, metric), *_ = SETS[name]
    out = member_dir(args, name, seed, member)
    done = out / "test_metrics.json"
    seconds = None
    if not done.is_file():
        overrides = [
            f"seed={seed + 1000 * member}",
            f"data.split_seed={seed}",
            f"output_dir={out}",
            f"data.train={args.data / data_file}",
            f"train.threads={args.threads}",
            *args.set,
        ]
        config = load_config(args.configs / config_file, overrides)
        t0 = time.perf_counter()
        train(
            config, log=lambda m: print(f"[{name} s{seed}] {m}", file=sys.stderr, flush=True), progress=False
        )
        seconds = round(time.perf_counter() - t0, 1)
    test = json.loads(done.read_text())
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    best = [e for e in epochs if e["best"]][-1]
    return {
        "seed": seed,
        "member": member,
        "run": str(out),
        "test": test["metrics"][head][metric],
        "valid": best["value"],
        "best_epoch": best["epoch"],
        "epochs": len(epochs),
        "train_seconds": seconds if seconds is not None else round(sum(e["seconds"] for e in epochs), 1),
        "split": test["split"],
        "test_metrics": test["metrics"][head],
    }


def score_ensemble(name: str, seed: int, args: argparse.Namespace) -> dict:
    """The test metric of the members of split ``seed`` predicting together (mean of their outputs), on
    the test records listed in a member's ``split.tsv``; scored like the trainer scores one model."""
    _, data_file, (head, metric), *_ = SETS[name]
    runs = [member_dir(args, name, seed, m) for m in range(args.members)]
    listed = [r / "split.tsv" for r in runs if (r / "split.tsv").is_file()]
    if not listed:
        raise SystemExit(f"{name} split {seed}: no member has split.tsv (trained before it existed)")
    with listed[0].open(newline="") as fh:
        rows = {int(r["row"]) - 1 for r in csv.DictReader(fh, delimiter="\t") if r["part"] == "test"}
    config = load_config(runs[0] / "config.yaml")
    read = ReadOptions(
        fmt=config.data.format, sequence_column=config.data.sequence_column, id_column=config.data.id_column
    )
    options = PredictOptions(precision="fp32")
    records = [r for r in chain_inputs([args.data / data_file], read) if r.index in rows]
    device = torch.device("cpu")
    single = evaluate_records(load_models([runs[0] / "model.pt"]), records, options, device)
    recorded = json.loads((runs[0] / "test_metrics.json").read_text())["metrics"][head][metric]
    # The re-read test set must be the trainer's: member 0 alone reproduces its recorded test score.
    if abs(single.metrics[head][metric] - recorded) > 1e-6:
        raise SystemExit(
            f"{name} split {seed}: test records differ from the trainer's ({recorded} vs "
            f"{single.metrics[head][metric]})"
        )
    together = evaluate_records(load_models([r / "model.pt" for r in runs]), records, options, device)
    return {"seed": seed, "members": len(runs), "test": together.metrics[head][metric], "n": len(records)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/smiles/moleculenet"))
    parser.add_argument("--configs", type=Path, default=Path("configs/moleculenet"))
    parser.add_argument("--runs", type=Path, default=Path("runs/moleculenet"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--members", type=int, default=1, help="models per split (init seeds) to ensemble")
    parser.add_argument("--set", action="append", default=[], help="extra config override for every run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict = {"threads": args.threads, "seeds": args.seeds, "sets": {}}
    # Seed-major order: every data set has a first seed before any has a third.
    for seed in args.seeds:
        for name in args.sets:
            entry = results["sets"].setdefault(name, {"runs": []})
            entry["runs"].append(run_one(name, seed, args))
            for member in range(1, args.members):
                run_one(name, seed, args, member)
            if args.members > 1:
                entry.setdefault("ensemble", []).append(score_ensemble(name, seed, args))
            summarise(results)
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(results, indent=1))
    print(table(results))


def summarise(results: dict) -> None:
    for name, entry in results["sets"].items():
        values = [r["test"] for r in entry["runs"] if r["test"] is not None]  # None: undefined (one class)
        entry["mean"] = statistics.fmean(values) if values else float("nan")
        entry["std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        entry["metric"] = SETS[name][3]
        entry["chemprop"], entry["moleculenet_best"] = SETS[name][5], SETS[name][6]
        entry["target"] = TARGETS[name]
        if entry.get("ensemble"):
            scores = [e["test"] for e in entry["ensemble"]]
            entry["ensemble_mean"] = statistics.fmean(scores)
            entry["ensemble_std"] = statistics.stdev(scores) if len(scores) > 1 else 0.0
        higher = SETS[name][4]
        met = lambda v, t=TARGETS[name], h=higher: bool(v >= t if h else v <= t)  # noqa: E731
        entry["target_met"] = met(entry["mean"])
        if "ensemble_mean" in entry:
            entry["ensemble_target_met"] = met(entry["ensemble_mean"])


def table(results: dict) -> str:
    lines = [
        "| data set | split | metric | seqrnn, one model (mean ± std, n splits) | ensemble | target "
        "| chemprop D-MPNN | MoleculeNet best |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, e in results["sets"].items():
        split = e["runs"][0]["split"]["method"]
        ens = "–"
        if "ensemble_mean" in e:
            k = e["ensemble"][0]["members"]
            ens = f"{e['ensemble_mean']:.3f} ± {e['ensemble_std']:.3f} ({k} members)"
        met = e.get("ensemble_target_met", e["target_met"])
        lines.append(
            f"| {name} | {split} | {e['metric']} | {e['mean']:.3f} ± {e['std']:.3f} (n={len(e['runs'])}) | "
            f"{ens} | {'>=' if SETS[name][4] else '<='} {e['target']} {'(met)' if met else '(not met)'} | "
            f"{e['chemprop']} | {e['moleculenet_best']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
