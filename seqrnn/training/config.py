"""Run configuration: one YAML file describes a whole training run (Selene-style).

Sections: top-level ``name``, ``seed``, ``encoder``, ``output_dir``; ``dataset`` (the public dataset the
run trains on: name, source URL, sha256); ``data`` (paths and columns), ``heads`` (list of task heads),
``model`` (:class:`seqrnn.models.ModelConfig`), ``train`` (optimiser, schedule, early stopping). Validation
is strict: an unknown key or a wrong type is a one-line :class:`ConfigError`. ``--set a.b=value``
overrides any key (values parsed as YAML; list items by index, e.g. ``heads.0.columns=[dssp8]``). Data
paths may name environment variables, ``${SEQRNN_DATA}/smiles/moleculenet/BBBP.csv``, replaced after the
overrides (:mod:`seqrnn.training.config_paths`). The resolved config is saved next to the run's outputs.

Every numeric key declares its allowed range next to its field, ``field(metadata={"range": RULE})`` with
RULE one of ``"> a"``, ``">= a"``, ``"< a"``, ``"<= a"`` or an interval such as ``"[0, 1)"``; loading
checks them all (:func:`seqrnn.training.config_parse.check_ranges`). Optional keys (``X | None``) take ``none`` as well as YAML's
``null``, because the documentation writes their defaults that way. The checks across keys
(:mod:`seqrnn.training.config_checks`) ask each head kind what it allows, so the whole config is checked
before any data is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from seqrnn.errors import ConfigError
from seqrnn.io.files import atomic_write_text
from seqrnn.resources import config_label
from seqrnn.training.config_checks import check_config

# Kept importable from here, where the trainer and the CLI import them.
from seqrnn.training.config_checks import check_monitor as check_monitor
from seqrnn.training.config_checks import monitor_choices as monitor_choices
from seqrnn.training.config_parse import apply_override, build_section
from seqrnn.training.config_paths import expand_data_paths
from seqrnn.training.config_sections import DataConfig, DatasetConfig, HeadConfig, RunConfig, TrainConfig

__all__ = [
    "DataConfig",
    "DatasetConfig",
    "HeadConfig",
    "RunConfig",
    "TrainConfig",
    "check_monitor",
    "config_from_mapping",
    "dump_config",
    "load_config",
    "monitor_choices",
]


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> RunConfig:
    """Read, override and validate a run config.

    Args:
        path: the YAML file; None: start from the defaults (overrides only).
        overrides: ``--set`` items, ``"a.b=value"`` (see :func:`apply_override`), applied in order.

    Raises :class:`ConfigError` for an unreadable file, invalid YAML, a top level that is not a mapping,
    an unknown key, a wrong type, a value out of range, keys that do not fit together, or a data path
    naming an environment variable that is not set (``${SEQRNN_DATA}``).
    """
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: a config must be a mapping of keys to values")
    _apply_overrides(raw, overrides or [])
    config = build_section(RunConfig, raw, "")
    check_config(config)
    expand_data_paths(config.data, "config" if path is None else config_label(path))
    return config


def config_from_mapping(raw: Any, overrides: list[str] | None = None) -> RunConfig:
    """:func:`load_config` for a config given as a mapping (the parsed YAML), e.g. from Python.

    The same ``--set`` overrides and the same validation apply; ``raw`` itself is not modified.
    """
    import copy

    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a mapping of keys to values, not {type(raw).__name__}")
    raw = copy.deepcopy(raw)
    _apply_overrides(raw, overrides or [])
    config = build_section(RunConfig, raw, "")
    check_config(config)
    expand_data_paths(config.data, "config")
    return config


def _apply_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """Apply the ``--set`` items in order. The ``dataset:`` section describes the training data the
    config names: overriding ``data.train`` or ``data.class_files`` drops it, unless a ``dataset`` key
    is overridden too, so a model trained on other data does not claim the config's dataset."""
    before = _training_data(raw)
    for item in overrides:
        apply_override(raw, item)
    keys = [item.partition("=")[0].strip() for item in overrides]
    if _training_data(raw) != before and not any(k.split(".")[0] == "dataset" for k in keys):
        raw.pop("dataset", None)


def _training_data(raw: dict[str, Any]) -> tuple[Any, Any]:
    data = raw.get("data")
    return (data.get("train"), data.get("class_files")) if isinstance(data, dict) else (None, None)


def dump_config(config: RunConfig, path: Path) -> None:
    """Write the resolved config to ``path`` as YAML, keys in field order."""
    atomic_write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
