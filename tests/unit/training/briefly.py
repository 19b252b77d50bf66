"""Train a shipped protein config for a step or two on a tiny synthetic NetSurfP-like CSV (tests only)."""

from __future__ import annotations

from pathlib import Path

from seqrnn.cli.main import main
from seqrnn.resources import config_path
from seqrnn.resources.synthetic import protein_ss_rows, write_table


def train_briefly(config: str, root: Path, steps: int = 1, extra: tuple[str, ...] = ()) -> Path:
    """``seqrnn train CONFIG`` for one epoch of ``steps`` optimiser steps on 24 synthetic chains (disorder
    0.0 at the first two residues), 512-residue crops cut to 40; -> the run's model.pt."""
    data = write_table(protein_ss_rows(24, seed=5, max_len=50), root / "train.csv")
    sets = [
        f"data.train={data}",
        "data.valid_fraction=0.2",
        f"output_dir={root / 'run'}",
        "train.epochs=1",
        f"train.max_steps_per_epoch={steps}",
        "train.threads=1",
        "train.crop_length=40",
        *extra,
    ]
    args = ["train", str(config_path(config)), "-q"]
    assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
    return root / "run" / "model.pt"
