"""The predict pipeline's steps one by one: records -> windows -> results -> payloads -> the file."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.core.logs import Progress
from seqrnn.errors import InputError
from seqrnn.inference.engine import PredictOptions, predict_windows
from seqrnn.inference.pipeline import (
    PredictSummary,
    dataset_layout,
    predict_to_h5,
    predictions_writer,
    read_inputs,
    record_windows,
    window_payload,
    write_windows,
)
from seqrnn.io.formats import ReadOptions
from seqrnn.io.records import Record
from seqrnn.models.bundle import load_bundle

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "tiny_protein.pt"
CPU = torch.device("cpu")
TEXTS = ["MKTAYIAKQR", "GSHMSLFDFFKNK", "MK1VL", "ACDEFGHIKLMNPQRSTVWY" * 3]


@pytest.fixture(scope="module")
def bundle():  # type: ignore[no-untyped-def]
    return load_bundle(GOLDEN)


def _records() -> list[Record]:
    return [Record(f"r{i}", text, i, "mem") for i, text in enumerate(TEXTS)]


def test_read_inputs_numbers_records_across_files_and_keeps_a_shard(tmp_path: Path) -> None:
    a, b = tmp_path / "a.fa", tmp_path / "b.fa"
    a.write_text(">x\nMKV\n>y\nMKL\n")
    b.write_text(">z\nMKA\n")
    assert [(r.id, r.index) for r in read_inputs([a, b], ReadOptions())] == [("x", 0), ("y", 1), ("z", 2)]
    assert [r.id for r in read_inputs([a, b], ReadOptions(shard=(2, 2)))] == ["y"]


def test_record_windows_cut_by_tokens_and_report_skips(bundle) -> None:  # type: ignore[no-untyped-def]
    skipped: list = []
    options = PredictOptions(window_tokens=20, on_invalid="skip")  # a window closes at 20 tokens or more
    windows = list(record_windows(_records(), bundle, options, skipped))
    assert [[e.id for e in w] for w in windows] == [["r0", "r1"], ["r3"]]
    assert [s.record for s in skipped] == ["mem:r2"]
    with pytest.raises(InputError, match="r2"):
        list(record_windows(_records(), bundle, PredictOptions(), []))


def test_window_payload_keys_rows_and_decoded_sequences(bundle) -> None:  # type: ignore[no-untyped-def]
    options = PredictOptions(precision="fp32", on_invalid="mask")
    (result,) = predict_windows(bundle, record_windows(_records(), bundle, options, []), options, CPU)
    heads = bundle.model.heads
    payload = window_payload(heads, result, ["seq"] * len(result.examples))
    residue, sequence = dataset_layout(heads)
    assert set(payload["residue"]) == set(residue)
    assert set(payload["sequence"]) - {"sequences", "record_index", "masked"} == set(sequence) - {
        "sequences",
        "record_index",
        "masked",
    }
    lengths = [len(t) for t in TEXTS]
    assert payload["lengths"].tolist() == lengths
    assert payload["sequence"]["masked"].tolist() == [0, 0, 1, 0]
    for key, rows in payload["residue"].items():
        assert rows.shape[0] == sum(lengths), key


def test_dataset_layout_adds_std_only_for_ensemble_heads(bundle) -> None:  # type: ignore[no-untyped-def]
    heads = bundle.model.heads
    name = next(iter(heads))
    residue, _ = dataset_layout(heads, std=[name])
    assert f"residue/{name}/std" in residue and len(residue) == len(heads) + 1


def test_write_windows_counts_what_it_writes(bundle) -> None:  # type: ignore[no-untyped-def]
    options = PredictOptions(precision="fp32", window_tokens=25)
    results = predict_windows(bundle, record_windows(_records()[:2], bundle, options, []), options, CPU)
    payloads = [window_payload(bundle.model.heads, r, ["x"] * len(r.examples)) for r in results]
    summary = PredictSummary(None)
    writer = predictions_writer(bundle, None)
    with writer, Progress("predict", "seq", enabled=False, interval=60.0, log=logging.getLogger("t")) as bar:
        write_windows(writer, payloads, bundle, summary, bar)
    assert (summary.n_sequences, summary.n_residues) == (2, len(TEXTS[0]) + len(TEXTS[1]))
    for fractions in summary.class_fractions.values():
        assert sum(fractions.values()) == pytest.approx(1.0)


def test_in_memory_and_on_disk_runs_write_the_same_numbers(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{t}\n" for i, t in enumerate(TEXTS) if "1" not in t))
    options = PredictOptions(precision="fp32")
    on_disk = predict_to_h5(bundle, [fasta], tmp_path / "out.h5", options, CPU)
    in_memory = predict_to_h5(bundle, [fasta], None, options, CPU)
    assert on_disk.file is None and in_memory.file is not None
    with h5py.File(tmp_path / "out.h5") as f:
        for key in ("ids", "lengths", *[f"residue/{n}/probs" for n in bundle.model.heads]):
            assert np.array_equal(f[key][:], in_memory.file[key][:]), key
    in_memory.file.close()
