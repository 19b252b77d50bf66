"""Throughput and peak memory of ``seqrnn variants``: variants/s for 1 and 12 models, peak RSS by size.

    python benchmarks/variants.py                                   # 2,000 SNVs, quick check
    python benchmarks/variants.py --sizes 100000 1000000 --json runs/bench/variants.json

A random genome (``--contigs`` contigs of ``--contig-length`` bases, seeded) and N random SNVs (sorted,
REF from the genome, ALT one of the 3 other bases) are generated once per size into a temporary
directory; each measurement runs ``seqrnn variants`` as a child process on ``--threads`` threads
(default 1), inside a small wrapper process that reports that child's own peak resident memory. Models: ``--model`` (default: the
built-in ``tf-USF1`` when shipped, else ``runs/zoo/deepbind/USF1_hybrid/model.pt``); the 12-model row
gives that model 12 times unless ``--models12`` names 12 models (the same model 12 times costs what 12
different models of its size cost: each is run on its own). Times include start-up (loading torch and
the models) and writing the HDF5 file; ``variants/s`` divides by the whole wall time, ``per CPU-s`` by the child's user + system time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RUN_MODEL = ROOT / "runs" / "zoo" / "deepbind" / "USF1_hybrid" / "model.pt"


def default_model() -> str:
    from seqrnn.models.bundle import builtin_index

    return "tf-USF1" if "tf-USF1" in builtin_index() else str(RUN_MODEL)


def write_genome(directory: Path, contigs: int, length: int, seed: int = 0) -> tuple[Path, list[str]]:
    """A random genome FASTA (``contigs`` x ``length`` bases) and its sequences."""
    rng = np.random.default_rng(seed)
    genome = directory / "genome.fa"
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    seqs = []
    with open(genome, "w") as fh:
        for c in range(contigs):
            seq = letters[rng.integers(0, 4, length)].tobytes().decode()
            seqs.append(seq)
            fh.write(f">chr{c + 1}\n")
            fh.writelines(seq[i : i + 80] + "\n" for i in range(0, length, 80))
    return genome, seqs


def write_vcf(directory: Path, n: int, seqs: list[str], seed: int = 1) -> Path:
    """A VCF of ``n`` random SNVs on the genome ``seqs`` (sorted, REF matching)."""
    rng = np.random.default_rng(seed)
    contigs, length = len(seqs), len(seqs[0])
    vcf = directory / f"snvs_{n}.vcf"
    which = np.sort(rng.integers(0, contigs, n))
    with open(vcf, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n")
        fh.writelines(f"##contig=<ID=chr{c + 1},length={length}>\n" for c in range(contigs))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for c in range(contigs):
            positions = np.sort(rng.integers(1, length + 1, int((which == c).sum())))
            shifts = rng.integers(1, 4, positions.size)
            for pos, shift in zip(positions, shifts, strict=True):
                ref = seqs[c][pos - 1]
                alt = "ACGT"[("ACGT".index(ref) + shift) % 4]
                fh.write(f"chr{c + 1}\t{pos}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    return vcf


# One child per run that reports its own child's peak RSS (KiB): each figure is that run's alone.
WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_utime + u.ru_stime, u.ru_maxrss)"
)


def run_variants(vcf: Path, genome: Path, models: list[str], out: Path, threads: int) -> dict[str, float]:
    """One ``seqrnn variants`` child process: wall seconds, its CPU seconds (user + system: on a shared
    machine the honest measure) and its peak RSS (MiB)."""
    cmd = [sys.executable, "-m", "seqrnn", "variants", str(vcf), "--genome", str(genome), "-o", str(out)]
    cmd += [a for m in models for a in ("-m", m)] + ["--threads", str(threads), "-q"]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    cpu, rss = done.stdout.split()[-2:]
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(float(cpu), 2),
        "peak_rss_mib": round(int(rss) / 1024, 1),
    }


def rates(n: int, r: dict[str, float]) -> dict[str, float]:
    """Variants per wall second and per CPU second."""
    return {
        "variants_per_s": round(n / r["seconds"], 1),
        "variants_per_cpu_s": round(n / r["cpu_seconds"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000], help="numbers of SNVs (1 model)")
    parser.add_argument(
        "--n12", type=int, default=None, help="SNVs for the 12-model row (default: smallest size)"
    )
    parser.add_argument("--model", default=None)
    parser.add_argument("--models12", nargs=12, default=None, help="12 models for the 12-model row")
    parser.add_argument("--contigs", type=int, default=4)
    parser.add_argument("--contig-length", type=int, default=2_000_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or default_model()
    twelve = args.models12 or [model] * 12
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        genome, seqs = write_genome(directory, args.contigs, args.contig_length)
        for n in sorted(args.sizes):
            vcf = write_vcf(directory, n, seqs)
            r = run_variants(vcf, genome, [model], directory / "out.h5", args.threads)
            rows.append({"models": 1, "variants": n, **r, **rates(n, r)})
            print(json.dumps(rows[-1]), flush=True)
        n12 = args.n12 or min(args.sizes)
        vcf = write_vcf(directory, n12, seqs)
        r = run_variants(vcf, genome, twelve, directory / "out12.h5", args.threads)
        same = "same model x12" if args.models12 is None else "12 models"
        rows.append({"models": 12, "variants": n12, **r, **rates(n12, r), "note": same})
        print(json.dumps(rows[-1]), flush=True)
    result = {"model": model, "threads": args.threads, "rows": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{'models':>6} {'variants':>9} {'seconds':>8} {'variants/s':>10} {'per CPU-s':>10} {'peak RSS MiB':>12}"
    )
    for row in rows:
        print(
            f"{row['models']:>6} {row['variants']:>9,} {row['seconds']:>8.1f} {row['variants_per_s']:>10,.0f} "
            f"{row['variants_per_cpu_s']:>10,.0f} {row['peak_rss_mib']:>12,.0f}"
        )


if __name__ == "__main__":
    main()
