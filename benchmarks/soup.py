"""Average fine-tuned runs in weight space ("model soup") and choose on a run's validation split.

    python benchmarks/soup.py runs/v2a/model.pt runs/v2b/model.pt runs/v2c/model.pt \\
        --split runs/v2a/split.tsv --out runs/protein_ss_soup/model.pt --json docs/results/protein_ss_soup.json

Runs fine-tuned from one starting model (here all from ``protein-ss`` v1 with ``train.init_from``) stay
in one basin of the loss, so their weights can be averaged into one network of the same size and speed
(Wortsman et al. 2022, "Model soups"). Scored on the validation records of ``--split`` (the split every
ingredient was trained with: the script refuses ingredients whose validation ids differ):

* each ingredient alone (an ingredient may lack a head the others have, e.g. the starting model:
  it then averages into the trunk and the heads it has; see :func:`averaged`);
* the uniform soup (mean of all);
* the greedy soup: ingredients sorted by validation score, each added only if the mean so far scores higher.

The candidate with the best validation ``--monitor`` is written to ``--out`` (float32, the first
ingredient's metadata, a ``soup`` list of the ingredients with their sha256, and the soup's validation
metrics). Test sets are not read.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import torch

from seqrnn.inference.engine import PredictOptions
from seqrnn.inference.evaluate import evaluate_records
from seqrnn.io.formats import read_records
from seqrnn.models.bundle import ModelBundle, load_bundle, save_bundle


def validation_records(split: Path) -> list:
    """The records of the ``valid`` part of a run's ``split.tsv``, read from their files."""
    with split.open() as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["part"] == "valid"]
    wanted: dict[str, set[str]] = {}
    for r in rows:
        wanted.setdefault(r["file"], set()).add(r["id"])
    records = [rec for path, ids in wanted.items() for rec in read_records(path) if rec.id in ids]
    if len(records) != len(rows):
        raise SystemExit(f"{split}: found {len(records)} of {len(rows)} validation records")
    return records


def averaged(bundles: list[ModelBundle]) -> ModelBundle:
    """A copy of the bundle with the most tensors whose every tensor is the mean over the bundles that
    have it: an ingredient without a head (``protein-ss`` v1 has no disorder head) still averages into
    the trunk and the heads it shares; shared tensors must agree in shape."""
    states = [b.model.state_dict() for b in bundles]
    template = max(range(len(bundles)), key=lambda i: len(states[i]))
    merged = {}
    for key, value in states[template].items():
        have = [s[key] for s in states if key in s]
        if any(t.shape != value.shape for t in have):
            raise SystemExit(f"ingredients differ in the shape of {key}")
        merged[key] = torch.stack([t.float() for t in have]).mean(0).to(value.dtype)
    if any(set(s) - set(merged) for s in states):
        raise SystemExit("an ingredient has tensors the others lack beyond the template's")
    out = load_bundle(bundles[template].path)
    out.model.load_state_dict(merged)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path, help="the ingredients (model.pt of each run)")
    ap.add_argument("--split", type=Path, required=True, help="split.tsv of the runs")
    ap.add_argument("--monitor", default="ss8/accuracy")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for m in args.models:
        theirs = m.parent / "split.tsv"
        if theirs.is_file() and theirs.read_text() != args.split.read_text():
            raise SystemExit(f"{m}: trained on another split than {args.split}")
    records = validation_records(args.split)
    masks = ["disorder"]
    head, metric = args.monitor.split("/")

    def score(bundle: ModelBundle) -> dict:
        ev = evaluate_records(bundle, records, PredictOptions(precision="fp32"), torch.device("cpu"), masks)
        return ev.metrics

    ingredients = [load_bundle(m) for m in args.models]
    scores = {str(m): score(b) for m, b in zip(args.models, ingredients, strict=True)}
    results: dict = {"validation_records": len(records), "monitor": args.monitor, "candidates": {}}
    for m, s in scores.items():
        results["candidates"][m] = {"members": [m], "metrics": s}
        print(f"{m}: {args.monitor} {s[head][metric]:.4f}, ss3 {s['ss3']['accuracy']:.4f}", flush=True)
    # Only a candidate with every head may be written (the starting model alone lacks the new head).
    full = {h for b in ingredients for h in b.model.heads}
    if len(ingredients) > 1:
        uniform = averaged(ingredients)
        s = score(uniform)
        results["candidates"]["uniform"] = {"members": [str(m) for m in args.models], "metrics": s}
        print(
            f"uniform soup: {args.monitor} {s[head][metric]:.4f}, ss3 {s['ss3']['accuracy']:.4f}", flush=True
        )
        order = sorted(range(len(ingredients)), key=lambda i: -scores[str(args.models[i])][head][metric])
        chosen = [order[0]]
        best = scores[str(args.models[order[0]])]  # the metrics of the soup of ``chosen``
        for i in order[1:]:
            trial = score(averaged([ingredients[j] for j in [*chosen, i]]))
            print(f"greedy: + {args.models[i]} -> {trial[head][metric]:.4f}", flush=True)
            if trial[head][metric] > best[head][metric]:
                chosen.append(i)
                best = trial
        if len(chosen) > 1:  # scored already: the last accepted trial
            results["candidates"]["greedy"] = {
                "members": [str(args.models[j]) for j in chosen],
                "metrics": best,
            }
    complete = {k: v for k, v in results["candidates"].items() if set(v["metrics"]) >= full}
    name, pick = max(complete.items(), key=lambda kv: kv[1]["metrics"][head][metric])
    results["chosen"] = name
    members = [ingredients[[str(m) for m in args.models].index(p)] for p in pick["members"]]
    out = averaged(members)
    meta = {k: v for k, v in out.metadata.items() if k not in ("encoder", "model", "heads")}
    meta["soup"] = [{"model": m, "sha256": b.sha256} for m, b in zip(pick["members"], members, strict=True)]
    meta["valid_metrics"] = pick["metrics"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_bundle(args.out, out.model, out.encoder, meta)
    print(f"chosen: {name} ({args.monitor} {pick['metrics'][head][metric]:.4f}) -> {args.out}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
