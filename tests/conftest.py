"""Shared fixtures: tiny synthetic datasets and configs, written per test session (never ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqrnn.resources.synthetic import write_examples

CLUSTER_TESTS = Path(__file__).resolve().parent / "cluster"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/cluster (a real SLURM cluster, ``make test-cluster``) runs only when named on the command line."""
    if collection_path.resolve() != CLUSTER_TESTS:
        return None
    named = (config.invocation_params.dir / arg.split("::")[0] for arg in config.args)
    return not any(p.resolve() == CLUSTER_TESTS or CLUSTER_TESTS in p.resolve().parents for p in named)


TINY_MODEL = {"hidden": 16, "layers": 1, "embed_dim": 8, "dropout": 0.0, "head_dropout": 0.0}
TINY_TRAIN = {
    "epochs": 3,
    "batch_tokens": 4000,
    "batch_size": 32,
    "lr": 0.01,
    "warmup_steps": 0,
    "threads": 1,
}

TASKS = {
    "protein": {
        "encoder": "protein",
        "data": {"mask_columns": ["disorder"], "id_column": "id"},
        "heads": [
            {"name": "ss8", "kind": "residue_classification", "columns": ["dssp8"], "classes": "HGIEBTSC"},
            {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": "HEC"},
        ],
    },
    "dna": {
        "encoder": "dna",
        "data": {"sequence_column": "seq", "id_column": "EventID"},
        "heads": [{"name": "bound", "kind": "sequence_classification", "columns": ["Bound"]}],
        "model": {"conv_channels": 8, "conv_kernel": 9},
    },
    "smiles": {
        "encoder": "smiles",
        "data": {"sequence_column": "smiles", "id_column": "mol_id"},
        "heads": [
            {"name": "logs", "kind": "sequence_regression", "columns": ["logs"]},
            {"name": "tox", "kind": "sequence_multilabel", "columns": ["halogen", "ring", "amine"]},
        ],
        "model": {"cell": "gru"},
    },
}


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_examples(tmp_path_factory.mktemp("synthetic"), n=160, seed=0)


def write_config(task: str, data_path: Path, out_dir: Path, directory: Path, **train: object) -> Path:
    spec = TASKS[task]
    config = {
        "name": f"tiny-{task}",
        "seed": 0,
        "encoder": spec["encoder"],
        "output_dir": str(out_dir),
        "data": {"train": str(data_path), "valid_fraction": 0.2, **spec["data"]},
        "heads": spec["heads"],
        "model": {**TINY_MODEL, **spec.get("model", {})},
        "train": {**TINY_TRAIN, **train},
    }
    path = directory / f"{task}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def check_pipeline_outputs(results: Path) -> None:
    """What the example Snakemake pipeline (workflows/config.yaml) leaves in its directory ``results``,
    however it was run (local cores or the SLURM profile)."""
    import json

    import h5py

    with h5py.File(results / "predictions" / "all.h5") as f:
        assert list(f["ids"].asstr()[:]) == [
            "sp|P0CG48|UBC_HUMAN-fragment",
            "GFP_AEQVI",
            "INS_B_HUMAN",
            "messy_example",
        ]
        assert f.attrs["shard"] == "1/1"
    metrics = json.loads((results / "metrics" / "train_data.json").read_text())
    assert set(metrics["metrics"]) == {"ss8", "ss3"}
    assert (results / "plots" / "INS_B_HUMAN.png").read_bytes()[:4] == b"\x89PNG"
