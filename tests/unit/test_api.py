"""The Python API (``seqrnn.predict``, ``seqrnn.read_predictions``, ``Predictions``): the same numbers as
``seqrnn predict``, every input form, lazy reading, indexing and errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import seqrnn
from seqrnn.cli.main import main
from seqrnn.errors import InputError, SeqrnnError
from seqrnn.io.formats import read_records
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer

GOLDEN_DIR = Path(__file__).parents[1] / "golden"
MODEL = str(GOLDEN_DIR / "tiny_protein.pt")
FASTA = GOLDEN_DIR / "input.fasta"
RESIDUE = ("residue/ss3/probs", "residue/ss8/probs")
INDEX = ("ids", "lengths", "offsets", "sequences", "record_index", "masked")


def _records() -> list[tuple[str, str]]:
    return [(r.id, r.text) for r in read_records(FASTA)]


def _cli(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "cli.h5"
    assert main(["predict", *args, str(FASTA), "-o", str(out), "--precision", "fp32", "-q"]) == 0
    return out


def _assert_same_numbers(pred: seqrnn.Predictions, path: Path, ids: bool = True) -> None:
    """Every dataset of the API's result equals the CLI file's, exactly."""
    with h5py.File(path) as f:
        for name in RESIDUE + INDEX:
            if name == "ids" and not ids:
                continue
            got, want = pred.file[name][:], f[name][:]
            assert got.dtype == want.dtype and np.array_equal(got, want), name


@pytest.fixture(scope="module")
def cli_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    torch.set_num_threads(1)
    return _cli(tmp_path_factory.mktemp("cli"), "-m", MODEL)


@pytest.fixture(scope="module")
def pred(cli_file: Path) -> seqrnn.Predictions:
    import torch

    torch.set_num_threads(1)
    p = seqrnn.predict(FASTA, model=MODEL, precision="fp32")
    yield p
    p.close()


# Identity with the CLI ----------------------------------------------------------------------------


def test_predict_gives_the_cli_numbers_bit_for_bit(pred: seqrnn.Predictions, cli_file: Path) -> None:
    _assert_same_numbers(pred, cli_file)
    assert pred.path is None  # in memory
    with h5py.File(cli_file) as f:
        assert pred.attrs["model_sha256"] == f.attrs["model_sha256"]
        assert pred.attrs["precision"] == "fp32"
        assert pred.attrs["n_sequences"] == f.attrs["n_sequences"] == 4


def test_sequences_pairs_and_dicts_give_the_same_numbers(pred: seqrnn.Predictions, cli_file: Path) -> None:
    pairs = _records()
    texts = [text for _, text in pairs]
    with seqrnn.predict(texts, model=MODEL, precision="fp32") as from_text:
        _assert_same_numbers(from_text, cli_file, ids=False)
        assert from_text.ids == ["0", "1", "2", "3"]
        assert from_text.attrs["inputs"] == ["<sequences>"]
    with seqrnn.predict(iter(pairs), model=MODEL, precision="fp32") as from_pairs:
        _assert_same_numbers(from_pairs, cli_file)
    with seqrnn.predict(dict(pairs), model=MODEL, precision="fp32") as from_dict:
        _assert_same_numbers(from_dict, cli_file)
    with seqrnn.predict([str(FASTA)], model=MODEL, precision="fp32") as from_list:
        _assert_same_numbers(from_list, cli_file)


def test_a_loaded_model_and_an_output_file(cli_file: Path, tmp_path: Path) -> None:
    bundle = seqrnn.load_model(MODEL, device="cpu")
    out = tmp_path / "api.h5"
    with seqrnn.predict(FASTA, model=bundle, precision="fp32", output=out) as p:
        assert p.path == out and out.is_file()
        _assert_same_numbers(p, cli_file)


def test_ensemble_from_a_list_matches_the_cli_ensemble(tmp_path: Path) -> None:
    cli = _cli(tmp_path, "-m", MODEL, "-m", MODEL, "--ensemble")
    ensemble = seqrnn.load_model([MODEL, MODEL], ensemble=True)
    with seqrnn.predict(FASTA, model=ensemble, precision="fp32") as p:
        _assert_same_numbers(p, cli)
        assert p.attrs["model_name"].startswith("ensemble(")
        assert len(p.attrs["model_members_sha256"]) == 2


# Reading ------------------------------------------------------------------------------------------


def test_read_predictions_round_trips(pred: seqrnn.Predictions, cli_file: Path) -> None:
    with seqrnn.read_predictions(cli_file) as p:
        assert p.path == cli_file
        assert p.ids == pred.ids == ["short", "helix_like", "strand_like", "mixed"]
        assert len(p) == 4 and p.heads == ["ss3", "ss8"] and p.residue_heads == ["ss3", "ss8"]
        for (id_a, a), (id_b, b) in zip(p, pred, strict=True):
            assert id_a == id_b and a.keys() == b.keys()
            for head in a:
                assert np.array_equal(a[head], b[head])
        assert [p.sequence(i) for i in range(4)] == [pred.sequence(i) for i in range(4)]
        assert p.skipped == []
    assert not p.file  # closed


def test_reading_is_lazy(cli_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[tuple[str, object]] = []
    original = h5py.Dataset.__getitem__

    def recording(self: h5py.Dataset, args: object, *rest: object) -> object:
        reads.append((self.name, args))
        return original(self, args, *rest)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", recording)
    with seqrnn.read_predictions(cli_file) as p:
        assert isinstance(p.file["residue/ss3/probs"], h5py.Dataset)
        assert {name for name, _ in reads} <= {"/ids", "/offsets"}  # only the index on opening
        reads.clear()
        out = p["helix_like"]
        assert out["ss3"].shape == (21, 3) and out["ss8"].shape == (21, 8)
        residue_reads = [(n, a) for n, a in reads if n.startswith("/residue/")]
        assert len(residue_reads) == 2
        for _, selection in residue_reads:
            assert isinstance(selection, slice) and selection.stop - selection.start == 21


def test_indexing_by_position_and_id(pred: seqrnn.Predictions) -> None:
    by_id = pred["strand_like"]
    assert np.array_equal(by_id["ss3"], pred[2]["ss3"])
    assert np.array_equal(pred[-1]["ss8"], pred["mixed"]["ss8"])
    assert by_id["ss3"].shape == (16, 3) and by_id["ss3"].dtype == np.float32
    np.testing.assert_allclose(by_id["ss3"].sum(1), 1.0, atol=1e-5)
    assert len(pred.sequence("strand_like")) == 16
    assert "short" in pred and "nope" not in pred
    with pytest.raises(KeyError, match="nope"):
        pred["nope"]
    with pytest.raises(IndexError):
        pred[4]
    with pytest.raises(KeyError, match="no head 'ss9'"):
        pred.classes("ss9")


def test_duplicate_ids_are_an_error_by_id_but_fine_by_position() -> None:
    with seqrnn.predict([("a", "MKV"), ("b", "AAA"), ("a", "GGG")], model=MODEL) as p:
        assert p.ids == ["a", "b", "a"]
        with pytest.raises(KeyError, match="occurs 2 times"):
            p["a"]
        assert p["b"]["ss3"].shape == (3, 3)
        assert p.sequence(2) == "GGG"


def test_classes(pred: seqrnn.Predictions) -> None:
    assert pred.classes("ss3") == ["H", "E", "C"]
    assert pred.classes("ss8") == list("HGIEBTSC")
    assert "in memory" in repr(pred)


def test_to_dataframe(pred: seqrnn.Predictions) -> None:
    pytest.importorskip("pandas")
    df = pred.to_dataframe("ss3")
    assert list(df.columns) == ["id", "position", "residue", "H", "E", "C"]
    assert len(df) == int(pred.offsets[-1])
    helix = df[df["id"] == "helix_like"]
    assert helix["position"].tolist() == list(range(1, 22))
    assert "".join(helix["residue"]) == pred.sequence("helix_like")
    assert np.array_equal(helix[["H", "E", "C"]].to_numpy(), pred["helix_like"]["ss3"])


def test_to_dataframe_without_pandas_names_the_extra(
    pred: seqrnn.Predictions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import fails
    with pytest.raises(SeqrnnError, match=r"seqrnn\[pandas\]"):
        pred.to_dataframe("ss3")


# Options and errors -------------------------------------------------------------------------------


def test_unknown_option_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="batchsize"):
        seqrnn.predict(FASTA, model=MODEL, batchsize=3)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("option", "value"),
    [("on_invalid", "ignore"), ("precision", "fp16"), ("batch_tokens", 0), ("workers", -1)],
)
def test_bad_option_values_are_named(option: str, value: object) -> None:
    with pytest.raises(SeqrnnError, match=option):
        seqrnn.predict(["MKV"], model=MODEL, **{option: value})


def test_options_reach_the_prediction_loop() -> None:
    texts = [text for _, text in _records()]
    with (
        seqrnn.predict(texts, model=MODEL, precision="fp32") as plain,
        seqrnn.predict(texts, model=MODEL, precision="fp32", batch_size=1, window_tokens=10) as small,
    ):
        for i in range(len(plain)):
            np.testing.assert_allclose(small[i]["ss3"], plain[i]["ss3"], atol=1e-5)
    with seqrnn.predict(texts, model=MODEL, shard="2/2") as half:
        assert half.ids == ["1", "3"]


def test_invalid_records_error_or_skip() -> None:
    pairs = [("ok", "MKVL"), ("bad", "MK1VL")]
    with pytest.raises(InputError, match="bad"):
        seqrnn.predict(pairs, model=MODEL)
    with seqrnn.predict(pairs, model=MODEL, on_invalid="skip") as p:
        assert p.ids == ["ok"]
        [skipped] = p.skipped
        assert skipped.record == "<sequences>:bad" and skipped.index == 1
    with seqrnn.predict(pairs, model=MODEL, on_invalid="mask") as p:
        assert p.sequence("bad") == "MKXVL"


def test_paths_and_text_are_told_apart(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        seqrnn.predict(str(tmp_path / "missing.fasta"), model=MODEL)
    with pytest.raises(InputError, match=r"goes in a list"):
        seqrnn.predict("MKVLAAGIV", model=MODEL)
    with pytest.raises(InputError, match="file not found"):
        seqrnn.predict([str(tmp_path / "missing.fa.gz")], model=MODEL)
    with pytest.raises(SeqrnnError, match="sequence_column"):
        seqrnn.predict(["MKV"], model=MODEL, sequence_column="seq")
    with pytest.raises(TypeError, match="pair"):
        seqrnn.predict([1, 2], model=MODEL)
    with pytest.raises(InputError, match="no sequences to predict"):
        seqrnn.predict([], model=MODEL)


# The package surface ------------------------------------------------------------------------------


def test_public_surface_and_light_import() -> None:
    assert set(seqrnn.__all__) == {
        "Predictions",
        "Track",
        "VariantEffects",
        "__version__",
        "evaluate",
        "load_model",
        "predict",
        "read_predictions",
        "score_variants",
        "tile",
        "train",
    }
    code = (
        "import sys, seqrnn; assert 'torch' not in sys.modules, 'torch imported'; print(seqrnn.__version__)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_api_functions_are_not_shadowed_by_submodules() -> None:
    import inspect

    import seqrnn.inference.evaluate
    import seqrnn.inference.pipeline
    from seqrnn import api

    assert seqrnn.predict is api.predict and seqrnn.evaluate is api.evaluate
    assert "inputs" in inspect.signature(seqrnn.predict).parameters
    assert "mask_columns" in inspect.signature(seqrnn.evaluate).parameters
    import seqrnn.variants.tracks  # the tile command's module does not hide seqrnn.tile
    from seqrnn.variants import api as genome_api

    assert seqrnn.tile is genome_api.tile and seqrnn.score_variants is genome_api.score_variants


def test_in_memory_writer_leaves_the_file_open_for_reading() -> None:
    spec = {"residue/x/probs": DatasetSpec(2)}
    with RaggedH5Writer(None, {"format": "test"}, spec, {}) as writer:
        writer.append(["a", "b"], np.array([1, 2]), {"residue/x/probs": np.ones((3, 2), np.float32)})
    f = writer.file
    assert f is not None and writer.path is None
    assert f.attrs["n_sequences"] == 2 and f["offsets"][:].tolist() == [0, 1, 3]
    assert f["residue/x/probs"].shape == (3, 2)
    f.close()
    with pytest.raises(ValueError), RaggedH5Writer(None, {}, spec, {}) as failing:
        failing.append(["a"], np.array([2]), {"residue/x/probs": np.ones((3, 2), np.float32)})
    assert failing.file is None


def test_predict_to_a_file_never_overwrites_its_input(tmp_path: Path) -> None:
    from seqrnn.errors import UsageError

    fasta = tmp_path / "x.fa"
    fasta.write_text(">a\nMKTAYIAKQR\n")
    with pytest.raises(UsageError, match="would overwrite the input"):
        seqrnn.predict(str(fasta), MODEL, output=fasta)
    assert fasta.read_text() == ">a\nMKTAYIAKQR\n"


def test_evaluate_refuses_masking_letters_it_scores() -> None:
    with pytest.raises(SeqrnnError, match="offers error or skip"):
        seqrnn.evaluate(FASTA, model=MODEL, on_invalid="mask")
