"""Training with torch.distributed: two CPU processes (gloo) launched by torchrun, as on a cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqrnn.bundle import load_bundle
from seqrnn.config import load_config
from seqrnn.training import train
from tests.conftest import write_config


def _losses(run: Path) -> list[float]:
    return [json.loads(x)["train_loss"] for x in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_torchrun_two_processes_matches_single_process_trend(
    synthetic: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "single").mkdir()
    (tmp_path / "ddp").mkdir()
    single_cfg = write_config(
        "protein", synthetic["protein"], tmp_path / "single" / "run", tmp_path / "single", epochs=4
    )
    single = train(load_config(single_cfg), log=lambda _m: None, progress=False)
    ddp_cfg = write_config(
        "protein", synthetic["protein"], tmp_path / "ddp" / "run", tmp_path / "ddp", epochs=4
    )
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    cmd += ["-m", "seqrnn", "train", str(ddp_cfg), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    run = tmp_path / "ddp" / "run"
    ddp_losses, single_losses = _losses(run), _losses(tmp_path / "single" / "run")
    assert len(ddp_losses) == len(single_losses) == 4  # one writer: one line per epoch, not two
    assert ddp_losses[-1] < ddp_losses[0] and single_losses[-1] < single_losses[0]
    # Same data, same model, half the optimiser steps per process: losses on the same scale.
    assert abs(ddp_losses[-1] - single_losses[-1]) < 0.5 * single_losses[0]
    bundle = load_bundle(run / "model.pt")
    acc = bundle.metadata["valid_metrics"]["ss3"]["accuracy"]
    assert abs(acc - single.valid_metrics["ss3"]["accuracy"]) < 0.15
    names = sorted(p.name for p in run.rglob("*") if p.is_file())
    assert names == [
        "best.pt",
        "config.yaml",
        "last.pt",
        "metrics.jsonl",
        "model.pt",
        "run.json",
        "split.tsv",
    ]
    assert json.loads((run / "run.json").read_text())["processes"] == 2
