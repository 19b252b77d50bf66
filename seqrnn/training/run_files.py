"""The run directory (``output_dir``) and the files training writes into it.

::

    config.yaml          resolved config (every default and --set applied)
    metrics.jsonl        one JSON line per epoch: train loss, lr, validation metrics, monitor value
    model.pt             best bundle by the monitored validation metric (what ``predict`` uses)
    checkpoints/last.pt  full training state after the last finished epoch or interruption (``--resume``)
    checkpoints/best.pt  full training state at the best epoch
    run.json             seed, split (method, sizes), data fingerprint, versions
    split.tsv            the part (train, valid, test) of every record: file, row (1-based), id
    rejected.tsv         records set aside under ``data.on_invalid: skip`` (file, row, id, sequence, reason)
    test_metrics.json    the best model scored once on the held-out test split

Every file is written atomically (:mod:`seqrnn.io.files`); only the main process of a distributed run
writes.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.errors import OutputError, UsageError
from seqrnn.io.files import AtomicOutput, atomic_write_text, utc_timestamp
from seqrnn.io.records import Record
from seqrnn.training.config import RunConfig, dump_config
from seqrnn.version import __version__


class RunDirectory:
    """Paths of one run directory and the writers of its files."""

    def __init__(self, output_dir: str | Path) -> None:
        self.root = Path(output_dir)
        self.checkpoints = self.root / "checkpoints"
        self.last = self.checkpoints / "last.pt"
        self.best = self.checkpoints / "best.pt"
        self.model = self.root / "model.pt"
        self.metrics = self.root / "metrics.jsonl"

    def check(self, resume: bool) -> None:
        """Before any work: the directory can be written, a new run needs a directory without a run,
        and ``--resume`` needs a checkpoint.

        Raises :class:`OutputError` for an ``output_dir`` that is a file, lies under a file, or cannot be
        written; :class:`UsageError` for ``--resume`` with nothing to resume or a new run into a
        directory that holds one (the command line, not the config, is what to change).
        """
        self._check_writable()
        if resume and not self.last.is_file():
            raise UsageError(
                f"--resume: no checkpoint in {self.checkpoints} to resume from; run without --resume to start"
            )
        if not resume and self.last.is_file():
            raise UsageError(
                f"{self.root} already holds a run; use --resume to continue it or choose another output_dir"
            )

    def _check_writable(self) -> None:
        """OutputError unless ``output_dir`` is (or can be created as) a writable directory.

        Checked without creating anything: the directory is made only once the data has been read, so a
        data error leaves no empty run directory behind. The creation itself is guarded too
        (:meth:`create`), for what this check cannot see (a race, a full disk).
        """
        where = f"output_dir {self.root}"
        if self.root.exists() and not self.root.is_dir():
            raise OutputError(f"{where}: is a file, not a directory; choose another output_dir")
        # The nearest existing ancestor is where the first missing directory would be created.
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise OutputError(f"{where}: {existing} is a file, not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"{where}: {existing} is not writable (permission denied or read-only)")

    def create(self) -> None:
        """Make ``output_dir/checkpoints``; OutputError (one line) if the system refuses."""
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"output_dir {self.root}: cannot create {self.checkpoints} ({exc.strerror or exc})"
            ) from None

    def write_start(
        self,
        config: RunConfig,
        fingerprint: str,
        world: int,
        resume: bool,
        split: dict[str, Any],
        split_rows: Sequence[tuple[str, str, int, str]],
        rejected: Sequence[tuple[Record, str]],
    ) -> None:
        """The files known before the first epoch: config, run record, split and rejected records."""
        dump_config(config, self.root / "config.yaml")
        self._write_run_record(config, fingerprint, world, resume, split)
        self._write_rejected(rejected)
        # Which part each record went to, so the same split can be scored again (ensembles, other tools).
        _write_tsv(self.root / "split.tsv", ("part", "file", "row", "id"), split_rows)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """One epoch's line of ``metrics.jsonl``."""
        with self.metrics.open("a") as fh:
            fh.write(json.dumps(finite(record)) + "\n")

    def write_test_metrics(self, payload: dict[str, Any]) -> None:
        """``test_metrics.json``: the best model's scores on the held-out test split."""
        atomic_write_text(self.root / "test_metrics.json", json.dumps(finite(payload), indent=1))

    def _write_rejected(self, rejected: Sequence[tuple[Record, str]]) -> None:
        path = self.root / "rejected.tsv"
        path.unlink(missing_ok=True)
        if rejected:
            rows = [(rec.source, rec.index + 1, rec.id, rec.text, reason) for rec, reason in rejected]
            _write_tsv(path, ("file", "row", "id", "sequence", "reason"), rows)

    def _write_run_record(
        self, config: RunConfig, fingerprint: str, world: int, resume: bool, split: dict[str, Any]
    ) -> None:
        """What a rerun needs to repeat this run: versions, seed, data fingerprint, command context."""
        import h5py

        path = self.root / "run.json"
        record = json.loads(path.read_text()) if resume and path.is_file() else {}
        record.setdefault("started", utc_timestamp())
        if resume:
            record.setdefault("resumed", []).append(utc_timestamp())
        record.update(
            seed=config.seed,
            split=split,
            data_fingerprint=fingerprint,
            processes=world,
            versions={
                "seqrnn": __version__,
                "python": platform.python_version(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "h5py": h5py.__version__,
            },
            torch_threads=torch.get_num_threads(),
            host=platform.node(),
        )
        atomic_write_text(path, json.dumps(record, indent=1))


def _write_tsv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with AtomicOutput(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def finite(obj: Any) -> Any:
    """NaN/inf -> None, so the JSON files stay standard JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return obj


def scalars(metrics: dict[str, Any]) -> dict[str, Any]:
    """The number-valued entries of a metrics dict (no confusion matrices or per-class lists)."""
    return {k: v for k, v in metrics.items() if isinstance(v, int | float)}
