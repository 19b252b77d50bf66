"""SMILES standardisation: each built-in SMILES model's validation and test figures under
``--standardize none``, ``canonical`` and ``parent``, and the permutation test (the same molecule
written several ways must get the same prediction).

    python benchmarks/smiles_standardize.py --data ../shared/data/smiles/moleculenet \
        --json docs/results/smiles_standardize.json

Splits: the built-in models' own (MoleculeNet convention, split seed 0), recovered by running the
trainer for one step with each model's config (``split.tsv`` lists the part of every row); reused when
``<runs>/<name>/split.tsv`` exists. Figures: the shipped ensemble as shipped (its own test views), the
main metric of its card, on the validation rows (the default is chosen there) and the test rows.

Permutation test: ``--molecules`` molecules drawn (seeded) from the test splits: up to a quarter salts
from any built-in's test rows, the rest from the regression models', each written ``--ways`` ways: RDKit SMILES from a random atom order, with the fragments of a
salt in a random order. Per molecule the spread (max - min) of the predictions over its writings, for
every policy; a policy that makes writing irrelevant has spread 0.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from build_models import SMILES  # noqa: E402

from seqrnn.inference.engine import PredictOptions  # noqa: E402
from seqrnn.inference.evaluate import evaluate_records  # noqa: E402
from seqrnn.io.formats import ReadOptions, chain_inputs  # noqa: E402
from seqrnn.io.records import Record  # noqa: E402
from seqrnn.models.bundle import load_models  # noqa: E402
from seqrnn.training import train  # noqa: E402
from seqrnn.training.config import load_config  # noqa: E402

POLICIES = ("none", "canonical", "parent")
REGRESSION = ("esol", "lipophilicity")


def split_rows(name: str, data: Path, runs: Path) -> dict[str, set[int]]:
    """0-based data rows of the valid and test parts of ``name``'s built-in split."""
    out = runs / name
    listed = out / "split.tsv"
    if not listed.is_file():
        file = SMILES[name][0]
        sets = [
            f"output_dir={out}",
            f"data.train={data / file}",
            "data.split_seed=0",
            "seed=0",
            "train.epochs=1",
            "train.max_steps_per_epoch=1",
            "train.threads=1",
        ]
        train(load_config(ROOT / "configs" / "moleculenet" / f"{name}.yaml", sets), log=lambda m: None)
    parts: dict[str, set[int]] = {"valid": set(), "test": set()}
    with listed.open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["part"] in parts:
                parts[row["part"]].add(int(row["row"]) - 1)
    return parts


def records_of(name: str, data: Path, rows: set[int]) -> list[Record]:
    config = load_config(
        ROOT / "configs" / "moleculenet" / f"{name}.yaml", [f"data.train={data / SMILES[name][0]}"]
    )
    read = ReadOptions(sequence_column=config.data.sequence_column, id_column=config.data.id_column)
    return [r for r in chain_inputs([data / SMILES[name][0]], read) if r.index in rows]


def score(name: str, records: list[Record], policy: str) -> float:
    head, metric = SMILES[name][1], SMILES[name][2]
    options = PredictOptions(on_invalid="skip", standardize=policy)
    evaluation = evaluate_records(load_models([name]), records, options, torch.device("cpu"))
    return round(float(evaluation.metrics[head][metric]), 4)


def writings(smiles: str, ways: int, rng: np.random.Generator) -> list[str]:
    """``ways`` SMILES of one molecule: random atom order, fragments in a random order."""
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    frags = list(Chem.GetMolFrags(mol, asMols=True))
    out = []
    for _ in range(ways):
        parts = []
        for frag in frags:
            order = rng.permutation(frag.GetNumAtoms()).tolist()
            parts.append(Chem.MolToSmiles(Chem.RenumberAtoms(frag, order), canonical=False))
        rng.shuffle(parts)
        out.append(".".join(parts))
    return out


def permutation_test(data: Path, runs: Path, molecules: int, ways: int) -> dict:
    from rdkit import Chem

    rng = np.random.default_rng(0)
    pool: list[str] = []
    salts: list[str] = []
    for (
        name
    ) in SMILES:  # every built-in's test rows; salts from any of them, the rest from the regression sets
        test = records_of(name, data, split_rows(name, data, runs)["test"])
        valid = [r.text for r in test if Chem.MolFromSmiles(r.text) is not None]
        salts += [s for s in valid if "." in s and s not in salts]
        if name in REGRESSION:
            pool += [s for s in valid if "." not in s]
    # Up to a quarter salts (where fragment order matters), then the rest, drawn without replacement.
    salts = [salts[i] for i in rng.permutation(len(salts))[: molecules // 4]]
    picked = salts + [pool[i] for i in rng.permutation(len(pool))[: molecules - len(salts)]]
    rows = []
    for i, smiles in enumerate(picked):
        for j, text in enumerate(writings(smiles, ways, rng)):
            rows.append(Record(f"m{i}_w{j}", text, len(rows), "permutations"))
    result: dict = {"molecules": len(picked), "ways": ways, "salts": len(salts), "models": {}}
    for name in REGRESSION:
        head = SMILES[name][1]
        for policy in POLICIES:
            import seqrnn

            got = seqrnn.predict([r.text for r in rows], model=name, standardize=policy, threads=1)
            values = np.array([got[str(k)][head][0] for k in range(len(rows))]).reshape(len(picked), ways)
            spread = values.max(1) - values.min(1)
            result["models"].setdefault(name, {})[policy] = {
                "max_spread": float(spread.max()),
                "mean_spread": float(spread.mean()),
                "molecules_with_spread": int((spread > 0).sum()),
            }
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/smiles/moleculenet")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs/standardize_splits")
    ap.add_argument("--models", nargs="+", default=list(SMILES))
    ap.add_argument("--molecules", type=int, default=200)
    ap.add_argument("--ways", type=int, default=5)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--permutation-only", action="store_true", help="rerun the permutation test alone")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = args.data
    results: dict = {"figures": {}}
    if args.permutation_only:
        report = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {}
        report["permutation"] = permutation_test(data, args.runs, args.molecules, args.ways)
        print(json.dumps(report["permutation"], indent=1))
        if args.json:
            args.json.write_text(json.dumps(report, indent=1) + "\n")
        return
    for name in args.models:
        parts = split_rows(name, data, args.runs)
        entry = {"metric": f"{SMILES[name][1]} {SMILES[name][2]}"}
        for part in ("valid", "test"):
            recs = records_of(name, data, parts[part])
            entry[part] = {policy: score(name, recs, policy) for policy in POLICIES}
            entry[f"n_{part}"] = len(recs)
        results["figures"][name] = entry
        print(name, json.dumps(entry), flush=True)
    results["permutation"] = permutation_test(data, args.runs, args.molecules, args.ways)
    print(json.dumps(results["permutation"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
