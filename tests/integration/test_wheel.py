"""pip-only use: the built wheel, installed into a fresh virtual environment outside the repository,
predicts with the built-in model, trains from a built-in config by name and copies out a workflow that
snakemake can plan. Builds the wheel, installs torch from the local CPU wheel (as the Makefile does:
``--no-index --no-deps``, never from the index) and the rest with pip's own configuration.

About 1.5 minutes on 2 cores, most of it pip installing snakemake and the other dependencies
(from this machine's local package index)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[2]
FASTA = ">short\nMKTAYIAKQRQISFVKSHFSRQ\n>other\nGSHMLEDPVDAFQLAKKLLG\n"


def run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (no build/ or egg-info written into the working tree)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "seqrnn", src / "seqrnn", ignore=shutil.ignore_patterns("__pycache__", ".snakemake")
    )
    out = tmp / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        tmp,
    )
    (wheel,) = out.glob("seqrnn-*.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.wheel
def test_wheel_in_a_fresh_venv(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "seqrnn/resources/configs/example_protein.yaml",
        "seqrnn/resources/configs/moleculenet/esol.yaml",
        "seqrnn/resources/workflows/Snakefile",
        "seqrnn/resources/workflows/config.yaml",
        "seqrnn/resources/workflows/schemas/config.schema.yaml",
        "seqrnn/resources/workflows/profiles/slurm/config.yaml",
        "seqrnn/resources/data/examples/proteins.fasta",
        "seqrnn/resources/data/examples/synthetic/protein_ss.csv",
        "seqrnn/models/pretrained/protein-ss-v1.pt",
        "seqrnn/models/pretrained/protein-ss-v2.pt",
        "seqrnn/models/pretrained/protein-ss-v3.pt",
        "seqrnn/models/pretrained/protein-ss-v4.pt",
        "seqrnn/models/pretrained/protein-ss-fast-v1.pt",
        "seqrnn/models/pretrained/protein-ss-fast-v2.pt",
        "seqrnn/resources/configs/protein_ss_v2.yaml",
        "seqrnn/resources/configs/protein_ss_v3.yaml",
        "seqrnn/resources/configs/protein_ss_v4.yaml",
        "seqrnn/resources/configs/protein_ss_fast.yaml",
    ):
        assert shipped in names, shipped

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    run([*pip, "--no-index", "--no-deps", "torch"], tmp_path)  # the local CPU wheel (pip's find-links)
    run([*pip, f"{wheel}[workflow]"], tmp_path)
    seqrnn = str(venv / "bin" / "seqrnn")
    work = tmp_path / "work"  # outside the repository: nothing of it is reachable from here
    work.mkdir()

    (work / "small.fasta").write_text(FASTA)
    run([seqrnn, "predict", "-m", "protein-ss", "small.fasta", "-o", "small.h5", "-q"], work)
    with h5py.File(work / "small.h5") as f:
        assert list(f["ids"].asstr()[:]) == ["short", "other"]
        assert f.attrs["model_version"] == "4" and "disorder" in f["residue"]

    listed = run([seqrnn, "configs"], work).stdout
    assert "example_protein" in listed and "moleculenet/esol" in listed
    shown = run([seqrnn, "configs", "show", "example_protein"], work).stdout
    assert "name: example-protein-ss" in shown
    sets = ["--set", "train.epochs=1", "--set", "train.max_steps_per_epoch=2", "--set", "output_dir=run"]
    run([seqrnn, "train", "example_protein", *sets, "--threads", "1", "-q"], work)
    assert (work / "run" / "model.pt").is_file()

    run([seqrnn, "workflow", "--copy", "wf"], work)
    assert (work / "wf" / "profiles" / "slurm" / "config.yaml").is_file()
    snakemake = str(venv / "bin" / "snakemake")
    dry = run([snakemake, "-s", "wf/Snakefile", "-n"], work)
    assert "predict_shard" in dry.stdout
    # The SLURM profile's executor plugin came with the `workflow` extra (a dry run submits nothing).
    slurm = run([snakemake, "-s", "wf/Snakefile", "-n", "--profile", "wf/profiles/slurm"], work)
    assert "slurm_partition=" in slurm.stdout  # the profile's default-resources
