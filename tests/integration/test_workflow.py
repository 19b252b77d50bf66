"""The Snakemake example pipeline: lint-clean, a dry run with its default config, and a full run with the
real snakemake in a temporary directory (a killed prediction job resumes from its finished windows)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from tests.conftest import check_pipeline_outputs

ROOT = Path(__file__).resolve().parents[2]
BINDIR = Path(sys.executable).parent
SNAKEMAKE = shutil.which("snakemake", path=str(BINDIR))
ENV = {**os.environ, "PATH": str(BINDIR) + os.pathsep + os.environ.get("PATH", "")}

needs_snakemake = pytest.mark.skipif(SNAKEMAKE is None, reason="no snakemake")


def snakemake(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SNAKEMAKE), *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


@needs_snakemake
def test_lint_finds_nothing_and_dry_run_needs_no_configfile(tmp_path: Path) -> None:
    # From another directory (no .snakemake/ in the repository): the example inputs are found next to
    # the workflow; config.yaml next to the Snakefile is the default config.
    snakefile = str(ROOT / "workflows" / "Snakefile")
    lint = snakemake("-s", snakefile, "--lint", cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Lints for" not in lint.stdout + lint.stderr
    dry = snakemake("-s", snakefile, "-n", cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "predict_shard" in dry.stdout and "encode" in dry.stdout


@needs_snakemake
def test_config_is_checked_against_the_schema(tmp_path: Path) -> None:
    bad = snakemake("-s", str(ROOT / "workflows" / "Snakefile"), "-n", "--config", "shards=0", cwd=tmp_path)
    assert bad.returncode != 0 and "shards" in bad.stdout + bad.stderr
    typo = snakemake("-s", str(ROOT / "workflows" / "Snakefile"), "-n", "--config", "shard=3", cwd=tmp_path)
    assert typo.returncode != 0 and "shard" in typo.stdout + typo.stderr


@pytest.mark.slow
@needs_snakemake
def test_snakemake_pipeline(tmp_path: Path) -> None:
    cmd = [
        "-s", str(ROOT / "workflows" / "Snakefile"),
        "--config", 'train_overrides={"train.epochs": 1, "train.threads": 1}', "shards=3",
        "-d", str(tmp_path),
        "--cores", "2",
    ]  # fmt: skip
    done = snakemake(*cmd, "--quiet", timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    check_pipeline_outputs(tmp_path)
    with h5py.File(tmp_path / "encoded" / "inputs.h5") as f:
        assert len(f["ids"]) == 4
    for log in ("encode", "train", "predict_1", "merge", "export_tsv", "evaluate", "plot_INS_B_HUMAN"):
        assert (tmp_path / "logs" / f"{log}.log").is_file(), log
    # Nothing left to do on a second run: outputs are complete and trusted.
    again = snakemake(*cmd, "--dry-run")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # The prediction jobs resume: a rerun keeps finished windows (--resume in the shell command).
    shell = snakemake(*cmd, "--dry-run", "--printshellcmds", "--forcerun", "predict_shard")
    assert "--resume" in shell.stdout, shell.stdout[-3000:]
