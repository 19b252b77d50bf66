"""What a variants run is given and reports: :class:`VariantOptions`, the models as scored
(:class:`ScoringModel`: label, bundle, input width; :func:`scoring_models` checks and labels them),
:class:`VariantSummary`, and the root attributes that name the models in a variants or track file
(one entry per model: ``models``, ``model_names``, ``model_sha256s`` (S) and ``windows`` (int64))."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.core.runtime import resolve_precision
from seqrnn.errors import ModelError
from seqrnn.inference.engine import PredictOptions
from seqrnn.io.effects import FORMAT, FORMAT_VERSION, META
from seqrnn.io.outputs import provenance
from seqrnn.models.bundle import ModelBundle

DEFAULT_WINDOW = 101


@dataclass
class VariantOptions:
    """How variants are read, checked and scored (the CLI's options of the same names)."""

    window: int | None = None  # input width for every model (None: each model's trained length)
    chunk_size: int = 4096  # variants read, scored and written at once
    # ref_mismatch: bad records (REF mismatch, unknown contig, ...) get a status and NaN scores;
    # error: stop at the first REF mismatch or unknown contig.
    on_invalid: str = "ref_mismatch"
    shard: tuple[int, int] | None = None
    region: str | None = None  # chr:start-end (needs an indexed VCF)
    # The input is a BED file of regions: every possible SNV in them (seqrnn.io.saturation).
    saturation: bool = False
    predict: PredictOptions = field(default_factory=PredictOptions)


@dataclass
class ScoringModel:
    """A model as scored: its label in the file (``variants/<label>/...``), bundle and window width."""

    label: str
    bundle: ModelBundle
    width: int

    @property
    def heads(self) -> dict[str, tuple[str, list[str]]]:
        """{head: (kind, classes)} of the sequence-level heads."""
        return {
            n: (h.kind, list(h.classes)) for n, h in self.bundle.model.heads.items() if h.level != "residue"
        }


@dataclass
class VariantSummary:
    """What a variants run did: counts per status, chunks predicted/reused, time, chr aliases used."""

    output: Path
    n_variants: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    chunks_scored: int = 0
    chunks_reused: int = 0
    seconds: float = 0.0
    aliases: dict[str, str] = field(default_factory=dict)


def trained_width(bundle: ModelBundle, default: int = DEFAULT_WINDOW) -> int:
    """The input length a model was trained on: the longest of ``metadata.data.lengths`` ([min, max])
    when the bundle stores it, else ``default``."""
    lengths = (bundle.metadata.get("data") or {}).get("lengths")
    if isinstance(lengths, (list, tuple)) and lengths:
        return int(max(lengths))
    if isinstance(lengths, (int, float)) and lengths > 0:
        return int(lengths)
    return default


def scoring_models(bundles: Sequence[tuple[str, ModelBundle]], window: int | None) -> list[ScoringModel]:
    """Check the models (DNA encoder, a sequence-level head) and give each a unique label and width.

    ``bundles``: (name as given, bundle). Labels: a built-in name as is; for a file its stem, or its
    directory's name when the stem is ``model`` (``runs/USF1/model.pt`` -> ``USF1``); repeats get
    ``_2``, ``_3``, ...
    """
    models: list[ScoringModel] = []
    seen: dict[str, int] = {}
    for given, bundle in bundles:
        if bundle.encoder.name != "dna":
            raise ModelError(f"{given}: a {bundle.encoder.name} model; variant effects need a DNA model")
        if not any(h.level != "residue" for h in bundle.model.heads.values()):
            raise ModelError(f"{given}: no sequence-level head to score variants with")
        path = Path(given)
        label = (
            path.parent.name
            if path.suffix == ".pt" and path.stem == "model" and path.parent.name
            else path.stem
        )
        label = label.replace("/", "_") or "model"
        if label in META:  # a model file named like a variants dataset (chrom.pt)
            label = f"{label}_model"
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}_{seen[label]}"
        models.append(ScoringModel(label, bundle, window or trained_width(bundle)))
    return models


def model_attrs(models: Sequence[ScoringModel]) -> dict[str, np.ndarray]:
    """The scoring models of a variants or track file: labels, names, sha256s and window widths."""
    return {
        "models": np.array([m.label for m in models], dtype="S"),
        "model_names": np.array([m.bundle.name for m in models], dtype="S"),
        "model_sha256s": np.array([m.bundle.sha256 for m in models], dtype="S"),
        "windows": np.array([m.width for m in models], dtype=np.int64),
    }


def file_attributes(
    models: Sequence[ScoringModel],
    vcf: str | Path,
    genome: str | Path,
    options: VariantOptions,
    command: str,
    device: torch.device,
) -> dict[str, Any]:
    """The root attributes of a variants file."""
    return {
        **provenance(FORMAT, FORMAT_VERSION, command),
        "input": str(vcf),
        "genome": str(genome),
        **model_attrs(models),
        "window": int(max(m.width for m in models)),
        "shard": "{}/{}".format(*(options.shard or (1, 1))),
        "precision": resolve_precision(options.predict.precision, device),
        "region": options.region or "",
        "input_kind": "saturation" if options.saturation else "vcf",
    }
