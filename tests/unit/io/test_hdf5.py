"""Tests for seqrnn.io.hdf5: ragged layout, attributes, and atomic replace-on-success semantics."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.errors import OutputError
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer
from seqrnn.io.outputs import check_writable

RESIDUE = {"residue/ss3/probs": DatasetSpec(3, np.float32, {"classes": np.array(["H", "E", "C"], dtype="S")})}
SEQUENCE = {"sequence/y/values": DatasetSpec(2, np.float32, {"targets": np.array(["a", "b"], dtype="S")})}
ATTRS = {"format": "seqrnn-predictions", "format_version": 1, "inputs": np.array(["x.fa"], dtype="S")}


def writer(path: Path) -> RaggedH5Writer:
    return RaggedH5Writer(path, ATTRS, RESIDUE, SEQUENCE)


def residue_rows(n: int, start: int) -> np.ndarray:
    return np.arange(start * 3, (start + n) * 3, dtype=np.float32).reshape(n, 3)


def write_two_appends(path: Path) -> None:
    with writer(path) as w:
        w.append(
            ["seq1", "βlactamase"],
            np.array([3, 2]),
            residue={"residue/ss3/probs": residue_rows(5, 0)},
            sequence={"sequence/y/values": np.array([[1, 2], [3, 4]], dtype=np.float32)},
        )
        w.append([], np.array([], dtype=np.int64))  # an empty window is a no-op
        w.append(
            ["ünï/id 3"],
            np.array([4]),
            residue={"residue/ss3/probs": residue_rows(4, 5)},
            sequence={"sequence/y/values": np.array([[5, 6]], dtype=np.float32)},
        )


def leftovers(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


def test_ragged_layout_after_two_appends(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    write_two_appends(path)
    assert leftovers(tmp_path) == ["out.h5"]
    with h5py.File(path, "r") as f:
        assert f["ids"].asstr()[:].tolist() == ["seq1", "βlactamase", "ünï/id 3"]
        assert f["lengths"][:].tolist() == [3, 2, 4]
        offsets = f["offsets"][:]
        assert offsets.tolist() == [0, 3, 5, 9]
        assert offsets[-1] == f["lengths"][:].sum()
        probs = f["residue/ss3/probs"][:]
        assert probs.shape == (9, 3)
        np.testing.assert_array_equal(probs, residue_rows(9, 0))
        np.testing.assert_array_equal(probs[offsets[2] : offsets[3]], residue_rows(4, 5))
        np.testing.assert_array_equal(f["sequence/y/values"][:], [[1, 2], [3, 4], [5, 6]])
        assert f["residue/ss3/probs"].attrs["classes"].tolist() == [b"H", b"E", b"C"]
        assert f["sequence/y/values"].attrs["targets"].tolist() == [b"a", b"b"]
        assert f.attrs["format"] == "seqrnn-predictions"
        assert f.attrs["format_version"] == 1
        assert f.attrs["inputs"].tolist() == [b"x.fa"]
        assert f.attrs["n_sequences"] == 3
        assert f.attrs["n_residues"] == 9


def test_attrs_added_inside_with_are_written(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with RaggedH5Writer(path, {}, {}, {}, compression=None) as w:
        w.append(["a"], np.array([1]))
        w.attrs["n_skipped"] = 2
    with h5py.File(path, "r") as f:
        assert f.attrs["n_skipped"] == 2
        assert f["offsets"][:].tolist() == [0, 1]


def test_empty_output_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with writer(path):
        pass
    with h5py.File(path, "r") as f:
        assert f["ids"].shape == (0,)
        assert f["offsets"][:].tolist() == [0]
        assert f["residue/ss3/probs"].shape == (0, 3)


def test_exception_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with pytest.raises(RuntimeError, match="boom"), writer(path) as w:
        w.append(
            ["a"],
            np.array([1]),
            {"residue/ss3/probs": residue_rows(1, 0)},
            {"sequence/y/values": np.ones((1, 2))},
        )
        raise RuntimeError("boom")
    assert leftovers(tmp_path) == []


def test_row_mismatch_inside_with_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with pytest.raises(ValueError, match="2 rows for 3 residues"), writer(path) as w:
        w.append(
            ["a"],
            np.array([3]),
            {"residue/ss3/probs": residue_rows(2, 0)},
            {"sequence/y/values": np.ones((1, 2))},
        )
    assert leftovers(tmp_path) == []


def test_failure_while_opening_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    clash = {"ids": DatasetSpec(3)}  # collides with the built-in /ids dataset
    with pytest.raises(ValueError), RaggedH5Writer(path, {}, clash, {}):
        pass
    assert leftovers(tmp_path) == []


def test_existing_output_replaced_only_on_success(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    path.write_bytes(b"previous results")
    with pytest.raises(KeyError), writer(path) as w:
        w.append(["a"], np.array([1]))  # residue arrays missing -> KeyError
    assert path.read_bytes() == b"previous results"
    assert leftovers(tmp_path) == ["out.h5"]
    write_two_appends(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["n_sequences"] == 3
    assert leftovers(tmp_path) == ["out.h5"]


def test_temp_file_is_hidden_and_in_target_directory(tmp_path: Path) -> None:
    path = tmp_path / "out.h5"
    with writer(path):
        names = leftovers(tmp_path)
        assert len(names) == 1
        assert names[0].startswith(".out.h5.") and names[0].endswith(".tmp")
        assert not path.exists()
    assert path.exists()


def test_output_gets_normal_file_mode(tmp_path: Path) -> None:
    # The temp file is created private (0600); the finished output must get 0666 minus the umask.
    old = os.umask(0o027)
    try:
        write_two_appends(tmp_path / "out.h5")
    finally:
        os.umask(old)
    assert (tmp_path / "out.h5").stat().st_mode & 0o777 == 0o640


def test_check_writable(tmp_path: Path) -> None:
    assert check_writable(tmp_path / "new.h5") == tmp_path / "new.h5"
    with pytest.raises(OutputError, match="does not exist"):
        check_writable(tmp_path / "missing" / "out.h5")
    with pytest.raises(OutputError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(OutputError):
        RaggedH5Writer(tmp_path / "missing" / "out.h5", {}, {}, {})


def test_check_writable_relative_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with RaggedH5Writer("out.h5", {}, {}, {}) as w:
        w.append(["a"], np.array([2]))
    assert leftovers(tmp_path) == ["out.h5"]
