"""``seqrnn train``: fit a model from a YAML run config (a file, or a built-in config by name)."""

from __future__ import annotations

import json
import logging

import typer

from seqrnn.cli import common, console
from seqrnn.cli.options import THREADS_OPT, Device
from seqrnn.core.logs import event

logger = logging.getLogger(__name__)


def train(
    config: str = typer.Argument(
        ..., help="YAML run config: a file, or a built-in config name ('seqrnn configs'); a file wins."
    ),
    set_: list[str] = typer.Option([], "--set", help="Override a config key, e.g. --set model.hidden=256."),
    class_file: list[str] = typer.Option(
        [],
        "--class-file",
        help="CLASS=FILE: train on one file per class (repeat); sets data.class_files, replacing data.train.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in output_dir from its last checkpoint."
    ),
    device: Device | None = typer.Option(None, "--device", help="Overrides train.device."),
    threads: int | None = THREADS_OPT,
    stop_after: int | None = typer.Option(
        None,
        "--stop-after",
        min=1,
        help="Stop after N epochs with a resumable checkpoint (wall-time limits).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress messages."),
) -> None:
    """Train a model from a YAML config; writes model.pt, checkpoints and metrics.jsonl to output_dir."""
    from seqrnn.resources import resolve_config
    from seqrnn.training import train as run_training
    from seqrnn.training.config import load_config

    if quiet:
        console.set_quiet(summaries=False)  # train -q keeps its result line, as it always has
    path, overrides = resolve_config(config)  # a built-in config's shipped example data, before --set
    files = common.class_files(class_file)
    if files:  # the training data is these files, whatever data.train the config names
        overrides += ["data.train=''", f"data.class_files={json.dumps(files)}"]
    overrides.extend(set_)
    if device is not None:
        overrides.append(f"train.device={device.value}")
    if threads:
        overrides.append(f"train.threads={threads}")
    cfg = load_config(path, overrides)
    # Training still reports through a callback; its messages become `log` events of the seqrnn logger.
    result = run_training(
        cfg,
        resume=resume,
        log=logger.info,
        progress=not (quiet or console.STATE.quiet),
        stop_after=stop_after,
    )
    if not result.is_main:
        return  # one result line per run, from the process that wrote the files
    event(
        "result",
        model=result.model_path,
        best_epoch=result.best_epoch,
        monitor=result.monitor,
        value=result.best_value,
    )
    common.say(
        f"model: {result.model_path}\nbest epoch {result.best_epoch}: {result.monitor} = {result.best_value:.4f}"
    )
