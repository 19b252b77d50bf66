"""The command line as users and pipelines see it: outputs, exit codes and one-line errors."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from seqrnn.cli.main import main
from seqrnn.core.runtime import cpu_bf16_rnn_works
from seqrnn.version import __version__
from tests.conftest import write_config


@pytest.fixture(scope="module")
def protein_model(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli_model")
    cfg = write_config("protein", synthetic["protein"], tmp / "run", tmp)
    assert main(["train", str(cfg), "--quiet"]) == 0
    return tmp / "run" / "model.pt"


def _fasta(path: Path, records: dict[str, str]) -> Path:
    path.write_text("".join(f">{k}\n{v}\n" for k, v in records.items()))
    return path


def _assert_one_line_error(err: str, *needles: str) -> None:
    lines = [x for x in err.strip().splitlines() if x]
    assert len(lines) == 1, err
    assert lines[0].startswith("seqrnn: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, err)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"seqrnn {__version__}"


def test_train_with_set_override_and_unknown_key(
    synthetic: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config("smiles", synthetic["smiles"], tmp_path / "run", tmp_path, epochs=1)
    assert main(["train", str(cfg), "--set", "model.hidden=12", "--quiet"]) == 0
    saved = (tmp_path / "run" / "config.yaml").read_text()
    assert "hidden: 12" in saved
    capsys.readouterr()
    assert main(["train", str(cfg), "--set", "model.hiden=12"]) == 5
    _assert_one_line_error(capsys.readouterr().err, "model.hiden", "did you mean")


def test_train_refuses_to_overwrite_a_run(protein_model: Path, synthetic: dict[str, Path], capsys) -> None:
    cfg = protein_model.parent.parent / "protein.yaml"
    assert main(["train", str(cfg), "--quiet"]) != 0
    _assert_one_line_error(capsys.readouterr().err, "--resume")


def test_predict_writes_schema_and_summary(protein_model: Path, tmp_path: Path, capsys) -> None:
    fasta = _fasta(tmp_path / "in.fasta", {"a": "MKTAYIAKQR", "b": "mkv*", "c": "ACDEFGHIKLMNPQRSTVWYBZUO"})
    out = tmp_path / "out.h5"
    assert main(["predict", "--model", str(protein_model), str(fasta), "-o", str(out), "--threads", "1"]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {out}: 3 sequences, 37 residues" in stdout
    assert "ss3:" in stdout
    with h5py.File(out) as f:
        assert [x.decode() for x in f["ids"][:]] == ["a", "b", "c"]
        assert list(f["lengths"][:]) == [10, 3, 24]
        assert list(f["offsets"][:]) == [0, 10, 13, 37]
        assert f["residue/ss8/probs"].shape == (37, 8)
        assert "".join(f["residue/ss8/probs"].attrs["classes"].astype(str)) == "HGIEBTSC"
        assert "".join(f["residue/ss3/probs"].attrs["classes"].astype(str)) == "HEC"
        assert f.attrs["format_version"] == 1
        assert f.attrs["seqrnn_version"] == __version__
        assert "predict" in f.attrs["command"]
        assert len(f.attrs["model_sha256"]) == 64
        assert f["residue/ss8/probs"].compression is None  # gzip only with --compress (test_shards.py)


def test_predict_from_gzip_and_stdin_agree(protein_model: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    records = {f"s{i}": "MKTAYIAKQRQISFVKSHFSRQ"[: 5 + i] for i in range(12)}
    plain = _fasta(tmp_path / "in.fa", records)
    gz = tmp_path / "in.fa.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert main(["predict", "-m", str(protein_model), str(gz), "-o", str(tmp_path / "gz.h5"), "-q"]) == 0

    class _Stdin:
        buffer = __import__("io").BytesIO(plain.read_bytes())

    monkeypatch.setattr("sys.stdin", _Stdin())
    assert main(["predict", "-m", str(protein_model), "-", "-o", str(tmp_path / "stdin.h5"), "-q"]) == 0
    with h5py.File(tmp_path / "gz.h5") as a, h5py.File(tmp_path / "stdin.h5") as b:
        np.testing.assert_array_equal(a["residue/ss8/probs"][:], b["residue/ss8/probs"][:])


@pytest.mark.parametrize(
    "text",
    ["smiles,name\nCCO,ethanol\nc1ccccc1O,phenol\n", "CCO ethanol\nc1ccccc1O phenol\n"],
    ids=["csv", "smiles lines"],
)
def test_smiles_on_standard_input_need_no_format(text: str, tmp_path: Path, monkeypatch) -> None:
    mols = tmp_path / "mols.smi"
    mols.write_text("SMILES Name\nCCO ethanol\nc1ccccc1O phenol\n")
    assert main(["predict", "-m", "esol", str(mols), "-o", str(tmp_path / "file.h5"), "-q"]) == 0

    class _Stdin:
        buffer = __import__("io").BytesIO(text.encode())

    monkeypatch.setattr("sys.stdin", _Stdin())
    assert main(["predict", "-m", "esol", "-", "-o", str(tmp_path / "stdin.h5"), "-q"]) == 0
    with h5py.File(tmp_path / "file.h5") as a, h5py.File(tmp_path / "stdin.h5") as b:
        assert list(a["ids"].asstr()[:]) == list(b["ids"].asstr()[:]) == ["ethanol", "phenol"]
        np.testing.assert_array_equal(a["sequence/logS/values"][:], b["sequence/logS/values"][:])


def test_batch_size_and_workers_do_not_change_predictions(protein_model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    recs = {
        f"p{i}": "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=int(rng.integers(5, 200))))
        for i in range(40)
    }
    fasta = _fasta(tmp_path / "in.fa", recs)
    outs = []
    # 64-token batches inline; one batch; 64-token batches on 2 concurrent workers, windows looked ahead.
    runs = [
        ["--batch-tokens", "64"],
        ["--batch-tokens", "100000"],
        ["--batch-tokens", "64", "--threads", "2", "--workers", "2", "--window-tokens", "1000"],
    ]
    threads = torch.get_num_threads()
    try:
        for k, extra in enumerate(runs):
            out = tmp_path / f"{k}.h5"
            assert main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out), "-q", *extra]) == 0
            with h5py.File(out) as f:
                outs.append((f["residue/ss3/probs"][:], f["ids"][:]))
    finally:
        torch.set_num_threads(threads)
    for probs, ids in outs[1:]:
        np.testing.assert_allclose(outs[0][0], probs, atol=1e-5)
        assert list(ids) == list(outs[0][1])


@pytest.mark.parametrize(
    ("content", "code", "needles"),
    [
        (">a\nMKT1AY\n", 3, ["in.fa", "record a", "'1'", "position 4"]),
        ("MKTAYI\n", 3, ["in.fa", "FASTA header"]),
        ("", 3, ["in.fa", "empty"]),
        (">a\n\n>b\nMK\n", 3, ["record a", "empty sequence"]),
    ],
)
def test_bad_input_gives_one_line_error_and_no_output(
    protein_model: Path, tmp_path: Path, capsys, content: str, code: int, needles: list[str]
) -> None:
    fasta = tmp_path / "in.fa"
    fasta.write_text(content)
    out = tmp_path / "out.h5"
    assert main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out)]) == code
    _assert_one_line_error(capsys.readouterr().err, *needles)
    assert not out.exists()
    assert list(tmp_path.glob(".*tmp")) == []


def test_skip_invalid_reports_and_keeps_the_rest(protein_model: Path, tmp_path: Path, capsys) -> None:
    fasta = _fasta(tmp_path / "in.fa", {"good1": "MKTAY", "bad": "MK1", "good2": "ACDE"})
    out = tmp_path / "o.h5"
    assert (
        main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out), "--on-invalid", "skip"]) == 0
    )
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "bad" in captured.err
    with h5py.File(out) as f:
        assert [x.decode() for x in f["ids"][:]] == ["good1", "good2"]
        assert f.attrs["n_skipped"] == 1


def test_missing_file_unknown_model_and_unwritable_output(
    protein_model: Path, tmp_path: Path, capsys
) -> None:
    assert (
        main(["predict", "-m", str(protein_model), str(tmp_path / "nope.fa"), "-o", str(tmp_path / "o.h5")])
        == 3
    )
    _assert_one_line_error(capsys.readouterr().err, "nope.fa", "not found")
    fasta = _fasta(tmp_path / "in.fa", {"a": "MK"})
    assert main(["predict", "-m", "no-such-model", str(fasta), "-o", str(tmp_path / "o.h5")]) == 4
    _assert_one_line_error(capsys.readouterr().err, "no-such-model")
    assert (
        main(["predict", "-m", str(protein_model), str(fasta), "-o", str(tmp_path / "missing" / "o.h5")]) == 6
    )
    _assert_one_line_error(capsys.readouterr().err, "does not exist")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(protein_model.read_bytes()[:500])
    assert main(["predict", "-m", str(broken), str(fasta), "-o", str(tmp_path / "o.h5")]) == 4
    _assert_one_line_error(capsys.readouterr().err, "broken.pt")


def test_evaluate_precision_and_json_checked_first(
    protein_model: Path, synthetic: dict[str, Path], tmp_path: Path, capsys
) -> None:
    data = str(synthetic["protein"])
    runs = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / f"{precision}.json"
        code = main(
            ["evaluate", "-m", str(protein_model), data, "--precision", precision, "--json", str(out)]
        )
        if precision == "bf16" and not cpu_bf16_rnn_works():
            # CPUs without AVX512: oneDNN has no bf16 RNN kernel, so bf16 is a clear error, not a crash.
            assert code != 0 and not out.exists()
            _assert_one_line_error(capsys.readouterr().err, "cannot run LSTM/GRU layers in bf16")
            continue
        assert code == 0
        runs[precision] = json.loads(out.read_text())["metrics"]["ss3"]
    if "bf16" in runs:
        # bf16 rounds the activations: the same residues are scored, the accuracy moves by a little at most.
        assert runs["fp32"]["n"] == runs["bf16"]["n"]
        assert abs(runs["fp32"]["accuracy"] - runs["bf16"]["accuracy"]) < 0.05
    capsys.readouterr()
    missing = tmp_path / "no" / "such" / "dir" / "m.json"
    assert main(["evaluate", "-m", str(protein_model), data, "--json", str(missing)]) == 6
    _assert_one_line_error(capsys.readouterr().err, "does not exist")


def test_evaluate_prints_table_and_json(
    protein_model: Path, synthetic: dict[str, Path], tmp_path: Path, capsys
) -> None:
    out = tmp_path / "m.json"
    assert main(["evaluate", "-m", str(protein_model), str(synthetic["protein"]), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ss8" in text and "accuracy" in text
    payload = json.loads(out.read_text())
    assert payload["mask_columns"] == ["disorder"]
    ss3 = payload["metrics"]["ss3"]
    assert 0.0 <= ss3["accuracy"] <= 1.0
    cm = np.array(ss3["confusion_matrix"])
    # Masked termini (2 per chain in the generator) are not scored.
    with open(synthetic["protein"]) as fh:
        resolved = sum(len(row["seq"].split()) - 2 for row in csv.DictReader(fh))
    assert cm.sum() == ss3["n"] == resolved
    assert ss3["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())


def test_evaluate_skip_invalid_reports_and_scores_the_rest(
    protein_model: Path, synthetic: dict[str, Path], tmp_path: Path, capsys
) -> None:
    with open(synthetic["protein"]) as fh:
        rows = list(csv.DictReader(fh))
    bad = [dict(rows[0]), dict(rows[1])]
    bad[0]["seq"] = "M K 1 " + bad[0]["seq"][6:]  # a digit is no residue
    bad[1]["dssp3"] = bad[1]["dssp3"].rsplit(" ", 1)[0]  # one label short of the sequence
    data = tmp_path / "mixed.csv"
    with open(data, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(bad + rows[2:10])
    assert main(["evaluate", "-m", str(protein_model), str(data)]) == 3  # the default stops at the first
    capsys.readouterr()
    out = tmp_path / "m.json"
    args = ["evaluate", "-m", str(protein_model), str(data), "--on-invalid", "skip", "--json", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "8 sequences scored" in captured.out and "2 skipped" in captured.out
    assert captured.err.count("seqrnn: skipped") == 2 and "mixed.csv" in captured.err
    payload = json.loads(out.read_text())
    assert payload["n_sequences"] == 8 and [k["row"] for k in payload["skipped"]] == [1, 2]
    assert main(["evaluate", "-m", str(protein_model), str(data), "--on-invalid", "mask"]) == 2


def test_info_and_models(protein_model: Path, capsys) -> None:
    assert main(["info", str(protein_model)]) == 0
    text = capsys.readouterr().out
    assert "ss8 [residue_classification] H G I E B T S C" in text
    assert "sha256:" in text
    assert main(["info", str(protein_model), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["encoder"]["name"] == "protein"
    assert meta["data"]["fingerprint"].startswith("sha256:")
    assert main(["models"]) == 0


def test_encode(tmp_path: Path, synthetic: dict[str, Path]) -> None:
    fasta = _fasta(tmp_path / "d.fa", {"x": "ACGTN", "y": "acgu"})
    out = tmp_path / "enc.h5"
    assert main(["encode", str(fasta), "--alphabet", "dna", "-o", str(out)]) == 0
    with h5py.File(out) as f:
        vocab = f["tokens"].attrs["vocabulary"].astype(str)
        toks = f["tokens"][:]
        assert "".join(vocab[toks[: f["offsets"][1]]]) == "ACGTN"
        assert "".join(vocab[toks[f["offsets"][1] :]]) == "ACGT"
    smi = tmp_path / "m.h5"
    assert main(["encode", str(synthetic["smiles"]), "--alphabet", "smiles", "-o", str(smi)]) == 0
    with h5py.File(smi) as f:
        assert f.attrs["encoder"] == "smiles"
        assert len(f["ids"]) == 160


def test_export_ss2_horiz_tsv_match_the_hdf5(protein_model: Path, tmp_path: Path) -> None:
    fasta = _fasta(tmp_path / "in.fa", {"sp|P1|A": "MKTAYIAKQRQISFVKSHFSRQ" * 4, "b": "ACDEFGHIKLMNPQRSTVWY"})
    out = tmp_path / "o.h5"
    assert main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out), "-q"]) == 0
    with h5py.File(out) as f:
        probs = f["residue/ss3/probs"][:]
        classes = list(f["residue/ss3/probs"].attrs["classes"].astype(str))
        assert list(f["sequences"].asstr()[:]) == ["MKTAYIAKQRQISFVKSHFSRQ" * 4, "ACDEFGHIKLMNPQRSTVWY"]
    assert main(["export", str(out), "-f", "ss2", "-o", str(tmp_path / "ss2")]) == 0
    rows = [x.split() for x in (tmp_path / "ss2" / "sp_P1_A.ss2").read_text().splitlines()[2:]]
    assert len(rows) == 88
    for j, (idx, aa, pred, pc, ph, pe) in enumerate(rows):
        assert int(idx) == j + 1 and aa == ("MKTAYIAKQRQISFVKSHFSRQ" * 4)[j]
        assert pred == classes[int(probs[j].argmax())]
        np.testing.assert_allclose([float(pc), float(ph), float(pe)], probs[j][[2, 0, 1]], atol=6e-4)
    assert main(["export", str(out), "-f", "horiz", "-o", str(tmp_path / "hz")]) == 0
    text = (tmp_path / "hz" / "b.horiz").read_text()
    pred_line = next(x for x in text.splitlines() if x.startswith("Pred: "))[6:]
    assert pred_line == "".join(classes[k] for k in probs[88:].argmax(1))
    assert main(["export", str(out), "-f", "tsv", "-o", str(tmp_path / "o.tsv")]) == 0
    lines = (tmp_path / "o.tsv").read_text().splitlines()
    assert len(lines) == 1 + 108
    assert lines[0].split("\t")[:4] == ["id", "position", "residue", "ss3"]


def test_export_rejects_non_seqrnn_file(tmp_path: Path, capsys) -> None:
    bogus = tmp_path / "x.h5"
    with h5py.File(bogus, "w") as f:
        f["a"] = [1]
    assert main(["export", str(bogus), "-f", "tsv", "-o", str(tmp_path / "o.tsv")]) == 3
    _assert_one_line_error(capsys.readouterr().err, "not a seqrnn predictions file")


def test_plot_writes_png_for_the_chosen_record(protein_model: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    fasta = _fasta(tmp_path / "in.fa", {"first": "MKTAYIAKQR", "second": "ACDEFGHIKLMNPQRSTVWY" * 3})
    out = tmp_path / "o.h5"
    assert main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out), "-q"]) == 0
    png = tmp_path / "second.png"
    assert main(["plot", str(out), "--id", "second", "-o", str(png)]) == 0
    assert "second" in capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(out), "--id", "nope", "-o", str(png)]) == 3
    _assert_one_line_error(capsys.readouterr().err, "no record 'nope'")


def test_plot_of_a_per_sequence_model_draws_its_score_distribution(tmp_path: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    peaks = Path(__file__).resolve().parents[1] / "data" / "usf1_peaks.fa"
    out = tmp_path / "peaks.h5"
    assert main(["predict", "-m", "tf-USF1", str(peaks), "-o", str(out), "-q"]) == 0
    png = tmp_path / "scores.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0
    assert "score distributions of bound" in capsys.readouterr().out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


@pytest.mark.parametrize(
    ("task", "head", "dataset"), [("dna", "bound", "probs"), ("smiles", "logs", "values")]
)
def test_cli_train_predict_evaluate_per_sequence_tasks(
    task: str, head: str, dataset: str, synthetic: dict[str, Path], tmp_path: Path, capsys
) -> None:
    cfg = write_config(task, synthetic[task], tmp_path / "run", tmp_path, epochs=2)
    assert main(["train", str(cfg), "-q", "--threads", "1"]) == 0
    model = tmp_path / "run" / "model.pt"
    out = tmp_path / "p.h5"
    assert main(["predict", "-m", str(model), str(synthetic[task]), "-o", str(out), "-q"]) == 0
    with h5py.File(out) as f:
        assert f[f"sequence/{head}/{dataset}"].shape[0] == len(f["ids"]) == 160
    capsys.readouterr()
    assert main(["evaluate", "-m", str(model), str(synthetic[task]), "--json", str(tmp_path / "m.json")]) == 0
    assert head in capsys.readouterr().out
    metrics = json.loads((tmp_path / "m.json").read_text())["metrics"][head]
    assert metrics["n"] == 160


def test_predict_can_export_directly(protein_model: Path, tmp_path: Path, capsys) -> None:
    fasta = _fasta(tmp_path / "in.fa", {"a": "MKTAYIAKQR", "b": "ACDEFG"})
    out = tmp_path / "o.h5"
    args = [
        "predict",
        "-m",
        str(protein_model),
        str(fasta),
        "-o",
        str(out),
        "--export",
        "horiz",
        "--export",
        "tsv",
    ]
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / "o.horiz").iterdir()) == ["a.horiz", "b.horiz"]
    assert len((tmp_path / "o.tsv").read_text().splitlines()) == 1 + 16
    capsys.readouterr()
    assert main([*args[:-1], "fasta"]) == 2  # unknown export format is a usage error, before any work
    assert "--export 'fasta'" in capsys.readouterr().err


def test_mask_invalid_replaces_letters_and_reports(protein_model: Path, tmp_path: Path, capsys) -> None:
    fasta = _fasta(tmp_path / "in.fa", {"a": "MKT1AY@", "b": "MKV", "dna": "ACGT" * 6})
    out = tmp_path / "o.h5"
    assert (
        main(["predict", "-m", str(protein_model), str(fasta), "-o", str(out), "--on-invalid", "mask"]) == 0
    )
    err = capsys.readouterr().err
    assert "masked 2 letter(s) outside the alphabet in a" in err
    assert "skipped" in err and "nucleotide" in err  # masking cannot turn DNA into protein
    with h5py.File(out) as f:
        assert list(f["ids"].asstr()[:]) == ["a", "b"]
        assert list(f["sequences"].asstr()[:]) == ["MKTXAYX", "MKV"]
        assert list(f["masked"][:]) == [2, 0]
        assert f.attrs["n_masked"] == 1 and f.attrs["n_skipped"] == 1
