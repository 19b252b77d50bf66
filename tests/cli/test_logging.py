"""Logging: the ``seqrnn`` logger is silent for library users; the CLI prints, honours --quiet and --debug,
and --log-json records every documented event, predict's progress heartbeats included."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import seqrnn.inference.pipeline
from seqrnn.cli.main import main
from seqrnn.core.logs import JsonLinesHandler, event, logger
from seqrnn.errors import ModelError
from seqrnn.inference.engine import PredictOptions
from seqrnn.models.bundle import load_bundle

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    path = tmp_path / "in.fa"
    with path.open("w") as fh:
        for i in range(30):
            fh.write(f">s{i}\n{''.join(rng.choice(list('ACDEFGHIKLMNPQRSTVWY'), size=60))}\n")
    return path


@pytest.fixture
def fast_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    """A progress event after every window instead of once a minute."""
    monkeypatch.setattr(seqrnn.inference.pipeline, "HEARTBEAT_SECONDS", 0.0)


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _predict(fasta: Path, out: Path, *extra: str) -> list[str]:
    return ["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--window-tokens", "600", *extra]


def test_log_json_has_start_progress_result_exit(fasta: Path, tmp_path: Path, fast_heartbeat: None) -> None:
    log = tmp_path / "run.jsonl"
    assert main(["--log-json", str(log), *_predict(fasta, tmp_path / "o.h5", "-q")]) == 0
    events = _events(log)
    names = [e["event"] for e in events]
    assert names[0] == "start" and names[-2:] == ["result", "exit"], names
    progress = [e for e in events if e["event"] == "progress"]
    assert len(progress) == 3  # 30 x 60 residues in windows of at most 600
    assert [p["sequences"] for p in progress] == [10, 20, 30]
    assert progress[-1]["residues"] == 1800 and progress[-1]["residues_per_s"] > 0
    assert all(e["time"].endswith("Z") for e in events)
    assert events[0]["command"].startswith("seqrnn --log-json") and events[-1]["exit_code"] == 0


def test_heartbeat_lines_in_a_batch_log(fasta: Path, tmp_path: Path, fast_heartbeat: None, capsys) -> None:
    # Under pytest stderr is not a terminal: no tqdm bar, heartbeat lines instead.
    assert main(_predict(fasta, tmp_path / "o.h5")) == 0
    captured = capsys.readouterr()
    beats = [x for x in captured.err.splitlines() if x.startswith("predict: ")]
    assert len(beats) == 3 and beats[-1].startswith("predict: 30 sequences, 1800 residues, ")
    assert beats[-1].endswith(" residues/s")
    assert "wrote " in captured.out


@pytest.mark.parametrize("where", ["global", "command"])
def test_quiet_prints_nothing_on_success(
    where: str, fasta: Path, tmp_path: Path, fast_heartbeat: None, capsys
) -> None:
    args = _predict(fasta, tmp_path / "o.h5")
    assert main(["--quiet", *args] if where == "global" else [*args, "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_global_quiet_keeps_warnings_and_errors(fasta: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.fa"
    bad.write_text(fasta.read_text() + ">odd\nMKV1LL\n")
    assert main(["--quiet", *_predict(bad, tmp_path / "o.h5", "--on-invalid", "skip")]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("seqrnn: skipped ") and "odd" in captured.err
    assert main(["--quiet", "predict", "-m", "nope", str(fasta), "-o", str(tmp_path / "p.h5")]) == 4
    assert capsys.readouterr().err.startswith("seqrnn: error: ")


def test_library_predict_prints_nothing(fasta: Path, tmp_path: Path, fast_heartbeat: None, capsys) -> None:
    bundle = load_bundle(GOLDEN)
    options = PredictOptions(window_tokens=600)
    summary = seqrnn.inference.pipeline.predict_to_h5(
        bundle, [fasta], tmp_path / "o.h5", options, _cpu(), progress=True
    )
    assert summary.n_sequences == 30
    assert capsys.readouterr() == ("", "")


def test_library_users_can_route_the_logger(
    fasta: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="seqrnn")
    options = PredictOptions(window_tokens=600)
    seqrnn.inference.pipeline.predict_to_h5(
        load_bundle(GOLDEN), [fasta], tmp_path / "o.h5", options, _cpu(), heartbeat=0.0
    )
    beats = [r for r in caplog.records if getattr(r, "event", None) == "progress"]
    assert len(beats) == 3 and beats[0].name == "seqrnn.inference.pipeline"
    assert beats[-1].fields["sequences"] == 30  # type: ignore[attr-defined]


def test_cli_restores_the_callers_logging(fasta: Path, tmp_path: Path) -> None:
    before = (logger.level, logger.propagate, list(logger.handlers))
    assert main(["--log-json", str(tmp_path / "l.jsonl"), *_predict(fasta, tmp_path / "o.h5", "-q")]) == 0
    assert main(["predict", "-m", "nope", str(fasta), "-o", str(tmp_path / "p.h5")]) == 4
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def test_error_and_usage_error_events(fasta: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "run.jsonl"
    assert (
        main(["--log-json", str(log), "predict", "-m", "nope", str(fasta), "-o", str(tmp_path / "o.h5")]) == 4
    )
    assert main(["--log-json", str(log), "predict", str(fasta), "--no-such-option"]) == 2
    names = [(e["event"], e.get("exit_code")) for e in _events(log)]
    assert names == [("start", None), ("error", 4), ("exit", 4), ("start", None), ("error", 2), ("exit", 2)]
    assert "no-such-option" in capsys.readouterr().err


def test_unwritable_log_json_is_an_output_error(fasta: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "missing" / "run.jsonl"
    assert main(["--log-json", str(log), *_predict(fasta, tmp_path / "o.h5", "-q")]) == 6
    assert capsys.readouterr().err.startswith("seqrnn: error: --log-json ")
    assert not (tmp_path / "o.h5").exists()


def test_debug_shows_the_traceback(fasta: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="nope"):
        main(["--debug", "predict", "-m", "nope", str(fasta), "-o", str(tmp_path / "o.h5")])


def test_json_handler_writes_plain_records_as_log_events(tmp_path: Path) -> None:
    handler = JsonLinesHandler(tmp_path / "l.jsonl")
    child = logging.getLogger("seqrnn.test_logging")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        child.warning("disk %s full", "/tmp")
        event("result", log=child, sequences=3)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    first, second = _events(tmp_path / "l.jsonl")
    assert (first["event"], first["message"], first["level"]) == ("log", "disk /tmp full", "warning")
    assert (second["event"], second["sequences"]) == ("result", 3) and "message" not in second


def _cpu():
    import torch

    return torch.device("cpu")
