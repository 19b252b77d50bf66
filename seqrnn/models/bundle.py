"""Model bundles: one file with weights, encoder vocabulary, heads, config, provenance and metrics.

A bundle is a ``torch.save`` of ``{"format", "format_version", "metadata" (JSON text), "state_dict",
"weights_sha256", "metadata_sha256"}``: only strings and tensors, so it loads with
``torch.load(weights_only=True)`` and never unpickles code. Built-in models live in
``seqrnn/models/pretrained/`` and are listed, with their sha256, in ``index.json``
(:mod:`seqrnn.models.builtins`); ``seqrnn info`` prints :meth:`ModelBundle.describe`
(:mod:`seqrnn.models.cards`).

Integrity. A zip entry of a ``torch.save`` file can change (a flipped bit on disk, a bad copy) and
torch still loads it, with different weights. So every bundle records checksums of what decides its
outputs, verified on every load (:class:`ModelError` on a mismatch): ``weights_sha256`` over the state
dict (:func:`weights_checksum`) and ``metadata_sha256`` over the metadata text (encoder vocabulary, head
specs, thresholds). Files saved before these keys existed still load:

- a built-in named by name is verified by its file sha256 from ``index.json``, as before;
- a file with the same bytes as a built-in (a copy) is verified by that sha256 too;
- a file whose metadata names a built-in model and its version (a copy of a built-in that is no longer
  byte-identical, e.g. damaged) must hold the shipped file's weights, else :class:`ModelError`;
- any other file loads with a one-time note that it has no checksum (re-saving it adds one).

The checks are :func:`seqrnn.models.integrity.verify_checksums`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqrnn.encoding.augment import build_augmentation
from seqrnn.encoding.encoders import Encoder
from seqrnn.encoding.examples import NO_VIEWS, Views
from seqrnn.errors import ModelError, SeqrnnError, UsageError
from seqrnn.io.checksums import file_sha256, text_checksum, weights_checksum
from seqrnn.io.files import AtomicOutput
from seqrnn.models import ModelConfig, SeqRNN
from seqrnn.models.builtins import builtin_entry, resolve_model_path
from seqrnn.models.builtins import builtin_index as builtin_index  # imported from here too
from seqrnn.models.cards import describe_bundle
from seqrnn.models.ensemble import Ensemble
from seqrnn.models.integrity import verify_checksums
from seqrnn.version import __version__

FORMAT = "seqrnn-model"
FORMAT_VERSION = 1


@dataclass
class ModelBundle:
    """A loaded model with everything needed to apply it: encoder, heads, provenance, checksum."""

    model: SeqRNN  # or an Ensemble (load_models) or a ModelSet (load_model_set): same heads/predict()
    encoder: Encoder
    metadata: dict[str, Any]
    path: Path | None = None
    sha256: str = ""
    name: str = field(default="")
    members: list[ModelBundle] = field(default_factory=list)  # a model set's models, in order

    @property
    def heads(self) -> list[dict[str, Any]]:
        """The stored head specs (name, kind, columns, classes, ...), in model order."""
        return self.metadata["heads"]

    def with_standardize(self, policy: str | None) -> ModelBundle:
        """This bundle with its SMILES standardisation set to ``policy`` (``--standardize``): a copy with
        its own encoder, so the loaded bundle is unchanged; this bundle itself when ``policy`` is None
        or already the model's. :class:`UsageError` for a model that does not read SMILES."""
        if policy is None:
            return self
        if not hasattr(self.encoder, "standardize"):
            raise UsageError(
                f"--standardize applies to SMILES models, not {self.name or 'this'} ({self.encoder.name})"
            )
        if self.encoder.standardize == policy:
            return self
        encoder = copy.copy(self.encoder)
        encoder.standardize = policy  # type: ignore[attr-defined]
        members = [m.with_standardize(policy) for m in self.members]
        return dataclasses.replace(self, encoder=encoder, members=members)

    def with_members(self, count: int | None) -> ModelBundle:
        """This bundle predicting with the first ``count`` members of its ensemble (``--members``): a copy,
        so the loaded bundle is unchanged; one member is that member alone (no std datasets). None, or
        at least the ensemble's size: this bundle. :class:`UsageError` for a model set."""
        members = getattr(self.model, "members", None)
        if count is None or members is None or count >= len(members):
            return self
        if self.members:
            raise UsageError("--members applies to one model's ensemble, not to several models side by side")
        model = members[0] if count == 1 else Ensemble(list(members[:count]))
        return dataclasses.replace(self, model=model)

    def save(self, path: str | Path, half: bool = False) -> str:
        """Write this loaded bundle to ``path`` (e.g. after changing a head spec), keeping its metadata;
        returns the new file's sha256. What :func:`save_bundle` derives from the model is derived again."""
        derived = ("encoder", "model", "heads", "n_members", "weights_dtype", "seqrnn_version")
        kept = {k: v for k, v in self.metadata.items() if k not in derived}
        return save_bundle(path, self.model, self.encoder, kept, half=half)

    def view_counts(self, test_views: int | None = None) -> dict[str, int]:
        """Head name -> how many views (the input included) its outputs average: the bundle's count for
        all heads, or in a model set each model's own for its ``<model>/<head>`` names."""
        if self.members:
            return {f"{b.name}/{h}": n for b in self.members for h, n in b.view_counts(test_views).items()}
        n = self.views(test_views)[1]
        return dict.fromkeys(self.model.heads, n)

    @property
    def version(self) -> str:
        """The model version: its card's, else a built-in's in ``index.json``, else ``""``."""
        card = self.metadata.get("card") or {}
        if card.get("version"):
            return str(card["version"])
        entry = builtin_entry(self.path, self.sha256)
        return str(entry.get("version", "")) if entry else ""

    def views(self, test_views: int | None = None) -> Views:
        """The augmentation and number of views to average: the bundle's choice unless overridden.

        DNA models without a stored augmentation still accept ``test_views=2`` (strand averaging);
        other models must have been trained with one. A model set's models must agree (ModelError).
        """
        if self.members:  # a model set: the most any model takes (each averages its own first ones)
            chosen = [(b.name, b.views(test_views)) for b in self.members]
            kinds = {v[0].name for _, v in chosen if v[1] > 1}  # type: ignore[union-attr]
            if len(kinds) > 1:
                shown = ", ".join(f"{name} {v[0].name}" for name, v in chosen if v[1] > 1)  # type: ignore[union-attr]
                raise ModelError(
                    f"these models average different kinds of views ({shown}): predict them apart"
                )
            return max((v for _, v in chosen), key=lambda v: v[1])
        stored = self.metadata.get("augment") or {}
        n = test_views if test_views is not None else int(stored.get("test_views", 1))
        if n <= 1:
            return NO_VIEWS
        name = stored.get("name") or ("reverse_complement" if self.encoder.name == "dna" else None)
        if name is None:
            raise ModelError(
                f"--test-views {n}: this model was trained without an augmentation to average over"
            )
        if any(h.level == "residue" for h in self.model.heads.values()):
            raise ModelError(f"--test-views {n}: views cannot be averaged for per-residue heads")
        return build_augmentation(name), n

    def trained_lengths(self) -> tuple[int, int] | None:
        """The shortest and longest training sequences (``metadata["data"]["lengths"]``) of a model whose
        heads are all per-sequence (pooled over the length, so far longer or shorter inputs are
        extrapolations; per-residue heads read any length); for several models the range all of them
        were trained on; None when a bundle does not record it or has per-residue heads."""
        if any(h.level == "residue" for h in self.model.heads.values()):
            return None
        spans = [b.metadata.get("data", {}).get("lengths") for b in (self.members or [self])]
        if not all(spans):
            return None
        return max(int(s[0]) for s in spans), min(int(s[1]) for s in spans)  # type: ignore[index]

    def use_label_columns(self, columns: Mapping[str, str | Sequence[str]]) -> None:
        """Read the labels of head ``name`` from other data columns (``{"ss8": "dssp8_alt"}``), e.g. to
        score a model on a dataset whose columns are named differently from its training data.

        Raises ``ValueError`` for an unknown head or an empty column name. Changes only how labels are
        read while this bundle is in memory (the file is untouched).
        """
        for head, names in columns.items():
            cols = [names] if isinstance(names, str) else list(names)
            if head not in self.model.heads or not cols or not all(cols):
                raise ValueError(
                    f"{head}={','.join(cols)}: expected HEAD=COLUMN with HEAD one of {list(self.model.heads)}"
                )
            self.model.heads[head].spec.columns = cols

    def describe(self) -> str:
        """A human-readable summary: name, file, checksum, encoder, architecture, heads, data, metrics
        (:func:`seqrnn.models.cards.describe_bundle`)."""
        return describe_bundle(self)


def read_payload(path: str | Path, fmt: str, what: str) -> dict[str, Any]:
    """The dict a seqrnn ``torch.save`` file holds, with ``format`` ``fmt``; a truncated, foreign or
    other-format file is one :class:`ModelError` naming it as not a readable seqrnn ``what``."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated / foreign files
        raise ModelError(f"{path}: not a readable seqrnn {what} ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise ModelError(f"{path}: not a seqrnn {what}")
    return payload


def build_model(metadata: dict[str, Any], encoder: Encoder) -> SeqRNN:
    """An untrained :class:`SeqRNN` of the architecture and heads stored in ``metadata`` (no weights loaded).

    The input layer is the encoder's fixed one-hot matrix when ``metadata["model"]["input"]`` is ``onehot``,
    or ``auto`` with an encoder whose default input is one-hot (DNA); a learned embedding otherwise.
    """
    config = ModelConfig(**metadata["model"])
    use_onehot = config.input == "onehot" or (config.input == "auto" and encoder.default_input == "onehot")
    onehot = encoder.onehot_matrix() if use_onehot else None  # type: ignore[attr-defined]
    return SeqRNN(config, encoder.vocab_size, metadata["heads"], onehot=onehot)


def save_bundle(
    path: str | Path,
    model: SeqRNN | Ensemble,
    encoder: Encoder,
    metadata: dict[str, Any],
    half: bool = False,
) -> str:
    """Write the bundle atomically; returns its sha256.

    An :class:`Ensemble` of members of one architecture is stored whole (``n_members`` in the metadata,
    weights under ``members.<i>.``), so a shipped ensemble is one file. ``half``: float weights are
    stored as float16 (half the bytes; loaded back into float32 parameters); buffers such as regression
    scalers stay float32.
    """
    members = list(model.members) if isinstance(model, Ensemble) else [model]
    config = members[0].config.to_dict()
    if any(m.config.to_dict() != config for m in members):
        raise ModelError("an ensemble stored as one bundle needs members of one architecture")
    meta = {
        **metadata,
        "seqrnn_version": __version__,
        "encoder": encoder.to_config(),
        "model": config,
        "heads": [h.spec.to_dict() for h in model.heads.values()],
    }
    if len(members) > 1:
        meta["n_members"] = len(members)
    buffers = {name for name, _ in model.named_buffers()}
    state = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu().contiguous()
        if half and value.is_floating_point() and key not in buffers:
            value = value.half()
        state[key] = value
    if half:
        meta["weights_dtype"] = "float16"
    text = json.dumps(meta, sort_keys=True)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": text,
        "state_dict": state,
        # Checksums of what is stored (after any float16 cast), verified by load_bundle.
        "weights_sha256": weights_checksum(state),
        "metadata_sha256": text_checksum(text),
    }
    atomic_torch_save(payload, Path(path))
    return file_sha256(path)


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` to ``path`` atomically (the parent directory is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Through a handle: torch names the archive root after a *path*, and a random temp name would
    # make same-seed checkpoints differ in bytes.
    with AtomicOutput(path) as tmp, open(tmp, "wb") as fh:
        torch.save(obj, fh)


def load_bundle(name_or_path: str | Path, device: str | torch.device = "cpu") -> ModelBundle:
    """Load one model bundle by built-in name or file path, verified, on ``device`` in eval mode.

    Raises :class:`ModelError` when ``name_or_path`` is neither a built-in model nor a file, a built-in's
    checksum does not match ``index.json``, or the file is not a seqrnn bundle this version can read
    (foreign or truncated file, newer format version, damaged metadata, weights that do not fit the
    stored architecture).
    """
    path, name, expected_sha = resolve_model_path(name_or_path)
    sha = file_sha256(path)
    if expected_sha and sha != expected_sha:
        raise ModelError(f"{path}: checksum mismatch for built-in model {name} (file damaged; reinstall)")
    payload = read_payload(path, FORMAT, "model file")
    try:
        version = int(payload.get("format_version", 0))
    except (TypeError, ValueError):
        raise ModelError(
            f"{path}: damaged model file (format version {payload.get('format_version')!r})"
        ) from None
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format version {version} is newer than this seqrnn supports "
            f"({FORMAT_VERSION}); upgrade seqrnn"
        )
    try:
        metadata = json.loads(payload["metadata"])
        encoder = Encoder.from_config(metadata["encoder"])
        n_members = int(metadata.get("n_members", 1))
        model = build_model(metadata, encoder)
        if n_members > 1:
            model = Ensemble([model] + [build_model(metadata, encoder) for _ in range(n_members - 1)])
    except (KeyError, TypeError, ValueError, SeqrnnError) as exc:
        reason = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise ModelError(f"{path}: damaged model metadata ({reason})") from None
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise ModelError(f"{path}: damaged model file (no weights)")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        example = (missing or unexpected or wrong)[0]
        raise ModelError(
            f"{path}: weights do not match the stored architecture ({len(missing)} missing, "
            f"{len(unexpected)} unexpected, {len(wrong)} wrong-shape tensors, e.g. {example!r})"
        )
    verify_checksums(path, payload, metadata, sha)
    model.load_state_dict(state)
    model.to(device).eval()
    return ModelBundle(model, encoder, metadata, path=path, sha256=sha, name=metadata.get("name") or name)


def load_models(names: Sequence[str | Path], device: str | torch.device = "cpu") -> ModelBundle:
    """One model, or an :class:`~seqrnn.models.ensemble.Ensemble` of several that predicts their mean.

    Members must share the encoder (same vocabulary) and the heads (names, kinds, classes), so one
    encoding serves all and the averaged outputs mean the same thing; the ensemble's sha256 is that of
    its members' sha256s in the order given.
    """
    if len(names) == 1:
        return load_bundle(names[0], device)
    if not names:
        raise ModelError("no model given")
    bundles = [load_bundle(n, device) for n in names]
    first = bundles[0]
    for other, name in zip(bundles[1:], names[1:], strict=True):
        if other.metadata["encoder"] != first.metadata["encoder"]:
            raise ModelError(
                f"{name}: cannot ensemble with {names[0]}: the encoders differ "
                "(train the members on one split, with data.split_seed fixed)"
            )
        if [_head_key(h) for h in other.heads] != [_head_key(h) for h in first.heads]:
            raise ModelError(f"{name}: cannot ensemble with {names[0]}: the heads differ")
    members = [
        {"name": b.name, "model": str(n), "sha256": b.sha256} for b, n in zip(bundles, names, strict=True)
    ]
    metadata = {**first.metadata, "ensemble": members}
    sha = hashlib.sha256("".join(b.sha256 for b in bundles).encode()).hexdigest()
    model = Ensemble([b.model for b in bundles])
    name = "ensemble(" + ",".join(b.name for b in bundles) + ")"
    return ModelBundle(model, first.encoder, metadata, path=None, sha256=sha, name=name)  # type: ignore[arg-type]


def _head_key(spec: dict[str, Any]) -> tuple:
    return spec["name"], spec["kind"], tuple(spec.get("classes") or ())
