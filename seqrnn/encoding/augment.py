"""Label-preserving sequence augmentations, registered by name: random views for training, fixed views
for test-time averaging.

An augmentation maps a record's text to other texts that carry the same sequence-level labels: the
reverse complement of a DNA sequence (a TF binds either strand), a randomised SMILES of the same
molecule. Training (``train.augment``) replaces each example, with probability ``train.augment_prob``
and freshly every epoch, by ``random_view``; prediction averages every sequence-level head's output
(probabilities, or regression values in original units) over ``views(text, train.test_views)``, the
first view being the input itself. Residue-level heads are never augmented: their positions would move.
"""

from __future__ import annotations

import numpy as np
from Bio.Seq import reverse_complement

from seqrnn.core.registry import Registry


class Augmentation:
    """Base class: subclasses define ``random_view`` and ``views``."""

    name = ""

    def random_view(self, text: str, rng: np.random.Generator) -> str:
        """One random view other than ``text`` where possible (the trainer decides how often to use one)."""
        raise NotImplementedError

    def views(self, text: str, n: int) -> list[str]:
        """``n`` deterministic views of ``text``; the first is ``text`` itself."""
        raise NotImplementedError


AUGMENTATIONS: Registry[type[Augmentation]] = Registry("augmentation")


def build_augmentation(name: str | None) -> Augmentation | None:
    """A new instance of the augmentation registered as ``name``; None when ``name`` is None or empty.
    Raises :class:`ConfigError` for an unknown name.
    """
    return AUGMENTATIONS.get(name)() if name else None


@AUGMENTATIONS.register("reverse_complement")
class ReverseComplement(Augmentation):
    """The other strand (IUPAC-aware, via Biopython): ``views`` gives at most 2."""

    name = "reverse_complement"

    def random_view(self, text: str, rng: np.random.Generator) -> str:
        """The reverse complement (there is only one other strand, so ``rng`` is not used)."""
        return reverse_complement(text.strip())

    def views(self, text: str, n: int) -> list[str]:
        """``[text]``, plus its reverse complement when ``n >= 2``."""
        return [text, reverse_complement(text.strip())][: max(1, min(n, 2))]


@AUGMENTATIONS.register("smiles_enumeration")
class SmilesEnumeration(Augmentation):
    """Randomised SMILES (Bjerrum 2017): the same molecule written from another atom order (needs RDKit).

    ``views`` are fixed per molecule (seeded from a hash of the text), so predictions are reproducible.
    """

    name = "smiles_enumeration"

    def random_view(self, text: str, rng: np.random.Generator) -> str:
        """A randomised SMILES of the same molecule, atom order drawn from ``rng`` (needs RDKit)."""
        from seqrnn.encoding.chem import random_smiles

        return random_smiles(text, rng)

    def views(self, text: str, n: int) -> list[str]:
        """``text`` first, then ``n - 1`` randomised SMILES seeded from the text (needs RDKit for n > 1)."""
        from seqrnn.encoding.chem import smiles_views

        return smiles_views(text, max(1, n))
