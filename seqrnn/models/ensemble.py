"""Ensembles: several trained models with the same encoder and heads, predicting as one.

``Ensemble.predict(tokens (B, L), lengths (B,))`` returns, per head, the mean over members of each
member's post-processed output: residue heads (B, L, C), sequence heads (B, C). Probabilities are
averaged, not logits, and regression members de-standardise with their own scalers before averaging.
``Ensemble.predict_with_std`` also returns the population standard deviation (ddof=0, float32) over members
of the same outputs: the members' disagreement, written as ``std`` datasets beside the mean
(docs/hdf5-format.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from seqrnn.models.rnn import ModelConfig, SeqRNN


class Ensemble(nn.Module):
    """Several :class:`SeqRNN` members predicting as one: the mean of their post-processed outputs.

    Members must have the same heads (names, kinds, classes) and encoder; :func:`seqrnn.models.bundle.load_models`
    checks that, this class does not. Raises ``ValueError`` for fewer than two members.
    """

    def __init__(self, members: Sequence[SeqRNN]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.members = nn.ModuleList(members)

    @property
    def heads(self) -> nn.ModuleDict:
        """The first member's heads (every member has the same names, kinds and classes)."""
        return self.members[0].heads  # type: ignore[return-value]

    @property
    def config(self) -> ModelConfig:
        """The first member's architecture (other members may differ)."""
        return self.members[0].config  # type: ignore[return-value]

    def predict(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per head, the mean over members of :meth:`SeqRNN.predict`: residue heads (B, L, C), sequence heads
        (B, C); ``tokens`` (B, L) int64 (0 = padding), ``lengths`` (B,) int64.
        """
        return self.mean(self.member_outputs(tokens, lengths))

    def predict_with_std(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """``({head: mean}, {head: std})``: the mean exactly as :meth:`predict`, and the population
        standard deviation (ddof=0, float32) over members of the same post-processed outputs."""
        outputs = self.member_outputs(tokens, lengths)
        return self.mean(outputs), self.std(outputs)

    def member_outputs(self, tokens: torch.Tensor, lengths: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Each member's :meth:`SeqRNN.predict` output, in member order."""
        return [member.predict(tokens, lengths) for member in self.members]  # type: ignore[operator]

    @staticmethod
    def mean(outputs: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Per head, the mean of the members' outputs (summed in member order, then divided)."""
        total: dict[str, torch.Tensor] = {}
        for output in outputs:
            for name, value in output.items():
                total[name] = value if name not in total else total[name] + value
        return {name: value / len(outputs) for name, value in total.items()}

    @staticmethod
    def std(outputs: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Per head, the population standard deviation (ddof=0) over members, computed in float32."""
        return {
            name: torch.stack([o[name].float() for o in outputs]).std(dim=0, correction=0)
            for name in outputs[0]
        }


class ModelSet(nn.Module):
    """Several different models (each a :class:`SeqRNN` or an :class:`Ensemble`) run side by side on the
    same encoded input, e.g. all TF-binding models over one FASTA.

    Their heads are named ``<model>/<head>`` (``tf-USF1/bound``), so every model's outputs get a group of
    their own in the predictions file (``/sequence/tf-USF1/bound/probs``). Members must share the
    encoder; :func:`seqrnn.models.bundle.load_model_set` checks that, this class does not.
    """

    def __init__(self, members: dict[str, nn.Module], remaps: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("a model set needs at least one model")
        self.names = list(members)
        self.members = nn.ModuleList(members.values())
        # Models whose vocabularies differ (SMILES models fit theirs on their own training data) read one
        # encoding in the union vocabulary: remaps[name][union token id] = that model's id (<unk> if absent).
        self.remaps = dict(remaps or {})

    def member_tokens(self, name: str, tokens: torch.Tensor) -> torch.Tensor:
        """``tokens`` (B, L) of the set's vocabulary as model ``name`` numbers them."""
        remap = self.remaps.get(name)
        return tokens if remap is None else remap.to(tokens.device)[tokens]

    @property
    def heads(self) -> dict[str, nn.Module]:
        """``{"<model>/<head>": head}`` over all members, in member then head order (a plain dict: the
        head modules stay registered under their own models only)."""
        return {
            f"{name}/{head_name}": head
            for name, member in zip(self.names, self.members, strict=True)
            for head_name, head in member.heads.items()  # type: ignore[union-attr]
        }

    def named_members(self) -> list[tuple[str, nn.Module]]:
        """``(model name, model)`` pairs in the order given."""
        return list(zip(self.names, self.members, strict=True))

    def predict(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every member's :meth:`predict` outputs under ``<model>/<head>`` names; shapes as the member's."""
        out: dict[str, torch.Tensor] = {}
        for name, member in self.named_members():
            outputs = member.predict(self.member_tokens(name, tokens), lengths)  # type: ignore[operator]
            out.update({f"{name}/{k}": v for k, v in outputs.items()})
        return out


def std_heads(model: nn.Module) -> list[str]:
    """The head names (as in ``model.heads``) whose outputs come from an ensemble and so have a std."""
    if isinstance(model, Ensemble):
        return list(model.heads)
    if isinstance(model, ModelSet):
        return [f"{n}/{h}" for n, m in model.named_members() for h in std_heads(m)]
    return []
