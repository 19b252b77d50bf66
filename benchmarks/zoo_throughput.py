"""Throughput of the built-in model groups through the CLI: all 12 TF models at once on 100,000 ChIP-seq
peaks, one TF model on the same peaks (the ratio shows what sharing one read/encode pass saves), and a
SMILES ensemble: ``tox21`` (3 members) on 100,000 molecules with one view, and as shipped (4 views) on
10,000; ``esol`` as shipped (5 members x 8 views: 40 model passes per molecule) on 5,000.

    python benchmarks/zoo_throughput.py --data ../shared/data --n 100000 --threads 2
    python benchmarks/zoo_throughput.py --only dna --threads 1 &  python benchmarks/zoo_throughput.py --only smiles --threads 1

Inputs are real: the peaks of the 12 DeepBind ``_AC`` training folds in file order (101 bp), and the
SMILES of MoleculeNet HIV, Lipophilicity, Tox21, BBBP and ESOL (repeated in order up to ``--n``). Each
command is timed as a whole process (``seqrnn predict ... -o OUT.h5``), so reading, encoding, the
models and writing the HDF5 file are all included; peak memory is the child's max RSS.
Writes ``docs/results/zoo_throughput.json``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEQRNN = str(Path(sys.executable).with_name("seqrnn"))


def peaks(data: Path, n: int, out: Path) -> Path:
    written = 0
    with out.open("w") as dst:
        for path in sorted((data / "dna/deepbind_chipseq").glob("*_AC.seq.gz")):
            with gzip.open(path, "rt") as fh:
                for row in csv.DictReader(fh, delimiter="\t"):
                    dst.write(f">{path.name.split('_')[0]}:{row['EventID']}\n{row['seq']}\n")
                    written += 1
                    if written == n:
                        return out
    raise SystemExit(f"only {written} peaks in the shared data")


def molecules(data: Path, n: int, out: Path) -> Path:
    smiles = []
    for name, column in (("HIV.csv", "smiles"), ("Lipophilicity.csv", "smiles"), ("tox21.csv", "smiles"),
                         ("BBBP.csv", "smiles"), ("delaney-processed.csv", "smiles")):  # fmt: skip
        with (data / "smiles/moleculenet" / name).open(newline="") as fh:
            smiles += [row[column].strip() for row in csv.DictReader(fh)]
    with out.open("w") as dst:
        dst.write("id,smiles\n")
        dst.writelines(f"m{i},{smiles[i % len(smiles)]}\n" for i in range(n))
    return out


# Runs one command in a fresh Python process that reports its own child's peak RSS (KiB), so each
# figure is that command's alone (RUSAGE_CHILDREN here would be the maximum over all earlier runs).
WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_utime + u.ru_stime, u.ru_maxrss)"
)


def timed(args: list[str]) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, SEQRNN, *args], check=True, capture_output=True, text=True
    )
    seconds = time.perf_counter() - t0
    cpu, rss = done.stdout.split()[-2:]
    return {"command": "seqrnn " + " ".join(args), "seconds": round(seconds, 1),
            "cpu_seconds": round(float(cpu), 1), "peak_rss_mb": round(int(rss) / 1024)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "zoo_throughput")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--only", choices=["dna", "smiles"], help="run one half (e.g. both halves at once, 1 thread each)"
    )
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "zoo_throughput.json")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    common = ["--threads", str(args.threads), "-q"]
    plan: list[tuple[str, list[str], int]] = []
    if args.only in (None, "dna"):
        fasta = str(peaks(args.data, args.n, args.work / "peaks.fa"))
        plan += [
            ("tf group (12 models, 2 strands each)", ["-m", "tf", fasta], args.n),
            ("tf-USF1 alone", ["-m", "tf-USF1", fasta], args.n),
        ]
    if args.only in (None, "smiles"):
        mols = str(molecules(args.data, args.n, args.work / "molecules.csv"))
        small = str(molecules(args.data, args.n // 10, args.work / "molecules_small.csv"))
        tiny = str(molecules(args.data, args.n // 20, args.work / "molecules_tiny.csv"))
        skip = ["--on-invalid", "skip"]
        plan += [
            ("tox21 (3 members) --test-views 1", ["-m", "tox21", mols, *skip, "--test-views", "1"], args.n),
            ("tox21 (3 members x 4 views, as shipped), n/10", ["-m", "tox21", small, *skip], args.n // 10),
            ("esol (5 members x 8 views, as shipped), n/20", ["-m", "esol", tiny, *skip], args.n // 20),
        ]
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    for k, (name, command, n) in enumerate(plan):
        run = timed(["predict", *command, "-o", str(args.work / f"{args.only or 'all'}{k}.h5"), *common])
        run.update(
            n=n,
            threads=args.threads,
            sequences_per_second=round(n / run["seconds"], 1),
            sequences_per_cpu_second=round(n / run["cpu_seconds"], 1),
        )
        results[name] = run
        print(
            f"{name}: {n} in {run['seconds']} s = {run['sequences_per_second']}/s"
            f" ({run['sequences_per_cpu_second']} per CPU-s), peak {run['peak_rss_mb']} MB"
        )
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
