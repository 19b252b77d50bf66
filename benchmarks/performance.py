"""Prediction and training speed of the built-in protein model against a naive reference, one run.

    python benchmarks/performance.py                       # the table in docs/performance.md
    python benchmarks/performance.py --memory 10000 1000000  # + peak memory of predict by input size
    python benchmarks/performance.py --compare protein-ss-v1 protein-ss --out docs/results/protein_ss_speed.json

Every measurement runs in a fresh worker process (so its peak resident memory is its own) on the same
generated proteome-like FASTA: lengths log-normal with median ~350 (sigma 0.8), a tail cut at 35,000
and one 35,000-residue titin-sized chain; residues drawn from UniProt's amino-acid frequencies; seeded.

* ``naive``: ``naive_reference.naive_predict`` (input-order batches of 32, padded, fp32, no_grad).
* ``seqrnn fp32`` / ``seqrnn bf16``: ``seqrnn.inference.pipeline.predict_to_h5``, the path ``seqrnn predict`` runs
  (length-bucketed token-budget batches, ``inference_mode``, streaming windows, HDF5 written).
* training: residues/s of optimiser steps over the same sequences (cropped to 1,000 as the shipped
  config does), naive input-order batches of 16 vs seqrnn's token-budget buckets, fp32 and bf16.
* efficiency: model FLOPs per residue (counted from the weights: 2 x multiply-adds of every conv, RNN
  gate and linear layer) x residues/s / the machine's dense matmul FLOP/s, measured in the same run
  (square ``torch.mm`` at the same thread count and precision).
* ``--repeats R``: the matmul peaks and the two seqrnn rows are measured R times in interleaved rounds
  (peaks, fp32, bf16; then again), because this kind of VM's speed moves from minute to minute. Every
  round is kept in the JSON; the table gives the medians (efficiency: the median of each round's rate
  over that round's peak). The naive reference runs once.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

# UniProtKB/Swiss-Prot amino-acid composition (release statistics), in percent.
AA_FREQ = {
    "A": 8.25, "R": 5.53, "N": 4.06, "D": 5.45, "C": 1.37, "Q": 3.93, "E": 6.75, "G": 7.07, "H": 2.27,
    "I": 5.96, "L": 9.66, "K": 5.84, "M": 2.42, "F": 3.86, "P": 4.70, "S": 6.56, "T": 5.34, "W": 1.08,
    "Y": 2.92, "V": 6.87,
}  # fmt: skip


def proteome_lengths(n: int, seed: int = 0, titin: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lengths = np.clip(np.round(rng.lognormal(np.log(350), 0.8, size=n)), 30, 35000).astype(int)
    if titin and n:
        lengths[int(rng.integers(n))] = 35000
    return lengths


def write_fasta(path: Path, lengths: np.ndarray, seed: int = 0) -> int:
    rng = np.random.default_rng(seed + 1)
    letters = np.array(list(AA_FREQ))
    p = np.array(list(AA_FREQ.values()))
    p = p / p.sum()
    with open(path, "w") as fh:
        for i, n in enumerate(lengths):
            fh.write(f">seq{i}\n{''.join(rng.choice(letters, size=int(n), p=p))}\n")
    return int(lengths.sum())


def flops_per_residue(model: torch.nn.Module) -> float:
    """2 x multiply-adds per residue of every conv, RNN and linear layer (embeddings are lookups)."""
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Conv1d):
            total += 2 * module.in_channels * module.out_channels * module.kernel_size[0] // module.groups
        elif isinstance(module, torch.nn.RNNBase):
            gates = {"LSTM": 4, "GRU": 3}.get(module.mode, 1)
            dirs = 2 if module.bidirectional else 1
            for layer in range(module.num_layers):
                n_in = module.input_size if layer == 0 else module.hidden_size * dirs
                total += dirs * gates * 2 * (n_in + module.hidden_size) * module.hidden_size
        elif isinstance(module, torch.nn.Linear):
            total += 2 * module.in_features * module.out_features
    return float(total)


def matmul_peak(precision: str, seconds: float = 3.0, n: int = 2048) -> float:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    for _ in range(3):
        torch.mm(a, b)
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.mm(a, b)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------------------
# workers (each in its own process)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, fasta: str, threads: int, extra: dict) -> dict:
    torch.set_num_threads(threads)
    from seqrnn.io.formats import read_records
    from seqrnn.models.bundle import load_bundle

    if kind.startswith("matmul"):
        return {"flops": matmul_peak(kind.split("_")[1])}
    bundle = load_bundle(extra.get("model", "protein-ss"))
    if kind == "naive" or kind.startswith("train"):  # seqrnn streams the file itself
        texts = [r.text for r in read_records(fasta)]
        residues = sum(len(t) for t in texts)
    if kind == "naive":
        from naive_reference import naive_predict

        t0, c0 = time.perf_counter(), time.process_time()
        out = naive_predict(bundle, texts)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        np.save(extra["save"], np.concatenate(out["ss3"])) if extra.get("save") else None
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "residues": residues,
            "sequences": len(texts),
            "peak_rss_mb": _peak_rss_mb(),
        }
    if kind.startswith("seqrnn"):
        from seqrnn.inference.engine import PredictOptions
        from seqrnn.inference.pipeline import predict_to_h5

        options = PredictOptions(precision=kind.split("_")[1])
        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            summary = predict_to_h5(bundle, [fasta], Path(tmp) / "out.h5", options, torch.device("cpu"))
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            if extra.get("save"):
                import h5py

                with h5py.File(Path(tmp) / "out.h5") as f:
                    np.save(extra["save"], f["residue/ss3/probs"][:])
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "residues": summary.n_residues,
            "sequences": summary.n_sequences,
            "peak_rss_mb": _peak_rss_mb(),
        }
    if kind.startswith("train"):
        return _train_worker(kind, bundle, texts)
    raise ValueError(kind)


def _train_worker(kind: str, bundle, texts: list[str]) -> dict:
    from naive_reference import naive_train_steps

    from seqrnn.encoding.examples import BF16_ROWS, collate, token_budget_batches

    crop = 1000
    encoded = [bundle.encoder.encode(t[:crop])[0] for t in texts]
    model = bundle.model.float()
    for p in model.parameters():
        p.requires_grad_(True)
    model.embed.weight.requires_grad_(True)
    heads = model.residue_heads
    residues = sum(e.size for e in encoded)
    if kind == "train_naive":
        batches = []
        for start in range(0, len(encoded), 16):
            chunk = encoded[start : start + 16]
            lengths = torch.tensor([c.size for c in chunk])
            tokens = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.int64)
            for i, c in enumerate(chunk):
                tokens[i, : c.size] = torch.from_numpy(c)
            batches.append((tokens, lengths))
        t0 = time.perf_counter()
        naive_train_steps(model, batches, heads)
        return {"seconds": time.perf_counter() - t0, "residues": residues, "sequences": len(encoded)}
    # seqrnn's training inner loop: token-budget length buckets (trainer default budget), optional bf16.
    from seqrnn.encoding.examples import Example

    precision = kind.split("_")[1]
    lengths = np.array([e.size for e in encoded])
    rng = np.random.default_rng(0)
    generator = np.random.default_rng(1)
    examples = [
        Example(
            i,
            str(i),
            e,
            {h: generator.integers(0, 8 if h == "ss8" else 3, e.size).astype(np.int64) for h in heads},
        )
        for i, e in enumerate(encoded)
    ]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model.train()
    head_modules = [model.heads[h] for h in heads]
    t0 = time.perf_counter()
    rows = BF16_ROWS if precision == "bf16" else {}  # as the trainer does
    for idx in token_budget_batches(lengths, 16000, 64, rng, **rows):
        batch = collate([examples[i] for i in idx], head_modules)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(batch.tokens, batch.lengths)
        loss = sum(h.loss(logits[h.name], batch.targets[h.name]) for h in head_modules)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    return {"seconds": time.perf_counter() - t0, "residues": residues, "sequences": len(encoded)}


def run_worker(kind: str, fasta: Path, threads: int, **extra: object) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--fasta", str(fasta), "--threads", str(threads)]
    cmd += ["--extra", json.dumps(extra)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker {kind} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {kind}: {json.dumps(result)}", file=sys.stderr)
    return result


# ------------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=1000, help="proteins in the generated FASTA")
    ap.add_argument("--train-sequences", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds of peaks and seqrnn rows")
    ap.add_argument("--memory", type=int, nargs="*", default=[], help="also: predict peak RSS at these sizes")
    ap.add_argument("--only-memory", action="store_true", help="skip the throughput measurements")
    ap.add_argument(
        "--compare",
        nargs="+",
        metavar="MODEL",
        help="only: prediction speed of these models (names or files), fp32 and bf16, interleaved rounds",
    )
    ap.add_argument("--out", default=str(ROOT / "docs/results/performance.json"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--fasta", help=argparse.SUPPRESS)
    ap.add_argument("--extra", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.fasta, args.threads, json.loads(args.extra))))
        return

    from seqrnn.models.bundle import load_bundle

    results: dict = {
        "machine": {
            "cpu": _cpu_name(),
            "threads": args.threads,
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
    }
    if args.compare:
        results["compare"] = compare(args.compare, args.sequences, args.threads, args.repeats)
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        print(compare_table(results))
        return
    bundle = load_bundle("protein-ss")
    results["flops_per_residue"] = flops_per_residue(bundle.model)
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "proteome.fa"
        residues = write_fasta(fasta, proteome_lengths(args.sequences))
        results["input"] = {"sequences": args.sequences, "residues": residues}
        print(f"proteome-like FASTA: {args.sequences} sequences, {residues} residues", file=sys.stderr)
        if not args.only_memory:
            naive = run_worker("naive", fasta, args.threads, save=str(Path(tmp) / "naive.npy"))
            rounds: list[dict] = []
            for _ in range(max(1, args.repeats)):
                peaks = {p: run_worker(f"matmul_{p}", fasta, args.threads)["flops"] for p in ("fp32", "bf16")}
                row: dict = {"matmul_flops": peaks}
                for kind in ("seqrnn_fp32", "seqrnn_bf16"):
                    r = run_worker(kind, fasta, args.threads, save=str(Path(tmp) / f"{kind}.npy"))
                    precision = kind.split("_")[1]
                    r["efficiency"] = (
                        results["flops_per_residue"] * r["residues"] / r["seconds"] / peaks[precision]
                    )
                    row[kind] = r
                rounds.append(row)
            results["rounds"] = rounds
            results["matmul_flops"] = {
                p: float(np.median([r["matmul_flops"][p] for r in rounds])) for p in ("fp32", "bf16")
            }
            pred = {"naive": naive}
            naive["efficiency"] = (
                results["flops_per_residue"]
                * naive["residues"]
                / naive["seconds"]
                / results["matmul_flops"]["fp32"]
            )
            for kind in ("seqrnn_fp32", "seqrnn_bf16"):
                runs = [r[kind] for r in rounds]
                median = runs[int(np.argsort([r["seconds"] for r in runs])[len(runs) // 2])]
                pred[kind] = {**median, "efficiency": float(np.median([r["efficiency"] for r in runs]))}
            for r in pred.values():
                r["residues_per_s"] = r["residues"] / r["seconds"]
                r["sequences_per_s"] = r["sequences"] / r["seconds"]
            reference = np.load(Path(tmp) / "naive.npy")
            for kind in ("seqrnn_fp32", "seqrnn_bf16"):
                got = np.load(Path(tmp) / f"{kind}.npy")
                pred[kind]["speedup_vs_naive"] = (
                    pred[kind]["residues_per_s"] / pred["naive"]["residues_per_s"]
                )
                pred[kind]["max_abs_diff_vs_naive"] = float(np.abs(got - reference).max())
                pred[kind]["ss3_agreement_vs_naive"] = float((got.argmax(1) == reference.argmax(1)).mean())
            results["predict"] = pred

            train_fasta = Path(tmp) / "train.fa"
            write_fasta(train_fasta, proteome_lengths(args.train_sequences, seed=1, titin=False), seed=1)
            training = {}
            for kind in ("train_naive", "train_fp32", "train_bf16"):
                r = run_worker(kind, train_fasta, args.threads)
                r["residues_per_s"] = r["residues"] / r["seconds"]
                training[kind] = r
            for kind in ("train_fp32", "train_bf16"):
                training[kind]["speedup_vs_naive"] = (
                    training[kind]["residues_per_s"] / training["train_naive"]["residues_per_s"]
                )
            results["train"] = training

        memory = {}
        for n in args.memory:
            mem_fasta = Path(tmp) / f"mem{n}.fa"
            rng = np.random.default_rng(2)
            write_fasta(mem_fasta, rng.integers(20, 41, size=n), seed=2)
            r = run_worker("seqrnn_bf16", mem_fasta, args.threads)
            memory[str(n)] = r
            mem_fasta.unlink()
        if memory:
            results["memory"] = memory
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))


def compare(models: list[str], sequences: int, threads: int, repeats: int) -> dict:
    """Residues/s of ``seqrnn predict``'s path for each model and precision on one generated proteome.

    Rounds interleave the models (round 1: A fp32, B fp32, A bf16, B bf16; round 2 in the reverse model
    order: B fp32, A fp32, ...) so that a VM slowing down for a minute, or a cost of running first,
    hits every model alike. Reported: the medians, each model's ratio of medians to the first model,
    and its paired ratios (round by round, to the first model's run of the same round). bf16 is
    measured only where this CPU runs bf16 RNN kernels.
    """
    from seqrnn.core.runtime import cpu_bf16_rnn_works

    precisions = ["fp32", "bf16"] if cpu_bf16_rnn_works() else ["fp32"]
    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "proteome.fa"
        residues = write_fasta(fasta, proteome_lengths(sequences))
        runs: dict[str, dict[str, list[float]]] = {m: {p: [] for p in precisions} for m in models}
        cpu_runs: dict[str, dict[str, list[float]]] = {m: {p: [] for p in precisions} for m in models}
        for i in range(max(1, repeats)):
            for p in precisions:
                for m in models if i % 2 == 0 else models[::-1]:
                    r = run_worker(f"seqrnn_{p}", fasta, threads, model=m)
                    runs[m][p].append(r["residues"] / r["seconds"])
                    cpu_runs[m][p].append(r["residues"] / r["cpu_seconds"])
    medians = {m: {p: float(np.median(v)) for p, v in runs[m].items()} for m in models}
    return {
        "input": {"sequences": sequences, "residues": residues},
        "rounds": runs,
        "residues_per_s": medians,
        # Residues per CPU-second (all threads' CPU time): honest on a shared machine.
        "residues_per_cpu_s": {m: {p: float(np.median(v)) for p, v in cpu_runs[m].items()} for m in models},
        "ratio_to_first": {m: {p: medians[m][p] / medians[models[0]][p] for p in precisions} for m in models},
        "paired_ratios": {
            m: {p: [a / b for a, b in zip(runs[m][p], runs[models[0]][p], strict=True)] for p in precisions}
            for m in models
        },
    }


def compare_table(r: dict) -> str:
    c = r["compare"]
    lines = [
        f"Machine: {r['machine']['cpu']}, {r['machine']['threads']} threads, torch {r['machine']['torch']}. "
        f"Input: {c['input']['sequences']} proteins, {c['input']['residues']:,} residues; "
        f"medians of {len(next(iter(next(iter(c['rounds'].values())).values())))} interleaved rounds.",
        "",
        "| model | precision | residues/s | per CPU-s | x first model | paired ratios: median (min-max) "
        "| rounds (residues/s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m, per in c["residues_per_s"].items():
        for p, v in per.items():
            rounds = ", ".join(f"{x:,.0f}" for x in c["rounds"][m][p])
            paired = c.get("paired_ratios", {}).get(m, {}).get(p)
            spread = f"{np.median(paired):.3f} ({min(paired):.3f}-{max(paired):.3f})" if paired else ""
            cpu = c.get("residues_per_cpu_s", {}).get(m, {}).get(p)
            per_cpu = f"{cpu:,.0f}" if cpu else ""
            ratio = c["ratio_to_first"][m][p]
            lines.append(f"| {m} | {p} | {v:,.0f} | {per_cpu} | {ratio:.3f} | {spread} | {rounds} |")
    return "\n".join(lines)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def table(r: dict) -> str:
    if "predict" not in r:
        r = {**r, "predict": {}, "train": {}}
    lines = [
        f"Machine: {r['machine']['cpu']}, {r['machine']['threads']} threads, torch {r['machine']['torch']}. "
        f"Input: {r['input']['sequences']} proteins, {r['input']['residues']:,} residues. "
        f"Model FLOPs/residue: {r['flops_per_residue'] / 1e6:.2f} M."
        + (
            f" Matmul peak: fp32 {r['matmul_flops']['fp32'] / 1e9:.0f} GFLOP/s, "
            f"bf16 {r['matmul_flops']['bf16'] / 1e9:.0f} GFLOP/s"
            + (f" (medians of {len(r['rounds'])} rounds)." if "rounds" in r else ".")
            if "matmul_flops" in r
            else ""
        ),
        "",
        "| prediction | residues/s | sequences/s | peak RSS | x naive | efficiency vs matmul peak | max abs diff vs naive |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, v in r["predict"].items():
        lines.append(
            f"| {kind} | {v['residues_per_s']:,.0f} | {v['sequences_per_s']:.1f} | {v['peak_rss_mb']:,.0f} MB | "
            f"{v.get('speedup_vs_naive', 1.0):.2f} | {v['efficiency']:.0%} | {v.get('max_abs_diff_vs_naive', 0):.2g} |"
        )
    for i, rd in enumerate(r.get("rounds", []), 1):
        lines.append(
            f"round {i}: peak fp32 {rd['matmul_flops']['fp32'] / 1e9:.0f} / bf16 {rd['matmul_flops']['bf16'] / 1e9:.0f}"
            " GFLOP/s; "
            + "; ".join(
                f"{k} {rd[k]['residues'] / rd[k]['seconds']:,.0f} res/s ({rd[k]['efficiency']:.0%})"
                for k in ("seqrnn_fp32", "seqrnn_bf16")
            )
        )
    lines += ["", "| training | residues/s | x naive |", "|---|---|---|"]
    for kind, v in r["train"].items():
        lines.append(f"| {kind} | {v['residues_per_s']:,.0f} | {v.get('speedup_vs_naive', 1.0):.2f} |")
    if "memory" in r:
        lines += ["", "| predict input (bf16) | residues | peak RSS | seconds |", "|---|---|---|---|"]
        for n, v in r["memory"].items():
            lines.append(
                f"| {int(n):,} sequences | {v['residues']:,} | {v['peak_rss_mb']:,.0f} MB | {v['seconds']:.0f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
