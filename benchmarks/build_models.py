"""Build the built-in model zoo: package trained runs as ``seqrnn/models/pretrained/<name>-v1.pt`` (float16 weights,
one file per model, ensembles included) with a model card, score each on its test set, and write
``index.json``, the golden predictions (``tests/golden/zoo_expected.json``) and
``docs/results/zoo.json``.

Train first; each command resumes or reuses finished runs (about 3 hours on one CPU thread in all):

    python benchmarks/deepbind.py --runs runs/zoo/deepbind --threads 1 --models hybrid \\
        --set train.epochs=30 --out runs/zoo/deepbind.json
    python benchmarks/promoters.py --runs runs/zoo/promoters --threads 1 --set heads.0.threshold=auto \\
        --out runs/zoo/promoters.json --tasks "E. coli" "B. subtilis" "Mouse TATA" Arabidopsis
    python benchmarks/moleculenet.py --sets esol --seeds 0 --members 5 --threads 1 --runs runs/zoo/moleculenet
    python benchmarks/moleculenet.py --sets bbbp tox21 lipophilicity clintox sider --seeds 0 --members 3 \\
        --threads 1 --runs runs/zoo/moleculenet

then package (all models, or the names given):

    python benchmarks/build_models.py --data "$SEQRNN_DATA" --runs runs/zoo [NAME ...]

``--data`` defaults to ``$SEQRNN_DATA`` (else ``../shared/data`` beside the repository), ``--runs`` to
``$SEQRNN_RUNS/zoo`` (else ``runs/zoo`` in the repository). Each card's test figures are reproduced by
``seqrnn evaluate -m NAME TEST_FILE``; the test files of the promoter and SMILES models are written to
``runs/zoo/tests/`` by this script (the TF test files are the ``*_B.seq.gz`` files themselves, which the
card names below ``$SEQRNN_DATA``). Each index entry lists the published files the model was trained on
(``training_files``; their names, sources and sha256 are in ``seqrnn/models/datasets.py``).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqrnn.encoding.examples import encode_record, prepare_example
from seqrnn.errors import InputError
from seqrnn.inference.engine import PredictOptions, predict_examples
from seqrnn.inference.evaluate import choose_thresholds, evaluate_records
from seqrnn.io.formats import ReadOptions, chain_inputs, open_text
from seqrnn.io.records import Record
from seqrnn.models.bundle import file_sha256, load_bundle, load_models, save_bundle
from seqrnn.training.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SEQRNN_DATA") or ROOT.parent / "shared" / "data")
RUNS = Path(os.environ.get("SEQRNN_RUNS") or ROOT / "runs") / "zoo"
PRETRAINED = ROOT / "seqrnn" / "models" / "pretrained"
GOLDEN = ROOT / "tests" / "golden" / "zoo_expected.json"
TFS = ["SERBP1", "SRF", "SUZ12", "TAF1", "TAF7", "TBP", "TCF12", "TEAD4", "USF1", "USF2", "YY1", "ZNF143"]
# JASPAR 2024 CORE PWM floor (best-hit AUROC on the _B files; ../shared/data/README.md).
PWM = {"SRF": 0.822, "TBP": 0.661, "TCF12": 0.818, "TEAD4": 0.934, "USF1": 0.983, "USF2": 0.993,
       "YY1": 0.901, "ZNF143": 0.912}  # fmt: skip
PROMOTERS = {  # name -> (benchmark task, organism, class files, CNNProm Sn / Sp where published)
    "promoter-ecoli": ("E. coli", "Escherichia coli (sigma70 promoters)", "Ecoli_prom vs Ecoli_non_prom", (0.90, 0.96)),
    "promoter-bsubtilis": ("B. subtilis", "Bacillus subtilis", "Bacillus_prom vs Bacillus_non_prom", None),
    "promoter-mouse": ("Mouse TATA", "Mus musculus, TATA-box promoters", "Mouse_tata_dbtss vs Mouse_nonprom", None),
    "promoter-arabidopsis": ("Arabidopsis", "Arabidopsis thaliana, TATA and non-TATA promoters",
                             "Arabidopsis_tata + Arabidopsis_non_tata vs Arabidopsis_non_prom_big", (0.94, 0.94)),
}  # fmt: skip
SMILES = {  # name -> (file, head, metric, label, chemprop, MoleculeNet best, split, members, what)
    "esol": ("delaney-processed.csv", "logS", "mean_rmse", "RMSE", 0.555, 0.58, "random 80/10/10", 5,
             "aqueous solubility, log10(mol/L) (ESOL / Delaney)"),
    "lipophilicity": ("Lipophilicity.csv", "logD", "mean_rmse", "RMSE", 0.555, 0.655, "random 80/10/10", 3,
                      "octanol/water distribution coefficient logD at pH 7.4 (AstraZeneca, ChEMBL)"),
    "bbbp": ("BBBP.csv", "p_np", "auroc", "AUROC", 0.737, 0.729, "Bemis-Murcko scaffold 80/10/10", 3,
             "blood-brain barrier penetration, 1 = penetrates"),
    "tox21": ("tox21.csv", "tox", "mean_auroc", "mean AUROC", 0.851, 0.829, "random 80/10/10", 3,
              "12 Tox21 toxicity assays (nuclear receptor and stress response), 1 = active"),
    "clintox": ("clintox.csv.gz", "clintox", "mean_auroc", "mean AUROC", 0.864, 0.832, "random 80/10/10", 3,
                "FDA approval and clinical-trial toxicity (FDA_APPROVED; CT_TOX: failed trials for toxicity), 1 = yes"),
    "sider": ("sider.csv.gz", "side_effects", "mean_auroc", "mean AUROC", 0.676, 0.648, "random 80/10/10", 3,
              "side effects of marketed drugs in 27 system-organ classes (SIDER, MedDRA), 1 = reported"),
}  # fmt: skip
OUTPUTS = {
    "esol": "logS, log10(mol/L) + std",
    "lipophilicity": "logD + std",
    "bbbp": "p_np: P(penetrates) + std",
    "tox21": "tox: 12 assay probabilities + std",
    "clintox": "clintox: P(FDA_APPROVED), P(CT_TOX) + std",
    "sider": "side_effects: 27 class probabilities + std",
}
GOLDEN_SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
                 "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "CC(=O)Nc1ccc(O)cc1"]  # fmt: skip


@dataclass
class Recipe:
    """How one built-in model is made: its runs, its test data and what its card says."""

    name: str
    group: str
    members: list[Path]
    test_file: Path
    read: ReadOptions
    main: tuple[str, str, str]  # head, metric key, label
    card: dict[str, Any]
    summary: dict[str, str]
    anchors: dict[str, Any] = field(default_factory=dict)
    subset_of: tuple[Path, Path] | None = None  # (data file, split.tsv): the test file is written from them
    # (run's split.tsv, criterion): choose the decision threshold again on the run's validation records
    recalibrate: tuple[Path, str] | None = None
    training_files: list[str] = field(default_factory=list)  # the published files it was trained on


def tf_recipe(tf: str, data: Path, runs: Path) -> Recipe:
    (test,) = glob.glob(str(data / "dna/deepbind_chipseq" / f"{tf}_*_B.seq.gz"))
    experiment = Path(test).name.removesuffix("_B.seq.gz")
    anchors = {"JASPAR 2024 PWM best-hit AUROC": PWM.get(tf, "no JASPAR CORE motif")}
    card = {
        "task": f"{tf} binding in ChIP-seq peaks (human, H1-hESC), bound vs not",
        "inputs": "DNA (A C G T; N allowed), trained on 101 bp peak-centred windows, both strands averaged",
        "outputs": "bound: probabilities of classes 0 (not bound) and 1 (bound)",
        "training data": f"ENCODE ChIP-seq {experiment} (DeepBind's training fold _AC: all peaks) "
        "plus one dinucleotide-shuffled negative per peak (seeded)",
        "source and licence": "ENCODE data via DeepBind (Alipanahi et al., Nat Biotech 2015) as "
        "redistributed by deepRAM; ENCODE data are free to use with citation (encodeproject.org)",
        "protocol": "DanQ-style Conv1d(128, k19) + max-pool 8 + BiLSTM(64) + MLP; reverse-complement "
        "augmentation; 10% of the training peaks held out for validation and early stopping (AUROC)",
        "split": "test = DeepBind's _B fold (500 peaks + 500 shuffled peaks; SERBP1 1,322 + 1,322), never "
        "seen in training or model choice",
    }
    return Recipe(
        f"tf-{tf}",
        "tf",
        [runs / "deepbind" / f"{tf}_hybrid" / "model.pt"],
        Path(test),
        ReadOptions(sequence_column="seq", id_column="EventID"),
        ("bound", "auroc", "AUROC"),
        card,
        {
            "task": f"{tf} ChIP-seq binding",
            "inputs": "DNA 101 bp",
            "outputs": "bound 0/1",
            "data": f"ENCODE {tf} H1-hESC (DeepBind)",
        },
        anchors,
        training_files=[f"{experiment}_AC.seq.gz"],
    )


def promoter_recipe(name: str, data: Path, runs: Path) -> Recipe:
    task, organism, files, published = PROMOTERS[name]
    run = runs / "promoters" / task.replace(" ", "_").replace(".", "")
    length = 81 if name in ("promoter-ecoli", "promoter-bsubtilis") else 251
    anchors = {"CNNProm sensitivity / specificity": list(published) if published else "not published here"}
    card = {
        "task": f"promoter vs non-promoter, {organism}",
        "inputs": f"DNA, {length} nt windows in the promoter's orientation (-{length - 50} to +50 around "
        "the TSS in CNNProm's data); strand specific, no strand averaging",
        "outputs": "promoter: probabilities of classes 0 (non-promoter) and 1 (promoter); the class call "
        "uses the decision threshold chosen on validation data (best sensitivity + specificity), stored "
        "in the bundle",
        "training data": f"CNNProm (Umarov & Solovyev, PLOS One 2017) FASTA files {files}",
        "source and licence": "CNNProm supplementary data (PLOS One, CC BY 4.0)",
        "protocol": "DanQ-style Conv1d(128, k15) + max-pool 4 + BiLSTM(64) + MLP; 80/10/10 shuffled split "
        "(seed 0); early stopping on validation AUROC; threshold from validation Youden's J",
        "split": "one held-out test split (10%, seed 0); CNNProm's figures are cross-validated",
    }
    return Recipe(
        name,
        "promoter",
        [run / "model" / "model.pt"],
        run / "data" / "test.tsv",
        ReadOptions(sequence_column="seq", id_column="id"),
        ("promoter", "mcc", "MCC"),
        card,
        {
            "task": f"promoter, {organism.split(',')[0]}",
            "inputs": f"DNA {length} nt",
            "outputs": "promoter 0/1",
            "data": "CNNProm",
        },
        anchors,
        recalibrate=(run / "model" / "split.tsv", "youden"),
        training_files=[f"{f}.fa" for f in files.replace(" vs ", " + ").split(" + ")],
    )


def smiles_recipe(name: str, data: Path, runs: Path) -> Recipe:
    file, head, metric, label, chemprop, molnet, split, members, what = SMILES[name]
    dirs = [runs / "moleculenet" / (f"{name}_s0" if m == 0 else f"{name}_s0_m{m}") for m in range(members)]
    test = runs / "tests" / f"{name}.csv"
    config = ROOT / "configs" / "moleculenet" / f"{name}.yaml"
    hidden = load_config(config, [f"data.train={data / 'smiles/moleculenet' / file}"]).model.hidden
    card = {
        "task": what,
        "inputs": "SMILES (RDKit-canonicalised before encoding; salts kept); invalid SMILES are errors "
        "or, with --on-invalid skip, reported and left out",
        "outputs": f"{head}: " + ("values in the units above" if label == "RMSE" else "probabilities"),
        "training data": f"MoleculeNet {file} (Wu et al. 2018)",
        "source and licence": "MoleculeNet / DeepChem canonical CSVs (MIT-licensed distribution); "
        "original assay data as cited by MoleculeNet",
        "protocol": f"ensemble of {members} 2-layer BiGRU({hidden}) models on SMILES tokens (one split, init "
        "seeds 0, 1000, ...), SMILES enumeration in training, 8 (Tox21: 4) enumerated views averaged "
        "in prediction; the members' mean and std are written",
        "split": f"MoleculeNet convention: {split}, split seed 0",
    }
    return Recipe(
        name,
        "moleculenet",
        [d / "model.pt" for d in dirs],
        test,
        ReadOptions(),
        (head, metric, label),
        card,
        {
            "task": what.split(",")[0].split("(")[0].strip(),
            "inputs": "SMILES",
            "outputs": OUTPUTS[name],
            "data": f"MoleculeNet {name}",
        },
        {"chemprop": chemprop, "MoleculeNet best": molnet},
        (data / "smiles/moleculenet" / file, dirs[0] / "split.tsv"),
        training_files=[file],
    )


def _write_subset(source: Path, split_tsv: Path, out: Path) -> None:
    """The test rows of a MoleculeNet CSV (as the trainer's split.tsv lists them), with the header."""
    with split_tsv.open(newline="") as fh:
        rows = {int(r["row"]) for r in csv.DictReader(fh, delimiter="\t") if r["part"] == "test"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open_text(source) as fh, out.open("w", newline="") as dst:  # plain or gzip in, plain out
        reader = csv.reader(fh)
        writer = csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        writer.writerows(r for i, r in enumerate(reader, start=1) if i in rows)


def recipes(data: Path, runs: Path) -> dict[str, Recipe]:
    out = {f"tf-{tf}": tf_recipe(tf, data, runs) for tf in TFS}
    out.update({name: promoter_recipe(name, data, runs) for name in PROMOTERS})
    out.update({name: smiles_recipe(name, data, runs) for name in SMILES})
    return out


def _recalibrate(bundle: Any, recipe: Recipe, split_tsv: Path, criterion: str) -> None:
    """Choose the two-class heads' decision thresholds again on the run's own validation records (as
    ``threshold: auto`` does after training), by ``criterion``: runs trained with an older criterion
    get the current one without retraining."""
    with split_tsv.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["part"] == "valid"]
    wanted = {int(r["row"]) - 1 for r in rows}
    heads = list(bundle.model.heads.values())
    records = [r for r in chain_inputs([rows[0]["file"]], recipe.read) if r.index in wanted]
    examples = [prepare_example(r, bundle.encoder, views=bundle.views(None), heads=heads) for r in records]
    names = {h.name: criterion for h in heads if h.spec.threshold is not None}
    chosen = choose_thresholds(bundle, examples, names, PredictOptions(precision="fp32"), torch.device("cpu"))
    for name, value in chosen.items():
        print(f"{recipe.name}: {name} threshold {bundle.model.heads[name].spec.threshold:.4f} -> {value:.4f} "
              f"({criterion} on {len(examples)} validation records)", file=sys.stderr)  # fmt: skip
        bundle.model.heads[name].spec.threshold = value


def score(bundle: Any, recipe: Recipe) -> dict[str, Any]:
    options = PredictOptions(precision="fp32", on_invalid="skip")
    records = chain_inputs([recipe.test_file], recipe.read)
    result = evaluate_records(bundle, records, options, torch.device("cpu"))
    head = result.metrics[recipe.main[0]]
    keep = ("n", "auroc", "auprc", "mcc", "accuracy", "threshold", "mean_auroc", "mean_rmse", "mean_r2")
    out = {k: head[k] for k in keep if isinstance(head.get(k), int | float)}
    if "per_class" in head and len(head["per_class"]) == 2:
        out["sensitivity"] = head["per_class"]["1"]["recall"]
        out["specificity"] = head["per_class"]["0"]["recall"]
    out["skipped"] = len(result.skipped)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}


def lengths(recipe: Recipe, bundle: Any) -> list[int]:
    """Shortest and longest training sequence (encoded tokens) of the model's training data."""
    meta = bundle.metadata.get("data", {})
    if meta.get("lengths"):
        return list(meta["lengths"])
    read = ReadOptions(sequence_column=meta.get("sequence_column"), id_column=recipe.read.id_column)
    sizes = []
    for rec in chain_inputs([meta["train"]], read):
        try:
            sizes.append(encode_record(rec, bundle.encoder).tokens.size)
        except InputError:  # invalid training SMILES were skipped in training too
            continue
    return [min(sizes), max(sizes)]


def golden_inputs(recipe: Recipe, span: list[int]) -> list[Record]:
    if recipe.group == "moleculenet":
        texts = GOLDEN_SMILES
    else:
        rng = np.random.default_rng(0)
        texts = ["".join(rng.choice(list("ACGT"), span[1])) for _ in range(5)]
        middle = span[1] // 2 - 3  # one with an E-box (CACGTG) in the middle
        texts.append(texts[0][:middle] + "CACGTG" + texts[0][middle + 6 :])
    return [Record(id=f"g{i}", text=t, index=i, source="golden") for i, t in enumerate(texts)]


def golden(bundle: Any, records: list[Record]) -> dict[str, Any]:
    examples = [prepare_example(r, bundle.encoder, views=bundle.views(None)) for r in records]
    result = predict_examples(bundle, examples, PredictOptions(precision="fp32"), torch.device("cpu"))
    return {
        "inputs": [r.text for r in records],
        "outputs": {k: np.round(v, 6).tolist() for k, v in result.sequence.items()},
    }


def build(recipe: Recipe, data: Path) -> dict[str, Any]:
    missing = [str(p) for p in recipe.members if not p.is_file()]
    if missing:
        raise SystemExit(
            f"{recipe.name}: not trained yet ({', '.join(missing)}); see this script's docstring"
        )
    if recipe.subset_of is not None:
        _write_subset(*recipe.subset_of, recipe.test_file)
    source = load_models(recipe.members)
    if recipe.recalibrate is not None:
        _recalibrate(source, recipe, *recipe.recalibrate)
    fp32 = score(source, recipe)
    first = load_bundle(recipe.members[0])
    span = lengths(recipe, first)
    meta = {k: v for k, v in first.metadata.items() if k not in ("encoder", "model", "heads", "ensemble")}
    meta["name"] = recipe.name
    meta["description"] = recipe.card["task"]
    meta["data"] = {**meta.get("data", {}), "lengths": span}
    if len(recipe.members) > 1:
        meta["ensemble"] = [
            {"name": recipe.name, "model": str(p), "sha256": file_sha256(p)} for p in recipe.members
        ]
    target = PRETRAINED / f"{recipe.name}-v1.pt"
    # Score the float16 file itself: the card's figures are what users get.
    save_bundle(target, source.model, source.encoder, meta, half=True)
    figures = score(load_bundle(target), recipe)
    card = {
        "name": recipe.name,
        "version": "1",
        **recipe.card,
        "trained lengths": f"{span[0]}-{span[1]} tokens; predict notes sequences shorter than half or "
        "longer than twice this range (scores there are extrapolations)",
        "test metrics": figures,
        "published anchors": recipe.anchors,
        "float16 vs float32": f"{recipe.main[2]} {figures.get(recipe.main[1], float('nan')):.4f} vs "
        f"{fp32.get(recipe.main[1], float('nan')):.4f}",
        "members": len(recipe.members),
        "intended use": INTENDED[recipe.group],
        "limits": LIMITS[recipe.group],
        "reproduce": f"seqrnn evaluate -m {recipe.name} {_shown(recipe.test_file, data)}",
        "rebuild": "see benchmarks/build_models.py (train commands, then "
        f"python benchmarks/build_models.py {recipe.name})",
    }
    meta["card"] = card
    save_bundle(target, source.model, source.encoder, meta, half=True)
    bundle = load_bundle(target)
    heads = {h["name"]: "/".join(h["classes"]) for h in bundle.heads}
    value = figures.get(recipe.main[1], float("nan"))
    entry = {
        "file": target.name,
        "sha256": file_sha256(target),
        "bytes": target.stat().st_size,
        "version": "1",
        "group": recipe.group,
        "heads": heads,
        "description": recipe.card["task"],
        **recipe.summary,
        "test": f"{recipe.main[2]} {value:.4f}",
        "training_files": recipe.training_files,
    }
    print(f"{recipe.name}: {entry['test']} (fp32 {fp32.get(recipe.main[1], float('nan')):.4f}), "
          f"{entry['bytes'] / 1e6:.2f} MB", file=sys.stderr)  # fmt: skip
    return {"entry": entry, "figures": figures, "fp32": fp32, "anchors": recipe.anchors,
            "golden": golden(bundle, golden_inputs(recipe, span))}  # fmt: skip


def _shown(path: Path, data: Path) -> str:
    """A path as the docs write it: a dataset file below $SEQRNN_DATA, anything else relative to the
    repository; never the folder the data had on the machine that built the model."""
    if path.resolve().is_relative_to(data.resolve()):
        return "$SEQRNN_DATA/" + path.resolve().relative_to(data.resolve()).as_posix()
    return os.path.relpath(path, ROOT)


INTENDED = {
    "tf": "ranking sequences (peaks, promoters, variant alleles via seqrnn variants) by the chance that the "
    "TF binds them in this cell type; research use",
    "promoter": "screening genomic windows of the same organism and length for promoters; research use",
    "moleculenet": "property estimates and ranking for drug-like molecules similar to the training set; "
    "research use, not a substitute for measurement",
}
LIMITS = {
    "tf": "negatives are shuffled peaks, so the model separates real peak sequence from composition-matched "
    "noise, not bound from unbound genomic sites; one cell line (H1-hESC); other lengths than 101 bp are "
    "scored by pooling but are not what it was trained on",
    "promoter": "trained on CNNProm's fixed windows around the TSS: scores of shifted or longer windows are "
    "not calibrated; non-promoter sets are those of CNNProm (coding / random genomic fragments)",
    "moleculenet": "small training sets (ESOL 1,128, BBBP 2,039 molecules): out-of-domain chemistry "
    "(metals, large peptides, polymers) is unreliable; the ensemble std flags disagreement, not error",
}


def table() -> str:
    """The markdown table of docs/models.md from index.json and docs/results/zoo.json."""
    index = json.loads((PRETRAINED / "index.json").read_text())
    results = json.loads((ROOT / "docs" / "results" / "zoo.json").read_text())
    lines = [
        "| model | test set | test metric (float16 file) | other test figures | published anchor | size |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in index.items():
        if name not in results:
            continue
        figures, anchors = results[name]["figures"], results[name]["anchors"]
        shown = ("auroc", "auprc", "mcc", "sensitivity", "specificity", "threshold", "mean_r2")
        main_key = entry["test"].split()[0].lower()  # the main metric is in its own column
        other = ", ".join(f"{k} {figures[k]:.3f}" for k in shown if k in figures and k != main_key)
        anchor = "; ".join(
            f"{k} {v if isinstance(v, str) else ' / '.join(map(str, v)) if isinstance(v, list) else f'{v:.3f}'}"
            for k, v in anchors.items()
        )
        lines.append(
            f"| `{name}` | n = {figures['n']} | {entry['test']} | {other} | {anchor} | "
            f"{entry['bytes'] / 1e6:.2f} MB |"
        )
    total = sum(e["bytes"] for n, e in index.items() if n in results)
    lines.append(f"\nAll {len(results)} models: {total / 1e6:.1f} MB.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="models to build (default: all)")
    ap.add_argument("--data", type=Path, default=DATA, help="the datasets folder (default: $SEQRNN_DATA)")
    ap.add_argument("--runs", type=Path, default=RUNS, help="the runs (default: $SEQRNN_RUNS/zoo)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-missing", action="store_true", help="skip models whose runs are not finished")
    ap.add_argument("--table", action="store_true", help="print the docs/models.md table and stop")
    args = ap.parse_args()
    if args.table:
        print(table())
        return
    torch.set_num_threads(args.threads)
    known = recipes(args.data, args.runs)
    chosen = args.names or list(known)
    index_path = PRETRAINED / "index.json"
    index = json.loads(index_path.read_text())
    goldens = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    results_path = ROOT / "docs" / "results" / "zoo.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in chosen:
        recipe = known[name]
        if args.skip_missing and not all(p.is_file() for p in recipe.members):
            print(f"{name}: skipped (not trained yet)", file=sys.stderr)
            continue
        built = build(recipe, args.data)
        index[name] = built["entry"]
        goldens[name] = built["golden"]
        results[name] = {k: built[k] for k in ("figures", "fp32", "anchors")}
        index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        GOLDEN.write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n")
        results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
