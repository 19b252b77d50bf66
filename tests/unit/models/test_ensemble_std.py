"""Ensemble uncertainty: the std over members beside the mean, in HDF5, the reader, exports and merge."""

from __future__ import annotations

import csv
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import seqrnn
from seqrnn.cli.main import main
from seqrnn.encoding.encoders import DNAEncoder
from seqrnn.models.bundle import load_models
from seqrnn.models.ensemble import Ensemble
from tests.unit.models.test_bundle import HEADS
from tests.unit.models.test_ensemble import _save

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
TEXTS = ["MKVLAAGHE", "ACD", "WWWYYKRPQLLLLA", "MSTNPKPQRKTKRNTNRRPQDVKFPGG"]


def _predict(model, texts=TEXTS, **kw) -> seqrnn.Predictions:
    if isinstance(model, list):  # several paths: averaged as one ensemble
        model = seqrnn.load_model(model, device="cpu", ensemble=True)
    return seqrnn.predict(texts, model, device="cpu", precision="fp32", **kw)


def test_predict_with_std_keeps_the_mean_of_predict() -> None:
    bundle = load_models([GOLDEN / "tiny_protein.pt", GOLDEN / "tiny_protein.pt"])
    assert isinstance(bundle.model, Ensemble)
    tokens, lengths = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]]), torch.tensor([3, 4])
    with torch.inference_mode():
        mean, std = bundle.model.predict_with_std(tokens, lengths)
        plain = bundle.model.predict(tokens, lengths)
    assert mean.keys() == std.keys() == plain.keys()
    for name in mean:
        assert torch.equal(mean[name], plain[name])
        assert std[name].shape == mean[name].shape and std[name].dtype == torch.float32
        assert torch.count_nonzero(std[name]) == 0


def test_an_ensemble_of_one_model_with_itself_has_std_zero_and_the_single_mean() -> None:
    path = GOLDEN / "tiny_protein.pt"
    with _predict(path) as single, _predict([path, path]) as both:
        assert not single.has_std and both.has_std
        with pytest.raises(KeyError, match="ensemble"):
            single.std(0)
        assert "std" not in single.file["residue/ss3"]
        for i in range(len(TEXTS)):
            for head, value in single[i].items():
                np.testing.assert_array_equal(both[i][head], value)
                assert both.std(i)[head].shape == value.shape
                assert not both.std(both.ids[i])[head].any()
        ds, std = both.file["residue/ss3/probs"], both.file["residue/ss3/std"]
        assert std.shape == ds.shape and dict(std.attrs).keys() == dict(ds.attrs).keys()


def test_two_different_members_std_is_the_std_of_their_own_predictions(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"m{k}.pt", seed=k) for k in range(2)]
    singles = [_predict(p) for p in paths]
    with _predict(paths) as both:
        for i in range(len(TEXTS)):
            for head in both.heads:
                members = [s[i][head] for s in singles]
                assert not np.allclose(members[0], members[1])
                np.testing.assert_allclose(both.std(i)[head], np.std(members, axis=0), rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(both[i][head], np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
                assert (both.std(i)[head] > 0).any()
    for s in singles:
        s.close()


def test_with_views_std_is_over_the_members_view_averaged_outputs(tmp_path: Path) -> None:
    heads = [HEADS[1]]
    paths = [_save(tmp_path / f"d{k}.pt", seed=k, encoder=DNAEncoder(), heads=heads) for k in range(2)]
    texts = ["ACGTTGCA", "GGGATTACA", "ATATATCCGG"]
    singles = [_predict(p, texts, test_views=2) for p in paths]
    with _predict(paths, texts, test_views=2) as both:
        members = np.stack([[s[i]["logs"] for i in range(len(texts))] for s in singles])
        got = np.stack([both.std(i)["logs"] for i in range(len(texts))])
        np.testing.assert_allclose(got, members.std(axis=0), rtol=1e-5, atol=1e-6)
        assert (got > 0).all()
    for s in singles:
        s.close()


def test_cli_files_exports_merge_and_resume_carry_the_std(tmp_path: Path) -> None:
    paths = [str(_save(tmp_path / f"m{k}.pt", seed=k)) for k in range(2)]
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">s{i}\n{t}\n" for i, t in enumerate(TEXTS)))
    models = ["-m", paths[0], "-m", paths[1], "--ensemble"]
    single, both, resumed = tmp_path / "single.h5", tmp_path / "both.h5", tmp_path / "resumed.h5"
    assert main(["predict", "-m", paths[0], str(fasta), "-o", str(single), "-q"]) == 0
    assert main(["predict", *models, str(fasta), "-o", str(both), "-q"]) == 0
    assert main(["predict", *models, str(fasta), "-o", str(resumed), "-q", "--resume"]) == 0
    shards = [tmp_path / f"shard{k}.h5" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert main(["predict", *models, str(fasta), "-o", str(shard), "-q", "--shard", f"{k}/2"]) == 0
    merged = tmp_path / "merged.h5"
    assert main(["merge", *map(str, shards), "-o", str(merged)]) == 0
    with h5py.File(single) as s, h5py.File(both) as b, h5py.File(resumed) as r, h5py.File(merged) as m:
        assert "std" not in s["residue/ss3"] and "std" not in s["sequence/logs"]
        for key in ("residue/ss3/std", "sequence/logs/std"):
            assert b[key].shape == b[key.replace("std", "probs" if "ss3" in key else "values")].shape
            np.testing.assert_array_equal(r[key][:], b[key][:])
            # Shards batch other rows together: on CPUs whose kernels round by batch shape (AVX2) the
            # members' outputs move by an ulp, which the std (a difference of near-equal numbers) shows.
            np.testing.assert_allclose(m[key][:], b[key][:], rtol=0, atol=1e-6)
            assert b[key][:].any()
    out_csv, out_tsv = tmp_path / "both.csv", tmp_path / "both.tsv"
    assert main(["export", str(both), "-f", "csv", "-o", str(out_csv)]) == 0
    assert main(["export", str(both), "-f", "tsv", "-o", str(out_tsv)]) == 0
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert "pred_logs" in rows[0] and "pred_logs_std" in rows[0]
    with seqrnn.read_predictions(both) as p:
        assert float(rows[1]["pred_logs_std"]) == pytest.approx(float(p.std("s1")["logs"][0]), rel=1e-4)
    header = out_tsv.read_text().splitlines()[0].split("\t")
    assert [h for h in header if h.endswith("_std")] == ["ss3_PH_std", "ss3_PE_std", "ss3_PC_std"]
    single_csv = tmp_path / "single.csv"
    assert main(["export", str(single), "-f", "csv", "-o", str(single_csv)]) == 0
    assert "_std" not in single_csv.read_text().splitlines()[0]
