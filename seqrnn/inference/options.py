"""The options of running a model over examples, one set for every caller: :class:`PredictOptions`
(checked on creation) and :func:`split_options`, which turns the Python API's ``**options`` into
them and the input-reading :class:`~seqrnn.io.formats.ReadOptions`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from seqrnn.core.runtime import PRECISIONS
from seqrnn.encoding.chem import STANDARDIZE
from seqrnn.encoding.examples import ON_INVALID
from seqrnn.errors import UsageError
from seqrnn.io.formats import ReadOptions
from seqrnn.io.inputs import parse_shard

if TYPE_CHECKING:
    from seqrnn.models.bundle import ModelBundle


@dataclass
class PredictOptions:
    """How examples are batched and run (the CLI's options of the same names; checked on creation).

    The one set of model-running options of ``seqrnn predict``/``evaluate``/``variants``/``tile`` and
    of :func:`seqrnn.predict`, :func:`seqrnn.evaluate`, :func:`seqrnn.score_variants`, :func:`seqrnn.tile`.
    """

    batch_tokens: int = 32768  # padded positions in flight at once, shared among the workers
    batch_size: int = 512  # sequences in flight at once, shared among the workers
    window_tokens: int = 250_000  # ~700 average proteins: enough to bucket lengths, small to hold
    on_invalid: str = "error"  # error | skip | mask (letters outside the alphabet -> X / N)
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; outputs are written as float32 either way)
    test_views: int | None = None  # views averaged per sequence (None: the bundle's train.test_views)
    workers: int = 0  # CPU batches predicted concurrently (0: one per torch thread, up to 8)
    # SMILES models: none | canonical | parent | largest_fragment (None: the model's own policy)
    standardize: str | None = None
    members: int | None = None  # ensembles: predict with the first N members only (None: all)

    def __post_init__(self) -> None:
        for name, low in (("batch_tokens", 1), ("batch_size", 1), ("window_tokens", 1), ("workers", 0)):
            _check_int(name, getattr(self, name), low)
        if self.test_views is not None:
            _check_int("test_views", self.test_views, 1)
        if self.members is not None:
            _check_int("members", self.members, 1)
        if self.on_invalid not in ON_INVALID:
            raise UsageError(f"on_invalid={self.on_invalid!r}: choose {', '.join(ON_INVALID)}")
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision={self.precision!r}: choose {', '.join(PRECISIONS)}")
        if self.standardize is not None and self.standardize not in STANDARDIZE:
            raise UsageError(f"standardize={self.standardize!r}: choose {', '.join(STANDARDIZE)}")

    def applied_to(self, bundle: ModelBundle) -> ModelBundle:
        """``bundle`` as these options run it: SMILES standardised by ``standardize``, an ensemble cut to
        its first ``members`` (:meth:`ModelBundle.with_standardize`, :meth:`ModelBundle.with_members`)."""
        return bundle.with_standardize(self.standardize).with_members(self.members)


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UsageError(f"{name}={value!r}: expected an integer of at least {low}")


#: The input-reading options (API name: ReadOptions field) of the calls that read sequence files.
READ_NAMES = {
    "format": "fmt",
    "sequence_column": "sequence_column",
    "id_column": "id_column",
    "genome": "genome",
    "shard": "shard",
}


def split_options(options: Mapping[str, Any], reading: bool = True) -> tuple[PredictOptions, ReadOptions]:
    """The Python API's ``**options`` as checked :class:`PredictOptions` and (with ``reading``)
    :class:`~seqrnn.io.formats.ReadOptions`; a name that is neither is a ``TypeError`` naming it."""
    engine = {f.name for f in fields(PredictOptions)}
    known = engine | (set(READ_NAMES) if reading else set())
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unexpected option(s) {', '.join(unknown)}; options are {', '.join(sorted(known))}")
    read = {READ_NAMES[k]: v for k, v in options.items() if k in READ_NAMES and v is not None}
    if "genome" in read:
        read["genome"] = os.fspath(read["genome"])
    if "shard" in read:
        shard = read["shard"]
        read["shard"] = parse_shard("{}/{}".format(*shard) if isinstance(shard, tuple) else shard)
    return PredictOptions(**{k: v for k, v in options.items() if k in engine}), ReadOptions(**read)
