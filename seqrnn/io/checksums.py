"""Checksums: of a file's bytes (built-in models against ``index.json``) and of what a model bundle
holds (its weights and metadata), so a damaged file is an error instead of other numbers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import torch


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_checksum(state: Mapping[str, torch.Tensor]) -> str:
    """Hex sha256 of a state dict: every tensor's name, dtype, shape and bytes, in sorted name order.

    Deterministic (same weights, same checksum, whatever the dict order or the device they were on) and
    independent of how ``torch.save`` lays out the file, so it checks the tensors a load hands to the
    model. Raises ``TypeError`` for a value that is not a tensor.
    """
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} is not a tensor")
        tensor = tensor.detach().cpu().contiguous()
        header = f"{name}\0{str(tensor.dtype).removeprefix('torch.')}\0{tuple(tensor.shape)}\0"
        digest.update(header.encode())
        # Bytes through a uint8 view: numpy has no bfloat16, and a flat view also covers 0-d tensors.
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def text_checksum(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (the bundle's metadata JSON)."""
    return hashlib.sha256(text.encode()).hexdigest()
