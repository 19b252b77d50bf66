"""A tiny self-contained example for ``seqrnn variants`` and ``seqrnn tile``: genome FASTA + VCF.

    python -m seqrnn.variants.example DIR      # writes DIR/genome.fa, DIR/calls.vcf, DIR/regions.bed

The genome (``chr1``, 4,000 random bases, seeded) carries the synthetic binding motif ``TGACGTCA`` of
:mod:`seqrnn.resources.synthetic` at 12 places (what the ``example_dna`` config's model learns to detect).
The VCF (sorted, one line each) has: an SNV in the middle of every motif (breaks it), an SNV 40 bp from
the start of each motif (making no half motif), a multi-allelic SNV, a deletion, an insertion, a ``<DEL>`` and a ``*`` allele
(``skipped:symbolic``), a REF that is not what the genome has (``ref_mismatch``) and an SNV 3 bases
from the contig start (``ok:padded``). ``regions.bed``: two regions for ``seqrnn tile``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from seqrnn.resources.synthetic import MOTIF

LENGTH = 4000
MOTIF_STARTS = tuple(range(200, 3800, 300))


def example_genome(seed: int = 0) -> str:
    """The example contig: random bases with :data:`MOTIF` at :data:`MOTIF_STARTS` (0-based)."""
    rng = np.random.default_rng(seed)
    seq = list(rng.choice(list("ACGT"), LENGTH))
    text = "".join(seq).replace(MOTIF, "TGACTTCA")  # no chance copies
    seq = list(text)
    for start in MOTIF_STARTS:
        seq[start : start + len(MOTIF)] = list(MOTIF)
    return "".join(seq)


def _other(base: str, k: int = 1) -> str:
    return "ACGT"[("ACGT".index(base) + k) % 4]


def _neutral(seq: str, pos: int) -> str:
    """A base other than ``seq[pos]`` that makes no half motif (TGAC, GTCA) around ``pos``."""
    for k in (1, 2, 3):
        alt = _other(seq[pos], k)
        around = seq[pos - 3 : pos] + alt + seq[pos + 1 : pos + 4]
        if "TGAC" not in around and "GTCA" not in around:
            return alt
    return _other(seq[pos])


def example_records(seq: str) -> list[tuple[int, str, str, str]]:
    """(1-based POS, ID, REF, ALT) of the example variants, sorted by position."""
    rows = [(3, "near_start", seq[2], _other(seq[2]))]
    for i, start in enumerate(MOTIF_STARTS):
        mid = start + 3  # the C of TGA[C]GTCA
        rows.append((mid + 1, f"motif{i + 1}_break", seq[mid], _other(seq[mid], 2)))
        flank = start + 40
        rows.append((flank + 1, f"motif{i + 1}_flank", seq[flank], _neutral(seq, flank)))
    rows += [
        (1000, "multi", seq[999], f"{_other(seq[999], 1)},{_other(seq[999], 2)}"),
        (1200, "del", seq[1199:1203], seq[1199]),
        (1400, "ins", seq[1399], seq[1399] + "GATTACA"),
        (1600, "sv", seq[1599], "<DEL>"),
        (1800, "star", seq[1799], "*"),
        (2000, "wrong_ref", _other(seq[1999]), seq[1999]),
    ]
    return sorted(rows)


def write_example(directory: str | Path, seed: int = 0) -> dict[str, Path]:
    """Write ``genome.fa``, ``calls.vcf`` and ``regions.bed`` into ``directory``; returns their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    seq = example_genome(seed)
    genome = out / "genome.fa"
    genome.write_text(">chr1\n" + "".join(seq[i : i + 60] + "\n" for i in range(0, len(seq), 60)))
    vcf = out / "calls.vcf"
    header = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID=chr1,length={LENGTH}>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines = [f"chr1\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for p, i, r, a in example_records(seq)]
    vcf.write_text("\n".join(header + lines) + "\n")
    bed = out / "regions.bed"
    bed.write_text("chr1\t0\t2000\tleft\nchr1\t2000\t4000\tright\n")
    return {"genome": genome, "vcf": vcf, "regions": bed}


if __name__ == "__main__":  # pragma: no cover - a convenience for the docs
    paths = write_example(sys.argv[1] if len(sys.argv) > 1 else "variants_example")
    print("\n".join(f"wrote {p}" for p in paths.values()))
