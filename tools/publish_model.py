"""Copy a trained bundle into seqrnn/models/pretrained/ as a built-in model and record it in index.json.

    python tools/publish_model.py runs/protein_ss/model.pt protein-ss --description "..."

The index entry stores the file name, its sha256 (checked on every load) and the size; benchmark figures
live in docs/benchmarks.md, next to the command that reproduces them.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from seqrnn.models.bundle import file_sha256, load_bundle, weights_checksum

PRETRAINED = Path(__file__).resolve().parent.parent / "seqrnn" / "models" / "pretrained"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("name")
    parser.add_argument("--description", default="")
    parser.add_argument("--version", default="1")
    parser.add_argument(
        "--half",
        action="store_true",
        help="store float weights as float16 (half the size; loaded back as float32)",
    )
    args = parser.parse_args()
    bundle = load_bundle(args.bundle)  # refuse to publish something that does not load
    target = PRETRAINED / f"{args.name}-v{args.version}.pt"
    if args.half:
        payload = torch.load(args.bundle, map_location="cpu", weights_only=True)
        payload["state_dict"] = {
            k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
        }
        payload["weights_dtype"] = "float16"
        payload["weights_sha256"] = weights_checksum(payload["state_dict"])  # of the weights as stored
        torch.save(payload, target)
    else:
        shutil.copyfile(args.bundle, target)
    load_bundle(target)
    index_path = PRETRAINED / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    index[args.name] = {
        "file": target.name,
        "sha256": file_sha256(target),
        "bytes": target.stat().st_size,
        "version": args.version,
        "heads": {s["name"]: "".join(s["classes"]) for s in bundle.heads},
        "description": args.description or bundle.metadata.get("description", ""),
    }
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    print(f"published {args.name} -> {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
