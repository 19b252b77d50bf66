"""seqrnn.models.cards: ``seqrnn info`` names training data by dataset, source and checksum, never by the
path the file had on the machine that trained the model."""

from __future__ import annotations

import re

import pytest

from seqrnn.cli.main import main
from seqrnn.models.builtins import builtin_index
from seqrnn.models.bundle import load_bundle
from seqrnn.models.cards import card_text, data_lines, portable
from seqrnn.models.datasets import find_file

#: A word that is an absolute path or climbs above the working directory.
MACHINE_PATH = re.compile(r"(?<!\S)(/|\.\./|~/)\S")
BBBP = find_file("BBBP.csv")
DATA = {"n_train": 8, "n_valid": 2, "valid": None, "test": None}


def test_portable_paths() -> None:
    assert portable("seqrnn evaluate -m tf-X ../shared/data/dna/deepbind_chipseq/X_H1_B.seq.gz") == (
        "seqrnn evaluate -m tf-X $SEQRNN_DATA/dna/deepbind_chipseq/X_H1_B.seq.gz"
    )
    assert portable("/home/me/data/smiles/moleculenet/BBBP.csv") == "$SEQRNN_DATA/smiles/moleculenet/BBBP.csv"
    assert portable("read /home/me/my.csv and ~/x/y.tsv") == "read my.csv and y.tsv"
    kept = "runs/zoo/tests/esol.csv; sensitivity / specificity 0.9 / 0.96; docs/benchmarks.md"
    assert portable(kept) == kept
    text = card_text({"reproduce": "seqrnn evaluate -m m /abs/x.csv", "anchors": {"a": "../b/c.tsv"}})
    assert "reproduce: seqrnn evaluate -m m x.csv" in text and "a: c.tsv" in text


def test_a_published_file_is_named_by_its_checksum_wherever_it_lay() -> None:
    data = {**DATA, "train": "/scratch/u1/BBBP.csv", "fingerprint": f"sha256:{BBBP.sha256}"}
    lines = data_lines({"data": data})
    assert lines[:2] == ["trained on: MoleculeNet BBBP", "records:    8 train / 2 valid"]
    assert f"source:     {BBBP.url}" in lines and f"data file:  BBBP.csv sha256 {BBBP.sha256}" in lines
    assert lines[-1] == f"data hash:  sha256:{BBBP.sha256}"
    assert not any("/scratch" in line for line in lines)


def test_a_built_in_names_the_files_in_its_index_entry() -> None:
    data = {**DATA, "train": "runs/zoo/promoters/E_coli/data/train.tsv", "fingerprint": "sha256:" + "1" * 64}
    lines = data_lines({"data": data}, {"training_files": ["Ecoli_prom.fa", "Ecoli_non_prom.fa"]})
    assert (
        lines[0].startswith("trained on: CNNProm")
        and lines.count("source:     " + find_file("Ecoli_prom.fa").url) == 1
    )
    assert [line.split()[2] for line in lines if line.startswith("data file:")] == [
        "Ecoli_prom.fa",
        "Ecoli_non_prom.fa",
    ]


def test_the_config_dataset_section_is_shown_and_checked() -> None:
    declared = {"name": "My set", "url": "https://example.org/s.csv", "sha256": "a" * 64, "licence": "CC0"}
    meta = {"data": {**DATA, "train": "/x/y/s.csv", "fingerprint": "sha256:" + "a" * 64}}
    meta["train_config"] = {"dataset": declared}
    lines = data_lines(meta)
    assert lines[0] == "trained on: My set" and "source:     https://example.org/s.csv" in lines
    assert "licence:    CC0" in lines and f"data file:  s.csv sha256 {'a' * 64}" in lines
    meta["data"]["fingerprint"] = "sha256:" + "b" * 64  # another file at the same path
    lines = data_lines(meta)
    assert lines[0] == "trained on: s.csv" and lines[2].startswith("note:       the data hash is not")


def test_other_data_are_named_by_file_name_only() -> None:
    lines = data_lines({"data": {**DATA, "train": "/home/me/secret/mine.tsv", "fingerprint": "sha256:00"}})
    assert lines == ["trained on: mine.tsv", "records:    8 train / 2 valid", "data hash:  sha256:00"]
    meta = {
        "data": {**DATA, "train": ""},
        "train_config": {"data": {"class_files": {"1": "/a/p.fa", "0": "../n.fa"}}},
    }
    assert data_lines(meta)[0] == "trained on: p.fa, n.fa"
    assert data_lines({}) == []


@pytest.mark.parametrize("name", sorted(builtin_index()))
def test_built_in_cards_print_no_machine_path(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", name]) == 0
    out = capsys.readouterr().out
    shown = [line for line in out.splitlines() if not line.startswith("file:")]  # this install's copy
    assert not [line for line in shown if MACHINE_PATH.search(line)], name
    assert "trained on: " in out and "data file:  " in out and "source:     https://" in out
    card = load_bundle(name).metadata.get("card") or {}
    if name.startswith("tf-"):
        assert "reproduce: seqrnn evaluate -m " + name + " $SEQRNN_DATA/dna/deepbind_chipseq/" in out
    assert bool(card) == ("model card:" in out)
