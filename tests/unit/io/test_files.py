"""seqrnn.io.files: atomic outputs, and the temporary files of killed writers swept by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqrnn.io import files
from seqrnn.io.files import AtomicOutput, atomic_write_text, sweep_stale


def _dead_pid() -> int:
    """The pid of a process that has exited (pids are not reused this quickly)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_commit_renames_and_discard_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "a.txt"
    with AtomicOutput(out) as tmp:
        tmp.write_text("x")
        assert (
            not out.exists() and tmp.name.startswith(".a.txt.") and tmp.name.endswith(f"-{os.getpid()}.tmp")
        )
    assert out.read_text() == "x"
    with pytest.raises(RuntimeError), AtomicOutput(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert out.read_text() == "x" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_temporary_files_of_dead_writers_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "run.h5"
    host = files._host()
    dead = tmp_path / f".run.h5.k1ll3d.{host}-{_dead_pid()}.tmp"
    alive = tmp_path / f".run.h5.w0rk1n.{host}-{os.getpid()}.tmp"  # this process: alive
    remote_fresh = tmp_path / ".run.h5.r3m0te.othernode-12345.tmp"  # another node, written just now
    remote_old = tmp_path / ".run.h5.0ldn0d.othernode-12345.tmp"
    unmarked_old = tmp_path / ".run.h5.tmp"  # an older naming, untouched for long
    other_output = tmp_path / f".other.h5.abc.{host}-{_dead_pid()}.tmp"  # not ours to touch
    for p in (dead, alive, remote_fresh, remote_old, unmarked_old, other_output):
        p.write_text("x")
    hours_ago = time.time() - 2 * files.STALE_AFTER_S
    for p in (remote_old, unmarked_old):
        os.utime(p, (hours_ago, hours_ago))
    atomic_write_text(out, "new")
    assert out.read_text() == "new"
    assert not dead.exists() and not remote_old.exists() and not unmarked_old.exists()
    assert alive.exists() and remote_fresh.exists() and other_output.exists()


def test_sigkilled_writer_leaves_a_file_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "out.h5"
    code = (
        "import time\n"
        "from seqrnn.io.files import AtomicOutput\n"
        f"w = AtomicOutput({str(out)!r})\n"
        "w.tmp.write_text('partial')\n"
        "print(w.tmp, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        left = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
        assert left.exists()
        assert sweep_stale(out) == []  # its writer is alive
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sweep_stale(out) == [left] and not left.exists()
