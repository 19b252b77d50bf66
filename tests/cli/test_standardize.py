"""``--standardize``: a molecule gets the same prediction however it is written (atom order, fragment
order) once standardised; ``parent`` predicts a salt as its parent compound; the file records the policy."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main

pytest.importorskip("rdkit")

IMIPRAMINE = "CN(C)CCCN1c2ccccc2CCc2ccccc21"
WRITINGS = [  # imipramine hydrochloride, three ways, then the free base; paracetamol two ways
    f"Cl.{IMIPRAMINE}",
    f"{IMIPRAMINE}.Cl",
    "Cl.c1ccc2c(c1)CCc1ccccc1N2CCCN(C)C",
    IMIPRAMINE,
    "CC(=O)Nc1ccc(O)cc1",
    "Oc1ccc(NC(C)=O)cc1",
]


def _predict(tmp_path: Path, policy: str | None) -> tuple[np.ndarray, dict]:
    smi = tmp_path / "mols.smi"
    smi.write_text("".join(f"{s} m{i}\n" for i, s in enumerate(WRITINGS)))
    out = tmp_path / f"{policy}.h5"
    args = ["predict", "-m", "esol", str(smi), "-o", str(out), "--threads", "1", "-q"]
    assert main([*args, *(["--standardize", policy] if policy else [])]) == 0
    with h5py.File(out) as f:
        return f["sequence/logS/values"][:, 0], dict(f.attrs)


def test_canonical_makes_the_writing_irrelevant(tmp_path: Path) -> None:
    raw, attrs = _predict(tmp_path, "none")
    assert attrs["standardize"] == "none"
    assert len(set(raw[:3].tolist())) > 1  # as written, the views differ with the writing
    default, attrs = _predict(tmp_path, None)
    assert attrs["standardize"] == "canonical"  # the built-in models' own policy
    assert default[0] == default[1] == default[2] and default[4] == default[5]
    assert default[0] != default[3]  # the salt stays a salt
    parent, attrs = _predict(tmp_path, "parent")
    assert attrs["standardize"] == "parent"
    assert parent[0] == parent[1] == parent[2] == parent[3] == default[3]  # the free base


def test_standardize_is_for_smiles_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fasta = tmp_path / "p.fa"
    fasta.write_text(">a\nMKTAYIAKQR\n")
    args = [
        "predict",
        "-m",
        "protein-ss",
        str(fasta),
        "-o",
        str(tmp_path / "p.h5"),
        "--standardize",
        "parent",
    ]
    assert main([*args, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--standardize applies to SMILES models" in err[0]


def test_members_predicts_with_the_first_members(tmp_path: Path) -> None:
    """``--members N``: the first N members of an ensemble (1: that model alone, no std)."""
    smi = tmp_path / "m.smi"
    smi.write_text("CCO a\nCC(=O)Nc1ccc(O)cc1 b\n")
    got = {}
    for k in ("1", "3", "5"):
        out = tmp_path / f"k{k}.h5"
        assert (
            main(["predict", "-m", "esol", str(smi), "-o", str(out), "--members", k, "--threads", "1", "-q"])
            == 0
        )
        with h5py.File(out) as f:
            got[k] = (f["sequence/logS/values"][:, 0], "sequence/logS/std" in f)
    full = tmp_path / "all.h5"
    assert main(["predict", "-m", "esol", str(smi), "-o", str(full), "--threads", "1", "-q"]) == 0
    with h5py.File(full) as f:
        np.testing.assert_array_equal(got["5"][0], f["sequence/logS/values"][:, 0])  # 5 = every member
    assert not got["1"][1] and got["3"][1] and got["5"][1]
    assert not np.array_equal(got["1"][0], got["3"][0])
    import seqrnn
    from seqrnn.models.bundle import load_bundle

    bundle = load_bundle("esol")
    assert bundle.with_members(1).model is bundle.model.members[0]
    assert len(bundle.with_members(3).model.members) == 3 and len(bundle.model.members) == 5
    first = seqrnn.predict(["CCO"], model="esol", members=1, threads=1)
    assert first[0]["logS"][0] == pytest.approx(got["1"][0][0], abs=1e-6)
