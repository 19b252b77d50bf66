"""Train / validation / test splits of one record list, by position: random or Bemis-Murcko scaffold.

``split_indices`` returns three sorted int lists (train, valid, test) that partition ``range(n)``:

- ``random``: a permutation seeded with ``seed``; validation takes the first ``round(valid_fraction*n)``
  positions (at least ``min_valid``), test the next ``round(test_fraction*n)`` (at least 1 when the fraction is
  above 0), training the rest. Without a test fraction this is the split seqrnn always made.
- ``scaffold``: MoleculeNet's deterministic scaffold split (DeepChem ``ScaffoldSplitter``): molecules
  are grouped by Bemis-Murcko scaffold, groups sorted by size, largest first (equal sizes: the group
  first seen later in the file first), and each group goes whole to training while training stays
  within its size, else to validation while training + validation stay within theirs, else to test.
  The same data gives the same split for every seed; the large groups (acyclic molecules, benzene, ...)
  end up in training, rare scaffolds in validation and test. (chemprop's unbalanced variant breaks
  ties the other way round; on BBBP.csv, whose last 400 rows are all permeable, that leaves a single
  class in validation and test.)
- ``scaffold_balanced``: chemprop's balanced variant (its default): groups larger than half the
  validation or test size come first, then the small ones, each part shuffled with ``seed``; each
  group goes to training if it fits, else to validation if it fits, else to test.

No scaffold is ever shared between two parts. Scaffold splits need RDKit (``seqrnn[chem]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqrnn.errors import ConfigError

SPLITS = ("random", "scaffold", "scaffold_balanced")


def split_indices(
    n: int,
    valid_fraction: float,
    test_fraction: float,
    seed: int,
    method: str = "random",
    smiles: Sequence[str] | None = None,
    min_valid: int = 1,
) -> tuple[list[int], list[int], list[int]]:
    """Split positions ``0 .. n-1`` into (train, valid, test), each a sorted list (rules: module docstring).

    Args:
        n: number of records.
        valid_fraction, test_fraction: shares of ``n`` (rounded); validation gets at least ``min_valid``,
            test at least 1 when ``test_fraction > 0``.
        seed: permutation seed (``random``, ``scaffold_balanced``; ``scaffold`` ignores it).
        method: ``random``, ``scaffold`` or ``scaffold_balanced``.
        smiles: the SMILES of every record, for the scaffold methods (which need RDKit).

    Raises :class:`ConfigError` for an unknown method or missing SMILES.
    """
    n_valid = max(min_valid, round(valid_fraction * n))
    n_test = max(1, round(test_fraction * n)) if test_fraction > 0 else 0
    if method == "random":
        order = np.random.default_rng(seed).permutation(n)
        valid = order[:n_valid].tolist()
        test = order[n_valid : n_valid + n_test].tolist()
        held = set(valid) | set(test)
        return [i for i in range(n) if i not in held], sorted(valid), sorted(test)
    if method not in SPLITS:
        raise ConfigError(f"data.split {method!r}: choose {', '.join(SPLITS)}")
    if smiles is None or len(smiles) != n:
        raise ConfigError(f"data.split {method}: needs the SMILES of every record")
    groups = scaffold_groups(smiles)
    n_train = n - n_valid - n_test
    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    if method == "scaffold":
        for group in sorted(groups, key=lambda g: (len(g), g[0]), reverse=True):
            if len(train) + len(group) <= n_train:
                train += group
            elif len(train) + len(valid) + len(group) <= n_train + n_valid:
                valid += group
            else:
                test += group
        return sorted(train), sorted(valid), sorted(test)
    rng = np.random.default_rng(seed)
    big = [g for g in groups if len(g) > n_valid / 2 or len(g) > n_test / 2]
    small = [g for g in groups if not (len(g) > n_valid / 2 or len(g) > n_test / 2)]
    ordered = [big[i] for i in rng.permutation(len(big))] + [small[i] for i in rng.permutation(len(small))]
    for group in ordered:
        if len(train) + len(group) <= n_train:
            train += group
        elif len(valid) + len(group) <= n_valid:
            valid += group
        else:
            test += group
    return sorted(train), sorted(valid), sorted(test)


def scaffold_groups(smiles: Sequence[str]) -> list[list[int]]:
    """Record positions grouped by Bemis-Murcko scaffold, groups in order of first appearance."""
    from seqrnn.encoding.chem import murcko_scaffold

    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        groups.setdefault(murcko_scaffold(s), []).append(i)
    return list(groups.values())
