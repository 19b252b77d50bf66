"""The files shipped inside the package: run configs, the Snakemake workflow and its example inputs.

They sit next to this module, in the same layout as at the top of the repository (where ``configs``,
``workflows`` and ``data/examples`` are links to these folders)::

    seqrnn/resources/configs/        run configs for ``seqrnn train`` (``seqrnn configs`` lists them)
    seqrnn/resources/workflows/      Snakefile, config.yaml, schemas/, profiles/, slurm/
    seqrnn/resources/data/examples/  the small example inputs the configs and the workflow point at

A built-in config is named by its path below ``configs/`` without ``.yaml`` (``example_protein``,
``dna/promoter``, ``moleculenet/esol``). Files are read through :mod:`importlib.resources`; a wheel
installs them as plain files, so :func:`root` is a directory on disk.

The benchmark datasets are not shipped: a config that trains on one names it in its ``dataset:`` section
and reads it below the folder in the environment variable :data:`DATA_ENV` (``data.train:
${SEQRNN_DATA}/smiles/moleculenet/BBBP.csv``), or from ``--set data.train=PATH``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from seqrnn.errors import ConfigError, OutputError

#: Run-config keys that hold input paths; relative ones may name the shipped example inputs.
DATA_PATH_KEYS = ("train", "valid", "test", "genome")
#: The environment variable naming the folder that holds the benchmark datasets the shipped configs read
#: (``smiles/moleculenet/``, ``protein_ss/netsurfp2/``, ``dna/deepbind_chipseq/``, ``dna/cnnprom/``).
DATA_ENV = "SEQRNN_DATA"
#: Keys of the workflow's config.yaml that name inputs copied along by :func:`copy_workflow`.
WORKFLOW_INPUT_KEYS = ("train_config", "train_data", "predict_input")


def root() -> Path:
    """The folder holding ``configs/``, ``workflows/`` and ``data/examples/``."""
    return Path(str(resources.files(__name__)))


def config_names() -> list[str]:
    """Names of the built-in run configs, sorted."""
    base = root() / "configs"
    return sorted(p.relative_to(base).with_suffix("").as_posix() for p in base.rglob("*.yaml"))


def config_path(name: str) -> Path:
    """The file of built-in config ``name``; :class:`ConfigError` listing the names for an unknown one."""
    names = config_names()
    stem = name[: -len(".yaml")] if name.endswith(".yaml") else name
    if stem not in names:
        raise ConfigError(
            f"{name}: no such config file, and no built-in config of that name (built-in: {', '.join(names)})"
        )
    return root() / "configs" / f"{stem}.yaml"


def config_summary(path: Path) -> str:
    """One line about a config: its ``description``, else its first comment line."""
    text = path.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raw = None
    if isinstance(raw, dict) and str(raw.get("description") or "").strip():
        return " ".join(str(raw["description"]).split())
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def config_label(path: str | Path) -> str:
    """How messages name a config file: the path as given, or ``built-in config NAME`` for a shipped
    config read from the package by its absolute path (what ``seqrnn train NAME`` does)."""
    if not Path(path).is_absolute():
        return str(path)
    try:
        rel = Path(path).resolve().relative_to((root() / "configs").resolve())
    except ValueError:
        return str(path)
    return f"built-in config {rel.with_suffix('').as_posix()}"


def describe_configs() -> list[tuple[str, str]]:
    """(name, one-line summary) of every built-in config."""
    return [(name, config_summary(config_path(name))) for name in config_names()]


def resolve_config(arg: str | Path) -> tuple[Path, list[str]]:
    """The config file ``seqrnn train ARG`` reads, and ``--set`` overrides to apply before the user's.

    An existing path wins; otherwise ``arg`` names a built-in config. For a built-in config, a relative
    data path that does not exist from the working directory but is one of the shipped example inputs
    becomes an override pointing at the shipped file (so ``seqrnn train example_protein`` works from any
    directory after ``pip install seqrnn``); the user's own ``--set`` overrides come later and win.
    """
    if Path(arg).exists():
        return Path(arg), []
    path = config_path(str(arg))
    try:
        data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    except (yaml.YAMLError, AttributeError):
        return path, []  # load_config reports what is wrong with it
    overrides = []
    for key in DATA_PATH_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute() and not Path(value).exists():
            shipped = root() / value
            if shipped.is_file():
                overrides.append(f"data.{key}={shipped}")
    return path, overrides


def workflow_dir() -> Path:
    """The installed workflow folder (``Snakefile``, ``config.yaml``, ``schemas/``, ``profiles/``)."""
    return root() / "workflows"


def workflow_files(dest: Path) -> list[tuple[Path, Path]]:
    """(source, target) of every file :func:`copy_workflow` writes into ``dest``.

    The workflow folder's files go to ``dest`` itself; the inputs its default config names (the example
    run config and data) go to the same relative paths below ``dest``, where the Snakefile looks for them.
    """
    src = workflow_dir()
    pairs = [
        (p, dest / p.relative_to(src))
        for p in sorted(src.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".snakemake" not in p.parts
    ]
    defaults = yaml.safe_load((src / "config.yaml").read_text()) or {}
    for key in WORKFLOW_INPUT_KEYS:
        value = defaults.get(key)
        if isinstance(value, str) and not Path(value).is_absolute() and (root() / value).is_file():
            pairs.append((root() / value, dest / value))
    return pairs


def copy_workflow(dest: Path, force: bool = False) -> list[Path]:
    """Copy the workflow and its default inputs into ``dest`` (created); returns the files written.

    Raises :class:`OutputError` when a file would be overwritten (unless ``force``) or cannot be written.
    """
    pairs = workflow_files(Path(dest))
    existing = [str(target) for _, target in pairs if target.exists()]
    if existing and not force:
        raise OutputError(
            f"{dest}: {existing[0]} exists (and {len(existing) - 1} more); use --force to overwrite"
        )
    written = []
    for source, target in pairs:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
        except OSError as exc:
            raise OutputError(f"{target}: cannot write ({exc.strerror})") from None
        written.append(target)
    return written
