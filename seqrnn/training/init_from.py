"""``train.init_from``: start a run from the weights of an existing model (fine-tuning).

Before epoch 1, every tensor of the given bundle (a file or a built-in name such as ``protein-ss``)
whose name and shape match one of the new model's is copied into it; tensors the bundle lacks (e.g. a
new head) or has in another shape keep their fresh initialisation. The bundle must read its input the
same way (same encoder config), and at least one tensor must match. A resumed run ignores the setting:
its checkpoint already holds the weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seqrnn.bundle import load_bundle
from seqrnn.encoders import Encoder
from seqrnn.errors import ConfigError, ModelError
from seqrnn.models.ensemble import Ensemble


@dataclass
class InitReport:
    """What :func:`init_from_bundle` did: the source model, tensors copied, left new, shape mismatches."""

    model: str
    sha256: str
    copied: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # not in the source bundle: initialised afresh
    mismatched: list[str] = field(default_factory=list)  # in both, in another shape: initialised afresh

    def to_dict(self) -> dict[str, Any]:
        """What the new bundle records under ``init_from`` (counts and the names left new)."""
        return {
            "model": self.model,
            "sha256": self.sha256,
            "copied": len(self.copied),
            "new": list(self.new),
            "mismatched": list(self.mismatched),
        }

    def summary(self) -> str:
        """One log line: how many tensors were copied and which were left at their initialisation."""
        fresh = self.new + self.mismatched
        shown = ", ".join(fresh[:8]) + (f", ... ({len(fresh)} in all)" if len(fresh) > 8 else "")
        return (
            f"init_from {self.model}: copied {len(self.copied)} tensors; "
            + (f"left at their initialisation: {shown}" if fresh else "every tensor copied")
            + (f" ({len(self.mismatched)} of another shape)" if self.mismatched else "")
        )


def init_from_bundle(model: nn.Module, encoder: Encoder, source: str) -> InitReport:
    """Copy into ``model`` every weight of bundle ``source`` (path or built-in name) whose name and
    shape match, in place; returns what was copied.

    Raises :class:`ModelError` when ``source`` cannot be loaded or is an ensemble, and
    :class:`ConfigError` when its encoder differs from ``encoder`` or no tensor matches.
    """
    bundle = load_bundle(source, "cpu")
    if isinstance(bundle.model, Ensemble):
        raise ModelError(f"train.init_from {source}: an ensemble; start from a single model")
    if bundle.encoder.to_config() != encoder.to_config():
        raise ConfigError(
            f"train.init_from {source}: its encoder ({bundle.encoder.to_config()}) differs from this "
            f"run's ({encoder.to_config()})"
        )
    theirs = bundle.model.state_dict()
    ours = model.state_dict()
    report = InitReport(bundle.name, bundle.sha256)
    with torch.no_grad():
        for name, tensor in ours.items():
            if name not in theirs:
                report.new.append(name)
            elif tuple(theirs[name].shape) != tuple(tensor.shape):
                report.mismatched.append(name)
            else:
                tensor.copy_(theirs[name].to(device=tensor.device, dtype=tensor.dtype))
                report.copied.append(name)
    if not report.copied:
        raise ConfigError(
            f"train.init_from {source}: no tensor of that model matches this run's by name and shape "
            "(a different architecture: compare model.* settings)"
        )
    return report


def apply_init_from(
    model: nn.Module, encoder: Encoder, source: str | None, log: Callable[[str], None]
) -> dict[str, Any] | None:
    """:func:`init_from_bundle` when ``source`` is set, logging its summary; its record (for the bundle
    metadata) or None."""
    if not source:
        return None
    report = init_from_bundle(model, encoder, source)
    log(report.summary())
    return report.to_dict()
