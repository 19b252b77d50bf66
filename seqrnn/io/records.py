"""Small typed records that flow from the readers to the encoders."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Record:
    """One input sequence (protein, DNA or SMILES) with whatever columns came with it.

    ``fields`` holds the other columns of a table row (or ``key=value`` pairs of a FASTA description)
    as raw strings; task heads parse the ones they need (per-residue label lists, targets, masks).
    """

    id: str
    text: str
    index: int
    source: str
    fields: dict[str, str] = field(default_factory=dict)
