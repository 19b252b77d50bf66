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

Several outputs of one command (an HDF5 file and its exports, a VCF and its index) are committed
together: inside :func:`staged`, :meth:`AtomicOutput.commit` only marks the file ready, and every
ready file is renamed when the block ends without an error; on an error every temporary file of the
block is removed and the files already under the final names stay as they were. :func:`staged_path`
gives the temporary file of an output written earlier in the block, so an export can read the
HDF5 file that is not yet in place.

A write that fails because the disk is full, a file-size limit is reached, the file system is
read-only or access is denied becomes an :class:`~seqrnn.errors.OutputError` (exit 6) naming the
file: :func:`disk_error`.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType

from seqrnn.errors import OutputError

logger = logging.getLogger(__name__)

#: A temporary file not marked by a process of this host is stale after this long without a write.
STALE_AFTER_S = 3600.0
_OWNER = re.compile(r"\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.tmp$")

#: Errors of the output's file system, not of seqrnn: each becomes one line and exit 6.
DISK_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file-size limit of this job or file system)",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error of the device",
}
# HDF5 reports a failed write inside its own message: "... errno = 28, error message = ...".
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


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
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix, dir=parent)
        except OSError as exc:
            raise disk_error(exc, self.path) or exc from None
        os.close(fd)
        self.tmp = Path(tmp)
        self._stage = _STAGE.get()
        if self._stage is not None:
            self._stage.outputs.append(self)

    def commit(self) -> Path:
        """Give the file its final name (with the permissions a plain ``open()`` would have given).

        Inside :func:`staged` the file is only marked ready; the block renames it when it ends.
        """
        if self._stage is not None:
            self._stage.ready.append(self)
            return self.path
        return self._rename()

    def _rename(self) -> Path:
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


class _Stage:
    """The outputs of one :func:`staged` block: all created (to remove on error) and the ready ones."""

    def __init__(self) -> None:
        self.outputs: list[AtomicOutput] = []
        self.ready: list[AtomicOutput] = []
        self.made_dirs: list[Path] = []


_STAGE: ContextVar[_Stage | None] = ContextVar("seqrnn_output_stage", default=None)


@contextlib.contextmanager
def staged() -> Iterator[None]:
    """Commit every :class:`AtomicOutput` of the block together when it ends without an error.

    On an error (a full disk in the last export, Ctrl-C) every temporary file of the block is removed,
    directories it created are removed when empty, and files already under the final names are
    untouched: an earlier run's results survive a failed rerun. Nested blocks join the outer one.
    """
    if _STAGE.get() is not None:
        yield
        return
    stage = _Stage()
    token = _STAGE.set(stage)
    try:
        yield
    except BaseException:
        _STAGE.reset(token)
        for out in stage.outputs:
            out.discard()
            Path(f"{out.tmp}.tbi").unlink(missing_ok=True)  # an index built beside a temporary VCF
        for directory in reversed(stage.made_dirs):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only when empty: never another run's files
        raise
    _STAGE.reset(token)
    for out in stage.outputs:
        if out not in stage.ready:
            out.discard()  # created but never finished (a writer that gave up without raising)
    for out in stage.ready:
        out._rename()


@contextlib.contextmanager
def unstaged() -> Iterator[None]:
    """Outputs in this block are renamed at once even inside :func:`staged`: the part files of a
    ``--resume`` run, which must survive the run's failure to be reused by the next one."""
    token = _STAGE.set(None)
    try:
        yield
    finally:
        _STAGE.reset(token)


def staged_path(path: str | Path) -> Path:
    """Where output ``path`` is now: the temporary file of a ready output of the current
    :func:`staged` block (not yet renamed), else ``path`` itself."""
    stage = _STAGE.get()
    if stage is not None:
        for out in reversed(stage.ready):
            if out.path == Path(path):
                return out.tmp
    return Path(path)


def make_output_dir(path: str | Path) -> Path:
    """Create directory ``path`` (and parents) for a directory export; inside :func:`staged` a
    directory created here is removed again when the block fails and leaves it empty."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(exc, path) or OutputError(
            f"{path}: cannot create directory ({exc.strerror})"
        ) from None
    stage = _STAGE.get()
    if stage is not None:
        stage.made_dirs.extend(reversed(missing))
    return path


@contextlib.contextmanager
def output_errors(path: str | Path) -> Iterator[None]:
    """Turn a file-system failure inside the block (:func:`disk_error`) into the one-line
    :class:`OutputError` naming ``path``; other errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        error = disk_error(exc, path)
        if error is None:
            raise
        raise error from None


def disk_error(exc: BaseException, path: str | Path) -> OutputError | None:
    """The :class:`OutputError` for a write to ``path`` that failed for a reason of the file system
    (full, over a size limit or quota, read-only, no permission), or None for any other error.

    Reads ``errno`` of an :class:`OSError`, or the ``errno = N`` HDF5 puts in its messages.
    """
    code = getattr(exc, "errno", None)
    if code not in DISK_ERRNOS:
        found = _HDF5_ERRNO.search(str(exc))
        code = int(found.group(1)) if found else None
    if code not in DISK_ERRNOS:
        return None
    return OutputError(
        f"{path}: cannot write: {DISK_ERRNOS[code]} ({errno.errorcode.get(code, code)}); "
        "nothing was written there and earlier files are unchanged"
    )
