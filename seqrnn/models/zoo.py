"""The built-in models and choosing models by name: groups and patterns, several models at once, cards.

``seqrnn/models/pretrained/index.json`` lists every built-in model with its file, sha256, version, group
(``tf``, ``promoter``, ``moleculenet``, ``protein``) and the summary ``seqrnn models`` prints; the full
model card (data and licence, protocol, split, test metrics beside the published anchors, trained
input length, intended use, limits) is stored inside each bundle as ``metadata["card"]`` and printed by
``seqrnn info NAME`` (:mod:`seqrnn.models.cards`).

Several names in one call (``-m tf-USF1 -m tf-YY1``, a group ``-m tf`` or a pattern ``-m 'tf-*'``) load
as one :class:`~seqrnn.models.bundle.ModelBundle` around a :class:`~seqrnn.models.ensemble.ModelSet`: one
encoding of the input feeds every model, and each model's outputs go to a group of its own.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seqrnn.encoding.encoders import UNK, Encoder
from seqrnn.errors import ModelError
from seqrnn.models.builtins import builtin_index, builtin_name, closest_names, resolve_model_path
from seqrnn.models.bundle import ModelBundle, load_bundle, load_models

# The card's text is printed by seqrnn.models.cards; `seqrnn info` imports it from here.
from seqrnn.models.cards import CARD_ORDER as CARD_ORDER
from seqrnn.models.cards import card_text as card_text
from seqrnn.models.ensemble import ModelSet


def groups() -> dict[str, list[str]]:
    """Group name -> the built-in models in it, in index order. An earlier version kept by name (its
    entry has ``superseded_by``, e.g. ``protein-ss-v1``) is left out: a group means the current models."""
    out: dict[str, list[str]] = {}
    for name, entry in builtin_index().items():
        if entry.get("group") and not entry.get("superseded_by"):
            out.setdefault(entry["group"], []).append(name)
    return out


def expand_names(names: Sequence[str | Path], allow_repeats: bool = False) -> list[str]:
    """Model arguments -> model names or paths: a group name (``tf``) or a pattern with ``*``/``?``
    (``tf-*``) stands for the matching current built-in models, sorted (an earlier version kept by name
    is used only when named); anything else is kept as given.

    Raises :class:`ModelError` for a pattern that matches no built-in model, and for a model named twice
    unless ``allow_repeats`` (an ensemble may hold a model twice; side by side their groups would clash).
    """
    index = builtin_index()
    grouped = {name.casefold(): members for name, members in groups().items()}
    out: list[str] = []
    for raw in names:
        text = str(raw)
        if text in index or Path(text).is_file():
            out.append(text)
        elif builtin_name(text) is not None:
            out.append(builtin_name(text))  # type: ignore[arg-type]
        elif text.casefold() in grouped:
            out.extend(grouped[text.casefold()])
        elif any(c in text for c in "*?["):
            current = [n for n in index if not index[n].get("superseded_by")]  # as groups(): current only
            # Patterns match in any letter case, as names do.
            hits = sorted(n for n in current if fnmatch.fnmatchcase(n.casefold(), text.casefold()))
            if not hits:
                raise ModelError(f"{text}: no built-in model matches (seqrnn models lists them)")
            out.extend(hits)
        elif _looks_like_a_name(text):
            raise ModelError(
                f"{text}: no built-in model or group of that name{closest_names(text, [*index, *groups()])}"
            )
        else:
            out.append(text)  # a missing file: load_bundle says so
    repeated = sorted({n for n in out if out.count(n) > 1})
    if repeated and not allow_repeats:
        raise ModelError(f"model {repeated[0]} is given more than once")
    return out


def _looks_like_a_name(text: str) -> bool:
    """A bare word (no folder, no file suffix): meant as a built-in name, not a path."""
    return "/" not in text and "\\" not in text and not Path(text).suffix


def load_named(
    names: Sequence[str | Path], device: str | torch.device = "cpu", ensemble: bool = False
) -> ModelBundle:
    """What ``-m`` (and ``model=``) name: side by side (:func:`load_model_set`), or with ``ensemble``
    averaged as one ensemble (:func:`seqrnn.models.bundle.load_models`; a model may then be named twice)."""
    if ensemble:
        return load_models(expand_names(names, allow_repeats=True), device)
    return load_model_set(names, device)


def load_model_set(names: Sequence[str | Path], device: str | torch.device = "cpu") -> ModelBundle:
    """One model (a plain bundle) or several side by side (a :class:`ModelSet` bundle) by name or path.

    Raises :class:`ModelError` when the models read different alphabets (one encoding must serve all)
    or two of them have the same name (their output groups would collide).
    """
    expanded = expand_names(names)
    if not expanded:
        raise ModelError("no model given")
    bundles = [load_bundle(n, device) for n in expanded]
    if len(bundles) == 1:
        return bundles[0]
    bundles = [_as_requested(b, n) for b, n in zip(bundles, expanded, strict=True)]
    labels = [b.name for b in bundles]
    if len(set(labels)) < len(labels):
        raise ModelError(f"two models are named {labels[0]}: rename one bundle (seqrnn info shows names)")
    encoder, remaps = _shared_encoder(bundles)
    model = ModelSet({b.name: b.model for b in bundles}, remaps)
    first = bundles[0]
    metadata = {
        **first.metadata,
        "heads": [{**h, "name": f"{b.name}/{h['name']}"} for b in bundles for h in b.heads],
        "model_set": [{"name": b.name, "sha256": b.sha256, "version": b.version} for b in bundles],
    }
    metadata.pop("ensemble", None)
    sha = hashlib.sha256("".join(b.sha256 for b in bundles).encode()).hexdigest()
    name = "+".join(labels)
    metadata["encoder"] = encoder.to_config()
    return ModelBundle(model, encoder, metadata, None, sha, name, members=bundles)  # type: ignore[arg-type]


def _as_requested(bundle: ModelBundle, requested: str | Path) -> ModelBundle:
    """A built-in named by its index entry goes by that name beside other models. Why: an earlier
    version's file carries the model's name (``protein-ss-v1``'s says ``protein-ss``), so comparing
    versions side by side (``-m protein-ss -m protein-ss-v1``) needs the name asked for, which is what
    its HDF5 group is then called. Files given by path keep the name stored in them."""
    _, name, expected_sha = resolve_model_path(requested)
    if expected_sha is None or name == bundle.name:
        return bundle
    return dataclasses.replace(bundle, name=name)


def _shared_encoder(bundles: Sequence[ModelBundle]) -> tuple[Encoder, dict[str, torch.Tensor]]:
    """One encoder for every model of a set, and per model whose vocabulary differs from it a token
    remap (union id -> the model's id). Models must read the same kind of input with the same settings;
    only vocabularies fitted on training data (SMILES, with ``<unk>`` for unseen tokens) may differ.
    Raises :class:`ModelError` otherwise."""
    first = bundles[0]
    config = {k: v for k, v in first.metadata["encoder"].items() if k != "tokens"}
    for other in bundles[1:]:
        if {k: v for k, v in other.metadata["encoder"].items() if k != "tokens"} != config:
            raise ModelError(
                f"models {first.name} ({first.encoder.name}) and {other.name} ({other.encoder.name}) "
                "read different inputs: predict them in separate calls"
            )
    if all(b.metadata["encoder"] == first.metadata["encoder"] for b in bundles):
        return first.encoder, {}
    if UNK not in first.encoder.index:
        raise ModelError(f"models {first.name} and others read different alphabets: predict them apart")
    union = list(first.encoder.tokens)
    for b in bundles[1:]:
        union += [t for t in b.encoder.tokens if t not in set(union)]
    encoder = Encoder.from_config({**first.metadata["encoder"], "tokens": union})
    remaps = {
        b.name: torch.tensor([b.encoder.index.get(t, b.encoder.index[UNK]) for t in union], dtype=torch.long)
        for b in bundles
        if b.encoder.tokens != union
    }
    return encoder, remaps


def model_line(name: str, entry: dict[str, Any]) -> str:
    """One ``seqrnn models`` line: name, task, inputs, outputs, training data, test metric, size."""
    size = entry.get("bytes", 0) / 1e6
    cells = [
        f"{name:<20}",
        entry.get("task", entry.get("description", "")),
        f"in: {entry['inputs']}" if entry.get("inputs") else "",
        f"out: {entry['outputs']}" if entry.get("outputs") else "",
        f"data: {entry['data']}" if entry.get("data") else "",
        f"test: {entry['test']}" if entry.get("test") else "",
        f"v{entry['version']}" if entry.get("version") else "",
        f"superseded by {entry['superseded_by']}" if entry.get("superseded_by") else "",
        f"{size:.1f} MB",
    ]
    return " | ".join(c for c in cells if c)
