"""Chemistry helpers with RDKit as an optional extra (``pip install seqrnn[chem]``).

- :func:`prepare_smiles`: strip whitespace, check that RDKit can parse and sanitise the SMILES, and
  optionally rewrite it (``standardize``): ``none`` keeps the text as given, ``canonical`` is RDKit's
  canonical SMILES of the whole input (salts and counter-ions stay, as ``.``-separated fragments),
  ``largest_fragment`` keeps only the fragment with the most heavy atoms (first one on ties), then
  canonicalises it: a salt policy for data sets whose counter-ions carry no signal; ``parent`` is the
  ChEMBL/chemprop convention, RDKit's ``rdMolStandardize.ChargeParent`` (clean-up, the largest organic
  fragment, neutralised), then canonical SMILES.
- Views (:func:`smiles_views`) are drawn from the standardised SMILES (``view_source``), so a molecule
  gives the same predictions however its input is written (atom order, fragment order).
- :func:`murcko_scaffold`: Bemis-Murcko scaffold SMILES (no chirality; ``""`` for acyclic molecules).
- :func:`random_smiles` / :func:`smiles_views`: randomised SMILES (same molecule, atoms renumbered by a
  numpy permutation, so a seed or a stable hash of the input fixes them on every platform).

Without RDKit, SMILES are only tokenised (:func:`seqrnn.encoding.encoders.tokenize_smiles`): validity,
canonical form and scaffolds cannot be checked; :func:`note_without_rdkit` says so once per process,
and whatever strictly needs RDKit (a scaffold split, ``standardize`` other than ``none``, randomised
SMILES) raises :class:`ConfigError` naming the extra to install.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from seqrnn.errors import ConfigError, EncodingError

STANDARDIZE = ("none", "canonical", "parent", "largest_fragment")
INSTALL_HINT = "pip install 'seqrnn[chem]'"
_NOTED: set[str] = set()


@functools.lru_cache(maxsize=1)
def _rdkit() -> Any | None:
    try:
        from rdkit import Chem, RDLogger
    except ImportError:
        return None
    RDLogger.DisableLog("rdApp.*")  # reasons are reported per record instead of RDKit's stderr chatter
    return Chem


def rdkit_available() -> bool:
    """Whether RDKit can be imported (the ``seqrnn[chem]`` extra is installed)."""
    return _rdkit() is not None


def require_rdkit(what: str) -> Any:
    """RDKit's ``Chem`` module, or a :class:`ConfigError` saying that ``what`` needs it."""
    chem = _rdkit()
    if chem is None:
        raise ConfigError(f"{what} needs RDKit, which is not installed ({INSTALL_HINT})")
    return chem


def note_without_rdkit(log: Callable[[str], None] | None = None) -> None:
    """Say once per process what cannot be checked without RDKit."""
    if rdkit_available() or "rdkit" in _NOTED:
        return
    _NOTED.add("rdkit")
    message = (
        "note: RDKit is not installed; SMILES are tokenised but not checked for chemical validity, "
        f"canonical form or scaffolds ({INSTALL_HINT})"
    )
    if log is None:
        print(f"seqrnn: {message}", file=sys.stderr)
    else:
        log(message)


def check_standardize(standardize: str) -> None:
    """Raise :class:`ConfigError` unless ``standardize`` is one of :data:`STANDARDIZE` and, for anything but
    ``none``, RDKit is installed.
    """
    if standardize not in STANDARDIZE:
        raise ConfigError(f"SMILES standardize {standardize!r}: choose one of {', '.join(STANDARDIZE)}")
    if standardize != "none":
        require_rdkit(f"SMILES standardize {standardize!r}")


def to_mol(smiles: str) -> Any:
    """An RDKit molecule, or :class:`EncodingError` with RDKit's reason (syntax or chemistry)."""
    chem = require_rdkit("parsing SMILES")
    text = smiles.strip()
    if not text:
        raise EncodingError("empty SMILES")
    mol = chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise EncodingError("RDKit cannot parse this SMILES (syntax)")
    try:
        chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several sanitisation exception types
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise EncodingError(f"RDKit rejects this SMILES ({reason})") from None
    return mol


def largest_fragment(mol: Any) -> Any:
    """The fragment of ``mol`` with the most heavy atoms (the first of equal ones); ``mol`` itself when it has
    only one. Needs RDKit (:class:`ConfigError` otherwise).
    """
    chem = require_rdkit("largest-fragment standardisation")
    frags = chem.GetMolFrags(mol, asMols=True, sanitizeFrags=False)
    if len(frags) <= 1:
        return mol
    sizes = [f.GetNumHeavyAtoms() for f in frags]
    return frags[int(np.argmax(sizes))]  # argmax: the first of equal-sized fragments


def charge_parent(mol: Any) -> Any:
    """RDKit's charge parent of ``mol`` (``rdMolStandardize.ChargeParent``: clean-up, the largest
    organic fragment, neutralised where a neutral form exists): the parent compound of a salt or a
    charged form, as ChEMBL registers it. :class:`EncodingError` with RDKit's reason if it fails."""
    require_rdkit("parent standardisation")
    from rdkit.Chem.MolStandardize import rdMolStandardize

    try:
        return rdMolStandardize.ChargeParent(mol)
    except Exception as exc:  # RDKit raises several exception types
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise EncodingError(f"RDKit cannot standardise this molecule ({reason})") from None


@functools.lru_cache(maxsize=4096)
def prepare_smiles(smiles: str, standardize: str = "none", check: bool = True, canonical: bool = True) -> str:
    """The SMILES the model sees: stripped; with RDKit (and ``check``) validated, then standardised.

    ``canonical=False`` (augmented views) keeps the atom order of the input: ``canonical`` then only
    validates, ``largest_fragment`` drops the other fragments without reordering atoms, and ``parent``
    writes the parent without canonical ordering.
    """
    text = smiles.strip()
    if not text:
        raise EncodingError("empty SMILES")
    if standardize == "none" and (not check or not rdkit_available()):
        return text
    chem = require_rdkit(f"SMILES standardize {standardize!r}")
    mol = to_mol(text)
    if standardize == "none" or (standardize == "canonical" and not canonical):
        return text
    if standardize == "largest_fragment":
        mol = largest_fragment(mol)
    elif standardize == "parent":
        mol = charge_parent(mol)
    return chem.MolToSmiles(mol, canonical=canonical)


def murcko_scaffold(smiles: str) -> str:
    """Bemis-Murcko scaffold (ring systems and linkers) as canonical SMILES, without chirality."""
    require_rdkit("a scaffold split")
    from rdkit.Chem.Scaffolds import MurckoScaffold

    return MurckoScaffold.MurckoScaffoldSmiles(mol=to_mol(smiles), includeChirality=False)


def random_smiles(smiles: str, rng: np.random.Generator) -> str:
    """One randomised SMILES of the same molecule (atom order permuted by ``rng``; aromatic form kept)."""
    require_rdkit("SMILES enumeration")
    return _random_smiles_of(to_mol(smiles), rng)


def _random_smiles_of(mol: Any, rng: np.random.Generator) -> str:
    """A randomised SMILES of an already parsed ``mol`` (left unchanged: renumbering makes a copy)."""
    chem = require_rdkit("SMILES enumeration")
    order = rng.permutation(mol.GetNumAtoms()).tolist()
    return chem.MolToSmiles(chem.RenumberAtoms(mol, order), canonical=False)


def stable_seed(text: str) -> int:
    """A seed from the text itself (not Python's salted ``hash``), equal in every process and run."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def smiles_views(smiles: str, n: int) -> list[str]:
    """``n`` deterministic views of one molecule: the input itself first, then randomised SMILES."""
    text = smiles.strip()
    if n <= 1:
        return [text][:n]
    require_rdkit("SMILES enumeration")
    rng = np.random.default_rng(stable_seed(text))
    # Parsed and sanitised once for all views: RDKit's sanitisation grows faster than the molecule
    # (kekulising 1,000 linked benzene rings: 0.2 s), and it used to run again for every view.
    mol = to_mol(text)
    return [text] + [_random_smiles_of(mol, rng) for _ in range(n - 1)]
