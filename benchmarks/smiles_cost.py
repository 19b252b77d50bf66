"""Accuracy against cost of the built-in SMILES models: test views V and ensemble members k, chosen
on validation by a stated rule, and the speed of seqrnn and chemprop v2 measured in one run.

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/smiles_cost.py accuracy
    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/smiles_cost.py speed --chemprop /tmp/cpvenv/bin/chemprop \\
        --chemprop-models /tmp/cpwork/esol_train

Everything runs on one thread (``torch.set_num_threads(1)``, ``OMP_NUM_THREADS=1``, pinned to one core
by ``taskset``); speed is molecules per CPU-second of the process (``time.process_time`` in-process,
``getrusage(RUSAGE_CHILDREN)`` user + system for whole child processes), not wall time, because the
machine is shared.

Accuracy (``accuracy``): each model's own validation and test rows (``smiles_standardize.split_rows``:
MoleculeNet convention, split seed 0), scored with ``evaluate_records`` (``on_invalid="skip"``,
precision ``auto``, i.e. bf16 on a CPU with AMX/AVX512-BF16) for V in {1, 2, 4, 8} views and the first
k in {1, 3, 5} members (k up to the ensemble's size; k = 1 is the first member alone). Cost: CPU-seconds
per 1,000 molecules of the validation ``evaluate_records`` call (enumerating the views included).

RULE (stated before looking at the numbers): among all (V, k), choose the cheapest by V*k whose
validation metric is not significantly worse than the shipped setting's: the paired bootstrap
(molecules resampled with replacement, 1,000 resamples, seed 0, the same resample for both settings) 95%
percentile interval of (candidate - shipped) must reach 0 or beyond in the candidate's favour (RMSE:
lower bound <= 0; AUROC: upper bound >= 0). The shipped setting itself always qualifies. For comparison
the fallback rule is also applied: cheapest setting within 1% of the shipped validation metric (RMSE
at most 1% higher; AUROC at most 0.005 lower). The "fast setting" is V=1, k=1 for every model.

Speed (``speed``): the first 5,000 rows of MoleculeNet's HIV.csv whose SMILES RDKit parses and every
built-in SMILES model encodes. chemprop v2 ``chemprop predict`` with one model and with a 5-model
ensemble (checkpoints of a 2-epoch ESOL training, default architecture: speed does not depend on
training), each twice; ``seqrnn predict`` (whole process, ``--threads 1``) as shipped, at the chosen V
with all members, and at V=1; and in-process ``predict_to_h5`` (model loaded and warmed up outside
the timing) as shipped, at the chosen (V, k), and at V=1, k=1. Nothing is subtracted from
whole-process figures; start-up (a one-molecule input) is measured apart and reported beside them.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from build_models import SMILES  # noqa: E402
from smiles_standardize import records_of, split_rows  # noqa: E402

import seqrnn.inference.evaluate as evaluate_module  # noqa: E402
from seqrnn.encoding.examples import prepare_example  # noqa: E402
from seqrnn.errors import InputError  # noqa: E402
from seqrnn.inference.engine import PredictOptions  # noqa: E402
from seqrnn.inference.evaluate import evaluate_records  # noqa: E402
from seqrnn.inference.pipeline import predict_to_h5  # noqa: E402
from seqrnn.io.formats import ReadOptions  # noqa: E402
from seqrnn.io.records import Record  # noqa: E402
from seqrnn.models.bundle import ModelBundle, load_bundle  # noqa: E402
from seqrnn.models.ensemble import Ensemble  # noqa: E402
from seqrnn.models.metrics_base import binary_auroc, mean_defined  # noqa: E402

VIEWS = (1, 2, 4, 8)
MEMBERS = (1, 3, 5)
RESAMPLES = 1000
CPU = torch.device("cpu")
RULE = (
    "Cheapest setting by V*k (views x members) whose validation metric is not significantly worse than "
    "the shipped setting's: paired bootstrap over validation molecules (1,000 resamples, seed 0) of "
    "candidate - shipped; RMSE: 2.5th percentile <= 0, AUROC: 97.5th percentile >= 0. Fallback rule "
    "reported beside it: cheapest setting with RMSE at most 1% higher / AUROC at most 0.005 lower on "
    "validation than shipped."
)


def shipped_setting(name: str, bundle: ModelBundle) -> tuple[int, int]:
    views = int((bundle.metadata.get("augment") or {}).get("test_views", 1))
    return views, n_members(bundle)


def n_members(bundle: ModelBundle) -> int:
    return len(bundle.model.members) if isinstance(bundle.model, Ensemble) else 1


def subset(bundle: ModelBundle, k: int) -> ModelBundle:
    """``bundle`` with only its first ``k`` members (one member: that model alone)."""
    if k == n_members(bundle):
        return bundle
    members = list(bundle.model.members[:k])
    model = members[0] if k == 1 else Ensemble(members)
    return dataclasses.replace(bundle, model=model)


class Capture:
    """Wraps ``seqrnn.inference.evaluate.score_head`` to keep the targets and outputs it scores."""

    def __init__(self) -> None:
        self.original = evaluate_module.score_head
        self.seen: dict[str, tuple] = {}

    def __enter__(self) -> Capture:
        def wrapped(head, targets, outputs):  # type: ignore[no-untyped-def]
            self.seen[head.name] = (head, list(targets), list(outputs))
            return self.original(head, targets, outputs)

        evaluate_module.score_head = wrapped
        return self

    def __exit__(self, *exc: object) -> None:
        evaluate_module.score_head = self.original


def metric_arrays(head, targets: list, outputs: list) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """(y, p) per molecule, in a form :func:`resampled_metric` reads."""
    if head.kind == "sequence_classification":
        y, p = head.labelled(targets, outputs)
        return np.asarray(y), np.asarray(p)
    return np.stack(targets).astype(np.float64), np.stack(outputs).astype(np.float64)


def resampled_metric(kind: str, metric: str, y: np.ndarray, p: np.ndarray, idx: np.ndarray) -> float:
    """The card's main metric of molecules ``idx`` (with repeats): as seqrnn's metrics compute it."""
    y, p = y[idx], p[idx]
    if kind == "sequence_classification":  # auroc of class 1
        return binary_auroc(y == 1, p[:, 1])
    if metric == "mean_rmse":
        values = []
        for j in range(y.shape[1]):
            m = ~np.isnan(y[:, j])
            values.append(float(np.sqrt(np.mean((p[m, j] - y[m, j]) ** 2))) if m.any() else float("nan"))
        return mean_defined(values)
    if metric == "mean_auroc":
        values = []
        for j in range(y.shape[1]):
            m = ~np.isnan(y[:, j])
            values.append(binary_auroc(y[m, j] == 1, p[m, j]))
        return mean_defined(values)
    raise ValueError(f"no bootstrap for {kind} {metric}")


def accuracy(args: argparse.Namespace) -> dict:
    data, runs = args.data, args.runs
    results: dict = {}
    warm = records_of("esol", data, split_rows("esol", data, runs)["valid"])[:20]
    evaluate_records(load_bundle("esol"), warm, PredictOptions(on_invalid="skip", test_views=8), CPU)
    for name in args.models:
        head_name, metric = SMILES[name][1], SMILES[name][2]
        lower_better = "rmse" in metric
        bundle = load_bundle(name)
        ship_v, ship_k = shipped_setting(name, bundle)
        parts = split_rows(name, data, runs)
        recs = {part: records_of(name, data, parts[part]) for part in ("valid", "test")}
        grid: list[dict] = []
        arrays: dict[tuple[int, int], tuple] = {}
        kind = ""
        for k in [m for m in MEMBERS if m <= n_members(bundle)]:
            sub = subset(bundle, k)
            for v in VIEWS:
                row: dict = {"views": v, "members": k, "passes": v * k}
                for part in ("valid", "test"):
                    options = PredictOptions(on_invalid="skip", test_views=v)
                    with Capture() as cap:
                        start = time.process_time()
                        ev = evaluate_records(sub, recs[part], options, CPU)
                        spent = time.process_time() - start
                    row[part] = float(ev.metrics[head_name][metric])
                    row[f"n_{part}"] = ev.n_sequences
                    if part == "valid":
                        row["cpu_s_per_1000_valid"] = 1000 * spent / ev.n_sequences
                        head, targets, outputs = cap.seen[head_name]
                        kind = head.kind
                        arrays[(v, k)] = metric_arrays(head, targets, outputs)
                        y, p = arrays[(v, k)]
                        check = resampled_metric(kind, metric, y, p, np.arange(len(y)))
                        if abs(check - row["valid"]) > 1e-9:
                            raise SystemExit(f"{name}: bootstrap metric {check} != evaluate's {row['valid']}")
                grid.append(row)
                print(name, json.dumps(row), flush=True)
        # Paired bootstrap of every setting against the shipped one, on the same resamples.
        y0, p0 = arrays[(ship_v, ship_k)]
        n = len(y0)
        picks = np.random.default_rng(0).integers(0, n, size=(RESAMPLES, n))
        ship_boot = np.array([resampled_metric(kind, metric, y0, p0, idx) for idx in picks])
        ship_row = next(r for r in grid if (r["views"], r["members"]) == (ship_v, ship_k))
        for row in grid:
            y, p = arrays[(row["views"], row["members"])]
            if not np.array_equal(np.nan_to_num(y, nan=-7), np.nan_to_num(y0, nan=-7)):
                raise SystemExit(f"{name}: settings scored different molecules")
            boot = np.array([resampled_metric(kind, metric, y, p, idx) for idx in picks]) - ship_boot
            lo, hi = np.nanpercentile(boot, [2.5, 97.5])
            row["valid_diff_vs_shipped"] = row["valid"] - ship_row["valid"]
            row["valid_diff_ci95"] = [float(lo), float(hi)]
            row["not_significantly_worse"] = bool(lo <= 0) if lower_better else bool(hi >= 0)
            if lower_better:
                row["within_1pct"] = row["valid"] <= ship_row["valid"] * 1.01
            else:
                row["within_1pct"] = row["valid"] >= ship_row["valid"] - 0.005
        by_cost = sorted(grid, key=lambda r: r["passes"])
        chosen = next(r for r in by_cost if r["not_significantly_worse"])
        chosen_1pct = next(r for r in by_cost if r["within_1pct"])
        fast = next(r for r in grid if (r["views"], r["members"]) == (1, 1))
        results[name] = {
            "metric": f"{head_name} {metric}",
            "lower_is_better": lower_better,
            "shipped": {"views": ship_v, "members": ship_k},
            "chosen": {"views": chosen["views"], "members": chosen["members"]},
            "chosen_1pct_rule": {"views": chosen_1pct["views"], "members": chosen_1pct["members"]},
            "fast": {"views": 1, "members": 1},
            "summary": {
                label: {
                    k: r[k]
                    for k in (
                        "views",
                        "members",
                        "valid",
                        "test",
                        "cpu_s_per_1000_valid",
                        "valid_diff_ci95",
                        "not_significantly_worse",
                    )
                }
                for label, r in (
                    ("shipped", ship_row),
                    ("chosen", chosen),
                    ("chosen_1pct_rule", chosen_1pct),
                    ("fast", fast),
                )
            },
            "grid": grid,
            "n_valid": ship_row["n_valid"],
            "n_test": ship_row["n_test"],
        }
        print(name, json.dumps(results[name]["summary"]), flush=True)
    return results


# ---------------------------------------------------------------- speed


def child_cpu(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    """CPU seconds (user + system) of ``cmd`` run to completion, and its combined output's tail."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return spent, (done.stdout + done.stderr)[-300:]


def hiv_molecules(data: Path, out: Path, n: int, models: list[str]) -> dict:
    """The first ``n`` HIV.csv SMILES that RDKit parses and every model encodes, written to ``out``."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    encoders = [load_bundle(m).encoder for m in models]
    kept, seen, failed_rdkit, failed_encoder = [], 0, 0, 0
    with open(data / "HIV.csv", newline="") as fh:
        for row in csv.DictReader(line for line in fh if line.strip()):
            smiles = row["smiles"].strip()
            seen += 1
            if Chem.MolFromSmiles(smiles) is None:
                failed_rdkit += 1
                continue
            try:
                for enc in encoders:
                    prepare_example(Record(f"hiv{seen}", smiles, seen - 1, "HIV.csv"), enc)
            except InputError:
                failed_encoder += 1
                continue
            kept.append((f"hiv{seen}", smiles))
            if len(kept) == n:
                break
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "smiles"])
        w.writerows(kept)
    return {"rows_read": seen, "rdkit_invalid": failed_rdkit, "seqrnn_rejected": failed_encoder,
            "molecules": len(kept), "file": str(out)}  # fmt: skip


def in_process(bundle: ModelBundle, file: Path, views: int, out: Path) -> dict:
    options = PredictOptions(test_views=views, on_invalid="skip")
    read = ReadOptions(sequence_column="smiles", id_column="id")
    start = time.process_time()
    summary = predict_to_h5(bundle, [file], out, options, CPU, read=read)
    spent = time.process_time() - start
    n = int(getattr(summary, "n_sequences", 0) or 0)
    return {"cpu_s": spent, "molecules": n, "molecules_per_cpu_s": n / spent if n else None}


def speed(args: argparse.Namespace) -> dict:
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    chosen = json.loads(args.json.read_text())["accuracy"] if args.json.is_file() else {}
    hiv = work / "hiv5000.csv"
    info = hiv_molecules(args.data, hiv, args.molecules, list(SMILES))
    one = work / "one.csv"
    one.write_text("id,smiles\nm1,CCO\n")
    print("molecules", json.dumps(info), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pin = ["taskset", "-c", str(args.core)]
    result: dict = {"input": info, "chemprop": {}, "seqrnn_cli": {}, "seqrnn_in_process": {}}
    n = info["molecules"]

    if args.chemprop:
        models = sorted(str(p) for p in Path(args.chemprop_models).glob("model_*/best.pt"))
        cp_version = subprocess.run(
            [str(Path(args.chemprop).parent / "python"), "-c", "import chemprop; print(chemprop.__version__)"],
            capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        result["chemprop"]["version"] = cp_version
        for label, paths in (("1_model", models[:1]), ("5_models", models[:5])):
            runs = []
            for file, tag in ((one, "startup"), (hiv, "run1"), (hiv, "run2")):
                cmd = [*pin, args.chemprop, "predict", "-i", str(file), "-s", "smiles", "--model-paths", *paths,
                             "-o", str(work / f"cp_{label}_{tag}.csv"), "--accelerator", "cpu", "--devices", "1",
                             "-n", "0"]  # fmt: skip
                spent, _ = child_cpu(cmd, env)
                runs.append({"run": tag, "cpu_s": spent})
                print("chemprop", label, tag, round(spent, 2), flush=True)
            timed = [r["cpu_s"] for r in runs[1:]]
            result["chemprop"][label] = {
                "models": len(paths),
                "runs": runs,
                "molecules_per_cpu_s": [n / t for t in timed],
                "molecules_per_cpu_s_excluding_startup": [n / (t - runs[0]["cpu_s"]) for t in timed],
            }

    seqrnn_bin = str(Path(sys.executable).parent / "seqrnn")
    torch.set_num_threads(1)
    for name in args.models:
        bundle = load_bundle(name)
        ship_v, ship_k = shipped_setting(name, bundle)
        ch = chosen.get(name, {}).get("chosen", {"views": ship_v, "members": ship_k})
        cli_views = {
            "shipped": ship_v,
            f"chosen_views_all_members(V={ch['views']})": ch["views"],
            "views_1": 1,
        }
        entry: dict = {}
        startup, _ = child_cpu([*pin, seqrnn_bin, "predict", "-m", name, str(one), "-o", str(work / "one.h5"),
                                      "--threads", "1", "--device", "cpu", "--on-invalid", "skip",
                                      "--sequence-column", "smiles", "--id-column", "id", "-q"], env)  # fmt: skip
        entry["startup_one_molecule_cpu_s"] = startup
        done: dict[int, dict] = {}
        for label, v in cli_views.items():
            if v in done:
                entry[label] = {**done[v], "same_as_views": v}
                continue
            repeats = 2 if (name == "esol" and label == "shipped") else 1
            rates = []
            for _ in range(repeats):
                cmd = [*pin, seqrnn_bin, "predict", "-m", name, str(hiv), "-o", str(work / f"{name}.h5"),
                             "--threads", "1", "--device", "cpu", "--on-invalid", "skip", "--test-views", str(v),
                             "--sequence-column", "smiles", "--id-column", "id", "-q"]  # fmt: skip
                spent, _ = child_cpu(cmd, env)
                rates.append({"cpu_s": spent, "molecules_per_cpu_s": n / spent})
                print("seqrnn cli", name, label, round(spent, 2), round(n / spent, 1), flush=True)
            done[v] = {"views": v, "members": ship_k, "runs": rates}
            entry[label] = done[v]
        result["seqrnn_cli"][name] = entry
        # In process: model loaded, warmed up on the one-molecule file outside the timing.
        proc: dict = {}
        settings = {"shipped": (ship_v, ship_k), "chosen": (ch["views"], ch["members"]), "fast": (1, 1)}
        measured: dict[tuple[int, int], dict] = {}
        for label, (v, k) in settings.items():
            if (v, k) not in measured:
                sub = subset(bundle, k)
                in_process(sub, one, v, work / "warm.h5")
                measured[(v, k)] = {
                    "views": v,
                    "members": k,
                    **in_process(sub, hiv, v, work / f"{name}_ip.h5"),
                }
                print("seqrnn in-process", name, label, json.dumps(measured[(v, k)]), flush=True)
            proc[label] = measured[(v, k)]
        result["seqrnn_in_process"][name] = proc
    return result


def table(report: dict) -> str:
    acc, spd = report.get("accuracy", {}), report.get("speed", {})
    cp = spd.get("chemprop", {})

    def rate(x: dict | None) -> str:
        return f"{x['molecules_per_cpu_s']:.0f}" if x and x.get("molecules_per_cpu_s") else "-"

    def cprate(label: str) -> str:
        r = cp.get(label, {}).get("molecules_per_cpu_s")
        return "/".join(f"{x:.0f}" for x in r) if r else "-"

    lines = [
        "| model | metric | shipped V×k | valid / test | chosen V×k | valid / test | 1%-rule V×k | valid / test "
        "| fast 1×1 valid / test "
        "| mol/CPU-s in-process shipped / chosen / fast | CLI whole-process shipped / V=1 "
        "| chemprop 1 model | chemprop 5 models |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in acc.items():
        s = a["summary"]
        ip = spd.get("seqrnn_in_process", {}).get(name, {})
        cli = spd.get("seqrnn_cli", {}).get(name, {})
        cli_ship = cli.get("shipped", {}).get("runs", [{}])[0] if cli else {}
        cli_v1 = cli.get("views_1", {}).get("runs", [{}])[0] if cli else {}
        lines.append(
            f"| {name} | {a['metric'].split()[1]} | {s['shipped']['views']}×{s['shipped']['members']} "
            f"| {s['shipped']['valid']:.3f} / {s['shipped']['test']:.3f} "
            f"| {s['chosen']['views']}×{s['chosen']['members']} | {s['chosen']['valid']:.3f} / {s['chosen']['test']:.3f} "
            f"| {s['chosen_1pct_rule']['views']}×{s['chosen_1pct_rule']['members']} "
            f"| {s['chosen_1pct_rule']['valid']:.3f} / {s['chosen_1pct_rule']['test']:.3f} "
            f"| {s['fast']['valid']:.3f} / {s['fast']['test']:.3f} "
            f"| {rate(ip.get('shipped'))} / {rate(ip.get('chosen'))} / {rate(ip.get('fast'))} "
            f"| {rate(cli_ship)} / {rate(cli_v1)} | {cprate('1_model')} | {cprate('5_models')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("part", choices=("accuracy", "speed", "table"))
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/smiles/moleculenet")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs/standardize_splits")
    ap.add_argument("--models", nargs="+", default=list(SMILES))
    ap.add_argument("--json", type=Path, default=ROOT / "docs/results/smiles_cost.json")
    ap.add_argument("--work", type=Path, default=Path("/tmp/smiles_cost"))
    ap.add_argument("--molecules", type=int, default=5000)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--chemprop", help="chemprop executable (its own venv); omitted: no chemprop timing")
    ap.add_argument("--chemprop-models", default="/tmp/cpwork/esol_train")
    args = ap.parse_args()
    torch.set_num_threads(1)
    report = json.loads(args.json.read_text()) if args.json.is_file() else {}
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = next(
        (ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("Model name")), ""
    )
    report["machine"] = {
        "cpu": model_name,
        "flags_bf16": sorted(
            {f for f in Path("/proc/cpuinfo").read_text().split() if "bf16" in f or "amx" in f}
        ),
        "threads": 1,
        "pinned_core": args.core,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "precision": "auto (bf16 autocast here)",
        "timing": "CPU seconds of the process (process_time in-process; getrusage children for subprocesses)",
    }
    report["rule"] = RULE
    if args.part == "accuracy":
        report["accuracy"] = accuracy(args)
    elif args.part == "speed":
        report["speed"] = speed(args)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
