"""One record -> one finished :class:`Example`: encoded tokens, targets, masking and test-time views.

:func:`prepare_example` is the single place a :class:`~seqrnn.io.records.Record` becomes what the
model sees, for prediction, evaluation and training alike:

- ``tokens`` (L,) int16: the encoder's tokens (whitespace and other dropped characters removed);
- ``targets[head]``: what each head parsed from the record's label columns (training/evaluation), with
  residues outside the mask columns set to the head's ignore value (a head's own ``mask_columns``,
  else the data-level ones: :func:`head_mask_columns`);
- ``masked``: letters replaced by the unknown letter (X / N) under ``on_invalid="mask"``;
- ``views``: extra encoded views (e.g. the reverse complement) whose outputs are averaged.

:func:`example_windows` groups a record stream into windows of about ``window_tokens`` tokens, so
prediction holds one window in memory, not the whole input.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from seqrnn.encoding.augment import Augmentation
from seqrnn.errors import EncodingError, InputError
from seqrnn.io.inputs import Skipped
from seqrnn.io.labels import split_labels
from seqrnn.io.records import Record

if TYPE_CHECKING:
    import torch

    from seqrnn.encoding.encoders import Encoder

ON_INVALID = ("error", "skip", "mask")


class TargetHead(Protocol):
    """What encoding needs of a head (every :class:`seqrnn.models.heads.Head` is one): its name and
    level, its spec's ``mask_columns``, and how it parses one record's target and pads a batch of them."""

    name: str
    level: str
    spec: Any

    def parse_target(
        self, fields: dict[str, str], keep: np.ndarray, mask: np.ndarray | None
    ) -> np.ndarray: ...

    def collate(self, targets: list[np.ndarray], max_len: int) -> torch.Tensor: ...


#: (augmentation, number of views to average); ``(None, 1)`` is the input alone.
Views = tuple["Augmentation | None", int]
NO_VIEWS: Views = (None, 1)


@dataclass(slots=True)
class Example:
    """An encoded record: ``tokens`` (L,) int16 and, for training/evaluation, ``targets`` per head."""

    index: int
    id: str
    tokens: np.ndarray
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    masked: int = 0  # letters replaced by the unknown letter under --on-invalid mask
    views: list[np.ndarray] | None = None  # extra test-time views (seqrnn.encoding.augment), averaged


def residue_mask(rec: Record, mask_columns: Sequence[str], n_chars: int) -> np.ndarray | None:
    """Positions to score: where every mask column is 1 (e.g. NetSurfP ``disorder`` == 1 = resolved)."""
    if not mask_columns:
        return None
    mask = np.ones(n_chars, dtype=bool)
    for col in mask_columns:
        if col not in rec.fields:
            raise InputError(f"no mask column {col!r}", source=rec.source, record=rec.id)
        values = split_labels(rec.fields[col])
        if len(values) != n_chars:
            raise InputError(
                f"mask column {col!r} has {len(values)} values for {n_chars} residues",
                source=rec.source,
                record=rec.id,
            )
        try:
            mask &= np.asarray(values, dtype=np.float64) > 0.5
        except ValueError:
            raise InputError(
                f"mask column {col!r} is not numeric", source=rec.source, record=rec.id
            ) from None
    return mask


def head_mask_columns(head: TargetHead, default: Sequence[str]) -> tuple[str, ...]:
    """The mask columns a residue head is scored on: its own (``heads[].mask_columns``, stored in its
    spec; ``[]`` = every residue) or, when it has none, ``default`` (``data.mask_columns``, or the
    ``--mask-column`` of ``seqrnn evaluate``)."""
    own = head.spec.mask_columns
    return tuple(default if own is None else own)


def encode_record(
    rec: Record,
    encoder: Encoder,
    heads: Sequence[TargetHead] = (),
    mask_columns: Sequence[str] = (),
) -> Example:
    """Encode one record (and its targets, for training/evaluation); errors name file and record."""
    try:
        tokens, keep = encoder.encode(rec.text)
    except EncodingError as exc:
        raise InputError(str(exc), source=rec.source, record=rec.id) from None
    targets: dict[str, np.ndarray] = {}
    if heads:
        masks: dict[tuple[str, ...], np.ndarray | None] = {}
        if any(h.level == "residue" for h in heads):
            # Labels count the non-whitespace characters as written (NetSurfP cells are space separated).
            keep = _without_whitespace(rec.text, keep)
        for head in heads:
            mask = None
            if head.level == "residue":
                columns = head_mask_columns(head, mask_columns)
                if columns not in masks:  # heads sharing mask columns share one mask
                    masks[columns] = residue_mask(rec, columns, keep.size)
                mask = masks[columns]
            try:
                targets[head.name] = head.parse_target(rec.fields, keep, mask)
            except KeyError as exc:
                raise InputError(str(exc.args[0]), source=rec.source, record=rec.id) from None
            except ValueError as exc:
                raise InputError(str(exc), source=rec.source, record=rec.id) from None
    return Example(rec.index, rec.id, tokens.astype(np.int16, copy=False), targets)


def prepare_example(
    rec: Record,
    encoder: Encoder,
    *,
    on_invalid: str = "error",
    views: Views = NO_VIEWS,
    heads: Sequence[TargetHead] = (),
    mask_columns: Sequence[str] = (),
) -> Example:
    """The finished example of ``rec``: encoded, masked under ``on_invalid="mask"``, with its views.

    Raises :class:`InputError` for a record that cannot be used (``on_invalid`` "error" or "skip": the
    caller decides whether to stop or to report and go on; "mask" raises only where masking cannot
    help, e.g. an empty sequence).
    """
    try:
        ex = encode_record(rec, encoder, heads, mask_columns)
        text = rec.text
    except InputError as exc:
        if on_invalid != "mask":
            raise
        ex = _masked(rec, encoder, heads, mask_columns)
        if ex is None:
            raise exc from None
        text = encoder.mask_invalid(rec.text)[0]
    return add_views(ex, text, encoder, views)


def _masked(
    rec: Record, encoder: Encoder, heads: Sequence[TargetHead], mask_columns: Sequence[str]
) -> Example | None:
    """Encode with out-of-alphabet letters replaced by the unknown letter; None if that cannot help."""
    try:
        text, n = encoder.mask_invalid(rec.text)
        if n == 0:  # the problem was not a letter (empty, nucleotide guard): masking cannot fix it
            return None
        ex = encode_record(
            Record(rec.id, text, rec.index, rec.source, rec.fields), encoder, heads, mask_columns
        )
    except (EncodingError, InputError):
        return None
    ex.masked = n
    return ex


def add_views(ex: Example, text: str, encoder: Encoder, views: Views) -> Example:
    """Attach the encoded extra views of ``text`` to ``ex`` (views that fail to encode are left out)."""
    augmentation, n = views
    if augmentation is None:
        return ex
    extra = []
    for view in augmentation.views(text, n)[1:]:
        try:
            extra.append(encoder.encode_view(view)[0].astype(np.int16, copy=False))
        except EncodingError:
            continue
    ex.views = extra
    return ex


def example_windows(
    records: Iterable[Record],
    encoder: Encoder,
    *,
    window_tokens: int,
    on_invalid: str = "error",
    views: Views = NO_VIEWS,
    skipped: list[Skipped] | None = None,
) -> Iterator[list[Example]]:
    """Finished examples in input order, grouped into windows of at least ``window_tokens`` tokens
    (the last may be smaller). Under ``on_invalid="skip"`` unusable records go to ``skipped``."""
    window: list[Example] = []
    tokens = 0
    for rec in records:
        try:
            ex = prepare_example(rec, encoder, on_invalid=on_invalid, views=views)
        except InputError as exc:
            if on_invalid == "error":
                raise
            if skipped is not None:
                skipped.append(Skipped.of(rec, exc))
            continue
        window.append(ex)
        tokens += ex.tokens.size
        if tokens >= window_tokens:
            yield window
            window, tokens = [], 0
    if window:
        yield window


_WHITESPACE = np.frombuffer(b" \t\r\n", dtype=np.uint8)


def _without_whitespace(text: str, keep: np.ndarray) -> np.ndarray:
    raw = np.frombuffer(text.encode("ascii", "replace"), dtype=np.uint8)
    if raw.size != keep.size:  # token-level keep (SMILES): nothing to strip
        return keep
    return keep[~np.isin(raw, _WHITESPACE)]
