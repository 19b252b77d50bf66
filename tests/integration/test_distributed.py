"""Training with torch.distributed: two CPU processes (gloo) launched by torchrun, as on a cluster."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

from seqrnn.models.bundle import load_bundle
from seqrnn.training import train
from seqrnn.training.config import load_config
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


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc; empty elsewhere): torchrun starts its workers in new
    sessions, so killing torchrun's process group would leave them running."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(x) for x in children.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_descendants(kid)]
    return found


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a still-running torchrun (started in its own session) and the workers it started."""
    if proc.poll() is not None:
        return
    for pid in _descendants(proc.pid):  # workers first: no torchrun left to notice and restart them
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_torchrun_two_nodes_c10d_rendezvous_one_writer(synthetic: dict[str, Path], tmp_path: Path) -> None:
    """Two "nodes" on localhost: two torchrun agents, one process each, meeting at a c10d rendezvous.

    Each node has its own output_dir (node-local disks), so the files show which process wrote: the
    rendezvous, not --node-rank, decides which node holds rank 0, and only that one may write.
    """
    endpoint, rdzv_id = f"127.0.0.1:{_free_port()}", f"seqrnn-test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    t0 = time.monotonic()
    try:
        for node in (0, 1):
            directory = tmp_path / f"node{node}"
            directory.mkdir()
            cfg = write_config("protein", synthetic["protein"], directory / "run", directory, epochs=3)
            # Node 0 hosts the rendezvous store (as the endpoint's machine would); a missing peer fails
            # the join after join_timeout seconds instead of the default 600.
            conf = f"is_host={'true' if node == 0 else 'false'},join_timeout=60"
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1"]
            cmd += [f"--node-rank={node}", "--rdzv-backend=c10d", f"--rdzv-endpoint={endpoint}"]
            cmd += [f"--rdzv-id={rdzv_id}", f"--rdzv-conf={conf}", "--local-addr=127.0.0.1"]
            cmd += ["--max-restarts=0", "-m", "seqrnn", "train", str(cfg), "--quiet"]
            logs.append(tmp_path / f"node{node}.log")
            with logs[-1].open("wb") as out:  # a file, not a pipe nobody reads while waiting on the other
                procs.append(
                    subprocess.Popen(
                        cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                    )
                )
        # Until both exit: one failing kills the other (it would wait in a collective until gloo's
        # timeout), and a hung rendezvous or run fails the test after 300 s rather than hanging CI.
        while any(p.poll() is None for p in procs) and all(p.poll() in (None, 0) for p in procs):
            if time.monotonic() - t0 > 300:
                pytest.fail("torchrun nodes still running after 300 s:\n" + _tails(logs))
            time.sleep(0.5)
    finally:
        for proc in procs:
            _kill_tree(proc)
    assert [p.returncode for p in procs] == [0, 0], _tails(logs)

    runs = [tmp_path / f"node{n}" / "run" for n in (0, 1) if (tmp_path / f"node{n}" / "run").exists()]
    assert len(runs) == 1, f"expected one run directory (one writer), found {runs}"
    run = runs[0]
    names = sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file())
    assert names == [
        "checkpoints/best.pt",
        "checkpoints/last.pt",
        "config.yaml",
        "metrics.jsonl",
        "model.pt",
        "run.json",
        "split.tsv",
    ]
    losses = _losses(run)
    assert len(losses) == 3  # one line per epoch: one writer
    assert losses[-1] < losses[0]
    last = torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert last["format"] == "seqrnn-checkpoint" and last["epoch"] == 3
    bundle = load_bundle(run / "model.pt")
    assert 0.0 <= bundle.metadata["valid_metrics"]["ss3"]["accuracy"] <= 1.0
    assert json.loads((run / "run.json").read_text())["processes"] == 2


def _tails(logs: list[Path]) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
