"""seqrnn: bidirectional RNNs for biological and chemical sequences.

Data flow: read (``seqrnn.data``) -> encode (``seqrnn.encoders``) -> batch (``seqrnn.data.batching``)
-> model (``seqrnn.models``) -> heads -> write (``seqrnn.io``).

The Python API, one call per task (the same code paths as the command line)::

    import seqrnn

    preds = seqrnn.predict(["MKTAYIAKQR", "GSHMSLFDFF"], model="protein-ss", precision="fp32")
    preds[0]["ss3"]                  # (10, 3) probabilities, columns preds.classes("ss3") == ['H', 'E', 'C']

- :func:`load_model`, :func:`predict`, :func:`read_predictions` (-> :class:`Predictions`),
  :func:`train`, :func:`evaluate`; see :mod:`seqrnn.api`.

``import seqrnn`` stays light (torch is imported on first use). ``seqrnn.predict`` and
``seqrnn.evaluate`` are also the modules of the same names: calling them calls the API functions,
while ``from seqrnn.predict import predict_to_h5`` and friends keep working.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from seqrnn.version import __version__

if TYPE_CHECKING:
    from seqrnn.api import evaluate, load_model, predict, read_predictions, train
    from seqrnn.io.predictions import Predictions

__all__ = ["Predictions", "__version__", "evaluate", "load_model", "predict", "read_predictions", "train"]

_FUNCTIONS = ("load_model", "predict", "read_predictions", "train", "evaluate")
# Submodules whose names are also API functions: the module object is made callable.
_CALLABLE_MODULES = ("predict", "evaluate")


class _CallableModule(types.ModuleType):
    """``seqrnn.predict`` / ``seqrnn.evaluate``: a module that, called, runs the API function of its name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module("seqrnn.api"), self.__name__.rpartition(".")[2])(
            *args, **kwargs
        )

    @property
    def __signature__(self) -> Any:  # what inspect.signature() and IDEs show
        import inspect

        api = importlib.import_module("seqrnn.api")
        return inspect.signature(getattr(api, self.__name__.rpartition(".")[2]))


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds each submodule on its package when it is first imported, which
        # would hide the API function; the module becomes callable instead.
        if (
            name in _CALLABLE_MODULES
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
        ):
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _CALLABLE_MODULES:
        return importlib.import_module(f"{__name__}.{name}")  # bound (and made callable) on import
    if name in _FUNCTIONS or name == "Predictions":
        value = getattr(importlib.import_module("seqrnn.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
