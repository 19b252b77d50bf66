"""One record -> one finished :class:`Example` (encoded tokens, targets, masking and test-time views),
and examples -> padded :class:`Batch` es.

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
import torch

from seqrnn.encoding.augment import Augmentation
from seqrnn.errors import EncodingError, InputError
from seqrnn.io.inputs import Skipped
from seqrnn.io.labels import split_labels
from seqrnn.io.records import Record

if TYPE_CHECKING:
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
    for view in augmentation.views(encoder.view_source(text), n)[1:]:
        try:
            extra.append(encoder.encode_view(view)[0].astype(np.int16, copy=False))
        except EncodingError:
            continue
    ex.views = extra
    return ex


def window_examples(
    texts: Sequence[str], encoder: Encoder, views: Views = NO_VIEWS, source: str = "genome windows"
) -> list[Example]:
    """Examples ``0..n-1`` of unlabelled genome windows (variants, tiles): the same examples
    :func:`prepare_example` makes one by one, made in one vectorised pass when the windows share one
    width and the encoder can (DNA: every letter in the alphabet, the other strand as the view)."""
    augmentation, n = views
    rows = encoder.encode_rows(texts) if hasattr(encoder, "encode_rows") else None
    strand = augmentation is not None and augmentation.name == "reverse_complement" and n >= 2
    if rows is None or (augmentation is not None and n >= 2 and not strand):
        return [
            prepare_example(Record(str(i), text, i, source), encoder, views=views)
            for i, text in enumerate(texts)
        ]
    other = encoder.reverse_complement(rows).astype(np.int16) if strand else None  # type: ignore[attr-defined]
    return [
        Example(i, str(i), rows[i], views=None if other is None else [other[i]]) for i in range(len(texts))
    ]


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


# Batches: encoded examples -> length-bucketed, token-budgeted padded batches -----------------------------
#
# Encoded examples -> length-bucketed, token-budgeted padded batches.
#
# Batch contract: ``tokens`` (B, L) int64 padded with 0, ``lengths`` (B,) int64, ``targets[head]`` as
# described in :mod:`seqrnn.models.heads`, ``positions`` (B,) indices of the examples in their list.
# A batch holds at most ``max_tokens`` padded positions and ``max_batch`` sequences; a sequence longer than
# the budget gets a batch of its own, so there is no maximum length.


@dataclass
class Batch:
    """Padded tensors of one batch (shapes in the module docstring)."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    positions: np.ndarray
    targets: dict[str, torch.Tensor]

    def to(self, device: torch.device) -> Batch:
        """The batch with its tensors on ``device``."""
        return Batch(
            self.tokens.to(device, non_blocking=True),
            self.lengths,
            self.positions,
            {k: v.to(device, non_blocking=True) for k, v in self.targets.items()},
        )


# token_budget_batches options for bf16 (see there): row counts above 48 are multiples of 8.
BF16_ROWS: dict[str, int] = {"row_multiple": 8, "multiple_above": 48}


def token_budget_batches(
    lengths: np.ndarray,
    max_tokens: int,
    max_batch: int,
    rng: np.random.Generator | None = None,
    row_multiple: int = 1,
    multiple_above: int = 0,
) -> list[np.ndarray]:
    """Group example positions into batches of similar length.

    Sorting by length keeps padding waste low; with ``rng`` (training) lengths get a little noise and
    batch order is shuffled, so batches differ between epochs but stay deterministic for a seed.
    A batch of more than ``multiple_above`` rows holds a multiple of ``row_multiple`` rows. Why: torch's
    bf16 CPU RNN kernel (oneDNN, AMX) is slow for some row counts above about 50: 53, 59 or 61 rows ran
    5-10x slower than 56 or 64 in prediction, 53 rows 3x slower than 56 in training (the protein-ss
    BiLSTM, 1 thread), while 24-48 rows showed no such case (docs/performance.md).
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        return []
    keys = lengths.astype(np.float64)
    if rng is not None:
        keys = keys * rng.uniform(0.9, 1.1, size=keys.size)
    order = np.argsort(-keys, kind="stable")  # longest first: the biggest batch is tried first
    batches: list[np.ndarray] = []
    start = 0
    while start < order.size:
        longest = int(lengths[order[start]])
        n = max(1, min(max_batch, max_tokens // max(longest, 1)))
        end = start + n
        # Later (shorter) members may not exceed the budget set by the first; sorted order guarantees it
        # without noise; with noise, re-check and trim.
        chunk = order[start:end]
        while chunk.size > 1 and int(lengths[chunk].max()) * chunk.size > max_tokens:
            chunk = chunk[:-1]
        if chunk.size > max(multiple_above, row_multiple):
            chunk = chunk[: chunk.size - chunk.size % row_multiple]
        batches.append(chunk)
        start += chunk.size
    if rng is not None:
        perm = rng.permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches


def crop_example(example: Example, start: int, length: int) -> Example:
    """A window of a per-residue example (targets of residue heads are sliced alike)."""
    end = start + length
    return Example(
        example.index,
        example.id,
        example.tokens[start:end],
        {
            k: (v[start:end] if v.ndim == 1 and v.size == example.tokens.size else v)
            for k, v in example.targets.items()
        },
    )


def collate(examples: Sequence[Example], heads: Sequence[TargetHead] = ()) -> Batch:
    """Pad examples into one :class:`Batch`; each head stacks its own targets."""
    lengths = np.array([e.tokens.size for e in examples], dtype=np.int64)
    max_len = int(lengths.max())
    tokens = np.zeros((len(examples), max_len), dtype=np.int64)
    for i, e in enumerate(examples):
        tokens[i, : e.tokens.size] = e.tokens
    targets = {h.name: h.collate([e.targets[h.name] for e in examples], max_len) for h in heads}
    return Batch(
        torch.from_numpy(tokens), torch.from_numpy(lengths), np.array([e.index for e in examples]), targets
    )
