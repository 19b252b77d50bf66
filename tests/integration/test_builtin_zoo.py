"""The built-in DNA and SMILES models (the model zoo): each loads by name with its checksum, carries a
model card, is listed by ``seqrnn models``, and keeps predicting its stored golden figures.

Golden inputs and outputs are written by ``benchmarks/build_models.py`` (``tests/golden/zoo_expected.json``):
a few fixed random DNA windows (one with an E-box) or drug-like SMILES per model, predicted in fp32.
The TF models' test figures are re-measured on DeepBind's ``_B`` files when the shared data is present
(skipped otherwise).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.cli.main import main
from seqrnn.encoding.examples import prepare_example
from seqrnn.inference.engine import PredictOptions, predict_examples
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import ReadOptions, chain_inputs
from seqrnn.io.records import Record
from seqrnn.models.bundle import builtin_index, load_bundle

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SEQRNN_SHARED_DATA", ROOT.parent / "shared" / "data"))
GOLDEN_FILE = ROOT / "tests" / "golden" / "zoo_expected.json"
GOLDEN = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.is_file() else {}
ZOO = sorted(name for name, entry in builtin_index().items() if entry.get("group") != "protein")
CARD_KEYS = {
    "name", "version", "task", "inputs", "outputs", "trained lengths", "training data", "source and licence",
    "protocol", "split", "test metrics", "published anchors", "intended use", "limits", "reproduce", "rebuild",
}  # fmt: skip

pytestmark = pytest.mark.skipif(not ZOO, reason="no built-in DNA/SMILES models in this installation")


@pytest.mark.parametrize("name", ZOO)
def test_golden_predictions_and_card(name: str) -> None:
    bundle = load_bundle(name)  # checks the sha256 of index.json
    card = bundle.metadata["card"]
    assert set(card) >= CARD_KEYS, CARD_KEYS - set(card)
    assert card["name"] == name and bundle.metadata["weights_dtype"] == "float16"
    expected = GOLDEN[name]
    records = [Record(f"g{i}", t, i, "golden") for i, t in enumerate(expected["inputs"])]
    examples = [prepare_example(r, bundle.encoder, views=bundle.views(None)) for r in records]
    got = predict_examples(bundle, examples, PredictOptions(precision="fp32"), torch.device("cpu"))
    for head, values in expected["outputs"].items():
        np.testing.assert_allclose(got.sequence[head], np.array(values), atol=1e-4, rtol=0)


def test_models_lists_every_model_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    assert set(ZOO) <= set(names)
    for line in lines:
        assert " | test: " in line and line.rstrip().endswith("MB")
    assert main(["info", ZOO[-1]]) == 0
    card = capsys.readouterr().out.split("model card:")[1]
    assert "  test metrics:" in card and "  reproduce: seqrnn evaluate -m " + ZOO[-1] in card


GROUPS = sorted({builtin_index()[n]["group"] for n in ZOO})


@pytest.mark.parametrize("group", GROUPS)
def test_a_group_predicts_into_one_file_with_a_group_per_model(group: str, tmp_path: Path) -> None:
    members = [n for n in ZOO if builtin_index()[n]["group"] == group]
    inputs = GOLDEN[members[0]]["inputs"]
    if group == "moleculenet":
        data = tmp_path / "in.smi"
        data.write_text("\n".join(inputs) + "\n")
    else:
        data = tmp_path / "in.fa"
        data.write_text("".join(f">s{i}\n{t}\n" for i, t in enumerate(inputs)))
    out = tmp_path / "all.h5"
    assert (
        main(
            ["predict", "-m", group, str(data), "-o", str(out), "-q", "--threads", "1", "--precision", "fp32"]
        )
        == 0
    )
    with h5py.File(out) as f:
        assert sorted(f["sequence"]) == members
        assert [x.decode() for x in f.attrs["models_name"]] == members
        # The same numbers as each model alone (golden), for the models whose golden inputs these are
        # (promoters of 81 and 251 nt have their own): one shared encoding (for SMILES models in their
        # union vocabulary), each model with its own views.
        for name in (m for m in members if GOLDEN[m]["inputs"] == inputs):
            for head, values in GOLDEN[name]["outputs"].items():
                got = f[f"sequence/{name}/{head}"]
                dataset = got["probs"] if "probs" in got else got["values"]
                np.testing.assert_allclose(dataset[:], np.array(values), atol=1e-4, rtol=0)


TF_TESTS = {
    n: sorted((SHARED / "dna" / "deepbind_chipseq").glob(f"{n[3:]}_*_B.seq.gz"))
    for n in ZOO
    if n.startswith("tf-")
}


@pytest.mark.parametrize("name", [n for n in ZOO if n.startswith("tf-")])
def test_tf_card_figures_are_reproduced_on_the_test_fold(name: str) -> None:
    if not TF_TESTS[name]:
        pytest.skip(f"shared data not present ({SHARED})")
    bundle = load_bundle(name)
    read = ReadOptions(sequence_column="seq", id_column="EventID")
    metrics = evaluate_records(
        bundle,
        chain_inputs(TF_TESTS[name], read),
        PredictOptions(precision="fp32"),
        torch.device("cpu"),
    ).metrics["bound"]
    card = bundle.metadata["card"]["test metrics"]
    assert metrics["n"] == card["n"]
    assert metrics["auroc"] == pytest.approx(card["auroc"], abs=1e-4)
