"""Known biology: a USF1 model scores E-box (CACGTG) changes in real USF1 ChIP-seq peaks the right way.

``tests/data/usf1_peaks.fa``: 40 bound peaks (DeepBind ENCODE USF1 H1-hESC test fold, see the README
there) with exactly one CACGTG each, starting 30..65 bp into the 101-bp peak. The genome has one contig
per peak (so a window sees one E-box; past the peak it is N-padded, docs/variants.md).

- destroying: every position of the E-box changed to each of the 3 other bases (40 x 18 SNVs); the
  bound probability must drop in >= 95% of them;
- creating: on a second genome where each peak's E-box was first destroyed (its central ``CG`` -> ``TA``:
  ``CATATG``, which is not a near-E-box), every hexamer of the peak one base away from CACGTG (outside
  the destroyed site) is completed to CACGTG; the bound probability must rise in >= 95%.

The model: the built-in ``tf-USF1`` when shipped, else the zoo run's ``runs/zoo/deepbind/USF1_hybrid``.
"""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main
from seqrnn.models.bundle import builtin_index

pytest.importorskip("pysam")

ROOT = Path(__file__).resolve().parents[2]
PEAKS = ROOT / "tests" / "data" / "usf1_peaks.fa"
RUN_MODEL = ROOT / "runs" / "zoo" / "deepbind" / "USF1_hybrid" / "model.pt"
EBOX = "CACGTG"
DESTROYED = "CATATG"


def usf1_model() -> str:
    if "tf-USF1" in builtin_index():
        return "tf-USF1"
    if RUN_MODEL.is_file():
        return str(RUN_MODEL)
    pytest.skip("no USF1 model: neither the built-in tf-USF1 nor runs/zoo/deepbind/USF1_hybrid/model.pt")


def read_peaks() -> list[tuple[str, str]]:
    lines = PEAKS.read_text().split()
    return [(lines[i][1:], lines[i + 2]) for i in range(0, len(lines), 3)]


def write_genome(path: Path, peaks: list[tuple[str, str]]) -> None:
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in peaks))


def write_vcf(path: Path, rows: list[tuple[str, int, str, str]]) -> None:
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path.write_text(header + "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\t.\t.\n" for c, p, r, a in rows))


def destroying(peaks: list[tuple[str, str]]) -> list[tuple[str, int, str, str]]:
    rows = []
    for name, seq in peaks:
        start = seq.index(EBOX)
        for k in range(6):
            ref = seq[start + k]
            rows += [(name, start + k + 1, ref, alt) for alt in "ACGT" if alt != ref]
    return rows


def creating(peaks: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, int, str, str]]]:
    """The peaks with their E-box destroyed, and the SNVs that complete a near-E-box elsewhere."""
    background, rows = [], []
    for name, seq in peaks:
        start = seq.index(EBOX)
        seq = seq[:start] + DESTROYED + seq[start + 6 :]
        background.append((name, seq))
        for s in range(len(seq) - 5):
            if s + 6 > start and s < start + 6:
                continue  # overlaps the destroyed site
            mismatches = [k for k in range(6) if seq[s + k] != EBOX[k]]
            if len(mismatches) == 1:
                k = mismatches[0]
                rows.append((name, s + k + 1, seq[s + k], EBOX[k]))
    return background, rows


def score(tmp: Path, model: str, genome: list[tuple[str, str]], rows: list, name: str) -> np.ndarray:
    fa, vcf, out = tmp / f"{name}.fa", tmp / f"{name}.vcf", tmp / f"{name}.h5"
    write_genome(fa, genome)
    write_vcf(vcf, rows)
    args = ["variants", str(vcf), "--genome", str(fa), "-m", model, "-o", str(out), "--threads", "1", "-q"]
    assert main(args) == 0
    with h5py.File(out) as f:
        label = f.attrs["models"][0].decode()
        assert set(f["variants/status"].asstr()[:]) <= {"ok", "ok:padded"}
        diff = f[f"variants/{label}/bound/diff"][:]
        classes = [c.decode() for c in f[f"variants/{label}/bound/diff"].attrs["classes"]]
    return diff[:, classes.index("1")]


def test_destroying_the_ebox_lowers_and_creating_it_raises_usf1_binding(tmp_path: Path) -> None:
    model = usf1_model()
    peaks = read_peaks()
    assert len(peaks) == 40 and all(len(re.findall(EBOX, s)) == 1 for _, s in peaks)
    down = score(tmp_path, model, peaks, destroying(peaks), "destroy")
    background, rows = creating(peaks)
    up = score(tmp_path, model, background, rows, "create")
    lowered, raised = float(np.mean(down < 0)), float(np.mean(up > 0))
    print(
        f"destroying: {np.sum(down < 0)}/{down.size} lowered ({lowered:.1%}), median diff {np.median(down):.3f}; "
        f"creating: {np.sum(up > 0)}/{up.size} raised ({raised:.1%}), median diff {np.median(up):.3f}"
    )
    assert lowered >= 0.95
    assert raised >= 0.95
