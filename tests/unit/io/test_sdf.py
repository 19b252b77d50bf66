"""SD files (seqrnn.io.sdf through seqrnn.io.formats): SMILES, ids, properties as fields, gzip, records
RDKit cannot read (reported and left out, the rest read), SDF on standard input, and RDKit missing."""

from __future__ import annotations

import gzip
import io
import logging
import sys
import types
from pathlib import Path

import pytest

from seqrnn.errors import ConfigError, InputError
from seqrnn.io.formats import ReadOptions, chain_inputs, detect_format, read_records, sniff_format
from seqrnn.io.sdf import block_property, sdf_stem

Chem = pytest.importorskip("rdkit.Chem")

ETHANOL = "CCO"
ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
SALT = "CC(=O)[O-].[Na+]"


def molblock(smiles: str, title: str = "", props: dict[str, str] | None = None) -> str:
    """One SD record as RDKit writes it: molfile, ``> <NAME>`` data items, ``$$$$``."""
    mol = Chem.MolFromSmiles(smiles)
    mol.SetProp("_Name", title)
    for name, value in (props or {}).items():
        mol.SetProp(name, value)
    out = io.StringIO()
    with Chem.SDWriter(out) as writer:
        writer.write(mol)
    return out.getvalue()


# Explicit valence 5 on carbon (hand-written: RDKit writes no such molecule).
PENTAVALENT = """pentavalent
  hand made

  6  5  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
   -1.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    1.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -1.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.5000    0.5000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  1  3  1  0
  1  4  1  0
  1  5  1  0
  1  6  1  0
M  END
>  <cid>
bad-valence

$$$$
"""
# The counts line promises 3 atoms; the atom block holds one and then bonds.
TRUNCATED = """truncated
  hand made

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
M  END
$$$$
"""


def library(tmp_path: Path, name: str = "lib.sdf") -> Path:
    text = (
        molblock(ETHANOL, "ethanol", {"cid": "702", "logS": "1.1"})
        + PENTAVALENT
        + molblock(ASPIRIN, "", {"cid": "2244", "logS": "-1.7"})
        + TRUNCATED
        + molblock(SALT, "sodium acetate", {"logS": "0.5"})
    )
    path = tmp_path / name
    path.write_text(text)
    return path


def test_smiles_ids_and_fields(tmp_path: Path) -> None:
    recs = list(read_records(library(tmp_path)))
    assert [r.id for r in recs] == ["ethanol", "lib_3", "sodium acetate"]  # lib_3: no title, record 3
    assert [r.text for r in recs] == [ETHANOL, ASPIRIN, SALT]  # the salt keeps its counter-ion
    assert [r.index for r in recs] == [0, 1, 2]
    assert recs[0].fields == {"cid": "702", "logS": "1.1"}
    assert recs[2].fields == {"logS": "0.5"}
    assert {r.source for r in recs} == {str(tmp_path / "lib.sdf")}


def test_id_column_picks_a_property(tmp_path: Path) -> None:
    recs = list(read_records(library(tmp_path), id_column="cid"))
    assert [r.id for r in recs] == ["702", "2244", "sodium acetate"]  # without cid: the title


def test_unreadable_records_are_reported_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = library(tmp_path)
    with caplog.at_level(logging.WARNING, logger="seqrnn"):
        recs = list(read_records(path, id_column="cid"))
    assert len(recs) == 3
    first, second = (r.getMessage() for r in caplog.records)
    # RDKit's own words: "Explicit valence for atom # 0 C, 5, is greater than permitted"
    assert first.startswith(f"seqrnn: skipped {path}:bad-valence (record 2): RDKit rejects this molecule (")
    assert "valence" in first and "\n" not in first
    assert second == (
        f"seqrnn: skipped {path}:truncated (record 4): RDKit cannot parse this record "
        "(molfile syntax: counts line, atom or bond block)"
    )
    assert [r.event for r in caplog.records] == ["skipped", "skipped"]  # type: ignore[attr-defined]
    assert caplog.records[0].fields["row"] == 2  # type: ignore[attr-defined]


def test_a_record_without_atoms_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "x.sdf"
    path.write_text(molblock(ETHANOL, "a") + molblock("", "empty") + molblock(ETHANOL, "b"))
    with caplog.at_level(logging.WARNING, logger="seqrnn"):
        assert [r.id for r in read_records(path)] == ["a", "b"]
    assert "x.sdf:empty (record 2): the record has no atoms" in caplog.text


@pytest.mark.parametrize("name", ["lib.sdf.gz", "lib.sdf", "lib.sd.gz"])
def test_gzip_by_magic_bytes(tmp_path: Path, name: str) -> None:
    plain = library(tmp_path, "plain.sdf")
    path = tmp_path / name
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert [r.id for r in read_records(path)] == ["ethanol", "lib_3", "sodium acetate"]


def test_mol_file_without_terminator(tmp_path: Path) -> None:
    path = tmp_path / "aspirin.mol"
    path.write_text(Chem.MolToMolBlock(Chem.MolFromSmiles(ASPIRIN)))  # no title, no $$$$
    (rec,) = read_records(path)
    assert (rec.id, rec.text, rec.fields) == ("aspirin_1", ASPIRIN, {})


@pytest.mark.parametrize(
    ("name", "fmt"), [("x.sdf", "sdf"), ("x.SDF.gz", "sdf"), ("x.sd", "sdf"), ("dir/x.v2.mol", "sdf")]
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt
    assert detect_format("x.txt", "sdf") == "sdf"


def test_unknown_extension_names_sdf() -> None:
    with pytest.raises(InputError, match=r"--format fasta\|smi\|sdf\|"):
        detect_format("x.bam")


def test_format_option_reads_any_name(tmp_path: Path) -> None:
    path = library(tmp_path, "lib.dat")
    assert len(list(chain_inputs([path], ReadOptions(fmt="sdf")))) == 3


def test_not_an_sd_file_and_empty_file(tmp_path: Path) -> None:
    smiles = tmp_path / "oops.sdf"
    smiles.write_text("CCO ethanol\nc1ccccc1 benzene\n")
    with pytest.raises(InputError, match=r"oops.sdf: not an SD file"):
        list(read_records(smiles))
    empty = tmp_path / "empty.sdf"
    empty.write_text("\n")
    with pytest.raises(InputError, match="empty file: no SD records"):
        list(read_records(empty))


def test_stem_and_block_property() -> None:
    assert sdf_stem("dir/lib.v2.sdf.gz") == "lib.v2"
    assert sdf_stem("x.MOL") == "x"
    assert sdf_stem("-") == "stdin"
    assert block_property(PENTAVALENT, "cid") == "bad-valence"
    assert block_property(PENTAVALENT, "logS") is None
    assert block_property(PENTAVALENT, None) is None


# --------------------------------------------------------------------------------------------------------
# standard input


def stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


def test_stdin_sdf_needs_no_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = library(tmp_path)
    stdin(monkeypatch, path.read_bytes())
    recs = list(read_records("-"))
    assert [r.id for r in recs] == ["ethanol", "stdin_3", "sodium acetate"]
    assert [r.text for r in recs] == [ETHANOL, ASPIRIN, SALT]


@pytest.mark.parametrize(
    "text",
    [
        molblock(ASPIRIN),  # empty title line: the sniffer skips blank lines, then reads on
        molblock(ETHANOL, "a, b\tc"),  # a title with a comma and a tab is no CSV header
        "\n\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n",
        "x\n\n\n  1  0\n" + "    0.0 0.0 0.0 C\n" * 3000 + "M  END\n",  # old counts line; M  END far on
    ],
    ids=["blank-title", "title-with-comma", "no-atoms", "no-version-tag"],
)
def test_sniffing_sdf(text: str) -> None:
    fmt, handle = sniff_format(io.StringIO(text))
    assert fmt == "sdf"
    assert "".join(handle) == text  # every line read ahead is put back


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (">p1\nMKT\n", "fasta"),
        ("smiles,name\nCCO,ethanol\n", "csv"),
        ("smiles\tname\nCCO\tethanol\n", "tsv"),
        ("CCO ethanol\nc1ccccc1 benzene\nCC\nCCC\n", "smi"),
        ("CCO ethanol\n" * 20000, "smi"),  # past the look-ahead: still told by the first line
        ("", "smi"),
    ],
)
def test_sniffing_other_formats_is_unchanged(text: str, fmt: str) -> None:
    found, handle = sniff_format(io.StringIO(text))
    assert found == fmt
    assert "".join(handle) == text  # every line read ahead is put back


# --------------------------------------------------------------------------------------------------------
# RDKit missing


def test_missing_rdkit_is_one_config_error_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = library(tmp_path)
    monkeypatch.setitem(sys.modules, "rdkit", None)  # ``from rdkit import Chem`` now raises ImportError
    with pytest.raises(ConfigError) as info:
        list(read_records(path))
    message = str(info.value)
    assert message == "reading SD files needs RDKit, which is not installed (pip install 'seqrnn[chem]')"
    assert "\n" not in message
