"""Output files that never look finished before they are: write to a temporary name, rename on success.

Every file seqrnn writes (predictions, model bundles, checkpoints, exports, run records) goes through
:class:`AtomicOutput`: the data is written as ``.<name>.<random>.tmp`` in the target directory (same
file system, so the final ``os.replace`` is atomic) and renamed only when the writer finished without
an error; on an error or Ctrl-C the temporary file is removed. A job killed hard (SIGKILL) can leave a
``.tmp`` file behind, but never a file under the final name that is half written.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from types import TracebackType


def utc_timestamp() -> str:
    """Now as ISO 8601 UTC (``2026-12-02T06:21:19Z``): the ``created`` stamp of every output and log."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def default_file_mode() -> int:
    """0666 minus the umask: what ``open()`` would give (mkstemp's private 0600 is wrong for results)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicOutput:
    """A temporary file next to ``path`` that replaces ``path`` on :meth:`commit`.

    Use as a context manager (commit on success, discard on any exception) or call :meth:`commit` /
    :meth:`discard` yourself. ``tmp`` is the path to write to; it exists (empty) once created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        parent = self.path.parent if str(self.path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=parent)
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


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with AtomicOutput(path) as tmp:
        tmp.write_text(text)
    return Path(path)
