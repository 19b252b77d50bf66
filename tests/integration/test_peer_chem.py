"""Real chemistry files of other projects through ``seqrnn predict``, ``evaluate`` and ``train``.

``tests/data/peer/`` (provenance and licences in its README.md):

- ``rdkit-pandas_load.sdf.gz`` (RDKit ``rdkit/Chem/test_data/pandas_load.sdf.gz``): 14 gzipped PubChem
  records with 30+ properties each; record 2 (CID 35024976) has ``ABC`` for its atom count, so RDKit
  cannot parse it;
- ``rdkit-good_bad_good_bad.sdf`` (RDKit ``Code/GraphMol/FileParsers/test_data/``): 4 records; record 2
  has a fluorine of valence 2 (sanitisation fails), record 4 promises more bonds than it lists; ids
  ``good1``/``good2`` in property ``ID``, both good titles ``OK``;
- ``rdkit-NCI_aids_few.sdf`` (RDKit ``Code/GraphMol/FileParsers/test_data/``): 16 NCI AIDS screen
  records, copper complexes with charged oxygens among them, all readable;
- ``rdkit-bzr.smi`` (RDKit ``Docs/Book/data/bzr.smi``): 10 benzodiazepines, ``SMILES name``;
- ``rdkit-zinc.leads.500.q.smi`` (RDKit ``Code/GraphMol/FileParsers/test_data/``): 500 ZINC leads,
  ``SMILES<TAB>ZINC id``, stereocentres;
- ``chemprop-regression.csv`` (chemprop ``tests/data/regression.csv``): 500 rows of ESOL,
  ``smiles,logSolubility``.

Every prediction exits 0 and writes one row per molecule that RDKit reads (counted here with RDKit
itself); an SD record RDKit cannot read is one ``seqrnn: skipped`` line on stderr, even with ``-q``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from seqrnn.cli.main import main

Chem = pytest.importorskip("rdkit.Chem")

PEER = Path(__file__).resolve().parents[1] / "data" / "peer"

# file -> (records in the file, records RDKit reads, ids of the unreadable ones)
PEER_CHEM = {
    "rdkit-pandas_load.sdf.gz": (14, 13, ["35024976"]),
    "rdkit-good_bad_good_bad.sdf": (4, 2, ["Sanitization Error", "too many bonds"]),
    "rdkit-NCI_aids_few.sdf": (16, 16, []),
    "rdkit-bzr.smi": (10, 10, []),
    "rdkit-zinc.leads.500.q.smi": (500, 500, []),
    "chemprop-regression.csv": (500, 500, []),
}


def rdkit_reads(path: Path) -> list[str]:
    """The SMILES of every molecule RDKit itself reads from ``path`` (RDKit's own readers, logs off)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    if ".sdf" in path.suffixes:
        with gzip.open(path) if path.suffix == ".gz" else open(path, "rb") as fh:
            return [Chem.MolToSmiles(m) for m in Chem.ForwardSDMolSupplier(fh) if m is not None]
    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            texts = [row["smiles"] for row in csv.DictReader(fh)]
    else:
        texts = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    return [s for s in texts if Chem.MolFromSmiles(s) is not None]


def predict(path: Path | str, out: Path, *args: str) -> int:
    return main(["predict", "-m", "esol", str(path), "-o", str(out), "--threads", "1", "-q", *args])


@pytest.mark.parametrize("name", list(PEER_CHEM))
def test_predict_peer_file(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    total, readable, unreadable = PEER_CHEM[name]
    path = PEER / name
    assert len(rdkit_reads(path)) == readable
    out = tmp_path / "pred.h5"
    assert predict(path, out) == 0
    with h5py.File(out) as f:
        assert f["ids"].shape == (readable,) == f["sequence/logS/values"].shape[:1]
        assert f.attrs["n_skipped"] == 0
        assert np.isfinite(f["sequence/logS/values"][:]).all()
        ids = list(f["ids"].asstr()[:])
    err = capsys.readouterr().err
    skipped = [line for line in err.splitlines() if line.startswith("seqrnn: skipped")]
    assert [line.split(":", 2)[2].split(" (record")[0] for line in skipped] == unreadable
    assert total == readable + len(unreadable)
    if name == "rdkit-pandas_load.sdf.gz":
        assert ids[:2] == ["35024973", "35024977"]  # titles: the PubChem CIDs
        assert "(record 2): RDKit cannot parse this record" in skipped[0]
    if name == "rdkit-good_bad_good_bad.sdf":
        assert "(record 2): RDKit rejects this molecule (" in skipped[0] and "valence" in skipped[0]
    if name == "rdkit-zinc.leads.500.q.smi":
        assert ids[0] == "ZINC00403244"  # tab-separated names


def test_sdf_id_column_picks_a_property(tmp_path: Path) -> None:
    out = tmp_path / "ids.h5"
    assert predict(PEER / "rdkit-good_bad_good_bad.sdf", out, "--id-column", "ID") == 0
    with h5py.File(out) as f:
        assert list(f["ids"].asstr()[:]) == ["good1", "good2"]


def test_sdf_csv_export_names_the_smiles_and_keeps_the_properties(tmp_path: Path) -> None:
    out = tmp_path / "ids.h5"
    assert predict(PEER / "rdkit-good_bad_good_bad.sdf", out, "--id-column", "ID") == 0
    table = tmp_path / "ids.csv"
    assert main(["export", str(out), "-f", "csv", "-o", str(table)]) == 0
    with open(table, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows if r.get("pred_status", "ok") == "ok"] == ["good1", "good2"]
    assert "smiles" in rows[0] and "sequence" not in rows[0] and "ID" in rows[0]


@pytest.mark.parametrize("name", ["rdkit-NCI_aids_few.sdf", "rdkit-pandas_load.sdf.gz"])
def test_sdf_on_standard_input_needs_no_format(name: str, tmp_path: Path, monkeypatch) -> None:
    """Piped in (gzipped data decompressed first, as ``zcat lib.sdf.gz |`` would): the same rows."""
    assert predict(PEER / name, tmp_path / "file.h5") == 0
    data = (PEER / name).read_bytes()

    class _Stdin:
        buffer = io.BytesIO(gzip.decompress(data) if name.endswith(".gz") else data)

    monkeypatch.setattr("sys.stdin", _Stdin())
    assert predict("-", tmp_path / "stdin.h5") == 0
    with h5py.File(tmp_path / "file.h5") as a, h5py.File(tmp_path / "stdin.h5") as b:
        assert list(a["ids"].asstr()[:]) == list(b["ids"].asstr()[:])
        np.testing.assert_array_equal(a["sequence/logS/values"][:], b["sequence/logS/values"][:])


def test_evaluate_with_an_sd_property_as_label(tmp_path: Path) -> None:
    """esol's logS against PubChem's XLogP3: solubility falls as lipophilicity rises."""
    report = tmp_path / "metrics.json"
    argv = ["evaluate", "-m", "esol", str(PEER / "rdkit-pandas_load.sdf.gz"), "--threads", "1"]
    assert main([*argv, "--label", "logS=PUBCHEM_XLOGP3_AA", "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())
    assert metrics["n_sequences"] == 13
    (scores,) = metrics["metrics"]["logS"]["per_target"].values()
    assert scores["n"] == 13 and scores["pearson"] < -0.5


def test_evaluate_chemprop_esol_csv(tmp_path: Path) -> None:
    report = tmp_path / "metrics.json"
    argv = ["evaluate", "-m", "esol", str(PEER / "chemprop-regression.csv"), "--threads", "1"]
    assert main([*argv, "--label", "logS=logSolubility", "--json", str(report)]) == 0
    metrics = json.loads(report.read_text())
    (scores,) = metrics["metrics"]["logS"]["per_target"].values()
    assert scores["n"] == 500 and scores["r2"] > 0.5


def test_train_and_evaluate_on_an_sd_property(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "sdf.yaml"
    config.write_text(
        "name: sdf-peer\nseed: 0\nencoder: smiles\n"
        f"output_dir: {tmp_path / 'run'}\n"
        f"data: {{train: {PEER / 'rdkit-pandas_load.sdf.gz'}, valid_fraction: 0.3}}\n"
        "heads:\n  - {name: xlogp, kind: sequence_regression, columns: [PUBCHEM_XLOGP3_AA]}\n"
        "model: {cell: gru, hidden: 8, layers: 1, embed_dim: 8}\n"
        "train: {epochs: 1, max_steps_per_epoch: 1, batch_tokens: 2000, threads: 1}\n"
    )
    assert main(["train", str(config), "-q"]) == 0
    assert "rdkit-pandas_load.sdf.gz:35024976 (record 2)" in capsys.readouterr().err
    model = tmp_path / "run" / "model.pt"
    report = tmp_path / "metrics.json"
    argv = ["evaluate", "-m", str(model), str(PEER / "rdkit-pandas_load.sdf.gz"), "--threads", "1"]
    assert main([*argv, "--json", str(report)]) == 0
    assert json.loads(report.read_text())["metrics"]["xlogp"]["n"] == 13
