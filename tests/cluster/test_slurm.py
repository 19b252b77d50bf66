"""The SLURM scripts in workflows/slurm, submitted for real to the single-node test cluster (conftest.py).

Exit states come from ``scontrol show job`` (and the jobcomp log for requeued runs), results are
checked file by file and array by array: merged array-job shards equal an unsharded run bit for bit, a
resubmitted array leaves finished shards untouched, a cancelled task resumes from its finished windows,
and a signalled training job checkpoints mid-epoch, requeues itself and ends with the same weights as an
uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.cli.main import main
from seqrnn.models.bundle import load_bundle
from seqrnn.resources.synthetic import write_examples
from tests.cluster.conftest import ROOT, Cluster
from tests.conftest import check_pipeline_outputs, write_config

GOLDEN = ROOT / "tests" / "golden" / "tiny_protein.pt"
PREDICT = ROOT / "workflows" / "slurm" / "predict_array.sbatch"
TRAIN = ROOT / "workflows" / "slurm" / "train_multinode.sbatch"
SMALL_TASK = ["--cpus-per-task=1", "--mem=1G", "--time=15"]
AMINO = list("ACDEFGHIKLMNPQRSTVWY")


def _fasta(path: Path, n: int, lo: int, hi: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for i in range(n):
            fh.write(f">p{i}\n{''.join(rng.choice(AMINO, size=int(rng.integers(lo, hi))))}\n")
    return path


def _datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
        )
    return out


def _assert_same_predictions(a: Path, b: Path) -> None:
    da, db = _datasets(a), _datasets(b)
    assert sorted(da) == sorted(db)
    assert {"ids", "record_index", "residue/ss3/probs", "residue/ss8/probs"} <= set(da)
    for key in da:
        if da[key].dtype.kind == "f":
            # Shards batch other neighbours than the whole run: CPUs whose kernels round by batch shape
            # (AVX2 without AVX-512) move a probability by an ulp or two; ids and order stay exact.
            np.testing.assert_allclose(da[key], db[key], rtol=0, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(da[key], db[key], err_msg=key)


def _fingerprint(paths: list[Path]) -> dict[str, tuple[int, str]]:
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths}


def _unsharded(fasta: Path, out: Path) -> Path:
    assert main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--threads", "1", "-q"]) == 0
    return out


def _merge(parts: list[Path], out: Path) -> Path:
    assert main(["merge", *map(str, parts), "-o", str(out)]) == 0
    return out


def _poll(what: str, condition, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# predict_array.sbatch ------------------------------------------------------------------------------------


def test_predict_array_merges_to_unsharded_run_and_resubmission_skips_finished_shards(
    cluster: Cluster, tmp_path: Path
) -> None:
    fasta = _fasta(tmp_path / "in.fa", 40, 3, 300, seed=1)
    out = tmp_path / "ss"
    args = ["--array=1-3", "--wait", f"--chdir={tmp_path}", *SMALL_TASK, str(PREDICT), str(fasta), str(out)]
    job, rc = cluster.sbatch(*args, str(GOLDEN), env={"SEQRNN_ARGS": "--window-tokens 2000"})
    tasks = cluster.tasks(job)
    assert rc == 0 and sorted(tasks) == [1, 2, 3]
    assert {k: (t.state, t.exit_code) for k, t in tasks.items()} == {
        k: ("COMPLETED", "0:0") for k in (1, 2, 3)
    }
    parts = sorted(out.glob("part_*.h5"))
    assert [p.name for p in parts] == [f"part_0000{k}_of_00003.h5" for k in (1, 2, 3)]
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in parts]  # no temporary files left
    for k, part in enumerate(parts, 1):
        with h5py.File(part) as f:
            assert list(f["record_index"][:]) == list(range(k - 1, 40, 3))  # round robin, no gaps
        log = (tmp_path / f"seqrnn-predict_{job}_{k}.log").read_text()
        assert f"wrote {part}" in log, log

    merged = _merge(parts, tmp_path / "merged.h5")
    _assert_same_predictions(_unsharded(fasta, tmp_path / "full.h5"), merged)
    with h5py.File(merged) as f:
        assert f.attrs["shard"] == "1/1" and f.attrs["n_sequences"] == 40

    # The same array again: every task finds its shard and skips it; the files are not touched.
    before = _fingerprint(parts)
    again, rc = cluster.sbatch(*args, str(GOLDEN))
    tasks = cluster.tasks(again)
    assert rc == 0 and again != job
    assert {k: (t.state, t.exit_code) for k, t in tasks.items()} == {
        k: ("COMPLETED", "0:0") for k in (1, 2, 3)
    }
    for k, part in enumerate(parts, 1):
        log = (tmp_path / f"seqrnn-predict_{again}_{k}.log").read_text()
        assert log.strip() == f"shard {k}/3 already complete: {part}", log
    assert _fingerprint(parts) == before


def test_predict_array_task_cancelled_mid_run_resumes_from_finished_windows(
    cluster: Cluster, tmp_path: Path
) -> None:
    fasta = _fasta(tmp_path / "big.fa", 600, 50, 450, seed=2)  # ~150k residues, shard 1: ~75 windows
    out = tmp_path / "ss"
    args = [
        "--array=1-2",
        f"--chdir={tmp_path}",
        *SMALL_TASK,
        str(PREDICT),
        str(fasta),
        str(out),
        str(GOLDEN),
    ]
    env = {"SEQRNN_ARGS": "--window-tokens 1000 --batch-tokens 1000"}
    job, rc = cluster.sbatch(*args, env=env)
    assert rc == 0
    parts_dir = out / ".part_00001_of_00002.h5.parts"
    _poll("finished windows of task 1", lambda: len(list(parts_dir.glob("part*.h5"))) >= 5)
    assert cluster.tasks(job)[1].state == "RUNNING"
    cluster.run("scancel", f"{job}_1")
    cluster.wait(job)
    tasks = cluster.tasks(job)
    assert tasks[1].state == "CANCELLED", tasks[1].fields
    assert (tasks[2].state, tasks[2].exit_code) == ("COMPLETED", "0:0")
    assert not (out / "part_00001_of_00002.h5").exists()
    kept = sorted(parts_dir.glob("part*.h5"))
    assert len(kept) >= 5

    again, rc = cluster.sbatch(*args, env=env, wait=True)
    tasks = cluster.tasks(again)
    assert rc == 0
    assert {k: (t.state, t.exit_code) for k, t in tasks.items()} == {k: ("COMPLETED", "0:0") for k in (1, 2)}
    log = (tmp_path / f"seqrnn-predict_{again}_1.log").read_text()
    reused = re.search(r"(\d+) finished windows reused", log)
    assert reused and int(reused.group(1)) >= len(kept), log
    assert "already complete" in (tmp_path / f"seqrnn-predict_{again}_2.log").read_text()
    assert not parts_dir.exists()  # the parts are folded into the shard file and removed

    parts = sorted(out.glob("part_*.h5"))
    assert [p.name for p in parts] == ["part_00001_of_00002.h5", "part_00002_of_00002.h5"]
    _assert_same_predictions(_unsharded(fasta, tmp_path / "full.h5"), _merge(parts, tmp_path / "merged.h5"))


# train_multinode.sbatch ----------------------------------------------------------------------------------

EPOCHS = 5


@pytest.fixture(scope="module")
def train_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """63 batches per epoch (about a second each here): a signal lands in the middle of one."""
    directory = tmp_path_factory.mktemp("train")
    data = write_examples(directory / "data", n=1200, seed=3)["protein"]
    return write_config(
        "protein", data, directory / "unused", directory, epochs=EPOCHS, batch_size=8, batch_tokens=800
    )


def _train_args(tmp_path: Path, config: Path, run: Path, *extra: str) -> list[str]:
    return [
        "--nodes=1",
        "--cpus-per-task=2",
        "--mem=4G",
        "--time=15",
        f"--chdir={tmp_path}",
        *extra,
        str(TRAIN),
        str(config),
        str(run),
    ]


def _epochs(run: Path) -> list[int]:
    return [json.loads(line)["epoch"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def reference_run(cluster: Cluster, train_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two training processes (torchrun, gloo) in one job on one CPU node, not interrupted."""
    tmp = tmp_path_factory.mktemp("reference")
    run = tmp / "run"
    job, rc = cluster.sbatch(
        *_train_args(tmp, train_config, run), env={"SEQRNN_NPROC_PER_NODE": "2"}, wait=True
    )
    [record] = cluster.jobs(job)
    log = (tmp / f"seqrnn-train_{job}.log").read_text()
    assert rc == 0, log
    assert (record.state, record.exit_code, record["Restarts"]) == ("COMPLETED", "0:0", "0"), log
    assert "1 node(s) x 2 process(es), 1 thread(s) each" in log
    return run


def test_train_two_processes_one_node_writes_model_and_checkpoint(reference_run: Path) -> None:
    run = reference_run
    assert json.loads((run / "run.json").read_text())["processes"] == 2
    assert _epochs(run) == list(range(1, EPOCHS + 1))  # rank 0 alone writes: one line per epoch
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == EPOCHS and last["step_in_epoch"] == 0
    bundle = load_bundle(run / "model.pt")
    assert set(bundle.metadata["valid_metrics"]) == {"ss8", "ss3"}
    assert not list(run.rglob(".*.tmp"))


def test_train_sigterm_checkpoints_mid_epoch_requeues_and_resumes_to_the_same_model(
    cluster: Cluster, train_config: Path, reference_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    job, rc = cluster.sbatch(*_train_args(tmp_path, train_config, run), env={"SEQRNN_NPROC_PER_NODE": "2"})
    assert rc == 0
    # During epoch 2 or 3: SIGTERM to the batch script, as --signal=B:TERM@300 sends it.
    _poll("epoch 1", lambda: (run / "metrics.jsonl").exists() and len(_epochs(run)) >= 1)
    time.sleep(0.5)
    assert cluster.jobs(job)[0].state == "RUNNING"
    cluster.run("scancel", "--batch", "--signal=TERM", str(job))

    def requeued() -> bool:
        [record] = cluster.jobs(job)
        assert record.state in {"RUNNING", "COMPLETING", "REQUEUED", "PENDING"}, record.fields
        return record.state == "PENDING" and record["Restarts"] == "1"

    _poll("the job to requeue itself", requeued, timeout=120)
    # slurmctld holds a requeued job back (BeginTime, two minutes and more); let it start now (the update
    # runs the scheduler). Not at once: slurmd refuses a job credential issued in the same second as the
    # revocation of the job's previous one ("Job credential revoked").
    time.sleep(3)
    cluster.run("scontrol", "update", f"JobId={job}", "StartTime=now")
    cluster.wait(job, timeout=300)
    [record] = cluster.jobs(job)
    log = (tmp_path / f"seqrnn-train_{job}.log").read_text()  # --open-mode=append: both runs
    assert (record.state, record.exit_code, record["Restarts"]) == ("COMPLETED", "0:0", "1"), log
    runs = cluster.completions(job)
    assert [r["JobState"] for r in runs][-1] == "COMPLETED" and len(runs) >= 2, runs

    stopped = re.search(r"stopped by SIGTERM at epoch (\d+), batch (\d+)/(\d+)", log)
    assert stopped, log
    epoch, batch, n_batches = map(int, stopped.groups())
    assert 1 <= batch <= n_batches  # the checkpoint of the batch the signal found running
    assert "requeueing job" in log and f"job {job} (restart 1)" in log and ", --resume" in log
    if batch < n_batches:  # the requeued job picks up at the next batch
        assert f"at epoch {epoch}, batch {batch + 1}" in log, log

    assert _epochs(run) == list(range(1, EPOCHS + 1))  # no epoch lost or written twice
    load_bundle(run / "model.pt")
    # Resuming mid-epoch is exact: the same weights as the uninterrupted reference job.
    ours = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["model"]
    ref = torch.load(reference_run / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert ours.keys() == ref.keys()
    for key in ref:
        assert torch.equal(ours[key], ref[key]), key


# Snakemake through workflows/profiles/slurm ---------------------------------------------------------------

PROFILE = ROOT / "workflows" / "profiles" / "slurm"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def test_snakemake_pipeline_through_the_slurm_profile(cluster: Cluster, tmp_path: Path) -> None:
    assert (PROFILE / "config.yaml").is_file(), f"no SLURM profile at {PROFILE}"
    pytest.importorskip(
        "snakemake_executor_plugin_slurm", reason="pip install snakemake-executor-plugin-slurm"
    )
    cmd = [
        str(SNAKEMAKE),
        "-s", str(ROOT / "workflows" / "Snakefile"),
        "--profile", str(PROFILE),
        "-d", str(tmp_path),
        "--config", 'train_overrides={"train.epochs": 1}', "shards=3",
        # This test cluster keeps no accounting database (no sacct): job states come from squeue
        # (MinJobAge=300 keeps finished jobs there), and there is no account to name or guess.
        "--slurm-status-command", "squeue",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "2",
        "--latency-wait", "5",
    ]  # fmt: skip
    done = cluster.run(*cmd, check=False, timeout=900, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]

    # Every rule ran as a SLURM job of its own, and every job completed.
    job_ids = sorted({int(j) for j in re.findall(r"SLURM jobid (\d+)", output)})
    rules = ["encode", "train", "predict_shard", "merge", "export_tsv", "evaluate", "plot"]
    assert len(job_ids) == len(rules) + 2, output[-6000:]  # three prediction shards
    records = [cluster.jobs(j)[0] for j in job_ids]
    assert {(r.state, r.exit_code) for r in records} == {("COMPLETED", "0:0")}, [r.fields for r in records]
    assert {r["WorkDir"] for r in records} == {str(tmp_path)}
    train = next(r for r in records if r.fields.get("Comment", "").startswith("rule_train"))
    assert train["NumCPUs"] == "2"  # the rule's threads became --cpus-per-task

    check_pipeline_outputs(tmp_path)
    parts = sorted((tmp_path / "predictions").glob("part_*"))
    assert len(parts) == 3 or not parts  # the shards, unless the workflow removes them after merging
    assert load_bundle(tmp_path / "model" / "model.pt").metadata["valid_metrics"]

    again = cluster.run(*cmd, "--dry-run", check=False, timeout=300, cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
