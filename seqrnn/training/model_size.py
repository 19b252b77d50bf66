"""Model size against memory: an impossible size (``--set model.hidden=100000000``) is a config error
naming the parameter count and the memory, before any data is read or any allocation fails."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import torch

from seqrnn.encoding.encoders import Encoder
from seqrnn.errors import ConfigError
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.bundle import build_model


def build_model_that_fits(
    model: ModelConfig, encoder: Encoder, specs: Sequence[Any], device: torch.device
) -> torch.nn.Module:
    """The model of ``model`` with ``encoder``'s vocabulary and heads ``specs``, on ``device``; a
    :class:`ConfigError` when it cannot fit (:func:`check_model_size`, exact now that the vocabulary
    and heads are known) or its allocation fails for want of memory."""
    check_model_size(model, encoder, specs, device)
    try:
        return build_model({"model": model.to_dict(), "heads": list(specs)}, encoder).to(device)
    except (RuntimeError, MemoryError) as exc:  # torch.OutOfMemoryError is a RuntimeError
        # What the check cannot see: memory that other programs hold.
        if not isinstance(exc, MemoryError) and not _is_allocation_failure(exc):
            raise
        n = _parameter_count(model, encoder, specs)
        raise ConfigError(
            _too_big_message(model, n, str(device), available_memory(device), "available")
        ) from None


#: Bytes per trained parameter: fp32 weights, their gradients and AdamW's two moment estimates.
TRAINING_BYTES_PER_PARAMETER = 16


def check_model_size(
    model: ModelConfig, encoder: Encoder | None, specs: Sequence[Any], device: torch.device
) -> None:
    """ConfigError when the model of ``model`` could not be trained in ``device``'s memory.

    The parameters are counted exactly by building the model on the ``meta`` device (no memory is
    allocated, so even ``hidden=100000000`` is counted in milliseconds). Without ``encoder`` the count is
    a lower bound from the architecture alone (one input channel, no heads), usable before the data has
    fixed the vocabulary and classes. Training holds about :data:`TRAINING_BYTES_PER_PARAMETER` bytes per
    parameter, which must fit the training device's total memory; the model is built on the CPU first,
    so its fp32 weights must fit the machine's memory too.
    """
    n = _parameter_count(model, encoder, specs)
    train_bytes = n * TRAINING_BYTES_PER_PARAMETER
    cpu = torch.device("cpu")
    # (where, its memory, what it must hold): on a GPU the CPU still holds the model once, as built.
    checks = [(cpu, total_memory(cpu), train_bytes if device.type == "cpu" else 4 * n)]
    if device.type != "cpu":
        checks.append((device, total_memory(device), train_bytes))
    for where, limit, need in checks:
        if limit and need > limit:
            raise ConfigError(_too_big_message(model, n, str(where), limit, "", lower_bound=encoder is None))


def _parameter_count(model: ModelConfig, encoder: Encoder | None, specs: Sequence[Any]) -> int:
    """Parameters of the model (exact), or without ``encoder`` a lower bound (1 input channel, no heads)."""
    with torch.device("meta"):
        if encoder is None:
            built: torch.nn.Module = SeqRNN(dataclasses.replace(model, embed_dim=1, input="embedding"), 1, [])
        else:
            built = build_model({"model": model.to_dict(), "heads": list(specs)}, encoder)
    return sum(p.numel() for p in built.parameters())


def _too_big_message(
    model: ModelConfig, n: int, where: str, limit: int, kind: str, lower_bound: bool = False
) -> str:
    """``model.hidden=100000000: the model would have N parameters (X GB at fp32), more than ...``."""
    defaults = ModelConfig()
    sizes = ("hidden", "layers", "embed_dim", "conv_channels", "conv_kernel", "conv_layers", "head_hidden")
    # Name the sizes set above their defaults: the likely culprits (e.g. a mistyped --set model.hidden).
    grown = [k for k in sizes if getattr(model, k) > getattr(defaults, k)] or ["hidden", "layers"]
    changed = [f"model.{k}={getattr(model, k)}" for k in grown]
    memory = "this machine's memory" if where == "cpu" else f"the memory of {where}"
    if kind:
        memory = f"{memory} {kind}"
    return (
        f"{', '.join(changed)}: the model would have {'at least ' if lower_bound else ''}"
        f"{n:,} parameters ({_gb(4 * n)} at fp32, about {_gb(TRAINING_BYTES_PER_PARAMETER * n)} to train "
        f"with gradients and AdamW state), more than {memory} ({_gb(limit)}); make the model smaller"
    )


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def total_memory(device: torch.device) -> int:
    """Total memory in bytes of ``device`` (physical RAM for the CPU); 0 where it cannot be read."""
    try:
        if device.type == "cuda":
            return int(torch.cuda.get_device_properties(device).total_memory)
        if device.type == "cpu":
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, RuntimeError, AttributeError):  # no sysconf names (macOS/Windows), no GPU
        pass
    return 0


def available_memory(device: torch.device) -> int:
    """Memory in bytes that ``device`` can still allocate (``MemAvailable`` for the CPU), else its total."""
    try:
        if device.type == "cuda":
            return int(torch.cuda.mem_get_info(device)[0])
        if device.type == "cpu":
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
    except (OSError, ValueError, RuntimeError):
        pass
    return total_memory(device)


def _is_allocation_failure(exc: BaseException) -> bool:
    """Whether torch raised for want of memory (CPU allocator or CUDA out of memory)."""
    text = str(exc)
    return (
        isinstance(exc, getattr(torch, "OutOfMemoryError", ()))
        or "can't allocate memory" in text
        or "out of memory" in text
    )
