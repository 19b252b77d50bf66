"""``train.init_from``: start a run from the weights of an existing model (fine-tuning).

Before epoch 1, every tensor of the given bundle (a file or a built-in name such as ``protein-ss``)
whose name and shape match one of the new model's is copied into it; tensors the bundle lacks (e.g. a
new head) or has in another shape keep their fresh initialisation. The bundle must read its input the
same way (same encoder config), and at least one tensor must match. A resumed run ignores the setting:
its checkpoint already holds the weights.

``train.freeze`` keeps parameters fixed during training: every parameter whose name starts with one of
the given prefixes (``embed``, ``convs``, ``rnn``, ``heads.ss8``, ...; ``seqrnn info --json`` and the
log name them) gets no gradient, no optimiser state and no weight decay, so a new head can be trained on
top of a model whose outputs must stay exactly as they were (``protein-ss`` v2's SS heads are v1's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seqrnn.encoding.encoders import Encoder
from seqrnn.errors import ConfigError, ModelError
from seqrnn.models.bundle import load_bundle
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
    report = InitReport(str(source), bundle.sha256)  # as given: "protein-ss-v1", not the stored name
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


def freeze_parameters(model: nn.Module, prefixes: list[str]) -> list[str]:
    """Turn off gradients of the parameters named by ``prefixes`` (``train.freeze``); -> their names.

    A prefix matches a parameter name equal to it or starting with it and a dot (``heads.ss8`` matches
    ``heads.ss8.net.1.weight``, not ``heads.ss8x...``). Raises :class:`ConfigError` for a prefix that
    matches nothing (a typo would otherwise train everything) and when nothing is left to train.
    """
    names = [name for name, _ in model.named_parameters()]
    frozen = []
    for prefix in prefixes:
        hits = [n for n in names if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            tops = sorted({n.split(".")[0] for n in names})
            raise ConfigError(
                f"train.freeze {prefix!r}: no parameter of this model has that name or prefix "
                f"(top-level: {', '.join(tops)}; heads as heads.NAME)"
            )
        frozen += [n for n in hits if n not in frozen]
    for name, param in model.named_parameters():
        if name in frozen:
            param.requires_grad_(False)
    if frozen and not any(p.requires_grad for p in model.parameters()):
        raise ConfigError("train.freeze: every parameter is frozen; nothing would be trained")
    return frozen
