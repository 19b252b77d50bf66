"""``Predictions.to_dataframe()`` has the columns and values of the command line's exports: ``csv`` (one row
per record) without arguments, ``tsv`` (one row per residue) with ``level="residue"``; one implementation of
the columns (:mod:`seqrnn.io.columns`) serves both."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import seqrnn
from seqrnn.errors import InputError
from seqrnn.inference.export import export
from seqrnn.models.bundle import builtin_index

pd = pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "tests" / "golden" / "tiny_protein.pt"
PROTEINS = ">a\nMKTAYIAKQRQISFVKSHFSRQ\n>b\nGSHMSLFDFF\n>c\nACDEFGHIKLMNPQRSTVWY\n"
MOLECULES = (
    "CCO ethanol\nc1ccccc1 benzene\nC1CC bad_ring\nCC(=O)Oc1ccccc1C(=O)O aspirin\nClC(Cl)Cl chloroform\n"
)
DNA = (
    ">s1\nACGTACGTCACGTGACGTACGTACGGTACCATGCATGCACGTGAAAAATTTTGGGGCCCC\n"
    ">s2\nTTTTTTTTTTGGGGGGGGGGCACGTGCCCCCCCCCCAAAAAAAAAATTTTTTTTTTACGTAC\n"
)


def builtin(name: str) -> str:
    if name not in builtin_index():
        pytest.skip(f"built-in model {name} not shipped")
    return name


def assert_same_table(frame: pd.DataFrame, exported: pd.DataFrame) -> None:
    """Same columns in the same order; numbers equal to the export's rounding (4 decimals, 6 digits)."""
    assert list(frame.columns) == list(exported.columns)
    assert len(frame) == len(exported)
    for name in frame.columns:
        if frame[name].dtype.kind == "f":
            got = exported[name].astype(float).to_numpy()
            np.testing.assert_allclose(got, frame[name].to_numpy(), rtol=1e-5, atol=5.1e-5, err_msg=name)
        else:  # ids, predicted classes, positions, residues: as the text of the export
            assert frame[name].astype(str).tolist() == exported[name].tolist(), name


def exported_csv(pred: seqrnn.Predictions, tmp_path: Path) -> pd.DataFrame:
    """The ``csv`` export's rows that were predicted, ``id`` and the prediction columns only."""
    out = tmp_path / "export.csv"
    export(pred.path, "csv", out)
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    table = table[table["pred_status"] == "ok"].reset_index(drop=True)
    keep = [c for c in table.columns if c == "id" or c.startswith("pred_")]
    return table[[c for c in keep if c not in ("pred_status", "pred_note")]]


def exported_tsv(pred: seqrnn.Predictions, tmp_path: Path) -> pd.DataFrame:
    out = tmp_path / "export.tsv"
    export(pred.path, "tsv", out)
    return pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)


def test_esol_regression_with_std_matches_the_csv_export(tmp_path: Path) -> None:
    pytest.importorskip("rdkit")
    smi = tmp_path / "mols.smi"
    smi.write_text(MOLECULES)
    model = builtin("esol")
    with seqrnn.predict(smi, model=model, output=tmp_path / "p.h5", precision="fp32", on_invalid="skip") as p:
        frame = p.to_dataframe()
        assert [s.index for s in p.skipped] == [2]  # left out of the frame, kept in the csv as skipped
        assert list(frame.columns) == ["id", "pred_logS", "pred_logS_std"]
        assert frame["id"].tolist() == p.ids == ["ethanol", "benzene", "aspirin", "chloroform"]
        assert np.array_equal(frame["pred_logS"].to_numpy(), p.values("logS")[:, 0])
        assert_same_table(frame, exported_csv(p, tmp_path))
        with pytest.raises(InputError, match="no per-residue heads"):
            p.to_dataframe(level="residue")


def test_tf_classification_matches_the_csv_export(tmp_path: Path) -> None:
    fasta = tmp_path / "dna.fasta"
    fasta.write_text(DNA)
    with seqrnn.predict(fasta, model=builtin("tf-USF1"), output=tmp_path / "p.h5", precision="fp32") as p:
        frame = p.to_dataframe()
        # The predicted class comes first, as the class name ("0" / "1"), then one probability per class.
        assert list(frame.columns) == ["id", "pred_bound", "pred_bound_P0", "pred_bound_P1"]
        assert set(frame["pred_bound"]) <= {"0", "1"}
        assert_same_table(frame, exported_csv(p, tmp_path))


def test_residue_level_matches_the_tsv_export_with_an_ensembles_std(tmp_path: Path) -> None:
    fasta = tmp_path / "proteins.fasta"
    fasta.write_text(PROTEINS)
    members = [shutil.copy(TINY, tmp_path / f"m{i}.pt") for i in (1, 2)]
    ensemble = seqrnn.load_model(members, device="cpu", ensemble=True)
    with seqrnn.predict(fasta, model=ensemble, output=tmp_path / "p.h5", precision="fp32") as p:
        assert p.has_std and p.residue_heads == ["ss3", "ss8"] and not p.sequence_heads
        frame = p.to_dataframe(level="residue")
        assert list(frame.columns[:7]) == ["id", "position", "residue", "ss3", "ss3_PH", "ss3_PE", "ss3_PC"]
        assert list(frame.columns[7:10]) == ["ss3_PH_std", "ss3_PE_std", "ss3_PC_std"]
        assert len(frame) == int(p.offsets[-1])
        assert_same_table(frame, exported_tsv(p, tmp_path))
        with pytest.raises(InputError, match=r"no per-sequence heads.*level='residue'"):
            p.to_dataframe()
        # One head by name: as before, its outputs under their class names.
        assert list(p.to_dataframe("ss3").columns) == ["id", "position", "residue", "H", "E", "C"]


def test_residue_level_of_a_single_model(tmp_path: Path) -> None:
    fasta = tmp_path / "proteins.fasta"
    fasta.write_text(PROTEINS)
    with seqrnn.predict(fasta, model=str(TINY), output=tmp_path / "p.h5", precision="fp32") as p:
        frame = p.to_dataframe(level="residue")
        assert not any(c.endswith("_std") for c in frame.columns)
        assert_same_table(frame, exported_tsv(p, tmp_path))
        with pytest.raises(ValueError, match="level"):
            p.to_dataframe(level="token")
