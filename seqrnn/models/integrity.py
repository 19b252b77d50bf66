"""Verifying a loaded bundle against the checksums stored with it (see :mod:`seqrnn.models.bundle`).

``weights_sha256`` covers the state dict and ``metadata_sha256`` the metadata text; a mismatch is a
:class:`ModelError` naming the file. Files saved before these keys existed still load: one byte-identical
to a built-in is vouched for by ``index.json``; a changed copy of a built-in (its metadata names the
model and version) must hold the shipped weights; any other gets a one-time note.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from seqrnn.errors import ModelError
from seqrnn.io.checksums import text_checksum, weights_checksum
from seqrnn.models.builtins import builtin_index, builtin_weights, is_builtin_file

logger = logging.getLogger(__name__)

#: Files already reported as having no checksum in this process (the note is printed once per file).
_NOTED_UNCHECKED: set[str] = set()


def verify_checksums(path: Path, payload: dict[str, Any], metadata: dict[str, Any], file_sha: str) -> None:
    """Check a loaded bundle's weights and metadata against the checksums stored with them.

    ``file_sha``: the file's sha256; a file byte-identical to a built-in (same sha256 as in
    ``index.json``, which vouches for every byte) needs no stored checksums. Raises :class:`ModelError`
    naming ``path`` on a mismatch, or for a file without checksums whose metadata names a built-in model
    and version but whose weights differ from that shipped file (a damaged copy). Other files without
    checksums (saved by an older seqrnn) load with a one-time note.
    """
    stored = payload.get("weights_sha256")
    if stored is None:
        if not is_builtin_file(file_sha):
            _check_unchecked_file(path, payload, metadata)
        return
    try:
        actual = weights_checksum(payload["state_dict"])
    except TypeError as exc:
        raise ModelError(f"{path}: damaged model file ({exc})") from None
    if actual != stored:
        raise ModelError(f"{path}: the weights do not match their checksum (damaged file?)")
    meta_stored = payload.get("metadata_sha256")
    text = payload["metadata"]
    if meta_stored is not None and (not isinstance(text, str) or text_checksum(text) != meta_stored):
        raise ModelError(f"{path}: the metadata do not match their checksum (damaged file?)")


def _check_unchecked_file(path: Path, payload: dict[str, Any], metadata: dict[str, Any]) -> None:
    """A file without checksums: a changed copy of a built-in is refused, anything else noted once."""
    name = metadata.get("name")
    version = (metadata.get("card") or {}).get("version")
    entry = builtin_index().get(name) if isinstance(name, str) else None
    if entry is not None and version is not None and str(version) == str(entry.get("version")):
        # It claims to be this built-in release, whose bytes we ship and trust: its weights must be those.
        shipped = builtin_weights(name, entry)  # type: ignore[arg-type]
        state = payload["state_dict"]
        same = shipped.keys() == state.keys() and all(
            shipped[k].dtype == state[k].dtype and torch.equal(shipped[k], state[k]) for k in shipped
        )
        if not same:
            raise ModelError(
                f"{path}: a copy of built-in model {name} (v{version}) whose weights differ from the "
                f"shipped file (damaged file?); use -m {name} instead"
            )
        return
    key = str(path.resolve())
    if key not in _NOTED_UNCHECKED:
        _NOTED_UNCHECKED.add(key)
        logger.info(
            "seqrnn: note: %s has no weights checksum (saved by an older seqrnn); re-save it to add one",
            path,
        )
