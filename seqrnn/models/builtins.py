"""The built-in models: ``seqrnn/models/pretrained/index.json`` and the files it lists.

Each entry names the model's ``file`` and its ``sha256`` (verified on every load), ``version``, ``group``,
the summary ``seqrnn models`` prints and ``training_files``, the published data files it was trained on
(:mod:`seqrnn.models.datasets`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from seqrnn.errors import ModelError
from seqrnn.io.checksums import file_sha256

PACKAGE = "seqrnn.models.pretrained"


def builtin_index() -> dict[str, dict[str, Any]]:
    """The built-in models of ``seqrnn/models/pretrained/index.json``: name -> entry (``file``, ``sha256``,
    ``description``, ...); ``{}`` when the index is absent.
    """
    index = resources.files(PACKAGE) / "index.json"
    return json.loads(index.read_text()) if index.is_file() else {}


def builtin_file(entry: dict[str, Any]) -> Path:
    """The installed file of a built-in model's index entry."""
    return Path(str(resources.files(PACKAGE) / entry["file"]))


def builtin_entry(path: Path | None, sha256: str) -> dict[str, Any] | None:
    """The index entry of the built-in model whose file is ``path`` with this sha256 (a shipped file
    loaded by name or path), or None."""
    if path is None:
        return None
    for entry in builtin_index().values():
        if entry.get("file") == path.name and entry.get("sha256") == sha256:
            return entry
    return None


def builtin_name(text: str) -> str | None:
    """The built-in model ``text`` names, in any letter case (``tf-usf1`` is ``tf-USF1``), or None."""
    index = builtin_index()
    if text in index:
        return text
    folded = [name for name in index if name.casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else None


def closest_names(text: str, names: Iterable[str]) -> str:
    """`` (did you mean A or B?)`` for the names closest to ``text`` in letters, any case; else a pointer
    to ``seqrnn models``."""
    by_folded = {name.casefold(): name for name in names}
    close = difflib.get_close_matches(text.casefold(), list(by_folded), n=3, cutoff=0.6)
    if not close:
        return " (seqrnn models lists the built-in models)"
    return f" (did you mean {' or '.join(by_folded[c] for c in close)}?)"


def resolve_model_path(name_or_path: str | Path) -> tuple[Path, str, str | None]:
    """-> (path, display name, expected sha256 for built-ins). A built-in is found by its name in any
    letter case; an existing file by its path."""
    text = str(name_or_path)
    index = builtin_index()
    if text in index:
        return builtin_file(index[text]), text, index[text]["sha256"]
    path = Path(text)
    if path.is_file():
        return path, path.stem, None
    name = builtin_name(text)
    if name is not None:
        return builtin_file(index[name]), name, index[name]["sha256"]
    raise ModelError(
        f"{text}: no such model file and no built-in model of that name{closest_names(text, index)}"
    )


def is_builtin_file(sha: str) -> bool:
    """Whether a file with this sha256 is byte-identical to a shipped built-in model."""
    return any(entry.get("sha256") == sha for entry in builtin_index().values())


def builtin_weights(name: str, entry: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict of the shipped built-in ``name``, after checking its file sha256."""
    shipped = builtin_file(entry)
    if not shipped.is_file() or file_sha256(shipped) != entry.get("sha256"):
        raise ModelError(f"{shipped}: checksum mismatch for built-in model {name} (file damaged; reinstall)")
    return torch.load(shipped, map_location="cpu", weights_only=True)["state_dict"]
