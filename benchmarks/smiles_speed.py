"""The built-in SMILES models as shipped and in their fast setting beside chemprop v2, one run.

    python benchmarks/smiles_speed.py --chemprop /tmp/cpvenv/bin/chemprop \
        --chemprop-models /tmp/cpwork/esol_train --json docs/results/smiles_speed.json

Input: the 5,000 HIV molecules ``benchmarks/smiles_cost.py`` writes (``--molecules``, id and smiles
columns). Every command is a whole process pinned to one core (``taskset``), ``OMP_NUM_THREADS=1``,
seqrnn with ``--threads 1``; the figure is molecules per CPU-second (user + system of the child), so
start-up is included for every tool (seqrnn about 1.3 CPU-s, chemprop about 4.5). ``--rounds``
interleaved rounds, each running every command once; the table gives medians. chemprop: ``chemprop
predict`` with one model and with a 5-model ensemble (default architecture; speed does not depend on
training). seqrnn: ``seqrnn predict -m NAME`` as shipped (the model's own views and members) and with
``--test-views 1 --members 1`` (the fast setting).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("esol", "lipophilicity", "bbbp", "tox21", "clintox", "sider")


def cpu_seconds(cmd: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one child process; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--molecules", type=Path, default=Path("/tmp/smiles_cost/hiv5000.csv"))
    ap.add_argument("--chemprop", required=True, help="the chemprop executable (its own venv)")
    ap.add_argument("--chemprop-models", type=Path, required=True, help="folder with model_*/best.pt")
    ap.add_argument("--work", type=Path, default=Path("/tmp/smiles_speed"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    n = sum(1 for _ in args.molecules.open()) - 1
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pin = ["taskset", "-c", str(args.core)]
    seqrnn = str(Path(sys.executable).parent / "seqrnn")
    checkpoints = sorted(str(p) for p in args.chemprop_models.glob("model_*/best.pt"))
    commands: dict[str, list[str]] = {}
    for label, paths in (("chemprop, 1 model", checkpoints[:1]), ("chemprop, 5 models", checkpoints[:5])):
        out = args.work / f"{label.split()[-2]}.csv"
        commands[label] = [*pin, args.chemprop, "predict", "-i", str(args.molecules), "-s", "smiles",
                           "--model-paths", *paths, "-o", str(out), "--accelerator", "cpu", "--devices", "1",
                           "-n", "0"]  # fmt: skip
    for name in MODELS:
        for setting, extra in (("as shipped", []), ("fast", ["--test-views", "1", "--members", "1"])):
            out = args.work / f"{name}_{setting.split()[-1]}.h5"
            commands[f"{name}, {setting}"] = [*pin, seqrnn, "predict", "-m", name, str(args.molecules), "-o",
                                              str(out), "--threads", "1", "--on-invalid", "skip", "-q", *extra]  # fmt: skip
    runs: dict[str, list[float]] = {label: [] for label in commands}
    for r in range(args.rounds):
        order = list(commands) if r % 2 == 0 else list(reversed(commands))  # interleaved, alternating
        for label in order:
            for stale in args.work.glob("*.h5"):
                stale.unlink()
            runs[label].append(cpu_seconds(commands[label], env))
            print(f"round {r + 1} {label}: {n / runs[label][-1]:,.0f} molecules/CPU-s", flush=True)
    rates = {label: [n / s for s in spent] for label, spent in runs.items()}
    report = {
        "machine": platform.processor() or platform.machine(),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            "",
        ),
        "molecules": n,
        "rounds": args.rounds,
        "cpu_seconds": runs,
        "molecules_per_cpu_s_median": {label: statistics.median(r) for label, r in rates.items()},
    }
    print("| command | molecules per CPU-second (median) | rounds |\n|---|---|---|")
    for label, r in rates.items():
        print(f"| {label} | {statistics.median(r):,.0f} | {', '.join(f'{x:,.0f}' for x in r)} |")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
