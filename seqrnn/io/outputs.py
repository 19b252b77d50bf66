"""The output plan of one command: every path it will write, checked before any input is read.

``predict``, ``variants``, ``tile``, ``merge``, ``export``, ``evaluate --json`` and ``scan --json`` each
build one :class:`OutputPlan`: the files they read (sequence files, genome FASTA and its ``.fai``,
VCF and its index, model files, configs) and the files they will write (the HDF5 file, each export,
a VCF's index, ``--resume`` part directories, JSON reports). :meth:`OutputPlan.check` then refuses,
before any work:

- an output that is one of the inputs (same resolved path, or the same file through a hard link or
  symbolic link: compared by device and inode) -- a usage error naming both (exit 2);
- two outputs on the same path (``-o x.tsv --export tsv`` writes ``x.tsv`` twice);
- an output whose directory is missing or not writable, or that is an existing directory where a file
  is written (and the reverse for directory exports) -- an output error (exit 6).

Writing then happens inside :meth:`OutputPlan.writing` (:func:`seqrnn.io.files.staged`): every file of
the command is written under a temporary name and all are renamed together at the end, so a failure
in the last export (a full disk, a bad record) leaves no new file and every earlier result intact.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seqrnn.errors import OutputError, UsageError
from seqrnn.io.files import staged, staged_path, utc_timestamp
from seqrnn.version import __version__


@dataclass(frozen=True)
class Planned:
    """One path of a plan: what it is (``role``, e.g. ``"genome index"``) and whether it is a directory."""

    role: str
    path: Path
    directory: bool = False


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of an existing file, following links; None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare the path as given
        return path.absolute()


@dataclass
class OutputPlan:
    """The inputs a command reads and the outputs it writes (see the module docstring)."""

    inputs: list[Planned] = field(default_factory=list)
    outputs: list[Planned] = field(default_factory=list)

    def read(self, role: str, *paths: str | Path | None) -> OutputPlan:
        """Add input files (``None`` and ``-`` for standard input are ignored); returns the plan."""
        for path in paths:
            if path is not None and str(path) != "-":
                self.inputs.append(Planned(role, Path(path)))
        return self

    def read_model(self, *names: str) -> OutputPlan:
        """Add the model files among ``-m`` values (built-in names are not files here)."""
        return self.read("model", *(n for n in names if Path(n).is_file()))

    def read_genome(self, genome: str | Path | None) -> OutputPlan:
        """Add a genome FASTA and the index files pyfaidx and samtools keep next to it."""
        if genome is not None:
            self.read("genome", genome)
            self.read("genome index", f"{genome}.fai", f"{genome}.gzi")
        return self

    def write(self, role: str, path: str | Path, *, directory: bool = False) -> Path:
        """Add an output (a directory for per-sequence exports); returns its path."""
        path = Path(path)
        self.outputs.append(Planned(role, path, directory))
        return path

    def check(self) -> OutputPlan:
        """Refuse the plan before any work (see the module docstring); returns the plan."""
        seen: dict[Path, Planned] = {}
        for out in self.outputs:
            resolved = _resolved(out.path)
            earlier = seen.get(resolved)
            if earlier is not None:
                raise UsageError(
                    f"{out.path}: written twice, as the {earlier.role} and as the {out.role}; "
                    "choose another output name"
                )
            seen[resolved] = out
            self._check_not_input(out, resolved)
            _check_writable(out)
        return self

    def _check_not_input(self, out: Planned, resolved: Path) -> None:
        target = _identity(out.path)
        for given in self.inputs:
            if _resolved(given.path) == resolved or (target is not None and _identity(given.path) == target):
                raise UsageError(
                    f"{out.path}: the {out.role} would overwrite the {given.role} {given.path}; "
                    "choose another output name"
                )

    @contextlib.contextmanager
    def writing(self) -> Iterator[OutputPlan]:
        """Write every output of the plan together (:func:`seqrnn.io.files.staged`)."""
        with staged():
            yield self

    @staticmethod
    def current(path: str | Path) -> Path:
        """Where a finished output of the running :meth:`writing` block is now (its temporary file
        until the block ends), for a later export that reads it."""
        return staged_path(path)

    def paths(self) -> Iterable[Path]:
        """The planned output paths, in the order added."""
        return (o.path for o in self.outputs)


def provenance(fmt: str, version: int, command: str) -> dict[str, str | int]:
    """The attributes every seqrnn HDF5 file starts with: its format and version, the seqrnn that
    wrote it, the command line and when (UTC). Each file kind adds what it read and how."""
    return {
        "format": fmt,
        "format_version": version,
        "seqrnn_version": __version__,
        "command": command,
        "created": utc_timestamp(),
    }


def check_writable(path: str | Path, role: str = "output") -> Path:
    """Fail before any work (:class:`OutputError`) when file ``path`` cannot be written: its directory
    is missing or not writable, or it is a directory; returns it as a :class:`Path`."""
    _check_writable(Planned(role, Path(path)))
    return Path(path)


def _check_writable(out: Planned) -> None:
    path = out.path
    parent = path.parent if str(path.parent) else Path(".")
    if out.directory:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path}: the {out.role} is a directory of files, but {path} is a file")
        # A missing directory is created (with its parents) when written; its nearest existing
        # ancestor must be a writable directory.
        parent = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not parent.is_dir():
            raise OutputError(f"{path}: {parent} is not a directory")
    elif path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name for the {out.role}")
    elif not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise OutputError(f"{path}: directory {parent} {what}")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")
