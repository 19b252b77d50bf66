"""SMILES chemistry helpers and splits: canonical forms, salts, scaffolds, randomised SMILES, and what
happens without RDKit."""

from __future__ import annotations

import numpy as np
import pytest

from seqrnn.encoding import chem
from seqrnn.encoding.encoders import UNK, Encoder, EncodingError, SmilesEncoder
from seqrnn.errors import ConfigError
from seqrnn.resources.synthetic import molecule_rows
from seqrnn.training.splits import scaffold_groups, split_indices

# Several molecules per scaffold (benzene, pyridine, cyclohexane, naphthalene, acyclic), so splits have groups.
MOLECULES = [
    "c1ccccc1O", "Cc1ccccc1", "c1ccccc1CCN", "OCc1ccccc1", "c1ccncc1", "Cc1ccncc1", "C1CCCCC1",
    "OC1CCCCC1", "NC1CCCCC1C", "c1ccc2ccccc2c1", "Oc1ccc2ccccc2c1", "CCO", "CCCN", "CC(=O)O",
    "c1ccc(cc1)C1CCNCC1", "O=C(O)c1ccc(cc1)C1CCNCC1", "c1ccoc1", "Cc1ccoc1", "c1ccsc1", "C1CCOC1",
]  # fmt: skip


@pytest.fixture
def rdkit() -> None:
    pytest.importorskip("rdkit")


def test_canonical_and_largest_fragment(rdkit: None) -> None:
    assert chem.prepare_smiles("  OCC \n", "canonical") == "CCO"
    assert chem.prepare_smiles("C(O)C", "canonical") == chem.prepare_smiles("OCC", "canonical")
    # Salts: kept by "canonical", dropped by "largest_fragment".
    assert "." in chem.prepare_smiles("[Na+].[O-]C(=O)c1ccccc1", "canonical")
    assert chem.prepare_smiles("[Na+].[O-]C(=O)c1ccccc1", "largest_fragment") == "O=C([O-])c1ccccc1"
    assert chem.prepare_smiles(" OCC ", "none") == "OCC"  # as given, but validated


def test_parent_is_the_neutral_largest_organic_fragment(rdkit: None) -> None:
    # ChEMBL's convention through rdMolStandardize.ChargeParent: counter-ions go, charges are neutralised.
    assert chem.prepare_smiles("[Na+].[O-]C(=O)c1ccccc1", "parent") == "O=C(O)c1ccccc1"
    imipramine = "CN(C)CCCN1c2ccccc2CCc2ccccc21"
    free = chem.prepare_smiles(imipramine, "canonical")
    assert chem.prepare_smiles(f"Cl.{imipramine}", "parent") == free
    assert chem.prepare_smiles(f"{imipramine}.Cl", "parent") == free
    assert chem.prepare_smiles("C[N+](C)(C)C.[Cl-]", "parent") == "C[N+](C)(C)C"  # no neutral form: kept


def test_views_come_from_the_standardised_smiles(rdkit: None) -> None:
    """However a molecule is written, a standardising encoder draws the same views from it."""
    encoder = SmilesEncoder(standardize="canonical")
    writings = [
        "Cl.CN(C)CCCN1c2ccccc2CCc2ccccc21",
        "CN(C)CCCN1c2ccccc2CCc2ccccc21.Cl",
        "Cl.CN(CCCN1c2ccccc2CCc2ccccc21)C",
    ]
    sources = {encoder.view_source(w) for w in writings}
    assert len(sources) == 1
    assert len({tuple(chem.smiles_views(s, 4)) for s in sources}) == 1
    assert SmilesEncoder(standardize="none").view_source(writings[1]) == writings[1]  # as written


@pytest.mark.parametrize(
    ("smiles", "reason"),
    [("C1CC", "cannot parse"), ("CC(C)(C)(C)(C)C", "valence"), ("c1cccc1", "RDKit rejects"), ("  ", "empty")],
)
def test_invalid_smiles_have_a_reason(rdkit: None, smiles: str, reason: str) -> None:
    with pytest.raises(EncodingError, match=reason):
        chem.prepare_smiles(smiles, "none")


def test_encoder_checks_validity_and_keeps_its_policy_in_the_bundle(rdkit: None) -> None:
    enc = SmilesEncoder.fit(["OCC", "c1ccccc1Cl"], standardize="canonical")
    with pytest.raises(EncodingError, match="valence"):
        enc.encode("CFC")
    restored = Encoder.from_config(enc.to_config())
    assert isinstance(restored, SmilesEncoder) and restored.standardize == "canonical"
    assert restored.decode(restored.encode("C(O)C")[0]) == "CCO"
    # A view keeps its atom order (canonicalising it would undo the augmentation).
    assert restored.decode(restored.encode_view("OCC")[0]) == "OCC"


def test_murcko_scaffold(rdkit: None) -> None:
    assert chem.murcko_scaffold("Cc1ccccc1") == "c1ccccc1"
    assert chem.murcko_scaffold("CCO") == ""
    assert chem.murcko_scaffold("O=C(O)c1ccc(cc1)C1CCNCC1") == chem.murcko_scaffold("c1ccc(cc1)C1CCNCC1")


def test_random_views_are_valid_deterministic_and_the_same_molecule(rdkit: None) -> None:
    smiles = "O=C(O)c1ccc(cc1)C1CCNCC1"
    views = chem.smiles_views(smiles, 6)
    assert views[0] == smiles and views == chem.smiles_views(smiles, 6)
    assert len(set(views)) > 2
    canonical = chem.prepare_smiles(smiles, "canonical")
    assert {chem.prepare_smiles(v, "canonical") for v in views} == {canonical}
    a = chem.random_smiles(smiles, np.random.default_rng(3))
    assert a == chem.random_smiles(smiles, np.random.default_rng(3))


def test_vocabulary_fitted_on_views_covers_augmented_smiles(rdkit: None) -> None:
    from seqrnn.encoding.augment import build_augmentation

    aug = build_augmentation("smiles_enumeration")
    assert aug is not None
    texts = [r["smiles"] for r in molecule_rows(40, seed=1)] + MOLECULES
    rng = np.random.default_rng(0)
    extra = [aug.random_view(t, rng) for t in texts for _ in range(5)]
    enc = SmilesEncoder.fit(texts, standardize="canonical", extra=extra)
    unk = enc.index[UNK]
    for t in texts[:20]:
        for view in aug.views(t, 4):
            assert unk not in enc.encode_view(view)[0].tolist(), view


def test_scaffold_split_is_deterministic_and_shares_no_scaffold(rdkit: None) -> None:
    n = len(MOLECULES)
    a = split_indices(n, 0.2, 0.2, seed=0, method="scaffold", smiles=MOLECULES)
    b = split_indices(n, 0.2, 0.2, seed=7, method="scaffold", smiles=MOLECULES)
    assert a == b  # the deterministic variant does not depend on the seed
    assert sorted(a[0] + a[1] + a[2]) == list(range(n))
    scaffolds = [{chem.murcko_scaffold(MOLECULES[i]) for i in part} for part in a]
    assert not (scaffolds[0] & scaffolds[1] or scaffolds[0] & scaffolds[2] or scaffolds[1] & scaffolds[2])
    # The largest scaffold sets (benzene, acyclic) land in training.
    largest = max(scaffold_groups(MOLECULES), key=len)
    assert set(largest) <= set(a[0])
    for seed in (0, 1):
        parts = split_indices(n, 0.2, 0.2, seed=seed, method="scaffold_balanced", smiles=MOLECULES)
        assert parts == split_indices(n, 0.2, 0.2, seed=seed, method="scaffold_balanced", smiles=MOLECULES)
        groups = [{chem.murcko_scaffold(MOLECULES[i]) for i in part} for part in parts]
        assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


def test_random_split_keeps_the_old_validation_split() -> None:
    n, seed = 50, 3
    order = np.random.default_rng(seed).permutation(n)
    train, valid, test = split_indices(n, 0.1, 0.0, seed)
    assert valid == sorted(order[:5].tolist()) and test == [] and len(train) == 45
    train, valid, test = split_indices(n, 0.1, 0.2, seed)
    assert (len(train), len(valid), len(test)) == (35, 5, 10)
    assert not set(train) & set(valid) and not set(valid) & set(test)


def test_without_rdkit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(chem, "_rdkit", lambda: None)
    monkeypatch.setattr(chem, "_NOTED", set())
    assert chem.prepare_smiles(" CFC ") == "CFC"  # tokenised only: validity cannot be checked
    enc = SmilesEncoder.fit(["CFC"])
    assert enc.decode(enc.encode("CFC")[0]) == "CFC"
    with pytest.raises(ConfigError, match=r"seqrnn\[chem\]"):
        split_indices(len(MOLECULES), 0.2, 0.2, 0, "scaffold", MOLECULES)
    with pytest.raises(ConfigError, match="needs RDKit"):
        chem.check_standardize("canonical")
    chem.note_without_rdkit()
    chem.note_without_rdkit()
    err = capsys.readouterr().err
    assert err.count("RDKit is not installed") == 1 and "validity" in err
