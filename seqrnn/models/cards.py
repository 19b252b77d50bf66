"""What ``seqrnn info`` prints about a model: the bundle's summary and its model card.

The training data are named by dataset, source, licence and sha256, never by the path the file had on
the machine that trained the model. They come from, in order: a built-in model's ``training_files`` in
``index.json``; the table of public data files (:mod:`seqrnn.models.datasets`), found by the bundle's
data fingerprint; the ``dataset:`` section of the config the model was trained with (checked against the
fingerprint where that covers the training file alone); else the training file's name alone. A path
written into a card's text is shown as its file name, or below ``$SEQRNN_DATA`` when it lies in one of
the benchmark data folders.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from torch import nn

from seqrnn.models.builtins import builtin_entry
from seqrnn.models.datasets import DATA_FILES, DataFile, find_file, find_sha256
from seqrnn.resources import DATA_ENV


class ModelBundle(Protocol):
    """What a card reads of a bundle (:class:`seqrnn.models.bundle.ModelBundle` is one)."""

    name: str
    path: Path | None
    sha256: str
    metadata: dict[str, Any]
    model: nn.Module


#: The order a card is printed in (bundles store JSON with sorted keys); other keys follow.
CARD_ORDER = (
    "name", "version", "task", "inputs", "outputs", "trained lengths", "training data",
    "source and licence", "protocol", "split", "members", "test metrics", "published anchors",
    "float16 vs float32", "intended use", "limits", "reproduce", "rebuild",
)  # fmt: skip

#: A word that is an absolute path, or one above the working directory (``/x/y``, ``../x``, ``~/x``).
_PATH = re.compile(r"(?<!\S)(?:/|\.\./|~/)\S*")


def describe_bundle(bundle: ModelBundle) -> str:
    """A human-readable summary: name, file, checksum, encoder, architecture, heads, data, metrics."""
    meta = bundle.metadata
    m = meta["model"]
    n_params = sum(p.numel() for p in bundle.model.parameters())
    convs = m.get("conv_layers", 1)
    front = (
        f"{convs} x {m['conv_channels']}"
        if m["conv_channels"] and convs > 1
        else m["conv_channels"] or "none"
    )
    lines = [
        f"name:       {bundle.name}",
        f"file:       {bundle.path}",
        f"sha256:     {bundle.sha256}",
        f"seqrnn:     {meta.get('seqrnn_version')}   created {meta.get('created', '?')}",
        f"encoder:    {meta['encoder']['name']} ({len(meta['encoder']['tokens'])} tokens)",
        f"model:      Bi{m['cell'].upper()} {m['layers']} x {m['hidden']}, "
        f"conv {front}, {n_params:,} parameters",
    ]
    for spec in meta["heads"]:
        lines.append(f"head:       {spec['name']} [{spec['kind']}] {' '.join(spec['classes'])}")
    lines += data_lines(meta, builtin_entry(bundle.path, bundle.sha256))
    for head, metrics in meta.get("valid_metrics", {}).items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "n" and isinstance(v, float))
        lines.append(f"valid:      {head}: {shown}")
    if meta.get("description"):
        lines.append(f"about:      {meta['description']}")
    return "\n".join(lines)


def data_lines(metadata: dict[str, Any], entry: dict[str, Any] | None = None) -> list[str]:
    """The ``trained on`` lines of a summary: dataset, source, licence, files with their sha256, and
    the data fingerprint the trainer recorded; ``entry``: the model's ``index.json`` entry if built in."""
    data = metadata.get("data") or {}
    if not data:
        return []
    counts = f"records:    {data.get('n_train')} train / {data.get('n_valid')} valid" + (
        f" / {data['n_test']} test" if data.get("n_test") else ""
    )
    declared = (metadata.get("train_config") or {}).get("dataset") or {}
    known = [f for f in map(find_file, (entry or {}).get("training_files", [])) if f is not None]
    fingerprint = str(data.get("fingerprint") or "")
    if not known and fingerprint:  # a published file, recognised by its checksum wherever it lay
        known = [f for f in [find_sha256(fingerprint)] if f is not None]
    if known:
        lines = _table_lines(known, counts)
    elif declared.get("name"):
        lines = _declared_lines(declared, data, metadata, counts)
    else:
        lines = [f"trained on: {_file_names(data, metadata) or 'unknown data'}", counts]
    if fingerprint:
        lines.append(f"data hash:  {fingerprint}")
    return lines


def _table_lines(files: list[DataFile], counts: str) -> list[str]:
    lines = [f"trained on: {'; '.join(dict.fromkeys(f.dataset for f in files))}", counts]
    lines += [f"source:     {url}" for url in dict.fromkeys(f.url for f in files)]
    lines += [f"licence:    {terms}" for terms in dict.fromkeys(f.licence for f in files)]
    for f in files:
        lines.append(f"data file:  {f.file} sha256 {f.sha256}" + (f" ({f.note})" if f.note else ""))
    return lines


def _declared_lines(
    declared: dict[str, Any], data: dict[str, Any], metadata: dict[str, Any], counts: str
) -> list[str]:
    """A ``dataset:`` section of the training config; its sha256 is checked against the fingerprint
    where that covers the training file alone."""
    sha = str(declared.get("sha256") or "")
    one_file = bool(data.get("train")) and not data.get("valid") and not data.get("test")
    fingerprint = str(data.get("fingerprint") or "")
    if sha and one_file and fingerprint and fingerprint != f"sha256:{sha}":
        return [
            f"trained on: {_file_names(data, metadata) or 'unknown data'}",
            counts,
            f"note:       the data hash is not the sha256 of the config's dataset, {declared['name']} ({sha})",
        ]
    lines = [f"trained on: {declared['name']}", counts]
    if declared.get("url"):
        lines.append(f"source:     {declared['url']}")
    if declared.get("licence"):
        lines.append(f"licence:    {declared['licence']}")
    if sha:
        names = _file_names(data, metadata)
        lines.append(f"data file:  {names + ' ' if names else ''}sha256 {sha}")
    return lines


def _file_names(data: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The training file's name (or the class files' names), without the folders it was read from."""
    if data.get("train"):
        return PurePosixPath(str(data["train"])).name
    class_files = ((metadata.get("train_config") or {}).get("data") or {}).get("class_files") or {}
    return ", ".join(PurePosixPath(str(p)).name for p in class_files.values())


def portable(text: str) -> str:
    """``text`` with every absolute or ``../`` path shown as ``$SEQRNN_DATA/FOLDER/FILE`` when it lies in
    one of the benchmark data folders (``dna/deepbind_chipseq``, ...), else as its file name."""
    folders = sorted({f.folder for f in DATA_FILES}, key=len, reverse=True)

    def shown(match: re.Match[str]) -> str:
        path = match.group(0)
        for folder in folders:
            _, sep, tail = path.partition(f"/{folder}/")
            if sep:
                return f"${DATA_ENV}/{folder}/{tail}"
        return PurePosixPath(path).name or path

    return _PATH.sub(shown, text)


def card_text(card: dict[str, Any]) -> str:
    """A model card as indented ``key: value`` lines (nested mappings and lists one level deep); paths
    in its text are shown as :func:`portable` writes them."""
    lines = ["model card:"]
    keys = [k for k in CARD_ORDER if k in card] + [k for k in card if k not in CARD_ORDER]
    for key, value in ((k, card[k]) for k in keys):
        if isinstance(value, dict):
            lines.append(f"  {key}:")
            lines += [f"    {k}: {portable(str(v))}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"  {key}:")
            lines += [f"    - {portable(str(v))}" for v in value]
        else:
            lines.append(f"  {key}: {portable(str(value))}")
    return "\n".join(lines)
