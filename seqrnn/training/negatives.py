"""DNA helpers: the seeded dinucleotide shuffle and DeepBind-style shuffled negatives.

DeepBind (Alipanahi et al. 2015) and deepRAM train TF-binding models on ChIP-seq peaks against
dinucleotide-shuffled copies of the same peaks: a negative keeps its positive's exact base and
dinucleotide composition, so a model must learn the motif, not GC content. ``dinucleotide_shuffle`` is
the Altschul-Erickson (1985) algorithm: a uniformly random Eulerian walk through the sequence's
dinucleotide graph, which preserves every dinucleotide count exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from seqrnn.core.registry import Registry
from seqrnn.io.records import Record

NEGATIVES: Registry[str] = Registry("negative generator")
NEGATIVES.register("dinucleotide_shuffle")("dinucleotide_shuffle")


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """A random sequence with exactly the dinucleotide counts (and first and last letter) of ``seq``."""
    if len(seq) <= 2:
        return seq
    successors: dict[str, list[str]] = {}
    for a, b in itertools.pairwise(seq):
        successors.setdefault(a, []).append(b)
    last = seq[-1]
    # Choose every vertex's final exit edge so that those edges form a tree into the last letter
    # (rejection sampling, as in Altschul-Erickson); the remaining edges are then in any order.
    while True:
        final = {v: outs[int(rng.integers(len(outs)))] for v, outs in successors.items() if v != last}
        if all(_reaches(v, last, final) for v in final):
            break
    order: dict[str, list[str]] = {}
    for v, outs in successors.items():
        rest = list(outs)
        if v in final:
            rest.remove(final[v])
        perm = rng.permutation(len(rest))
        order[v] = [rest[i] for i in perm] + ([final[v]] if v in final else [])
    out = [seq[0]]
    cursor = dict.fromkeys(order, 0)
    for _ in range(len(seq) - 1):
        v = out[-1]
        out.append(order[v][cursor[v]])
        cursor[v] += 1
    return "".join(out)


def _reaches(v: str, last: str, final: dict[str, str]) -> bool:
    seen = set()
    while v != last:
        if v in seen:
            return False
        seen.add(v)
        v = final[v]
    return True


def shuffled_negatives(
    records: Sequence[Record], columns: Sequence[str], negative_label: str, seed: int, start_index: int
) -> list[Record]:
    """One dinucleotide-shuffled negative per record not already labelled ``negative_label``.

    Each shuffle is seeded by ``(seed, record index)``, so a negative does not depend on the split or on
    which other records were read. Its label columns read ``negative_label``; ids get a ``_shuf`` suffix.
    """
    out = []
    for rec in records:
        if all(rec.fields.get(c, "").strip() == negative_label for c in columns):
            continue
        rng = np.random.default_rng([seed, rec.index, 0x5EED])
        fields = {**rec.fields, **dict.fromkeys(columns, negative_label)}
        text = dinucleotide_shuffle(rec.text.strip(), rng)
        out.append(Record(f"{rec.id}_shuf", text, start_index + len(out), rec.source, fields))
    return out
