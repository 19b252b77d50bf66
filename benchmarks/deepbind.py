"""DeepBind ChIP-seq benchmark: per TF, a JASPAR PWM scan, a plain BiLSTM and a DanQ-style hybrid.

For each of the 12 ENCODE experiments in ``DATA/dna/deepbind_chipseq`` this trains both model configs on
the ``*_AC`` positives (+ seeded dinucleotide-shuffled negatives, 10% held out for validation), scores
the ``*_B`` test file (500 peaks + 500 shuffles) with AUROC/AUPRC, scans the same file with the TF's
JASPAR 2024 PWM (when JASPAR CORE has one), and extracts the hybrid's motifs from the test peaks and
matches them against JASPAR. Runs are kept in ``--runs`` and resumed or reused when the script is rerun.

    python benchmarks/deepbind.py --data "$SEQRNN_DATA" --runs runs/deepbind --threads 1

``--data`` defaults to ``$SEQRNN_DATA`` (else ``../shared/data`` beside the repository); ``--runs`` to
``$SEQRNN_RUNS/deepbind`` (else ``runs/deepbind`` in the repository).

Writes ``docs/results/deepbind.json`` and prints the markdown table used in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seqrnn.encoding.examples import encode_record
from seqrnn.errors import InputError
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.interpret import extract_motifs, resolve_target, select_examples
from seqrnn.interpret.motifs import best_matches, evaluate_pwm, find_motif, load_jaspar, to_pfm
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SEQRNN_DATA") or ROOT.parent / "shared" / "data")
RUNS = Path(os.environ.get("SEQRNN_RUNS") or ROOT / "runs") / "deepbind"
TFS = ["SERBP1", "SRF", "SUZ12", "TAF1", "TAF7", "TBP", "TCF12", "TEAD4", "USF1", "USF2", "YY1", "ZNF143"]
MODELS = {"bilstm": "configs/dna/deepbind_bilstm.yaml", "hybrid": "configs/dna/deepbind_hybrid.yaml"}
JASPAR = "dna/jaspar/JASPAR2024_CORE_vertebrates_nonredundant.jaspar"


def files(data: Path, tf: str) -> tuple[Path, Path]:
    found = {}
    for fold in ("AC", "B"):
        hits = glob.glob(str(data / "dna/deepbind_chipseq" / f"{tf}_*_{fold}.seq.gz"))
        if len(hits) != 1:
            raise SystemExit(f"expected one {tf} {fold} file, found {hits}")
        found[fold] = Path(hits[0])
    return found["AC"], found["B"]


def train_tf(config_path: str, train_file: Path, out: Path, threads: int, overrides: list[str]) -> dict:
    """Train (or resume, or reuse a finished run) and return the wall time of its epochs."""
    sets = [f"data.train={train_file}", f"output_dir={out}", f"train.threads={threads}", *overrides]
    config = load_config(ROOT / config_path, sets)
    metrics = out / "metrics.jsonl"
    done = out / "DONE"
    if not done.exists():
        resume = (out / "checkpoints" / "last.pt").exists()
        train(config, resume=resume, log=lambda m: print(f"    {m}", file=sys.stderr), progress=False)
        done.write_text("finished\n")
    epochs = [json.loads(line) for line in metrics.read_text().splitlines()]
    return {"epochs": len(epochs), "train_seconds": round(sum(e["seconds"] for e in epochs), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA), help="the datasets folder (default: $SEQRNN_DATA)")
    ap.add_argument(
        "--runs", default=str(RUNS), help="where model runs are kept (default: $SEQRNN_RUNS/deepbind)"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tfs", nargs="*", default=TFS)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--set", action="append", default=[], help="config override for every run")
    ap.add_argument("--motif-sequences", type=int, default=500)
    ap.add_argument("--out", default=str(ROOT / "docs/results/deepbind.json"))
    ap.add_argument(
        "--merge",
        nargs="*",
        default=[],
        help="result files of runs made in parallel: merge and print the table",
    )
    args = ap.parse_args()
    if args.merge:
        results = json.loads(Path(args.out).read_text())
        jaspar = load_jaspar(Path(args.data) / JASPAR)
        for tf, row in results.items():  # the PWM scan takes a second: always from the current code
            _pwm_row(row, jaspar, tf, list(read_records(files(Path(args.data), tf)[1])))
        for other in args.merge:
            for tf, row in json.loads(Path(other).read_text()).items():
                results.setdefault(tf, {}).update({k: v for k, v in row.items() if k in MODELS})
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        print(table(results))
        return
    torch.set_num_threads(args.threads)
    data, runs = Path(args.data), Path(args.runs)
    jaspar = load_jaspar(data / JASPAR)
    database = [to_pfm(m) for m in jaspar]  # converted once, not per motif
    results = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    device = torch.device("cpu")
    for tf in args.tfs:
        train_file, test_file = files(data, tf)
        test = list(read_records(test_file))
        row = results.setdefault(tf, {})
        row["n_train_positives"] = sum(1 for _ in read_records(train_file))
        row["n_test"] = len(test)
        _pwm_row(row, jaspar, tf, test)
        for name in args.models:
            print(f"{tf} {name}", file=sys.stderr)
            t0 = time.perf_counter()
            timing = train_tf(MODELS[name], train_file, runs / f"{tf}_{name}", args.threads, args.set)
            bundle = load_bundle(runs / f"{tf}_{name}" / "model.pt")
            ev = evaluate_records(bundle, iter(test), PredictOptions(), device).metrics["bound"]
            row[name] = {"auroc": ev["auroc"], "auprc": ev["auprc"], **timing}
            print(f"  {name}: AUROC {ev['auroc']:.4f} ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
            if name == "hybrid":
                target = resolve_target(bundle)
                peaks = [encode_record(r, bundle.encoder) for r in test if r.fields["Bound"] == "1"]
                chosen, _ = select_examples(bundle, peaks, target, max_sequences=args.motif_sequences)
                # A model that calls (almost) no peak bound still gets its motifs read from all peaks.
                chosen = chosen if len(chosen) >= 50 else peaks[: args.motif_sequences]
                reports = extract_motifs(
                    bundle, chosen, target, runs / f"{tf}_{name}" / "motifs", jaspar=data / JASPAR, top=10
                )
                row["motifs"] = [
                    {
                        "motif": r.pfm.name,
                        "consensus": r.pfm.trimmed().consensus(),
                        "influence": r.influence,
                        "best": [(m.matrix_id, m.name, round(m.score, 3)) for m in r.matches[:3]],
                        "own_rank": _own_rank(r.pfm, tf, database),
                    }
                    for r in reports[:3] + reports[-1:]
                ]
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


def _pwm_row(row: dict, jaspar: list, tf: str, test: list) -> None:
    try:
        motif = find_motif(jaspar, tf)
    except InputError:
        return
    m = evaluate_pwm(motif, [r.text for r in test], [r.fields["Bound"] for r in test])
    row["pwm"] = {"motif": f"{motif.matrix_id} {motif.name}", "auroc": m["auroc"], "auprc": m["auprc"]}


def _own_rank(pfm, tf: str, database: list) -> int | None:
    """Rank of the TF's own JASPAR motif among all matches of ``pfm`` (1 = best), None if it has none."""
    ranked = best_matches(pfm, database, len(database))
    names = [m.name.upper() for m in ranked]
    return names.index(tf) + 1 if tf in names else None


def table(results: dict) -> str:
    lines = [
        "| TF | train peaks | PWM (JASPAR) AUROC | BiLSTM AUROC / AUPRC | hybrid AUROC / AUPRC | hybrid train time | top motif -> best JASPAR match (own motif rank) |",
        "|---|---|---|---|---|---|---|",
    ]
    aurocs: dict[str, list[float]] = {"pwm": [], "bilstm": [], "hybrid": []}
    for tf, row in results.items():
        cells = [tf, str(row.get("n_train_positives", ""))]
        pwm = row.get("pwm")
        cells.append(f"{pwm['auroc']:.3f} ({pwm['motif']})" if pwm else "no CORE motif")
        for name in ("bilstm", "hybrid"):
            r = row.get(name)
            cells.append(f"{r['auroc']:.3f} / {r['auprc']:.3f}" if r else "")
            if r:
                aurocs[name].append(r["auroc"])
        if pwm:
            aurocs["pwm"].append(pwm["auroc"])
        hybrid = row.get("hybrid")
        cells.append(f"{hybrid['train_seconds'] / 60:.1f} min ({hybrid['epochs']} ep)" if hybrid else "")
        motifs = row.get("motifs") or []
        if motifs:
            m = motifs[0]
            cells.append(
                f"{m['consensus']} -> {m['best'][0][1]} ({m['best'][0][2]:.2f}); {tf} rank {m['own_rank']}"
            )
        else:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    means = " / ".join(f"{k} {np.mean(v):.3f} (n={len(v)})" for k, v in aurocs.items() if v)
    return "\n".join(lines) + f"\n\nMean AUROC: {means}"


if __name__ == "__main__":
    main()
