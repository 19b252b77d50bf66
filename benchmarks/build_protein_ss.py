"""Package a trained protein run as a built-in protein model with its model card: the next
``protein-ss`` version (earlier versions stay by name, ``protein-ss-v1``, ``protein-ss-v2``) or the
separately named ``protein-ss-fast``.

    python benchmarks/build_protein_ss.py runs/protein_ss_v4/model.pt --version 4 \\
        --data ../shared/data/protein_ss/netsurfp2 --json docs/results/protein_ss_v4_card.json
    python benchmarks/build_protein_ss.py runs/protein_ss_fast/model.pt --name protein-ss-fast --version 2 \\
        --config configs/protein_ss_fast.yaml --json docs/results/protein_ss_fast_v2_card.json

1. The run's weights are written as float16 with the run's metadata to
   ``seqrnn/models/pretrained/<name>-v<version>.pt``.
2. That file (what users get) is scored on CB513, TS115 and CASP12: Q3/Q8 as ``benchmarks/protein_ss.py``
   does (resolved residues; CB513 also ``cb513_mask``), disorder AUROC/AUPRC and MCC at 0.5 over every
   residue as ``benchmarks/disorder.py`` does. The run's own float32 weights are scored too, to show
   what float16 costs.
3. The card (``seqrnn info protein-ss``) is written into the file with those figures and metapredict's
   from ``docs/results/disorder_anchor.json`` beside them.
4. ``index.json``: ``protein-ss`` -> the new file; the version it replaces stays as ``protein-ss-vN``,
   marked ``superseded_by: protein-ss`` as v1 is (so ``-m protein`` means the current one and
   ``protein-ss-fast``). ``--name protein-ss-fast`` does the same for that entry alone: its earlier
   version stays as ``protein-ss-fast-vN``.

Test sets are used for these final figures only; the run was chosen on its validation split.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from seqrnn.encoding.examples import prepare_example
from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import choose_thresholds
from seqrnn.models.bundle import file_sha256, load_bundle, save_bundle

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from protein_ss import evaluate_model  # noqa: E402
from soup import validation_records  # noqa: E402

PRETRAINED = ROOT / "seqrnn" / "models" / "pretrained"
ANCHOR = ROOT / "docs" / "results" / "disorder_anchor.json"
V1 = "protein-ss-v1"


def score(model: str | Path, data: Path) -> dict[str, dict[str, float]]:
    """Set -> Q3, Q8 and disorder AUROC / AUPRC / MCC (argmax = P(disordered) >= 0.5) of one bundle, fp32.

    One ``benchmarks/protein_ss.py`` evaluation per set: the SS heads score resolved residues (CB513 also
    ``cb513_mask``), the disorder head every residue (its own mask), as ``benchmarks/disorder.py`` does.
    """
    out: dict[str, dict[str, float]] = {}
    for name, r in evaluate_model(str(model), data, "fp32")["sets"].items():
        disorder = r["disorder"]
        out[name] = {
            "residues_ss": r["ss3"]["n"],
            "q3": round(r["ss3"]["accuracy"], 4),
            "q8": round(r["ss8"]["accuracy"], 4),
            "disorder_residues": disorder["n"],
            "disorder_disordered": int(sum(disorder["confusion_matrix"][1])),  # true class 1: disordered
            **{f"disorder_{k}": round(disorder[k], 4) for k in ("auroc", "auprc", "mcc")},
        }
    return out


def validation_threshold(bundle: Any, run: Path, criterion: str) -> float:
    """The disorder head's cut-off with the best ``criterion`` over the run's validation residues."""
    heads = list(bundle.model.heads.values())
    records = validation_records(run.parent / "split.tsv")
    examples = [prepare_example(r, bundle.encoder, heads=heads, mask_columns=["disorder"]) for r in records]
    options, cpu = PredictOptions(precision="fp32"), torch.device("cpu")
    value = choose_thresholds(bundle, examples, {"disorder": criterion}, options, cpu)["disorder"]
    print(
        f"disorder threshold: {value:.4f} (best {criterion} on {len(records)} validation chains)",
        file=sys.stderr,
    )
    return value


def network_of(model: dict[str, Any]) -> str:
    """The trunk in a few words, from a bundle's ``model:`` config, e.g. ``2 x conv 128 k9 + 2-layer BiLSTM 192``."""
    cell = {"lstm": "LSTM", "gru": "GRU"}.get(model["cell"], model["cell"])
    convs = model.get("conv_layers", 1)
    front = f"{convs} x conv" if convs > 1 else "conv"
    return f"{front} {model['conv_channels']} k{model['conv_kernel']} + {model['layers']}-layer Bi{cell} {model['hidden']}"


def recipe_of(bundle: Any) -> str:
    """One run's network and training settings, from the config stored in its bundle."""
    config = bundle.metadata["train_config"]
    train = config["train"]
    heads = ", ".join(h["name"] for h in config["heads"])
    if train.get("init_from"):  # v2's first form: v1's network, fine-tuned or frozen, plus a new head
        start = f"{train['init_from']} ({network_of(config['model'])}) with a new disorder head"
    else:
        start = f"{network_of(config['model'])} trained from scratch on {heads} together (multi-task)"
    parts = [f"{k} {train[k]}" for k in ("epochs", "lr", "precision", "crop_length") if k in train]
    parts.insert(0, start)
    parts.insert(1, f"seed {config.get('seed')}")
    if train.get("freeze"):
        trains_heads_only = any(f in ("rnn", "heads.ss8") for f in train["freeze"])
        frozen = f"frozen: {', '.join(train['freeze'])}"
        parts.append(frozen + (" (only the new head trains)" if trains_heads_only else " (the rest trains)"))
    if train.get("distill_from"):
        teachers = ", ".join(train["distill_from"])
        parts.append(f"ss8/ss3 distilled from {teachers} (weight {train.get('distill_weight', 0.5)})")
    parts += [f"{h['name']} head hidden layer {h['hidden']}" for h in config["heads"] if h.get("hidden")]
    parts += [
        f"{h['name']} head with its own BiLSTM {h['branch']} over the convolution features"
        for h in config["heads"]
        if h.get("branch")
    ]
    if train.get("monitor"):
        parts.append(f"epoch chosen on validation {train['monitor']}")
    smoothing = {h["name"]: h["label_smoothing"] for h in config["heads"] if h.get("label_smoothing")}
    if smoothing:
        parts.append("label smoothing " + ", ".join(f"{k} {v}" for k, v in smoothing.items()))
    return ", ".join(parts) + f" (best epoch {bundle.metadata.get('epoch')})"


def shown(r: dict[str, float], cut: float) -> str:
    """One test set's figures as the card prints them."""
    return (
        f"Q3 {r['q3']:.4f}, Q8 {r['q8']:.4f} ({r['residues_ss']:,} resolved residues); disorder AUROC "
        f"{r['disorder_auroc']:.3f}, AUPRC {r['disorder_auprc']:.3f}, MCC {r['disorder_mcc']:.3f} at {cut:.3g} "
        f"({r['disorder_residues']:,} residues, {r['disorder_disordered']:,} unresolved)"
    )


def card(
    figures: dict[str, Any],
    fp32: dict[str, Any],
    recipe: str,
    same_ss: bool,
    cut: float,
    name: str = "protein-ss",
    version: int = 2,
    config: str = "configs/protein_ss_v2.yaml",
    distilled: bool = False,
) -> dict[str, Any]:
    """The model card stored in the bundle (``seqrnn info`` prints it)."""
    anchor = {}
    if ANCHOR.is_file():
        tool = next(t for t in json.loads(ANCHOR.read_text())["tools"] if t["tool"] == "metapredict")
        anchor = {
            f"metapredict {tool['version']} ({tool['network']}, threshold {tool['threshold']}) disorder": {
                s: f"AUROC {r['auroc']:.3f}, AUPRC {r['auprc']:.3f}, MCC {r['mcc']:.3f}"
                for s, r in tool["sets"].items()
            }
        }
    return {
        "name": name,
        "version": str(version),
        "task": "protein secondary structure (DSSP 8- and 3-state) and disorder per residue, single sequence",
        "inputs": "protein sequences of any length (20 amino acids; X/B/Z/U/O read as unknown)",
        "outputs": "ss8 H G I E B T S C; ss3 H E C; disorder ordered / disordered (called disordered at "
        f"P(disordered) >= {cut:.4g}, the cut-off chosen on the validation residues)"
        if cut != 0.5
        else "ss8 H G I E B T S C; ss3 H E C; disorder ordered / disordered (argmax)",
        "training data": "NetSurfP-2.0 Train_HHblits (10,792 chains, PDB < 25% identity to the test sets)",
        "source and licence": "NetSurfP-2.0 data (Klausen et al. 2019, Proteins); DSSP labels from the PDB",
        "protocol": f"{recipe}; weights stored as float16 (docs/benchmarks.md: the candidates measured "
        "on validation)",
        "split": "the v1 validation split: 5% of the training chains (540), split seed 1",
        "test metrics": {name: shown(r, cut) for name, r in figures.items()},
        "published anchors": {
            "S4PRED CB513 Q3": 0.753,
            "PSIPRED single-sequence CB513 Q3 (docs/benchmarks.md)": "2-4 points below protein-ss v1",
            **anchor,
        },
        "float16 vs float32": {
            s: f"Q3 {figures[s]['q3']:.4f} vs {fp32[s]['q3']:.4f}, Q8 {figures[s]['q8']:.4f} vs "
            f"{fp32[s]['q8']:.4f}, disorder AUROC {figures[s]['disorder_auroc']:.4f} vs "
            f"{fp32[s]['disorder_auroc']:.4f}"
            for s in figures
        },
        "disorder label": "unresolved in the PDB structure (NetSurfP-2.0 disorder column 0), not "
        "intrinsic disorder: metapredict predicts the latter",
        "intended use": "per-residue secondary structure and missing-density estimates for whole "
        "proteomes without alignments; research use",
        "limits": "single-sequence accuracy is well below alignment- or language-model-based predictors "
        "(ProtT5 ~86 Q3 on CB513); rare states G, I, B are seldom predicted; the disorder head learned "
        "crystallographic missing residues, which under-calls long intrinsically disordered regions",
        "versions": versions_note(name, version, same_ss, distilled),
        "reproduce": f"python benchmarks/protein_ss.py --model {name}; "
        f"python benchmarks/disorder.py --model {name}",
        "rebuild": f"seqrnn train {config} (see docs/benchmarks.md), then "
        f"python benchmarks/build_protein_ss.py RUN/model.pt --name {name} --version {version}",
    }


def versions_note(name: str, version: int, same_ss: bool, distilled: bool = False) -> str:
    """What the card says about the other protein models."""
    earlier = ", ".join(f"{name}-v{v}" for v in range(1, version))
    if name != "protein-ss":
        return (
            "protein-ss: the full-size model; this one trades some secondary-structure accuracy for speed"
            + ("" if not same_ss else " (its ss8 and ss3 outputs are v1's)")
            + (f"; earlier versions stay available by name ({earlier})" if earlier else "")
        )
    how = (
        f"v{version}'s ss8 and ss3 outputs are v1's exactly (v1's weights, frozen: only the disorder head is new)"
        if same_ss
        else f"v{version} fine-tuned v1's top layer with v1 as its ss8/ss3 teacher: its SS calls differ from "
        "v1's on a few residues, its Q3/Q8 within paired-bootstrap noise of v1's (docs/benchmarks.md)"
        if distilled
        else f"v{version} is a different network, so its ss8 and ss3 calls differ from v1's residue by residue"
    )
    return f"earlier versions stay available by name ({earlier}); {how}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="the trained bundle (runs/.../model.pt)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "protein_ss" / "netsurfp2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ap.add_argument("--name", default="protein-ss", choices=["protein-ss", "protein-ss-fast"])
    ap.add_argument("--version", type=int, default=2, help="the version this build becomes")
    ap.add_argument("--config", default="configs/protein_ss_v4.yaml", help="what the card says to train")
    ap.add_argument("--speed", help="the card's speed line (benchmarks/performance.py --compare, same run)")
    ap.add_argument(
        "--threshold",
        choices=["youden", "mcc"],
        help="choose the disorder head's cut-off on the run's validation split (split.tsv beside the "
        "model), as training does for heads[].threshold (for runs trained before it could)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    index_path = PRETRAINED / "index.json"
    index = json.loads(index_path.read_text())
    v1 = index.get(V1) or {**index["protein-ss"]}
    if v1.get("version") != "1":
        raise SystemExit(f"index.json: expected protein-ss v1 to keep, found version {v1.get('version')}")

    source = load_bundle(args.run)
    if args.threshold:
        source.model.heads["disorder"].spec.threshold = validation_threshold(source, args.run, args.threshold)
    # A soup (benchmarks/soup.py) lists its ingredients: the card describes each run.
    runs = [load_bundle(i["model"]) for i in source.metadata.get("soup", [])] or [source]
    recipe = "; ".join(recipe_of(b) for b in runs)
    if len(runs) > 1:
        recipe = f"weight average (model soup, benchmarks/soup.py) of {len(runs)} runs: {recipe}"
    meta = {k: v for k, v in source.metadata.items() if k not in ("encoder", "model", "heads")}
    meta["name"] = args.name
    target = PRETRAINED / f"{args.name}-v{args.version}.pt"
    save_bundle(target, source.model, source.encoder, meta, half=True)
    fp32 = score(args.run, args.data)
    figures = score(target, args.data)
    # Did v1's tensors come through unchanged (train.freeze)? Then v2's SS outputs are v1's.
    old = load_bundle(V1 if V1 in index else "protein-ss").model.state_dict()
    new = load_bundle(target).model.state_dict()
    same_ss = all(torch.equal(old[k], new[k]) for k in old)
    cut = source.model.heads["disorder"].spec.threshold or 0.5
    distilled = any(b.metadata["train_config"]["train"].get("distill_from") for b in runs)
    meta["card"] = card(figures, fp32, recipe, same_ss, cut, args.name, args.version, args.config, distilled)
    if args.speed:
        meta["card"]["speed"] = args.speed
    save_bundle(target, source.model, source.encoder, meta, half=True)
    bundle = load_bundle(target)
    cb = figures["CB513"]
    current = index.get(args.name)
    if args.name == "protein-ss":
        index[V1] = {**v1, "superseded_by": "protein-ss"}
    if current and current.get("version") != str(args.version):
        # The version this one replaces stays by its versioned name (protein-ss-v3, protein-ss-fast-v1),
        # so a pipeline that pinned it still gets the same outputs.
        index[f"{args.name}-v{current['version']}"] = {**current, "superseded_by": args.name}
    index[args.name] = {
        **{k: v for k, v in v1.items() if k in ("group", "inputs", "data", "training_files")},
        "file": target.name,
        "sha256": file_sha256(target),
        "bytes": target.stat().st_size,
        "version": str(args.version),
        "heads": {h["name"]: "/".join(h["classes"]) for h in bundle.heads},
        "task": "protein secondary structure and disorder per residue"
        + (
            ", a smaller network: faster, slightly lower Q3/Q8 (see its card)"
            if args.name != "protein-ss"
            else ""
        ),
        "outputs": "ss8 HGIEBTSC, ss3 HEC, disorder ordered/disordered",
        "description": meta["card"]["task"],
        "test": f"CB513 Q3 {cb['q3']:.4f}, Q8 {cb['q8']:.4f}{' (as v1)' if same_ss else ''}, "
        f"disorder AUROC {cb['disorder_auroc']:.3f}",
    }
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    result = {"model_sha256": file_sha256(target), "float16": figures, "float32": fp32, "recipe": recipe}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
