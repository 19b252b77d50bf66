"""Output files that never look finished before they are: write to a temporary name, rename on success.

Every file seqrnn writes (predictions, model bundles, checkpoints, exports, run records) goes through
:class:`AtomicOutput`: the data is written as ``.<name>.<random>.<host>-<pid>.tmp`` in the target
directory (same file system, so the final ``os.replace`` is atomic) and renamed only when the writer
finished without an error; on an error or Ctrl-C the temporary file is removed. A job killed hard
(SIGKILL, the OOM killer, a time limit without a signal) never leaves a half-written file under the
final name; it can leave its ``.tmp`` file behind, and the next run that writes the same output
removes it (:func:`sweep_stale`).

Stale or not: the temporary file's name carries its writer's host and process id. On the same host it
is stale when that process no longer exists, however it died. A file from another host (a requeued
cluster job on a new node), or one without a writer's mark, is stale once nothing has written to it for
:data:`STALE_AFTER_S` seconds (a live writer appends as it goes). Locks are not used: HDF5 locks the
files it writes itself, and ``flock`` on network file systems is emulated by the same POSIX locks.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

#: A temporary file not marked by a process of this host is stale after this long without a write.
STALE_AFTER_S = 3600.0
_OWNER = re.compile(r"\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.tmp$")


def utc_timestamp() -> str:
    """Now as ISO 8601 UTC (``2026-12-02T06:21:19Z``): the ``created`` stamp of every output and log."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def default_file_mode() -> int:
    """0666 minus the umask: what ``open()`` would give (mkstemp's private 0600 is wrong for results)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _host() -> str:
    """This machine's short host name, reduced to the characters a file-name mark may hold."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"


class AtomicOutput:
    """A temporary file next to ``path`` that replaces ``path`` on :meth:`commit`.

    Use as a context manager (commit on success, discard on any exception) or call :meth:`commit` /
    :meth:`discard` yourself. ``tmp`` is the path to write to; it exists (empty) once created.
    ``sweep``: first remove stale temporary files of ``path`` (:func:`sweep_stale`); off where many
    small files go into one directory, as each sweep lists it.
    """

    def __init__(self, path: str | Path, *, sweep: bool = True) -> None:
        self.path = Path(path)
        if sweep:
            sweep_stale(self.path)
        parent = self.path.parent if str(self.path.parent) else Path(".")
        suffix = f".{_host()}-{os.getpid()}.tmp"  # the writer's mark (see the module docstring)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix, dir=parent)
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """Give the file its final name (with the permissions a plain ``open()`` would have given)."""
        os.chmod(self.tmp, default_file_mode())
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file; the final path is left as it was."""
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def sweep_stale(path: str | Path) -> list[Path]:
    """Remove the temporary files of ``path`` left by writers that died (see the module docstring).

    Returns the removed paths; the temporary files of live writers are kept.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    removed = []
    for name in glob.glob(glob.escape(f".{path.name}.") + "*", root_dir=parent):
        if not name.endswith(".tmp"):  # e.g. the .parts/ directory of a --resume run
            continue
        candidate = parent / name
        if _is_stale(candidate):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
            logger.info("removed %s, left by an earlier run that was killed", candidate)
    return removed


def _is_stale(tmp: Path) -> bool:
    owner = _OWNER.search(tmp.name)
    # Not on Windows, where os.kill(pid, 0) would send Ctrl-C instead of asking whether pid lives.
    if owner and owner["host"] == _host() and os.name != "nt":
        try:
            os.kill(int(owner["pid"]), 0)
        except ProcessLookupError:
            return True  # the writer is gone
        except PermissionError:
            return False  # a live process of another user
        return False
    try:
        return time.time() - tmp.stat().st_mtime > STALE_AFTER_S
    except OSError:
        return False  # gone meanwhile


def atomic_write_text(path: str | Path, text: str, *, sweep: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (``sweep`` as for :class:`AtomicOutput`); returns the path."""
    with AtomicOutput(path, sweep=sweep) as tmp:
        tmp.write_text(text)
    return Path(path)
