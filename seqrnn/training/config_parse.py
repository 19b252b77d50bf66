"""How raw YAML values become a typed run config: ``--set`` overrides, type coercion into the config
dataclasses (one-line :class:`ConfigError` for an unknown key or a wrong type, with a did-you-mean hint)
and the numeric ranges each field declares (``field(metadata={"range": RULE})``; see :mod:`seqrnn.training.config`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import re
import types
import typing
from typing import Any, Union

import yaml

from seqrnn.errors import ConfigError


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one ``KEY=VALUE`` override to the raw (parsed YAML) config mapping, in place.

    ``KEY`` is dotted (``train.lr``; list items by index, ``heads.0.columns``) and missing sections are
    created; ``VALUE`` is parsed as YAML (text that is not valid YAML stays text; an empty value is None).
    Raises :class:`ConfigError` for a missing ``=``, a bad list index or a key below a scalar value.
    """
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.hidden=256")
    key, value_text = item.split("=", 1)
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        value = value_text
    parts = key.strip().split(".")
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: {part!r} is not an index of a {len(node)}-item list")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif last:
            node[part] = value
        else:
            if node.get(part) is None:  # absent, or an empty YAML section (``model:`` with nothing under it)
                node[part] = {}
            node = node[part]
        # Checked after list items too: descending into a scalar list item would be a TypeError.
        if not last and not isinstance(node, dict | list):
            raise ConfigError(f"--set {key}: {'.'.join(parts[: i + 1])} is not a section")


def build_section(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config {where or 'root'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            hint = difflib.get_close_matches(str(key), names, n=1)
            extra = f" (did you mean {where + hint[0]!r}?)" if hint else ""
            raise ConfigError(f"unknown config key {where + str(key)!r}{extra}")
        kwargs[key] = coerce(hints[key], value, where + key)
    section = cls(**kwargs)
    check_ranges(section, where)
    return section


_BOUND = re.compile(r"(>=|>|<=|<)\s*(\S+)")
_INTERVAL = re.compile(r"([\[(])\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*([\])])")


def in_range(value: float, rule: str) -> bool:
    """Whether ``value`` satisfies a range rule such as ``"> 0"``, ``">= 1"`` or ``"[0, 1)"``."""
    if m := _BOUND.fullmatch(rule.strip()):
        op, bound = m.group(1), float(m.group(2))
        return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[op]
    if m := _INTERVAL.fullmatch(rule.strip()):
        low, high = float(m.group(2)), float(m.group(3))
        above = value > low if m.group(1) == "(" else value >= low
        below = value < high if m.group(4) == ")" else value <= high
        return above and below
    raise ValueError(f"malformed range rule {rule!r}")


def check_ranges(section: Any, where: str) -> None:
    """Check every field of one config section (a dataclass) against its declared ``range``.

    ``where`` is the section's key prefix for messages (``"train."``, ``"heads.0."``, ``""`` at the top).
    None (an unset optional key) is always allowed.
    """
    for f in dataclasses.fields(section):
        rule = f.metadata.get("range")
        value = getattr(section, f.name)
        if rule is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue  # unset (None), or a word a numeric key also takes (threshold: auto)
        if not in_range(value, rule):
            must = f"in {rule}" if rule.lstrip()[0] in "[(" else rule
            raise ConfigError(f"config {where}{f.name}: {value!r} is out of range (must be {must})")


def coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        # ``none`` as well as YAML's null: the documentation writes unset optional keys that way.
        if type(None) in args and (
            value is None or (isinstance(value, str) and value.strip().lower() == "none")
        ):
            return None
        inner = [a for a in args if a is not type(None)]
        for tp_ in inner[:-1]:  # e.g. float | str: a number if it reads as one, else text
            with contextlib.suppress(ConfigError):
                return coerce(tp_, value, where)
        return coerce(inner[-1], value, where)
    if dataclasses.is_dataclass(tp):
        return build_section(tp, value or {}, where + ".")
    if origin is dict:
        _key_tp, value_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config {where}: expected a mapping (KEY: VALUE, ...), got {value!r}")
        return {str(k): coerce(value_tp, v, f"{where}.{k}") for k, v in value.items()}
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str) and item_tp is str:
            # "HEC" -> ["H", "E", "C"]; "a,b" -> ["a", "b"]
            value = (
                value.split(",") if "," in value else list(value) if where.endswith("classes") else [value]
            )
        if not isinstance(value, list):
            raise ConfigError(f"config {where}: expected a list, got {value!r}")
        return [coerce(item_tp, v, f"{where}.{i}") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config {where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config {where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 (PyYAML) reads exponent floats without a dot, such as 1e-3, as text.
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"config {where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if value is None or isinstance(value, dict | list):
            raise ConfigError(f"config {where}: expected text, got {value!r}")
        return str(value)
    return value
