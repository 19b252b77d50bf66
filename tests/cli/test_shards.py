"""Sharded prediction (--shard K/N) merged with seqrnn merge equals an unsharded run, bit for bit."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"
DATASETS = (
    "ids",
    "lengths",
    "offsets",
    "sequences",
    "record_index",
    "residue/ss8/probs",
    "residue/ss3/probs",
)


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "in.fa"
    with path.open("w") as fh:
        for i in range(57):
            fh.write(
                f">s{i}\n{''.join(rng.choice(list('ACDEFGHIKLMNPQRSTVWY'), size=int(rng.integers(3, 200))))}\n"
            )
    return path


def test_merged_shards_equal_unsharded(fasta: Path, tmp_path: Path) -> None:
    assert main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(tmp_path / "full.h5"), "-q"]) == 0
    shards = []
    for k in (1, 2, 3):
        shards.append(tmp_path / f"s{k}.h5")
        assert (
            main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(shards[-1]), "--shard", f"{k}/3", "-q"])
            == 0
        )
    with h5py.File(shards[1]) as f:
        assert list(f["record_index"][:]) == list(range(1, 57, 3))  # round robin, no gaps, no overlap
    merged = tmp_path / "merged.h5"
    assert main(["merge", str(shards[2]), str(shards[0]), str(shards[1]), "-o", str(merged)]) == 0
    with h5py.File(tmp_path / "full.h5") as a, h5py.File(merged) as b:
        for key in DATASETS:
            np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)
        assert b.attrs["shard"] == "1/1" and b.attrs["n_sequences"] == 57


def test_compressed_shards_merge_compressed_with_the_same_values(fasta: Path, tmp_path: Path) -> None:
    assert main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(tmp_path / "plain.h5"), "-q"]) == 0
    shards = [tmp_path / f"s{k}.h5" for k in (1, 2)]
    for k, out in enumerate(shards, 1):
        args = [
            "predict",
            "-m",
            str(GOLDEN),
            str(fasta),
            "-o",
            str(out),
            "--shard",
            f"{k}/2",
            "--compress",
            "-q",
        ]
        assert main(args) == 0
    merged = tmp_path / "merged.h5"
    assert main(["merge", *map(str, shards), "-o", str(merged)]) == 0
    with h5py.File(tmp_path / "plain.h5") as a, h5py.File(shards[0]) as s, h5py.File(merged) as b:
        for key in ("residue/ss8/probs", "residue/ss3/probs"):
            assert a[key].compression is None
            assert s[key].compression == b[key].compression == "gzip" and b[key].shuffle
            np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)


def test_more_shards_than_records_gives_empty_shards_that_merge(fasta: Path, tmp_path: Path) -> None:
    small = tmp_path / "small.fa"
    small.write_text(">a\nMKV\n>b\nACDE\n")
    paths = [tmp_path / f"p{k}.h5" for k in (1, 2, 3)]
    for k, p in enumerate(paths, 1):
        assert main(["predict", "-m", str(GOLDEN), str(small), "-o", str(p), "--shard", f"{k}/3", "-q"]) == 0
    assert main(["merge", *map(str, paths), "-o", str(tmp_path / "m.h5")]) == 0
    with h5py.File(tmp_path / "m.h5") as f:
        assert list(f["ids"].asstr()[:]) == ["a", "b"]


def test_merge_refuses_incomplete_or_mixed_shards(fasta: Path, tmp_path: Path, capsys) -> None:
    for k in (1, 2):
        assert (
            main(
                [
                    "predict",
                    "-m",
                    str(GOLDEN),
                    str(fasta),
                    "-o",
                    str(tmp_path / f"s{k}.h5"),
                    "--shard",
                    f"{k}/3",
                    "-q",
                ]
            )
            == 0
        )
    out = tmp_path / "m.h5"
    assert main(["merge", str(tmp_path / "s1.h5"), str(tmp_path / "s2.h5"), "-o", str(out)]) == 3
    assert "need shards 1..N" in capsys.readouterr().err
    assert not out.exists()
    assert (
        main(
            ["predict", "-m", str(GOLDEN), str(fasta), "-o", str(tmp_path / "s3.h5"), "--shard", "3/3", "-q"]
        )
        == 0
    )
    with h5py.File(tmp_path / "s3.h5", "a") as f:
        f.attrs["model_sha256"] = "0" * 64
    assert main(["merge", *(str(tmp_path / f"s{k}.h5") for k in (1, 2, 3)), "-o", str(out)]) == 3
    assert "different models" in capsys.readouterr().err
    assert main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--shard", "4/3"]) != 0


def test_killed_prediction_resumes_without_recomputing_finished_windows(
    fasta: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import seqrnn.inference.pipeline as predict_module

    base = ["predict", "-m", str(GOLDEN), str(fasta), "--window-tokens", "1500", "--threads", "1", "-q"]
    assert main([*base, "-o", str(tmp_path / "plain.h5")]) == 0
    original = predict_module.predict_examples
    calls = {"n": 0}

    def dies_on_third_window(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what a kill during the third window looks like to the code
        return original(*args, **kwargs)

    monkeypatch.setattr(predict_module, "predict_examples", dies_on_third_window)
    out = tmp_path / "resumed.h5"
    assert main([*base, "-o", str(out), "--resume"]) == 130
    assert not out.exists()
    parts = sorted((tmp_path / ".resumed.h5.parts").glob("part*.h5"))
    assert [p.name for p in parts] == ["part000000.h5", "part000001.h5"]

    calls["n"] = -1000  # no more failures; count the model calls of the rerun
    assert main([*base, "-o", str(out), "--resume"]) == 0
    with h5py.File(tmp_path / "plain.h5") as f:
        total = f["offsets"][-1]
    assert total > 1500 * 3  # the input really spans several windows
    assert not (tmp_path / ".resumed.h5.parts").exists()
    predicted_again = calls["n"] + 1000
    with h5py.File(tmp_path / "plain.h5") as a, h5py.File(out) as b:
        for key in DATASETS:
            np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)
    # Windows 1 and 2 were reused; only the rest was predicted.
    monkeypatch.setattr(predict_module, "predict_examples", original)
    from seqrnn.encoding.examples import example_windows
    from seqrnn.io.formats import chain_inputs
    from seqrnn.models.bundle import load_bundle

    encoder = load_bundle(GOLDEN).encoder
    n_windows = len(list(example_windows(chain_inputs([fasta]), encoder, window_tokens=1500)))
    assert predicted_again == n_windows - 2


def test_log_json_records_start_result_error_and_exit(fasta: Path, tmp_path: Path) -> None:
    import json

    log = tmp_path / "run.jsonl"
    out = tmp_path / "o.h5"
    assert main(["--log-json", str(log), "predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "-q"]) == 0
    assert main(["--log-json", str(log), "predict", "-m", "nope", str(fasta), "-o", str(out), "-q"]) == 4
    events = [json.loads(x) for x in log.read_text().splitlines()]
    assert [e["event"] for e in events] == ["start", "result", "exit", "start", "error", "exit"]
    assert events[1]["sequences"] == 57 and events[2]["exit_code"] == 0
    assert events[4]["exit_code"] == 4 and "nope" in events[4]["message"]


def test_skipped_records_of_every_shard_reach_the_merged_file(fasta: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.fa"
    records = fasta.read_text().splitlines()
    records[2 * 4 + 1] = "MKV1LL"  # record 4 (shard 2/3): a digit is not a residue
    records[2 * 9 + 1] = "AC*DE?"  # record 9 (shard 1/3)
    bad.write_text("\n".join(records) + "\n")
    args = ["predict", "-m", str(GOLDEN), str(bad), "--on-invalid", "skip", "-q"]
    assert main([*args, "-o", str(tmp_path / "full.h5")]) == 0
    shards = [tmp_path / f"s{k}.h5" for k in (1, 2, 3)]
    for k, shard in enumerate(shards, 1):
        assert main([*args, "-o", str(shard), "--shard", f"{k}/3"]) == 0
    merged = tmp_path / "merged.h5"
    assert main(["merge", *map(str, shards), "-o", str(merged)]) == 0
    with h5py.File(tmp_path / "full.h5") as a, h5py.File(merged) as b:
        assert list(b["skipped/record_index"][:]) == [4, 9]
        for key in ("skipped/record_index", "skipped/records", "skipped/reasons", *DATASETS):
            np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)
        assert b.attrs["n_skipped"] == a.attrs["n_skipped"] == 2


def test_a_rerun_removes_the_temporary_file_of_a_killed_run(fasta: Path, tmp_path: Path, capsys) -> None:
    import os
    import subprocess
    import sys

    from seqrnn.io import files

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    out = tmp_path / "ss.h5"
    # What a SIGKILLed run on this host leaves: its temporary file, marked with its (now dead) pid.
    stale = tmp_path / f".ss.h5.abcd1234.{files._host()}-{int(dead.stdout)}.tmp"
    stale.write_bytes(b"\x89HDF half written")
    assert os.getpid() != int(dead.stdout)
    assert main(["predict", "-m", str(GOLDEN), str(fasta), "-o", str(out), "--threads", "1"]) == 0
    assert out.is_file() and not stale.exists()
    assert str(stale) in capsys.readouterr().err  # said what it removed
