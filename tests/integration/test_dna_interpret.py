"""DNA end to end: shuffled negatives + strand augmentation in training, then seqrnn interpret and scan."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from Bio import motifs as bio_motifs

from seqrnn.cli.main import main
from seqrnn.encoding.examples import encode_record
from seqrnn.errors import ModelError
from seqrnn.interpret import ism, resolve_target, saliency, score_examples, select_examples
from seqrnn.io.records import Record
from seqrnn.models.bundle import load_bundle
from seqrnn.resources.synthetic import MOTIF
from tests.conftest import write_config

# The planted motif TGACGTCA as a JASPAR matrix, next to a decoy.
JASPAR = """>MA9001.1 PLANTED
A [ 0 0 20 0 0 0 0 20 ]
C [ 0 0 0 20 0 0 20 0 ]
G [ 0 20 0 0 20 0 0 0 ]
T [ 20 0 0 0 0 20 0 0 ]
>MA9002.1 DECOY
A [ 20 20 0 0 20 20 ]
C [ 0 0 20 20 0 0 ]
G [ 0 0 0 0 0 0 ]
T [ 0 0 0 0 0 0 ]
"""


@pytest.fixture(scope="module")
def dna_run(synthetic: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("dna_interpret")
    # Positives only, as in DeepBind's *_AC files: the negatives are generated.
    rows = synthetic["dna"].read_text().splitlines()
    positives = tmp / "peaks.seq"
    positives.write_text("\n".join([rows[0], *[r for r in rows[1:] if r.endswith("\t1")]]) + "\n")
    cfg = write_config("dna", positives, tmp / "run", tmp, epochs=10, lr=0.01, batch_size=8)
    sets = [
        "data.negatives=dinucleotide_shuffle",
        "train.augment=reverse_complement",
        "train.test_views=2",
        "model.conv_pool=2",
        "heads.0.classes=['0','1']",
    ]
    assert main(["train", str(cfg), "--quiet", *[a for s in sets for a in ("--set", s)]]) == 0
    jaspar = tmp / "toy.jaspar"
    jaspar.write_text(JASPAR)
    return tmp / "run" / "model.pt", jaspar


def test_training_made_negatives(dna_run) -> None:
    bundle = load_bundle(dna_run[0])
    assert bundle.metadata["data"]["n_train"] + bundle.metadata["data"]["n_valid"] == 160
    assert bundle.heads[0]["classes"] == ["0", "1"]


def test_ism_and_saliency_agree_with_direct_scores(dna_run) -> None:
    bundle = load_bundle(dna_run[0])
    target = resolve_target(bundle)
    text = "ACGTAGGCTTGACGTCAAGCTAGGATCCAT"
    ex = encode_record(Record("s", text, 0, "x"), bundle.encoder)
    delta, own = ism(bundle, ex, target)
    assert delta.shape == (len(text), 4)
    for pos, base in enumerate(text):
        assert delta[pos, "ACGT".index(base)] == 0.0
    mutant = text[:12] + "A" + text[13:]
    direct = score_examples(bundle, [encode_record(Record("m", mutant, 0, "x"), bundle.encoder)], target)[0]
    assert own + delta[12, 0] == pytest.approx(direct, abs=1e-4)
    # Averaging strands makes the score of a sequence and of its reverse complement equal.
    rc = encode_record(
        Record("r", bundle.encoder.decode(bundle.encoder.reverse_complement(ex.tokens)), 0, "x"),
        bundle.encoder,
    )
    assert score_examples(bundle, [rc], target)[0] == pytest.approx(own, abs=1e-4)
    (sal,) = saliency(bundle, [ex], target)
    observed = np.zeros_like(sal, dtype=bool)
    observed[np.arange(len(text)), ["ACGT".index(b) for b in text]] = True
    assert np.all(sal[~observed] == 0) and np.abs(sal[observed]).sum() > 0


def test_selection_streams_and_stops_reading_when_it_has_enough(dna_run) -> None:
    bundle = load_bundle(dna_run[0])
    target = resolve_target(bundle)
    rng = np.random.default_rng(0)
    texts = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(300)]
    examples = [encode_record(Record(f"s{i}", t, i, "x"), bundle.encoder) for i, t in enumerate(texts)]
    read = []

    def stream():
        for ex in examples:
            read.append(ex.id)
            yield ex

    chosen, seen = select_examples(bundle, stream(), target, positives_only=False, max_sequences=25, chunk=20)
    assert [ex.id for ex in chosen] == [f"s{i}" for i in range(25)]
    assert seen == 40 and len(read) == 40  # two chunks read, the rest of the input never
    # Positives only: the same picks as scoring everything at once, in input order.
    scores = score_examples(bundle, examples, target)
    expected = [ex.id for ex, s in zip(examples, scores, strict=True) if s > 0]
    chosen, seen = select_examples(bundle, iter(examples), target, chunk=64)
    assert [ex.id for ex in chosen] == expected and seen == len(examples)


def test_interpret_cli_writes_attributions_and_motifs(dna_run, synthetic, tmp_path, capsys) -> None:
    model, jaspar = dna_run
    out = tmp_path / "attr.h5"
    motifs = tmp_path / "motifs"
    args = ["interpret", str(synthetic["dna"]), "-m", str(model), "-o", str(out), "--motifs", str(motifs)]
    assert (
        main([*args, "--jaspar", str(jaspar), "--max-sequences", "30", "--top", "3", "--threads", "1"]) == 0
    )
    assert "motifs from" in capsys.readouterr().out
    with h5py.File(out) as f:
        n = len(f["ids"])
        assert 0 < n <= 30 and f.attrs["strands_averaged"]
        assert f["ism"].shape == (f["offsets"][-1], 4) == f["saliency"].shape
        assert f["score"].shape == (n,) and np.all(f["score"][:] > 0)  # only sequences called bound
    with open(motifs / "motifs.meme") as fh:
        learned = list(bio_motifs.parse(fh, "minimal"))
    rows = json.loads((motifs / "motifs.json").read_text())
    assert len(learned) == len(rows) >= 2 and rows[-1]["source"] == "seqlet"
    assert all(r["matches"][0]["matrix_id"].startswith("MA900") for r in rows)
    assert len(list((motifs / "logos").glob("*.png"))) == len(rows)
    assert (motifs / "motifs.tsv").read_text().count("\n") == len(rows) + 1


def test_scan_cli_scores_like_evaluate(dna_run, synthetic, tmp_path, capsys) -> None:
    _model, jaspar = dna_run
    out = tmp_path / "scan.json"
    assert (
        main(
            ["scan", str(synthetic["dna"]), "--jaspar", str(jaspar), "--motif", "PLANTED", "--json", str(out)]
        )
        == 0
    )
    metrics = json.loads(out.read_text())["pwm"]
    assert metrics["auroc"] == 1.0  # every bound sequence carries the exact planted site
    assert "auroc" in capsys.readouterr().out


def test_interpret_errors_are_one_line(dna_run, synthetic, tmp_path, capsys) -> None:
    model, _ = dna_run
    assert main(["interpret", str(synthetic["dna"]), "-m", str(model)]) == 2
    golden = Path(__file__).resolve().parents[1] / "golden" / "tiny_protein.pt"
    capsys.readouterr()
    assert main(["interpret", str(synthetic["dna"]), "-m", str(golden), "-o", str(tmp_path / "x.h5")]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a DNA model" in err[0]
    assert not (tmp_path / "x.h5").exists()
    assert (
        main(["scan", str(synthetic["dna"]), "--jaspar", str(tmp_path / "none.jaspar"), "--motif", "X"]) == 3
    )


def test_planted_motif_is_found(dna_run, synthetic, tmp_path) -> None:
    """The model must have learned the planted site: its top learned motif matches it best."""
    model, jaspar = dna_run
    torch.manual_seed(0)
    motifs = tmp_path / "m"
    assert (
        main(
            [
                "interpret",
                str(synthetic["dna"]),
                "-m",
                str(model),
                "--motifs",
                str(motifs),
                "--jaspar",
                str(jaspar),
                "--no-logos",
            ]
        )
        == 0
    )
    rows = json.loads((motifs / "motifs.json").read_text())
    assert rows[0]["matches"][0]["name"] == "PLANTED", rows[0]
    assert MOTIF[2:6] in rows[0]["consensus"] or MOTIF[2:6] in _rc(rows[0]["consensus"])


def _rc(s: str) -> str:
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


def test_predict_bed_intervals_with_strand_averaging(dna_run, tmp_path) -> None:
    model, _ = dna_run
    genome = tmp_path / "genome.fa"
    genome.write_text(">chr1\n" + "ACGTAGGCTTGACGTCAAGCTAGGATCCATGGCATTAGCA" * 3 + "\n")
    bed = tmp_path / "peaks.bed"
    bed.write_text("chr1\t0\t60\tplus\t0\t+\nchr1\t0\t60\tminus\t0\t-\n")
    out = tmp_path / "bed.h5"
    assert main(["predict", str(bed), "--genome", str(genome), "-m", str(model), "-o", str(out), "-q"]) == 0
    with h5py.File(out) as f:
        probs = f["sequence/bound/probs"][:]
        assert list(f["ids"].asstr()[:]) == ["plus", "minus"]
    np.testing.assert_allclose(probs[0], probs[1], atol=1e-5)  # both strands of one interval agree


def test_learned_embedding_models_get_ism_and_seqlets_but_no_saliency(synthetic, tmp_path) -> None:
    cfg = write_config("dna", synthetic["dna"], tmp_path / "run", tmp_path, epochs=1)
    sets = [
        "model.input=embedding",
        "model.conv_channels=0",
        "train.augment=reverse_complement",
        "train.test_views=2",
    ]
    assert main(["train", str(cfg), "--quiet", *[a for s in sets for a in ("--set", s)]]) == 0
    bundle = load_bundle(tmp_path / "run" / "model.pt")
    target = resolve_target(bundle)
    ex = encode_record(Record("s", "ACGTAGGCTTGACGTCAAGC", 0, "x"), bundle.encoder)
    delta, own = ism(bundle, ex, target)
    assert delta.shape == (20, 4) and np.abs(delta).sum() > 0
    rc = encode_record(Record("r", "GCTTGACGTCAAGCCTACGT", 0, "x"), bundle.encoder)
    assert score_examples(bundle, [rc], target)[0] == pytest.approx(own, abs=1e-4)  # strands averaged
    with pytest.raises(ModelError, match="one-hot"):
        saliency(bundle, [ex], target)
    out = tmp_path / "m"
    args = [
        "interpret",
        str(synthetic["dna"]),
        "-m",
        str(tmp_path / "run" / "model.pt"),
        "--motifs",
        str(out),
    ]
    assert main([*args, "--all-sequences", "--max-sequences", "10", "--no-logos"]) == 0
    assert json.loads((out / "motifs.json").read_text())[0]["source"] == "seqlet"
