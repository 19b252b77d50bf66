"""``seqrnn.train`` with a dict config, then ``seqrnn.predict`` / ``seqrnn.evaluate`` on the model, each
against its CLI command (sequence-level heads: regression and multi-label)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

import seqrnn
from seqrnn.cli.main import main
from seqrnn.errors import ConfigError
from seqrnn.io.formats import read_records
from seqrnn.training.config import config_from_mapping, load_config
from tests.conftest import TASKS, TINY_MODEL, TINY_TRAIN

COLUMNS = ("--sequence-column", "smiles", "--id-column", "mol_id")


def _config(data: Path, out: Path) -> dict:
    spec = TASKS["smiles"]
    return {
        "name": "tiny-smiles",
        "seed": 0,
        "encoder": spec["encoder"],
        "output_dir": str(out),
        "data": {"train": str(data), "valid_fraction": 0.2, **spec["data"]},
        "heads": spec["heads"],
        "model": {**TINY_MODEL, **spec.get("model", {})},
        "train": dict(TINY_TRAIN),
    }


@pytest.fixture(scope="module")
def trained(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    config = _config(synthetic["smiles"], tmp_path_factory.mktemp("api") / "run")
    before = json.dumps(config, sort_keys=True)
    result = seqrnn.train(config, overrides={"train.epochs": 2}, quiet=True)
    assert json.dumps(config, sort_keys=True) == before  # the caller's dict is left as it was
    assert result.epochs_run == 2 and Path(result.model_path).is_file()
    return Path(result.model_path)


def test_a_dict_config_is_validated_like_yaml(synthetic: dict[str, Path], tmp_path: Path) -> None:
    config = _config(synthetic["smiles"], tmp_path / "run")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert config_from_mapping(config, ["model.hidden=8"]) == load_config(path, ["model.hidden=8"])
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.hiden'"):
        seqrnn.train({**config, "model": {"hiden": 8}}, quiet=True)
    with pytest.raises(ConfigError, match=r"model\.hidden"):
        seqrnn.train(config, overrides=["model.hidden=0"], quiet=True)


def test_predict_sequence_heads_like_the_cli(
    trained: Path, synthetic: dict[str, Path], tmp_path: Path
) -> None:
    data = synthetic["smiles"]
    out = tmp_path / "cli.h5"
    assert (
        main(
            ["predict", "-m", str(trained), str(data), *COLUMNS, "-o", str(out), "--precision", "fp32", "-q"]
        )
        == 0
    )
    with (
        seqrnn.predict(
            data, model=trained, sequence_column="smiles", id_column="mol_id", precision="fp32"
        ) as p,
        h5py.File(out) as f,
    ):
        for name in ("ids", "sequences", "sequence/logs/values", "sequence/tox/probs"):
            assert np.array_equal(p.file[name][:], f[name][:]), name
        assert p.heads == p.sequence_heads == ["logs", "tox"] and p.residue_heads == []
        assert p.classes("logs") == ["logs"] and p.classes("tox") == ["halogen", "ring", "amine"]
        first = p[0]
        assert first["logs"].shape == (1,) and first["tox"].shape == (3,)
        assert np.array_equal(first["tox"], f["sequence/tox/probs"][0])

        records = list(read_records(data, sequence_column="smiles", id_column="mol_id"))[:5]
        with seqrnn.predict([(r.id, r.text) for r in records], model=trained, precision="fp32") as few:
            assert few.ids == [r.id for r in records]
            for i in range(5):
                # Other batch neighbours: CPUs whose kernels round by batch shape (AVX2) move an ulp.
                np.testing.assert_allclose(few[i]["logs"], p[i]["logs"], rtol=1e-5, atol=1e-6)

        pd = pytest.importorskip("pandas")
        df = p.to_dataframe("tox")
        assert isinstance(df, pd.DataFrame) and list(df.columns) == ["id", "halogen", "ring", "amine"]
        assert df["id"].tolist() == p.ids
        assert np.array_equal(df[["halogen", "ring", "amine"]].to_numpy(), f["sequence/tox/probs"][:])


def test_evaluate_gives_the_cli_metrics(trained: Path, synthetic: dict[str, Path], tmp_path: Path) -> None:
    data = synthetic["smiles"]
    js = tmp_path / "metrics.json"
    assert main(["evaluate", "-m", str(trained), str(data), *COLUMNS, "--json", str(js)]) == 0
    result = seqrnn.evaluate(data, model=trained, sequence_column="smiles", id_column="mol_id")
    assert json.loads(json.dumps(result.metrics)) == json.loads(js.read_text())["metrics"]
    assert result.n_sequences == 160 and set(result.metrics) == {"logs", "tox"}

    bundle = seqrnn.load_model(trained, device="cpu")
    relabelled = seqrnn.evaluate(
        [data], model=bundle, labels={"logs": "logs"}, sequence_column="smiles", id_column="mol_id"
    )
    assert relabelled.metrics == result.metrics
    with pytest.raises(ValueError, match="nope"):
        seqrnn.evaluate(data, model=bundle, labels={"nope": "x"}, sequence_column="smiles")
    assert bundle.model.heads["logs"].spec.columns == ["logs"]


def test_train_a_builtin_config_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not the repository: the shipped example data is found by the package
    result = seqrnn.train(
        "example_protein",
        overrides={"output_dir": str(tmp_path / "run"), "train.epochs": 1, "train.max_steps_per_epoch": 2},
        quiet=True,
    )
    assert result.model_path.is_file() and result.is_main and result.epochs_run == 1
    with pytest.raises(ConfigError, match="no built-in config"):
        seqrnn.train("no_such_config", quiet=True)
