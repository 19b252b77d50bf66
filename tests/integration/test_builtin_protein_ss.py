"""The shipped protein models: ``protein-ss`` (v4: ss8, ss3, disorder), ``protein-ss-fast`` (v2: the same
outputs from a smaller network), ``protein-ss-fast-v1``, ``protein-ss-v3``, ``protein-ss-v2`` and
``protein-ss-v1`` (ss8, ss3) load by name with their checksums, predict any length and keep their accuracy.

The accuracy check reads CASP12 from the shared benchmark data when it is present (CI has it beside the
clone; set SEQRNN_SHARED_DATA elsewhere) and is skipped otherwise. Its reference figures were measured
with the shipped models and are stored in ``expected_protein_ss.json``: Q3/Q8 on resolved residues and,
for the models with a disorder head, disorder AUROC and MCC (at the head's stored cut-off) over every residue.
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

from seqrnn.cli.main import main
from seqrnn.core.runtime import cpu_bf16_rnn_works
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import builtin_index, load_bundle

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SEQRNN_SHARED_DATA", ROOT.parent / "shared" / "data"))
CASP12 = SHARED / "protein_ss" / "netsurfp2" / "CASP12_HHblits.csv"
EXPECTED = Path(__file__).with_name("expected_protein_ss.json")

pytestmark = pytest.mark.skipif("protein-ss" not in builtin_index(), reason="no built-in protein-ss model")


def test_listed_and_described(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--group", "protein"]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "v4" in listed["protein-ss"] and "superseded by protein-ss" in listed["protein-ss-v1"]
    assert "superseded by protein-ss" in listed["protein-ss-v2"]
    assert "superseded by protein-ss" in listed["protein-ss-v3"]
    assert "faster" in listed["protein-ss-fast"] and "superseded" not in listed["protein-ss-fast"]
    assert "superseded by protein-ss-fast" in listed["protein-ss-fast-v1"]
    fast = load_bundle("protein-ss-fast")
    assert [h["name"] for h in fast.heads] == ["ss8", "ss3", "disorder"] and fast.version == "2"
    assert fast.model.config.hidden == 192 < load_bundle("protein-ss").model.config.hidden
    assert fast.model.config.conv_layers == 2
    fast_v1 = load_bundle("protein-ss-fast-v1")  # kept by name, as the earlier protein-ss versions
    assert fast_v1.version == "1" and fast_v1.model.config.hidden == 224
    bundle = load_bundle("protein-ss")
    assert [h["name"] for h in bundle.heads] == ["ss8", "ss3", "disorder"]
    assert "".join(bundle.model.heads["ss8"].classes) == "HGIEBTSC"
    assert "".join(bundle.model.heads["ss3"].classes) == "HEC"
    assert bundle.model.heads["disorder"].classes == ["ordered", "disordered"]
    assert bundle.version == "4" and load_bundle("protein-ss-v1").version == "1"
    assert load_bundle("protein-ss-v2").version == "2" and load_bundle("protein-ss-v3").version == "3"
    assert bundle.model.heads["disorder"].spec.branch is None  # v4: v1's network and cost
    assert load_bundle("protein-ss-v3").model.heads["disorder"].spec.branch == 32  # its own BiLSTM
    assert [h["name"] for h in load_bundle("protein-ss-v1").heads] == ["ss8", "ss3"]
    # The card carries the disorder figures beside metapredict's.
    assert main(["info", "protein-ss"]) == 0
    card = capsys.readouterr().out
    assert "disorder AUROC" in card and "metapredict" in card
    assert main(["info", "protein-ss-fast"]) == 0
    fast_card = capsys.readouterr().out
    assert "BiLSTM 2 x 192, conv 2 x 128," in fast_card and "protein-ss-fast-v1" in fast_card
    # A group means the current models: -m protein is v4 and the fast model, side by side.
    from seqrnn.models.zoo import expand_names

    assert expand_names(["protein"]) == ["protein-ss", "protein-ss-fast"]


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
        assert f.attrs["model_version"] == "4" == builtin_index()["protein-ss"]["version"]
        assert f["residue/disorder/probs"].shape == (f["offsets"][-1], 2)
        ss3 = f["residue/ss3/probs"][:]
        assert ss3.shape == (f["offsets"][-1], 3)
        # GFP is an 11-stranded beta barrel with little helix (DSSP: about half its residues in strands).
        a, b = f["offsets"][1], f["offsets"][2]
        fractions = np.bincount(ss3[a:b].argmax(1), minlength=3) / (b - a)
        assert fractions[1] > 0.35 and fractions[0] < 0.15


def test_secondary_structure_across_versions() -> None:
    """v2 and v3 were trained with v1's tensors frozen (train.freeze): the same ss8/ss3 as v1, bit for bit.
    v4 fine-tuned v1's top layer with v1 as its SS teacher: nearly every residue keeps v1's 3-state call."""
    import seqrnn

    fasta = ROOT / "data/examples/proteins.fasta"
    v1 = seqrnn.predict(fasta, model="protein-ss-v1", precision="fp32")
    try:
        for name in ("protein-ss-v2", "protein-ss-v3"):
            frozen = seqrnn.predict(fasta, model=name, precision="fp32")
            try:
                assert len(v1) == len(frozen) == 4
                for i in range(len(v1)):
                    for head in ("ss8", "ss3"):
                        np.testing.assert_array_equal(v1[i][head], frozen[i][head])
                    assert frozen[i]["disorder"].shape == (frozen[i]["ss3"].shape[0], 2)
            finally:
                frozen.close()
        current = seqrnn.predict(fasta, model="protein-ss", precision="fp32")
        try:
            calls = [(v1[i]["ss3"].argmax(1), current[i]["ss3"].argmax(1)) for i in range(len(v1))]
            agree = np.mean(np.concatenate([a == b for a, b in calls]))
            assert agree > 0.9, agree
            assert not all(np.array_equal(v1[i]["ss3"], current[i]["ss3"]) for i in range(len(v1)))
        finally:
            current.close()
    finally:
        v1.close()


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ("protein_ss_v4", "protein-ss"),
        ("protein_ss_fast", "protein-ss-fast"),
        ("protein_ss_v3", "protein-ss-v3"),
    ],
)
def test_shipped_config_is_the_run_that_made_the_model(config: str, name: str) -> None:
    """A built-in config's "Reproduce" line trains what was shipped: its seed, network, heads and training
    settings equal those stored in the model file (all but the thread count, a setting of the machine)."""
    import dataclasses

    from seqrnn.resources import config_path
    from seqrnn.training.config import load_config

    ours = dataclasses.asdict(load_config(config_path(config), ["data.train=x.csv"]))
    shipped = load_bundle(name).metadata["train_config"]
    for section in ("seed", "model", "heads"):
        assert ours[section] == shipped[section], section
    ours["train"].pop("threads")
    assert ours["train"] == {k: v for k, v in shipped["train"].items() if k != "threads"}


def test_versions_of_one_model_run_side_by_side_under_the_names_asked_for(tmp_path: Path) -> None:
    """An earlier version's file carries the model's name (protein-ss-v1's says protein-ss), yet
    ``-m protein-ss -m protein-ss-v1`` compares them in one pass: each model's group is the name asked
    for, and each equals that model run alone."""
    fasta = ROOT / "data/examples/proteins.fasta"
    names = ["protein-ss", "protein-ss-v1", "protein-ss-fast", "protein-ss-fast-v1"]
    both = tmp_path / "both.h5"
    argv = [a for n in names for a in ("-m", n)]
    assert main(["predict", *argv, str(fasta), "-o", str(both), "--precision", "fp32", "-q"]) == 0
    alone = tmp_path / "v1.h5"
    assert (
        main(["predict", "-m", "protein-ss-v1", str(fasta), "-o", str(alone), "--precision", "fp32", "-q"])
        == 0
    )
    with h5py.File(both) as f, h5py.File(alone) as g:
        assert [x.decode() for x in f.attrs["models_name"]] == names
        assert [x.decode() for x in f.attrs["models_version"]] == ["4", "1", "2", "1"]
        assert sorted(f["residue"]) == sorted(names)
        np.testing.assert_array_equal(f["residue/protein-ss-v1/ss3/probs"][:], g["residue/ss3/probs"][:])


@pytest.mark.slow
def test_titin_length_chain_predicts_in_bounded_memory() -> None:
    bundle = load_bundle("protein-ss")
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=35_000))
    from seqrnn.inference.engine import predict_windows
    from seqrnn.inference.pipeline import record_windows
    from seqrnn.io.records import Record

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    options = PredictOptions(precision="fp32")
    windows = record_windows([Record("titin_like", seq, 0, "test")], bundle, options, [])
    (window,) = predict_windows(bundle, windows, options, torch.device("cpu"))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert window.residue["ss8"].shape == (35_000, 8)
    assert grown_mb < 2000


@pytest.mark.skipif(not CASP12.is_file(), reason="shared benchmark data not present")
@pytest.mark.parametrize(
    "name",
    [
        "protein-ss",
        "protein-ss-fast",
        "protein-ss-fast-v1",
        "protein-ss-v3",
        "protein-ss-v2",
        "protein-ss-v1",
    ],
)
def test_casp12_accuracy_matches_stored_figures(name: str) -> None:
    expected = json.loads(EXPECTED.read_text())[name]
    bundle = load_bundle(name)
    assert bundle.sha256 == expected["model_sha256"], (
        "model changed: re-measure and update the expected figures"
    )
    result = evaluate_records(
        bundle, read_records(CASP12), PredictOptions(precision="fp32"), torch.device("cpu"), ["disorder"]
    )
    casp12 = expected["casp12"]
    assert result.metrics["ss3"]["n"] == casp12["n"]
    assert result.metrics["ss3"]["accuracy"] == pytest.approx(casp12["q3"], abs=1e-3)
    assert result.metrics["ss8"]["accuracy"] == pytest.approx(casp12["q8"], abs=1e-3)
    if "disorder_auroc" in casp12:  # every residue (the head's own mask), called at argmax = 0.5
        disorder = result.metrics["disorder"]
        assert disorder["n"] == casp12["disorder_residues"]
        assert disorder["auroc"] == pytest.approx(casp12["disorder_auroc"], abs=1e-3)
        assert disorder["mcc"] == pytest.approx(casp12["disorder_mcc"], abs=2e-3)
    if not cpu_bf16_rnn_works():
        return  # this CPU has no bf16 RNN kernel (no AVX512): bf16 is refused, not compared
    # bf16 (the default where the hardware has it) may move Q3/Q8 by less than 0.2 points.
    bf16 = evaluate_records(
        bundle, read_records(CASP12), PredictOptions(precision="bf16"), torch.device("cpu"), ["disorder"]
    )
    for head in ("ss3", "ss8"):
        assert bf16.metrics[head]["accuracy"] == pytest.approx(result.metrics[head]["accuracy"], abs=2e-3)
