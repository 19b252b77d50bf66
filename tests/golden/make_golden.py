"""Regenerate the golden model and its expected predictions (only when the format changes on purpose).

.venv/bin/python tests/golden/make_golden.py
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch
import yaml

from seqrnn.inference.engine import PredictOptions, predict_windows
from seqrnn.inference.pipeline import record_windows
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import file_sha256, load_bundle
from seqrnn.resources.synthetic import protein_ss_rows, write_table
from seqrnn.training import train
from seqrnn.training.config import load_config


def iter_predictions(bundle, records, options, device):  # type: ignore[no-untyped-def]
    """Window results of ``records`` through the predict path's encode and model steps."""
    return predict_windows(bundle, record_windows(records, bundle, options, []), options, device)


HERE = Path(__file__).parent


def golden_predictions(model: Path) -> dict[str, list]:
    bundle = load_bundle(model)
    records = read_records(HERE / "input.fasta")
    out: dict[str, list] = {}
    for result in iter_predictions(bundle, records, PredictOptions(precision="fp32"), torch.device("cpu")):
        for head, arr in result.residue.items():
            out.setdefault(head, []).extend(arr.round(6).tolist())
    return out


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_table(protein_ss_rows(120, seed=7), Path(tmp) / "train.csv")
        config = {
            "name": "golden-protein",
            "seed": 3,
            "encoder": "protein",
            "output_dir": f"{tmp}/run",
            "data": {"train": str(data), "mask_columns": ["disorder"], "valid_fraction": 0.2},
            "heads": [
                {
                    "name": "ss8",
                    "kind": "residue_classification",
                    "columns": ["dssp8"],
                    "classes": "HGIEBTSC",
                },
                {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"], "classes": "HEC"},
            ],
            "model": {"hidden": 8, "layers": 2, "embed_dim": 6, "conv_channels": 6, "conv_kernel": 5},
            "train": {"epochs": 2, "batch_tokens": 3000, "warmup_steps": 0, "lr": 0.01},
        }
        (Path(tmp) / "c.yaml").write_text(yaml.safe_dump(config))
        result = train(load_config(Path(tmp) / "c.yaml"), log=print, progress=False)
        shutil.copy(result.model_path, HERE / "tiny_protein.pt")
    expected = {
        "model_sha256": file_sha256(HERE / "tiny_protein.pt"),
        **golden_predictions(HERE / "tiny_protein.pt"),
    }
    (HERE / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    main()
