"""seqrnn: bidirectional RNNs for biological and chemical sequences.

Data flow: read (``seqrnn.io``) -> encode and batch (``seqrnn.encoding``) -> model and heads
(``seqrnn.models``) -> run and write (``seqrnn.inference``); docs/architecture.md has the map.

The Python API, one call per task (the same code paths as the command line)::

    import seqrnn

    preds = seqrnn.predict(["MKTAYIAKQR", "GSHMSLFDFF"], model="protein-ss", precision="fp32")
    preds[0]["ss3"]                  # (10, 3) probabilities, columns preds.classes("ss3") == ['H', 'E', 'C']

- :func:`load_model`, :func:`predict`, :func:`read_predictions` (-> :class:`Predictions`),
  :func:`train`, :func:`evaluate`; see :mod:`seqrnn.api`.
- :func:`score_variants` (-> :class:`VariantEffects`) and :func:`tile` (-> :class:`Track`), each with
  ``to_dataframe()``; see :mod:`seqrnn.variants.api`.

``import seqrnn`` stays light: the API (and torch) is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seqrnn.version import __version__

if TYPE_CHECKING:
    from seqrnn.api import evaluate, load_model, predict, read_predictions, train
    from seqrnn.io.predictions import Predictions
    from seqrnn.variants.api import Track, VariantEffects, score_variants, tile

__all__ = [
    "Predictions",
    "Track",
    "VariantEffects",
    "__version__",
    "evaluate",
    "load_model",
    "predict",
    "read_predictions",
    "score_variants",
    "tile",
    "train",
]
# Where each public name lives (imported on first use: ``import seqrnn`` does not load torch).
_GENOME = ("Track", "VariantEffects", "score_variants", "tile")


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = "seqrnn.variants.api" if name in _GENOME else "seqrnn.api"
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
