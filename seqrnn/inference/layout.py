"""Writing a predictions file (layout in :mod:`seqrnn.io.predictions`): the datasets of a run for its
heads, the provenance attributes, and one window of decoded outputs as :meth:`RaggedH5Writer.append`
arguments.

Shapes per window: ``residue[head]`` (R_window, C) rows of all examples concatenated, ``sequence[head]``
(N_window, C); an ensemble's ``*_std`` the same shapes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from seqrnn.inference.engine import WindowResult
from seqrnn.io.hdf5 import DatasetSpec
from seqrnn.io.inputs import ReadOptions
from seqrnn.io.outputs import provenance
from seqrnn.io.predictions import FORMAT, FORMAT_VERSION
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.heads import Head

Layout = tuple[dict[str, DatasetSpec], dict[str, DatasetSpec]]


def dataset_key(name: str, head: Head, std: bool = False) -> str:
    """Where head ``name``'s outputs live: ``residue/<name>/probs``, ``sequence/<name>/values``, ...
    (``<model>/<head>`` names of several models nest one group per model); ``std``: an ensemble's std
    over members, ``<level>/<name>/std``."""
    return f"{head.level}/{name}/{'std' if std else head.output}"


def dataset_layout(heads: Mapping[str, Head], std: Collection[str] = ()) -> Layout:
    """The datasets of a predictions file for these heads (by name); the heads named in ``std`` (an
    ensemble's) get a ``std`` beside each mean."""
    residue: dict[str, DatasetSpec] = {}
    # The sequence as the model saw it (after the input policy), aligned with the residue axis.
    sequence: dict[str, DatasetSpec] = {
        "sequences": DatasetSpec(None, h5py.string_dtype("utf-8")),
        # Position of each record in the (concatenated) input; merging shards restores this order.
        "record_index": DatasetSpec(None, np.int64),
        # Letters replaced by the unknown letter (X / N) under --on-invalid mask; 0 for clean records.
        "masked": DatasetSpec(None, np.int32),
    }
    for name, head in heads.items():
        spec = DatasetSpec(
            len(head.classes), np.float32, {head.label_attr: np.array(head.classes, dtype="S")}
        )
        spec.attrs["kind"] = head.kind
        level = residue if head.level == "residue" else sequence
        if head.spec.threshold is not None:
            spec.attrs["threshold"] = head.spec.threshold  # the CSV export's class call uses it
        level[dataset_key(name, head)] = spec
        if name in std:
            level[dataset_key(name, head, std=True)] = DatasetSpec(spec.columns, spec.dtype, dict(spec.attrs))
    return residue, sequence


def file_attrs(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    shard: tuple[int, int] | None,
    precision: str,
    command: str,
) -> dict[str, Any]:
    """The provenance attributes of a predictions file (model, inputs, command, precision, time)."""
    attrs: dict[str, Any] = {
        **provenance(FORMAT, FORMAT_VERSION, command),
        "model_name": bundle.name,
        "model_sha256": bundle.sha256,
        "model_version": bundle.version,
    }
    models = bundle.metadata.get("model_set")
    if models:  # several models side by side: each one's name, sha256 and version
        for key in ("name", "sha256", "version"):
            attrs[f"models_{key}"] = np.array([m[key] for m in models], dtype="S")
    members = bundle.metadata.get("ensemble")
    if members:
        attrs["model_members"] = np.array([m["model"] for m in members], dtype="S")
        attrs["model_members_sha256"] = np.array([m["sha256"] for m in members], dtype="S")
    attrs.update(
        inputs=np.array([str(p) for p in inputs], dtype="S"),
        shard="{}/{}".format(*(shard or (1, 1))),
        precision=precision,
    )
    return attrs


def input_attrs(read: ReadOptions) -> dict[str, str]:
    """How the inputs were read, so ``seqrnn export -f csv`` can put predictions next to their rows."""
    return {
        "input_format": read.fmt or "",
        "sequence_column": read.sequence_column or "",
        "id_column": read.id_column or "",
        "genome": read.genome or "",
    }


def window_payload(
    heads: Mapping[str, Head], result: WindowResult, sequences: Sequence[str]
) -> dict[str, Any]:
    """One window of decoded outputs as :meth:`RaggedH5Writer.append` arguments.

    ``result.residue[head]`` (R_window, C) and ``result.sequence[head]`` (N_window, C), keyed by head
    name; an ensemble's ``residue_std``/``sequence_std`` (same shapes) go to the ``std`` datasets;
    ``sequences`` are the examples' sequences as the model saw them (decoded tokens).
    """
    examples = result.examples
    return {
        "ids": [e.id for e in examples],
        "lengths": np.array([e.tokens.size for e in examples], dtype=np.int64),
        "residue": {
            **{dataset_key(n, heads[n]): a for n, a in result.residue.items()},
            **{dataset_key(n, heads[n], std=True): a for n, a in result.residue_std.items()},
        },
        "sequence": {
            "sequences": np.array(sequences, dtype=object),
            "record_index": np.array([e.index for e in examples], dtype=np.int64),
            "masked": np.array([e.masked for e in examples], dtype=np.int32),
            **{dataset_key(n, heads[n]): a for n, a in result.sequence.items()},
            **{dataset_key(n, heads[n], std=True): a for n, a in result.sequence_std.items()},
        },
    }
