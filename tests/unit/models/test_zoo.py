"""Several models at once (model sets), groups and patterns, packed float16 ensembles, decision thresholds
chosen on validation data, and the training-length note."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import seqrnn
from seqrnn.cli.main import main
from seqrnn.encoding.encoders import DNAEncoder, ProteinEncoder
from seqrnn.errors import ConfigError, ModelError
from seqrnn.io.columns import decide
from seqrnn.models import ModelConfig
from seqrnn.models.bundle import build_model, load_bundle, load_models, save_bundle
from seqrnn.models.decisions import best_threshold
from seqrnn.models.ensemble import Ensemble, ModelSet
from seqrnn.models.metrics import classification_metrics
from seqrnn.models.zoo import card_text, expand_names, load_model_set
from seqrnn.training.config import load_config
from tests.unit.models.test_ensemble import _predict, _save

DNA_HEADS = [
    {"name": "bound", "kind": "sequence_classification", "columns": ["Bound"], "classes": ["0", "1"]}
]
TEXTS = ["ACGTACGTTTGACCA", "GGGCCCATATCACGTGAT", "ACGT" * 10]


def _dna(
    path: Path, seed: int, name: str, lengths: list[int] | None = None, augment: dict | None = None
) -> Path:
    torch.manual_seed(seed)
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=6)
    model = build_model({"model": cfg.to_dict(), "heads": DNA_HEADS}, DNAEncoder()).eval()
    meta: dict = {"name": name}
    if lengths:
        meta["data"] = {"lengths": lengths}
    if augment:
        meta["augment"] = augment
    save_bundle(path, model, DNAEncoder(), meta)
    return path


def _fasta(path: Path, texts: list[str] = TEXTS) -> Path:
    path.write_text("".join(f">s{i}\n{t}\n" for i, t in enumerate(texts)))
    return path


# model sets --------------------------------------------------------------------------------------


def test_a_model_set_writes_one_group_per_model_equal_to_each_model_alone(tmp_path: Path) -> None:
    a, b = _dna(tmp_path / "a.pt", 0, "tf-a"), _dna(tmp_path / "b.pt", 1, "tf-b")
    fasta = _fasta(tmp_path / "in.fa")
    outs = {k: tmp_path / f"{k}.h5" for k in ("a", "b", "both")}
    assert main(["predict", "-m", str(a), str(fasta), "-o", str(outs["a"]), "-q"]) == 0
    assert main(["predict", "-m", str(b), str(fasta), "-o", str(outs["b"]), "-q"]) == 0
    assert main(["predict", "-m", str(a), "-m", str(b), str(fasta), "-o", str(outs["both"]), "-q"]) == 0
    with h5py.File(outs["a"]) as fa, h5py.File(outs["b"]) as fb, h5py.File(outs["both"]) as f:
        np.testing.assert_array_equal(f["sequence/tf-a/bound/probs"][:], fa["sequence/bound/probs"][:])
        np.testing.assert_array_equal(f["sequence/tf-b/bound/probs"][:], fb["sequence/bound/probs"][:])
        assert [x.decode() for x in f.attrs["models_name"]] == ["tf-a", "tf-b"]
        assert len(f.attrs["models_sha256"]) == 2
    with seqrnn.read_predictions(outs["both"]) as p:
        assert p.heads == ["tf-a/bound", "tf-b/bound"]
        assert p[0]["tf-b/bound"].shape == (2,)
    csv_out = tmp_path / "both.csv"
    assert main(["export", str(outs["both"]), "-f", "csv", "-o", str(csv_out)]) == 0
    header = csv_out.read_text().splitlines()[0].split(",")
    assert "pred_tf-a/bound_P1" in header and "pred_tf-b/bound_P1" in header


def test_models_of_different_alphabets_or_names_in_one_call_are_usage_errors(tmp_path: Path) -> None:
    dna = _dna(tmp_path / "d.pt", 0, "dna")
    protein = _save(tmp_path / "p.pt", seed=0)
    with pytest.raises(ModelError, match="different inputs"):
        load_model_set([dna, protein])
    twin = _dna(tmp_path / "d2.pt", 1, "dna")
    with pytest.raises(ModelError, match="named dna"):
        load_model_set([dna, twin])
    with pytest.raises(ModelError, match="more than once"):
        expand_names([str(dna), str(dna)])
    fasta = _fasta(tmp_path / "in.fa")
    code = main(["predict", "-m", str(dna), "-m", str(protein), str(fasta), "-o", str(tmp_path / "x.h5")])
    assert code != 0 and not (tmp_path / "x.h5").exists()


def test_models_with_different_test_views_each_average_their_own(tmp_path: Path) -> None:
    plain = _dna(tmp_path / "a.pt", 0, "plain")
    strands = _dna(tmp_path / "b.pt", 1, "strands", augment={"name": "reverse_complement", "test_views": 2})
    both = load_model_set([plain, strands])
    assert both.views()[1] == 2 and both.view_counts() == {"plain/bound": 1, "strands/bound": 2}
    assert both.views(1)[1] == 1
    fasta = _fasta(tmp_path / "in.fa")
    outs = {k: tmp_path / f"{k}.h5" for k in ("plain", "strands", "both")}
    for name, models in (("plain", [plain]), ("strands", [strands]), ("both", [plain, strands])):
        args = [a for m in models for a in ("-m", str(m))]
        assert main(["predict", *args, str(fasta), "-o", str(outs[name]), "-q"]) == 0
    with h5py.File(outs["both"]) as f:
        for name in ("plain", "strands"):
            with h5py.File(outs[name]) as alone:
                np.testing.assert_allclose(
                    f[f"sequence/{name}/bound/probs"][:], alone["sequence/bound/probs"][:], rtol=0, atol=1e-6
                )


def test_groups_and_patterns_expand_to_built_in_models(monkeypatch: pytest.MonkeyPatch) -> None:
    index = {
        "tf-A": {"group": "tf"},
        "tf-B": {"group": "tf"},
        "promoter-x": {"group": "promoter"},
        "tf-A-v1": {"group": "tf", "superseded_by": "tf-A"},
    }
    monkeypatch.setattr("seqrnn.models.zoo.builtin_index", lambda: index)
    assert expand_names(["tf"]) == ["tf-A", "tf-B"]  # a superseded version is named, not grouped
    assert expand_names(["tf-A-v1"]) == ["tf-A-v1"]
    assert expand_names(["tf-*", "promoter-x"]) == ["tf-A", "tf-B", "promoter-x"]
    with pytest.raises(ModelError, match="no built-in model matches"):
        expand_names(["zz-*"])
    with pytest.raises(ModelError, match="more than once"):
        expand_names(["tf", "tf-A"])


def test_model_set_heads_and_predict_are_prefixed() -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(hidden=8, layers=1, embed_dim=6)
    m = build_model({"model": cfg.to_dict(), "heads": DNA_HEADS}, DNAEncoder()).eval()
    both = ModelSet({"x": m, "y": m})
    assert list(both.heads) == ["x/bound", "y/bound"]
    tokens, lengths = torch.randint(1, 5, (2, 9)), torch.tensor([9, 5])
    out = both.predict(tokens, lengths)
    torch.testing.assert_close(out["x/bound"], out["y/bound"])


# packed float16 ensembles ------------------------------------------------------------------------


def test_a_packed_float16_ensemble_is_one_file_predicting_like_its_members(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"m{k}.pt", seed=k) for k in range(3)]
    members = load_models(paths)
    packed = tmp_path / "packed.pt"
    save_bundle(packed, members.model, members.encoder, {"name": "packed"}, half=True)
    state = torch.load(packed, weights_only=True)["state_dict"]
    assert {v.dtype for k, v in state.items() if k.endswith("weight")} == {torch.float16}
    assert all(k.startswith(("members.0.", "members.1.", "members.2.")) for k in state)
    loaded = load_bundle(packed)
    assert isinstance(loaded.model, Ensemble) and len(loaded.model.members) == 3
    assert loaded.metadata["weights_dtype"] == "float16" and loaded.metadata["n_members"] == 3
    assert next(loaded.model.parameters()).dtype == torch.float32
    texts = ["MKTAYIAKQR", "GSHMSLFDFFAKK"]
    want, got = _predict(members, texts), _predict(loaded, texts)
    for head, value in want.residue.items():
        np.testing.assert_allclose(got.residue[head], value, atol=2e-3)
        assert got.residue_std[head].shape == value.shape


# decision thresholds ----------------------------------------------------------------------------


def test_best_threshold_maximises_mcc_and_decides_the_class_call() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.05, 0.1, 0.3, 0.35, 0.4, 0.9])  # argmax would call 0.35 and 0.4 negative
    t = best_threshold(y, scores)
    assert 0.3 < t < 0.35
    probs = np.stack([1 - scores, scores], 1)
    assert decide(probs, t).tolist() == y.tolist()
    assert decide(probs).tolist() == [0, 0, 0, 0, 0, 1]
    m = classification_metrics(y, probs, ["0", "1"], threshold=t)
    assert m["mcc"] == pytest.approx(1.0) and m["threshold"] == pytest.approx(t)
    assert best_threshold(np.ones(4), np.linspace(0, 1, 4)) == 0.5
    # Imbalanced: 2 positives among 22; MCC calls only the sure one, Youden's J takes both positives.
    y = np.array([0] * 20 + [1, 1])
    scores = np.array([0.5, 0.45, 0.42] + [0.1] * 17 + [0.4, 0.9])
    assert best_threshold(y, scores, "mcc") > 0.5 > 0.4 > best_threshold(y, scores, "youden") > 0.1
    with pytest.raises(ValueError, match="criterion"):
        best_threshold(y, scores, "f1")


def test_threshold_config_is_checked(tmp_path: Path) -> None:
    config = Path(seqrnn.__file__).parent / "resources/configs/dna/promoter.yaml"
    base = ["data.train=x.tsv"]
    assert load_config(config, [*base, "heads.0.threshold=auto"]).heads[0].threshold == "auto"
    assert load_config(config, [*base, "heads.0.threshold=0.3"]).heads[0].threshold == 0.3
    for bad in ("1.5", "maybe", "0"):
        with pytest.raises(ConfigError, match="threshold"):
            load_config(config, [*base, f"heads.0.threshold={bad}"])
    regression = Path(seqrnn.__file__).parent / "resources/configs/moleculenet/esol.yaml"
    with pytest.raises(ConfigError, match="no decision threshold"):
        load_config(regression, ["heads.0.threshold=auto"])


def test_training_with_threshold_auto_stores_the_validation_cut_off(
    tmp_path: Path, synthetic: dict[str, Path]
) -> None:
    from tests.conftest import write_config

    cfg = write_config("dna", synthetic["dna"], tmp_path / "run", tmp_path, epochs=1)
    args = ["train", str(cfg), "-q", "--set", "heads.0.threshold=auto", "--set", "data.test_fraction=0.2"]
    assert main(args) == 0
    bundle = load_bundle(tmp_path / "run" / "model.pt")
    threshold = bundle.heads[0]["threshold"]
    assert 0.0 < threshold < 1.0
    assert bundle.metadata["data"]["lengths"][0] <= bundle.metadata["data"]["lengths"][1]
    test = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert test["metrics"]["bound"]["threshold"] == pytest.approx(threshold)


# lengths and cards ------------------------------------------------------------------------------


def test_sequences_far_from_the_training_lengths_get_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    model = _dna(tmp_path / "a.pt", 0, "tf-a", lengths=[20, 40])
    fasta = _fasta(tmp_path / "in.fa", ["ACGT" * 5, "ACG", "ACGT" * 30])
    out = tmp_path / "o.h5"
    assert main(["predict", "-m", str(model), str(fasta), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "2 sequence(s) shorter than 10 or longer than 80" in err
    with h5py.File(out) as f:
        assert f.attrs["n_off_length"] == 2


def test_card_text_prints_known_keys_in_order() -> None:
    text = card_text({"limits": "l", "name": "n", "test metrics": {"auroc": 0.9}, "zz": [1, 2]})
    lines = text.splitlines()
    assert lines[1] == "  name: n" and lines.index("  limits: l") > lines.index("  test metrics:")
    assert "    - 2" in lines


def test_wrong_alphabet_is_an_error_naming_the_record(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = _dna(tmp_path / "a.pt", 0, "tf-a")
    fasta = _fasta(tmp_path / "p.fa", ["MKTAYIAKQRQISFVKSHFSRQ"])
    assert main(["predict", "-m", str(model), str(fasta), "-o", str(tmp_path / "o.h5")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "record s0" in err[0] and "dna alphabet" in err[0]
    protein = _save(tmp_path / "p.pt", seed=0, encoder=ProteinEncoder())
    dna = _fasta(tmp_path / "d.fa", ["ACGTACGTAGCTAGCTAGCATCGATCAG"])
    assert main(["predict", "-m", str(protein), str(dna), "-o", str(tmp_path / "o2.h5")]) != 0
    assert "nucleotide" in capsys.readouterr().err


def test_a_model_set_shards_merge_and_resume_like_one_model(tmp_path: Path) -> None:
    models = ["-m", str(_dna(tmp_path / "a.pt", 0, "tf-a")), "-m", str(_dna(tmp_path / "b.pt", 1, "tf-b"))]
    fasta = _fasta(tmp_path / "in.fa", [t * k for k in (1, 2, 3) for t in TEXTS])
    whole, resumed, merged = tmp_path / "whole.h5", tmp_path / "resumed.h5", tmp_path / "merged.h5"
    assert main(["predict", *models, str(fasta), "-o", str(whole), "-q"]) == 0
    assert main(["predict", *models, str(fasta), "-o", str(resumed), "-q", "--resume"]) == 0
    shards = [tmp_path / f"s{k}.h5" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert main(["predict", *models, str(fasta), "-o", str(shard), "-q", "--shard", f"{k}/2"]) == 0
    assert main(["merge", *map(str, shards), "-o", str(merged)]) == 0
    with h5py.File(whole) as w, h5py.File(resumed) as r, h5py.File(merged) as m:
        for key in ("ids", "sequence/tf-a/bound/probs", "sequence/tf-b/bound/probs"):
            np.testing.assert_array_equal(r[key][:], w[key][:])
            if key == "ids":
                np.testing.assert_array_equal(m[key][:], w[key][:])
            else:  # other batch neighbours in a shard: an ulp on CPUs whose kernels round by batch shape
                np.testing.assert_allclose(m[key][:], w[key][:], rtol=0, atol=1e-6)


def test_evaluate_scores_each_model_of_a_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, b = _dna(tmp_path / "a.pt", 0, "tf-a"), _dna(tmp_path / "b.pt", 1, "tf-b")
    data = tmp_path / "test.tsv"
    data.write_text("id\tseq\tBound\n" + "".join(f"r{i}\t{t}\t{i % 2}\n" for i, t in enumerate(TEXTS * 2)))
    report = tmp_path / "eval.json"
    assert main(["evaluate", "-m", str(a), "-m", str(b), str(data), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "of tf-a on" in out and "of tf-b on" in out
    models = json.loads(report.read_text())["models"]
    assert sorted(models) == ["tf-a", "tf-b"] and models["tf-a"]["metrics"]["bound"]["n"] == 6
    alone = tmp_path / "a.json"
    assert main(["evaluate", "-m", str(a), str(data), "--json", str(alone)]) == 0
    assert json.loads(alone.read_text())["metrics"] == models["tf-a"]["metrics"]


def test_names_and_groups_forgive_letter_case() -> None:
    assert expand_names(["TF-usf1"]) == ["tf-USF1"]
    assert expand_names(["TF"]) == expand_names(["tf"])
    assert expand_names(["TF-U*"]) == expand_names(["tf-U*"]) == ["tf-USF1", "tf-USF2"]
    assert load_bundle("ESOL").name == "esol"


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(
        ModelError, match=r"tf-USF: no built-in model or group of that name \(did you mean tf-USF.*tf-USF"
    ):
        expand_names(["tf-USF"])
    with pytest.raises(ModelError, match=r"did you mean protein-ss"):
        expand_names(["protien-ss"])
    with pytest.raises(ModelError, match=r"seqrnn models lists the built-in models"):
        expand_names(["zzzzzz"])
    with pytest.raises(ModelError, match=r"no such model file.*did you mean lipophilicity"):
        load_bundle("lipophilicty")
