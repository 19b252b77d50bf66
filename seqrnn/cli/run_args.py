"""The shared options of the model-running commands, as one argument: :func:`run_options` adds the
model-running options (device, threads, batch budget, workers, precision) and, on request, the
input-reading and test-view options to a command, and hands them to it as one :class:`RunArgs`.

Typer reads a command's parameters from its signature, so :func:`run_options` rewrites it: the
command declares only its own options plus ``run: RunArgs``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from seqrnn.cli import console
from seqrnn.cli.options import (
    BATCH_OPT,
    CHUNK_OPT,
    DEVICE_OPT,
    FORMAT_OPT,
    GENOME_OPT,
    IDCOL_OPT,
    MEMBERS_OPT,
    PRECISION_OPT,
    QUIET_OPT,
    SEQCOL_OPT,
    STANDARDIZE_OPT,
    THREADS_OPT,
    TOKENS_OPT,
    VIEWS_OPT,
    WINDOW_OPT,
    WORKERS_OPT,
    Device,
    Precision,
    Standardize,
)

#: name: (type, typer option) of the options every model-running command takes.
ENGINE = {
    "device": (Device, DEVICE_OPT),
    "threads": (int | None, THREADS_OPT),
    "batch_tokens": (int, TOKENS_OPT),
    "batch_size": (int, BATCH_OPT),
    "workers": (int, WORKERS_OPT),
    "precision": (Precision, PRECISION_OPT),
}
#: The input-reading options of commands that read sequence files (predict, evaluate).
READING = {
    "fmt": (str | None, FORMAT_OPT),
    "sequence_column": (str | None, SEQCOL_OPT),
    "id_column": (str | None, IDCOL_OPT),
    "genome": (Path | None, GENOME_OPT),
}
#: What the commands that read molecules take besides (views, SMILES standardisation).
VIEWS = {
    "test_views": (int | None, VIEWS_OPT),
    "members": (int | None, MEMBERS_OPT),
    "standardize": (Standardize | None, STANDARDIZE_OPT),
}
#: The window options of the genome-scale commands (variants, tile).
WINDOWS = {
    "window": (int | None, WINDOW_OPT),
    "chunk_size": (int, CHUNK_OPT),
}
QUIET = {"quiet": (bool, QUIET_OPT)}


@dataclass
class RunArgs:
    """The shared options as given: ``device``, ``threads``, ``engine`` (the
    :class:`~seqrnn.inference.engine.PredictOptions` fields given) and ``reading`` (the
    :class:`~seqrnn.io.formats.ReadOptions` fields; empty for commands without them), and the window
    options of the genome-scale commands. ``--quiet`` is applied before the command runs."""

    device: str
    threads: int | None
    engine: dict[str, Any] = field(default_factory=dict)
    reading: dict[str, Any] = field(default_factory=dict)
    window: int | None = None  # genome-scale commands: --window
    chunk_size: int = 4096  # genome-scale commands: --chunk-size


def run_options(
    reading: bool = False, views: bool = False, windows: bool = False, quiet: bool = True
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the shared model-running options (and with ``reading`` the input options, with
    ``views`` ``--test-views``, with ``windows`` ``--window``/``--chunk-size``, with ``quiet``
    ``--quiet``); the command takes them as one ``run: RunArgs`` parameter."""
    groups = (READING if reading else {}, VIEWS if views else {}, WINDOWS if windows else {})
    shared = {**ENGINE, **groups[0], **groups[1], **groups[2], **(QUIET if quiet else {})}

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(command)
        own = [
            p.replace(annotation=hints[p.name])
            for p in inspect.signature(command).parameters.values()
            if p.name != "run"
        ]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
            for name, (kind, option) in shared.items()
        ]

        @functools.wraps(command)
        def run_command(**given: Any) -> None:
            values = {name: given.pop(name) for name in shared}
            device, threads = values.pop("device"), values.pop("threads")
            values = {k: v.value if isinstance(v, Enum) else v for k, v in values.items()}
            read = {k: values.pop(k) for k in READING if k in values}
            if read.get("genome") is not None:
                read["genome"] = str(read["genome"])
            if values.pop("quiet", False):
                console.set_quiet()
            spans = {k: values.pop(k) for k in WINDOWS if k in values}
            command(**given, run=RunArgs(device.value, threads, values, read, **spans))

        run_command.__signature__ = inspect.Signature([*own, *added])  # type: ignore[attr-defined]
        run_command.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
        del run_command.__wrapped__  # typer must read the new signature, not the command's
        return run_command

    return decorate
