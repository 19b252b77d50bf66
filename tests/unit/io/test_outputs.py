"""seqrnn.io.outputs and the staged, disk-safe writers of seqrnn.io.files / seqrnn.io.hdf5: an output
never replaces an input, outputs of one command appear together or not at all, and a full disk or a
file-size limit is one OutputError with nothing left behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.errors import OutputError, UsageError
from seqrnn.io.files import AtomicOutput, atomic_write_text, disk_error, staged, staged_path, unstaged
from seqrnn.io.hdf5 import AtomicH5, DatasetSpec, RaggedH5Writer
from seqrnn.io.outputs import OutputPlan


def _plan(inp: Path, out: Path) -> OutputPlan:
    plan = OutputPlan().read("input", inp)
    plan.write("predictions file", out)
    return plan


def test_an_output_that_is_an_input_is_refused_by_path_link_and_inode(tmp_path: Path) -> None:
    inp = tmp_path / "prot.fa"
    inp.write_text(">a\nMK\n")
    (tmp_path / "sub").mkdir()
    os.symlink(inp, tmp_path / "link.h5")
    os.link(inp, tmp_path / "hard.h5")
    for out in (inp, tmp_path / "sub" / ".." / "prot.fa", tmp_path / "link.h5", tmp_path / "hard.h5"):
        with pytest.raises(UsageError, match=r"would overwrite the input .*prot\.fa") as info:
            _plan(inp, out).check()
        assert info.value.exit_code == 2
    _plan(inp, tmp_path / "prot.h5").check()  # a new name is fine


def test_an_output_planned_twice_is_refused(tmp_path: Path) -> None:
    plan = OutputPlan()
    plan.write("predictions file", tmp_path / "x.tsv")
    plan.write("tsv export", tmp_path / "x.tsv")
    with pytest.raises(UsageError, match="written twice, as the predictions file and as the tsv export"):
        plan.check()


def test_unwritable_places_are_output_errors(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("")
    cases = {
        tmp_path / "missing" / "x.h5": "does not exist",
        tmp_path / "d": "is a directory",
        tmp_path / "f" / "x.h5": "is not a directory",
    }
    for out, message in cases.items():
        plan = OutputPlan()
        plan.write("predictions file", out)
        with pytest.raises(OutputError, match=message):
            plan.check()
    plan = OutputPlan()
    plan.write("ss2 export", tmp_path / "f", directory=True)
    with pytest.raises(OutputError, match="is a file"):
        plan.check()


def test_staged_outputs_appear_together_or_not_at_all(tmp_path: Path) -> None:
    a, b = tmp_path / "a.h5", tmp_path / "a.tsv"
    a.write_text("earlier a")
    b.write_text("earlier b")
    with pytest.raises(OSError), staged():
        atomic_write_text(a, "new a")
        assert a.read_text() == "earlier a"  # ready, not yet renamed
        assert staged_path(a).read_text() == "new a"  # a later export reads it here
        with AtomicOutput(b) as tmp:
            tmp.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert (a.read_text(), b.read_text()) == ("earlier a", "earlier b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "a.tsv"]
    with staged():
        atomic_write_text(a, "new a")
        atomic_write_text(b, "new b")
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert staged_path(a) == a


def test_unstaged_part_files_survive_a_failed_run(tmp_path: Path) -> None:
    part = tmp_path / "part000000.h5"
    with pytest.raises(KeyboardInterrupt), staged():
        with unstaged():
            atomic_write_text(part, "finished window")
        raise KeyboardInterrupt
    assert part.read_text() == "finished window"


def test_disk_error_reads_errno_and_hdf5_messages() -> None:
    full = disk_error(OSError(errno.ENOSPC, "No space left on device"), "out.h5")
    assert isinstance(full, OutputError) and full.exit_code == 6
    assert "out.h5: cannot write: no space left on the device (ENOSPC)" in str(full)
    hdf5 = RuntimeError(
        "Can't close dataset (file write failed: ..., errno = 27, error message = 'File too large')"
    )
    assert "EFBIG" in str(disk_error(hdf5, "x.h5"))
    assert disk_error(ValueError("bad value"), "x.h5") is None
    assert disk_error(OSError(errno.ENOENT, "missing"), "x.h5") is None


def test_a_failed_hdf5_write_is_one_output_error_and_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "x.h5"
    out.write_text("earlier")
    from seqrnn.io import hdf5

    written = {"n": 0}
    real = hdf5.GuardedFile.write

    def full_after_64k(self, data):  # the file system fills up in the middle of the run
        written["n"] += len(memoryview(data))
        if written["n"] > 65536:
            self._fail(OSError(errno.ENOSPC, "No space left on device"))
            return len(memoryview(data))
        return real(self, data)

    monkeypatch.setattr(hdf5.GuardedFile, "write", full_after_64k)
    spec = {"residue/x": DatasetSpec(8)}
    block = {"residue/x": np.ones((10000, 8), "f4")}
    with (
        pytest.raises(OutputError, match="no space left"),
        RaggedH5Writer(out, {}, spec, {}, compression=None) as w,
    ):
        for _ in range(20):
            w.append(["a"] * 10, np.full(10, 1000), residue=block)
    assert out.read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]


def test_a_file_size_limit_is_an_output_error_not_a_crash(tmp_path: Path) -> None:
    """A real write failure (RLIMIT_FSIZE, no root needed) in a child process: HDF5 is closed cleanly
    (with its own driver it crashed at exit), one OutputError, nothing left."""
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import numpy as np
        from seqrnn.errors import OutputError
        from seqrnn.io.hdf5 import AtomicH5
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        try:
            with AtomicH5({str(tmp_path / "x.h5")!r}) as f:
                ds = f.create_dataset("a", (0, 64), maxshape=(None, 64), chunks=(1024, 64), dtype="f4")
                for i in range(50):
                    ds.resize((ds.shape[0] + 1024, 64))
                    ds[-1024:] = np.random.default_rng(i).random((1024, 64))
        except OutputError as exc:
            print(exc)
            sys.exit(6)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 6, done.stderr
    assert "file too large" in done.stdout and "EFBIG" in done.stdout
    assert done.stderr == ""  # no h5py tracebacks from HDF5 freeing its objects
    assert list(tmp_path.iterdir()) == []


def test_atomic_h5_commits_a_readable_file(tmp_path: Path) -> None:
    out = tmp_path / "x.h5"
    with AtomicH5(out) as f:
        f["a"] = np.arange(5)
        f.attrs["k"] = "v"
    with h5py.File(out, "r") as f:
        assert f["a"][:].tolist() == [0, 1, 2, 3, 4] and f.attrs["k"] == "v"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]
