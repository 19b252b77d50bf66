"""The Snakemake example pipeline runs end to end with the real snakemake, in a temporary directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None, reason="no snakemake"
)
def test_snakemake_pipeline(tmp_path: Path) -> None:
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    cmd = [
        str(Path(bindir) / "snakemake"),
        "-s", str(ROOT / "workflows" / "Snakefile"),
        "--configfile", str(ROOT / "workflows" / "config.yaml"),
        "--config", 'train_overrides={"train.epochs": 1, "train.threads": 1}', "shards=3",
        "-d", str(tmp_path),
        "--cores", "2",
        "--quiet",
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with h5py.File(tmp_path / "predictions" / "all.h5") as f:
        assert list(f["ids"].asstr()[:]) == [
            "sp|P0CG48|UBC_HUMAN-fragment",
            "GFP_AEQVI",
            "INS_B_HUMAN",
            "messy_example",
        ]
        assert f.attrs["shard"] == "1/1"
    metrics = json.loads((tmp_path / "metrics" / "train_data.json").read_text())
    assert set(metrics["metrics"]) == {"ss8", "ss3"}
    assert (tmp_path / "plots" / "INS_B_HUMAN.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "encoded" / "inputs.h5").is_file()
    # Nothing left to do on a second run: outputs are complete and trusted.
    again = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
