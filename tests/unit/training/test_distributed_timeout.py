"""``train.dist_timeout_minutes``: the bound on how long a torchrun process waits in a collective."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from seqrnn.resources.synthetic import protein_ss_rows, write_table
from seqrnn.training import trainer
from seqrnn.training.config import config_from_mapping

RANK0_BUSY_S = 8.0  # rank 0 "validates" this long while rank 1 waits at the barrier


def _rank(rank: int, port: int, timeout_minutes: float, results: mp.Queue) -> None:
    os.environ.update(WORLD_SIZE="2", RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from seqrnn.training.distributed import init_distributed

    ctx, _ = init_distributed("cpu", timeout_minutes)
    start = time.perf_counter()
    try:
        if rank == 0:
            time.sleep(RANK0_BUSY_S)
        ctx.barrier()
        results.put((rank, "passed", time.perf_counter() - start))
    except RuntimeError as exc:
        results.put((rank, f"failed: {exc}", time.perf_counter() - start))


def test_a_collective_fails_after_the_configured_timeout_not_torchs_default() -> None:
    # torch's gloo default is 30 minutes: without the setting rank 1 would wait out rank 0's 8 s and
    # pass the barrier; with 0.05 minutes it gives up after about 3 s.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spawn = mp.get_context("spawn")
    results = spawn.Queue()
    procs = [spawn.Process(target=_rank, args=(r, port, 0.05, results)) for r in range(2)]
    for p in procs:
        p.start()
    outcome = {rank: (what, seconds) for rank, what, seconds in (results.get(timeout=120) for _ in procs)}
    for p in procs:
        p.join(30)
    what, seconds = outcome[1]
    assert what.startswith("failed") and "Timed out" in what, what
    assert 2.5 < seconds < RANK0_BUSY_S - 2


def test_train_passes_the_configured_timeout_to_the_process_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "train.csv"
    write_table(protein_ss_rows(8, seed=0), data)
    config = config_from_mapping(
        {
            "output_dir": str(tmp_path / "run"),
            "data": {"train": str(data), "sequence_column": "seq"},
            "heads": [{"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"]}],
            "train": {"dist_timeout_minutes": 90},
        }
    )
    seen: list[tuple] = []

    def joined(*args: object) -> None:
        seen.append(args)
        raise KeyboardInterrupt  # stop right there: only the call is under test

    monkeypatch.setattr(trainer, "init_distributed", joined)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config, log=lambda _m: None, progress=False)
    assert seen == [("auto", 90.0)]
