"""seqrnn.models.datasets: the published files the built-in models were trained on, checked against the
shipped models (their data fingerprints) and, where present, against the files themselves."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from seqrnn.models.builtins import builtin_index
from seqrnn.models.bundle import load_bundle
from seqrnn.models.datasets import DATA_FILES, find_file, find_sha256

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(os.environ.get("SEQRNN_DATA") or ROOT.parent / "shared" / "data")


def test_the_table_is_well_formed() -> None:
    assert len({f.file for f in DATA_FILES}) == len(DATA_FILES)
    assert len({f.sha256 for f in DATA_FILES}) == len(DATA_FILES)
    for f in DATA_FILES:
        assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.file
        assert f.url.startswith("https://") and f.dataset and f.licence and f.folder, f.file
        assert (
            find_file(f.file) is f and find_sha256(f.sha256) is f and find_sha256(f"sha256:{f.sha256}") is f
        )
    assert find_file("nope.csv") is None and find_sha256("0" * 64) is None


@pytest.mark.parametrize("name", sorted(builtin_index()))
def test_every_built_in_names_its_training_files_and_they_match_its_fingerprint(name: str) -> None:
    entry = builtin_index()[name]
    files = [find_file(f) for f in entry.get("training_files", [])]
    assert files and all(files), (name, entry.get("training_files"))
    data = load_bundle(name).metadata["data"]
    if len(files) == 1:  # one file read: the fingerprint trained on is its sha256
        assert data["fingerprint"] == f"sha256:{files[0].sha256}"  # type: ignore[union-attr]
        assert Path(data["train"]).name == files[0].file  # type: ignore[union-attr]


@pytest.mark.skipif(not DATA.is_dir(), reason="the benchmark data folder ($SEQRNN_DATA) is not here")
def test_the_table_matches_the_files_where_they_are_present() -> None:
    checked = 0
    for f in DATA_FILES:
        path = DATA / f.folder / f.file
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == f.sha256, path
            checked += 1
    assert checked, f"none of the table's files below {DATA}"
