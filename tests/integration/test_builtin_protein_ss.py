"""The shipped protein-ss model: loads by name with its checksum, predicts any length, keeps its accuracy.

The accuracy check reads CASP12 from the shared benchmark data when it is present (CI has it beside the
clone; set SEQRNN_SHARED_DATA elsewhere) and is skipped otherwise. Its reference figures were measured
with the shipped model and are stored in ``expected_protein_ss.json``.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.bundle import builtin_index, load_bundle
from seqrnn.cli.main import main
from seqrnn.data.formats import read_records
from seqrnn.evaluation import evaluate_records
from seqrnn.inference import PredictOptions
from seqrnn.runtime import cpu_bf16_rnn_works

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SEQRNN_SHARED_DATA", ROOT.parent / "shared" / "data"))
CASP12 = SHARED / "protein_ss" / "netsurfp2" / "CASP12_HHblits.csv"
EXPECTED = Path(__file__).with_name("expected_protein_ss.json")

pytestmark = pytest.mark.skipif("protein-ss" not in builtin_index(), reason="no built-in protein-ss model")


def test_listed_and_described(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    assert "protein-ss" in capsys.readouterr().out
    bundle = load_bundle("protein-ss")
    assert [h["name"] for h in bundle.heads] == ["ss8", "ss3"]
    assert "".join(bundle.model.heads["ss8"].classes) == "HGIEBTSC"
    assert "".join(bundle.model.heads["ss3"].classes) == "HEC"


def test_example_input_predicts(tmp_path: Path) -> None:
    out = tmp_path / "ex.h5"
    assert (
        main(
            ["predict", "-m", "protein-ss", str(ROOT / "data/examples/proteins.fasta"), "-o", str(out), "-q"]
        )
        == 0
    )
    with h5py.File(out) as f:
        assert len(f["ids"]) == 4
        assert (
            f.attrs["model_version"] == builtin_index()["protein-ss"]["version"]
        )  # the HDF5 names the version
        ss3 = f["residue/ss3/probs"][:]
        assert ss3.shape == (f["offsets"][-1], 3)
        # GFP is an 11-stranded beta barrel with little helix (DSSP: about half its residues in strands).
        a, b = f["offsets"][1], f["offsets"][2]
        fractions = np.bincount(ss3[a:b].argmax(1), minlength=3) / (b - a)
        assert fractions[1] > 0.35 and fractions[0] < 0.15


@pytest.mark.slow
def test_titin_length_chain_predicts_in_bounded_memory() -> None:
    bundle = load_bundle("protein-ss")
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=35_000))
    from seqrnn.data.records import Record
    from seqrnn.prediction import iter_predictions

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    (window,) = iter_predictions(
        bundle, [Record("titin_like", seq, 0, "test")], PredictOptions(precision="fp32"), torch.device("cpu")
    )
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert window.residue["ss8"].shape == (35_000, 8)
    assert grown_mb < 2000


@pytest.mark.skipif(not CASP12.is_file(), reason="shared benchmark data not present")
def test_casp12_accuracy_matches_stored_figures() -> None:
    expected = json.loads(EXPECTED.read_text())
    bundle = load_bundle("protein-ss")
    assert bundle.sha256 == expected["model_sha256"], (
        "model changed: re-measure and update the expected figures"
    )
    result = evaluate_records(
        bundle, read_records(CASP12), PredictOptions(precision="fp32"), torch.device("cpu"), ["disorder"]
    )
    assert result.metrics["ss3"]["n"] == expected["casp12"]["n"]
    assert result.metrics["ss3"]["accuracy"] == pytest.approx(expected["casp12"]["q3"], abs=1e-3)
    assert result.metrics["ss8"]["accuracy"] == pytest.approx(expected["casp12"]["q8"], abs=1e-3)
    if not cpu_bf16_rnn_works():
        return  # this CPU has no bf16 RNN kernel (no AVX512): bf16 is refused, not compared
    # bf16 (the default where the hardware has it) may move Q3/Q8 by less than 0.2 points.
    bf16 = evaluate_records(
        bundle, read_records(CASP12), PredictOptions(precision="bf16"), torch.device("cpu"), ["disorder"]
    )
    for head in ("ss3", "ss8"):
        assert bf16.metrics[head]["accuracy"] == pytest.approx(result.metrics[head]["accuracy"], abs=2e-3)
