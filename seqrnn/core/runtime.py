"""Where and how a model runs: the device, the numeric precision and the CPU thread count.

One place resolves the CLI's ``--device``, ``--precision`` and ``--threads`` (and the config's
``train.device``) into what torch needs, so prediction, evaluation and training agree on them.
"""

from __future__ import annotations

import functools

import torch

from seqrnn.errors import SeqrnnError, UsageError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when available, else the CPU; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if (name == "cuda" or name.startswith("cuda:")) and not torch.cuda.is_available():
        raise SeqrnnError("--device cuda was requested but no CUDA device is available")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise SeqrnnError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` is bf16 where the hardware computes it natively (CPUs with AVX512-BF16 or AMX, CUDA GPUs
    that support it), fp32 elsewhere: the built-in model's Q3/Q8 move by at most 0.07 points in bf16
    (docs/performance.md), while emulated bf16 on older CPUs would be slower than fp32."""
    if name not in PRECISIONS:
        raise SeqrnnError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if name == "bf16" and device.type == "cpu" and not cpu_bf16_rnn_works():
        raise SeqrnnError(
            "precision bf16: this CPU cannot run LSTM/GRU layers in bf16 (oneDNN needs AVX512 for it); "
            "use fp32 or auto"
        )
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = [getattr(torch.cpu, f, None) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return "bf16" if any(f is not None and f() for f in native) else "fp32"


@functools.cache
def cpu_bf16_rnn_works() -> bool:
    """Whether torch runs LSTM and GRU layers under bf16 autocast on this CPU (checked once on a tiny
    input): oneDNN has no bf16 RNN kernel for CPUs without AVX512 and raises instead."""
    try:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            for cell in (torch.nn.LSTM, torch.nn.GRU):
                cell(4, 4, batch_first=True, bidirectional=True)(torch.zeros(1, 2, 4))
    except RuntimeError:
        return False
    return True


def check_threads(threads: object) -> None:
    """A ``threads`` argument of the Python API: None or a whole number of at least 1, else a
    :class:`UsageError` naming it (the CLI's ``--threads`` checks the same through its option type)."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise UsageError(f"threads={threads!r}: expected an integer of at least 1")


def set_threads(threads: int | None) -> None:
    """Set torch's CPU thread count (None or 0: keep torch's own choice)."""
    if threads:
        torch.set_num_threads(threads)
