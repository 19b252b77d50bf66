"""Environment variables in a run config's data paths: ``${NAME}`` stands for the variable's value.

A config that trains on a public dataset names the file below a folder each machine chooses, e.g. the
shipped ``data.train: ${SEQRNN_DATA}/smiles/moleculenet/BBBP.csv`` (:data:`seqrnn.resources.DATA_ENV`).
The variables are replaced once the ``--set`` overrides are applied, so ``--set data.train=PATH`` needs
none; an unset or empty variable is a one-line :class:`ConfigError` that says what to set, or what to
pass instead. Only ``${NAME}`` is replaced (a ``$`` without braces is part of the path).
"""

from __future__ import annotations

import os
import re
from typing import Any

from seqrnn.errors import ConfigError

#: ``${NAME}`` with NAME an environment variable name.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: ``data.`` keys whose values are file paths (``class_files`` maps classes to paths).
PATH_KEYS = ("train", "valid", "test", "genome")


def expand_path(value: str, key: str, source: str) -> str:
    """``value`` with every ``${NAME}`` replaced by the environment variable's value.

    ``key`` (``data.train``) and ``source`` (the config, as messages name it) make the error message:
    ``SOURCE: data.train: ${SEQRNN_DATA} is not set; set it to the folder holding
    smiles/moleculenet/BBBP.csv or pass --set data.train=PATH``.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        found = os.environ.get(name, "")
        if not found:
            raise ConfigError(_unset(value, match, key, source, "is empty" if name in os.environ else ""))
        # ${DATA}/x with DATA=/data/ gives /data/x, not /data//x
        return found.rstrip("/") if value[match.end() : match.end() + 1] == "/" and found != "/" else found

    return VARIABLE.sub(replace, value)


def _unset(value: str, match: re.Match[str], key: str, source: str, state: str) -> str:
    name = match.group(0)
    rest = value[match.end() :].lstrip("/")
    what = f"set it to the folder holding {rest}" if match.start() == 0 and rest else "set it"
    return f"{source}: {key}: {name} {state or 'is not set'}; {what} or pass --set {key}=PATH"


def expand_data_paths(data: Any, source: str) -> None:
    """Replace the variables in every path of a ``data:`` section (a DataConfig), in place."""
    for key in PATH_KEYS:
        value = getattr(data, key)
        if isinstance(value, str) and "${" in value:
            setattr(data, key, expand_path(value, f"data.{key}", source))
    data.class_files = {
        label: expand_path(path, f"data.class_files.{label}", source) if "${" in path else path
        for label, path in data.class_files.items()
    }
