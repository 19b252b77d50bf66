"""CNNProm promoter benchmark: promoter vs non-promoter per organism with the DanQ-style hybrid.

Each task pairs a promoter FASTA with a non-promoter FASTA from ``DATA/dna/cnnprom`` (Umarov & Solovyev
2017). Records are pooled, shuffled with a fixed seed and split 80/10/10 into train / validation / test
(CNNProm reports cross-validated figures; ours are one held-out test split). The labelled TSVs are
written to ``--runs``, the model is trained from ``configs/dna/promoter.yaml``, and the test split is
scored with ``seqrnn.inference.evaluate``: accuracy, MCC, sensitivity (promoter recall) and specificity
(non-promoter recall).

    python benchmarks/promoters.py --data "$SEQRNN_DATA" --runs runs/promoters --threads 1

``--data`` defaults to ``$SEQRNN_DATA`` (else ``../shared/data`` beside the repository); ``--runs`` to
``$SEQRNN_RUNS/promoters`` (else ``runs/promoters`` in the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from Bio.SeqIO.FastaIO import SimpleFastaParser

from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SEQRNN_DATA") or ROOT.parent / "shared" / "data")
RUNS = Path(os.environ.get("SEQRNN_RUNS") or ROOT / "runs") / "promoters"
TASKS = {
    "E. coli": ("Ecoli_prom.fa", "Ecoli_non_prom.fa"),
    "B. subtilis": ("Bacillus_prom.fa", "Bacillus_non_prom.fa"),
    "Arabidopsis TATA": ("Arabidopsis_tata.fa", "Arabidopsis_non_prom.fa"),
    "Arabidopsis non-TATA": ("Arabidopsis_non_tata.fa", "Arabidopsis_non_prom_big.fa"),
    "Mouse TATA": ("Mouse_tata_dbtss.fa", "Mouse_nonprom.fa"),
    # The built-in promoter-arabidopsis model: TATA and non-TATA promoters together (files joined by +).
    "Arabidopsis": ("Arabidopsis_tata.fa+Arabidopsis_non_tata.fa", "Arabidopsis_non_prom_big.fa"),
}
# CNNProm's published sensitivity / specificity where the shared data README quotes them.
PUBLISHED = {"E. coli": (0.90, 0.96), "Arabidopsis non-TATA": (0.94, 0.94)}


def write_split(data: Path, task: str, out: Path, seed: int = 0) -> tuple[Path, Path]:
    rows = []
    for label, names in zip(("1", "0"), TASKS[task], strict=True):
        for name in names.split("+"):
            with open(data / "dna/cnnprom" / name) as fh:
                for title, seq in SimpleFastaParser(fh):
                    rows.append((f"{name.split('.')[0]}:{title.split()[0]}", seq.upper(), label))
    order = np.random.default_rng(seed).permutation(len(rows))
    n_test = len(rows) // 10
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "train.tsv", out / "test.tsv"
    for path, part in zip(paths, (order[n_test:], order[:n_test]), strict=True):
        with open(path, "w") as fh:
            fh.write("id\tseq\tlabel\n")
            fh.writelines(f"{rows[i][0]}\t{rows[i][1]}\t{rows[i][2]}\n" for i in part)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA), help="the datasets folder (default: $SEQRNN_DATA)")
    ap.add_argument(
        "--runs", default=str(RUNS), help="where model runs are kept (default: $SEQRNN_RUNS/promoters)"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tasks", nargs="*", default=list(TASKS))
    ap.add_argument("--out", default=str(ROOT / "docs/results/promoters.json"))
    ap.add_argument("--set", action="append", default=[], help="config override for every run")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    for task in args.tasks:
        run = Path(args.runs) / task.replace(" ", "_").replace(".", "")
        train_file, test_file = write_split(Path(args.data), task, run / "data")
        if not (run / "model" / "DONE").exists():
            sets = [
                f"data.train={train_file}",
                f"output_dir={run / 'model'}",
                f"train.threads={args.threads}",
                *args.set,
            ]
            config = load_config(ROOT / "configs/dna/promoter.yaml", sets)
            resume = (run / "model" / "checkpoints" / "last.pt").exists()
            train(config, resume=resume, log=lambda m: print(f"  {m}", file=sys.stderr), progress=False)
            (run / "model" / "DONE").write_text("finished\n")
        bundle = load_bundle(run / "model" / "model.pt")
        m = evaluate_records(bundle, read_records(test_file), PredictOptions(), torch.device("cpu")).metrics
        m = m["promoter"]
        epochs = [json.loads(x) for x in (run / "model" / "metrics.jsonl").read_text().splitlines()]
        results[task] = {
            "n_test": m["n"],
            "accuracy": m["accuracy"],
            "mcc": m["mcc"],
            "sensitivity": m["per_class"]["1"]["recall"],
            "specificity": m["per_class"]["0"]["recall"],
            "auroc": m["auroc"],
            "threshold": m.get("threshold", 0.5),
            "train_seconds": round(sum(e["seconds"] for e in epochs), 1),
            "published_sn_sp": PUBLISHED.get(task),
        }
        print(f"{task}: {results[task]}", file=sys.stderr)
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print("| task | test n | accuracy | MCC | Sn | Sp | AUROC | CNNProm Sn / Sp |")
    print("|---|---|---|---|---|---|---|---|")
    for task, r in results.items():
        pub = r["published_sn_sp"]
        print(
            f"| {task} | {r['n_test']} | {r['accuracy']:.3f} | {r['mcc']:.3f} | {r['sensitivity']:.3f} | "
            f"{r['specificity']:.3f} | {r['auroc']:.3f} | {f'{pub[0]:.2f} / {pub[1]:.2f}' if pub else 'see paper'} |"
        )


if __name__ == "__main__":
    main()
