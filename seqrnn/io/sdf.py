"""SD files (``.sdf``, ``.sd``, ``.mol``, each also gzipped) read with RDKit into SMILES records.

Every record of the file (the text up to a ``$$$$`` line) is parsed by RDKit's
``ForwardSDMolSupplier`` with its default sanitisation and becomes one :class:`Record`:

- ``text``: the molecule's SMILES (``Chem.MolToSmiles``: canonical, with stereochemistry; salts and
  counter-ions stay, as ``.``-separated fragments);
- ``id``: the SD property named by ``id_property`` (``--id-column``) when the record has it, else the
  title line (``_Name``), else ``<file stem>_<N>`` (``N``: the record's 1-based number in the file);
- ``fields``: every SD property as a string, so label columns work as CSV columns do.

A record RDKit cannot read (molfile syntax, a valence it rejects, no atoms) does not stop the file: it
is left out, and one warning per record names file, id, record number and RDKit's reason
(``seqrnn: skipped FILE:ID (record N): reason``, event ``skipped`` in the JSON log). A file whose first
record has neither an ``M  END`` nor a ``$$$$`` line is no SD file: :class:`InputError`.

RDKit is the optional ``chem`` extra, imported only when an SD file is read; without it reading one is
a :class:`ConfigError` naming the extra to install. Records are parsed one at a time: memory holds the
current record only.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from seqrnn.core.logs import event
from seqrnn.errors import ConfigError, InputError
from seqrnn.io.records import Record

SDF_SUFFIXES = (".sdf", ".sd", ".mol")
INSTALL_HINT = "pip install 'seqrnn[chem]'"  # as seqrnn.encoding.chem says it (a layer above io)


def rdkit_chem() -> Any:
    """RDKit's ``Chem`` module, or a one-line :class:`ConfigError` naming the extra to install."""
    try:
        from rdkit import Chem
    except ImportError:
        raise ConfigError(f"reading SD files needs RDKit, which is not installed ({INSTALL_HINT})") from None
    return Chem


def read_sdf(handle: IO[str], source: str, id_property: str | None = None) -> Iterator[Record]:
    """The readable molecules of an SD stream as SMILES records (see the module docstring)."""
    chem = rdkit_chem()
    stem = sdf_stem(source)
    index = 0
    number = 0
    for number, block in enumerate(sd_blocks(handle), start=1):
        if number == 1 and not any(line.startswith(("M  END", "$$$$")) for line in block.splitlines()):
            raise InputError("not an SD file: no 'M  END' or '$$$$' line in its first record", source=source)
        mol, reason = parse_block(chem, block)
        if mol is None:
            rec_id = _record_id(block_property(block, id_property), block.split("\n", 1)[0], stem, number)
            event(
                "skipped",
                f"seqrnn: skipped {source}:{rec_id} (record {number}): {reason}",
                level=logging.WARNING,
                record=f"{source}:{rec_id}",
                row=number,
                reason=reason,
            )
            continue
        fields = {name: mol.GetProp(name) for name in mol.GetPropNames()}
        title = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
        rec_id = _record_id(fields.get(id_property or ""), title, stem, number)
        yield Record(id=rec_id, text=chem.MolToSmiles(mol), index=index, source=source, fields=fields)
        index += 1
    if number == 0:
        raise InputError("empty file: no SD records", source=source)


def sd_blocks(handle: IO[str]) -> Iterator[str]:
    """The text of each record of an SD stream, ``$$$$`` line included; blank records are passed over."""
    lines: list[str] = []
    for line in handle:
        lines.append(line)
        if line.startswith("$$$$"):
            if any(part.strip() for part in lines[:-1]):
                yield "".join(lines)
            lines = []
    if any(part.strip() for part in lines):  # a last record without ``$$$$`` (a .mol file)
        yield "".join(lines)


def parse_block(chem: Any, block: str) -> tuple[Any | None, str]:
    """``(molecule, "")`` for a record RDKit reads (default sanitisation), else ``(None, reason)``."""
    with _quiet():  # RDKit's own stderr lines would repeat the reason given per record
        supplier = chem.ForwardSDMolSupplier(io.BytesIO(block.encode("utf-8")))
        mol = next(iter(supplier), None)
        if mol is None:
            return None, _reason(chem, block)
    if mol.GetNumAtoms() == 0:
        return None, "the record has no atoms"
    return mol, ""


def _reason(chem: Any, block: str) -> str:
    """Why RDKit rejected ``block``: the sanitisation error when the molfile itself parses."""
    mol = chem.MolFromMolBlock(block, sanitize=False, removeHs=False)
    if mol is None:
        return "RDKit cannot parse this record (molfile syntax: counts line, atom or bond block)"
    try:
        chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several sanitisation exception types
        return f"RDKit rejects this molecule ({' '.join(str(exc).split()) or type(exc).__name__})"
    return "RDKit cannot read this record"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    from rdkit import rdBase

    with rdBase.BlockLogs() if hasattr(rdBase, "BlockLogs") else contextlib.nullcontext():
        yield


def block_property(block: str, name: str | None) -> str | None:
    """The value of SD property ``name`` in a record's text (for records RDKit cannot read), or None."""
    if not name:
        return None
    lines = block.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(">") and f"<{name}>" in line:
            value = []
            for part in lines[i + 1 :]:
                if not part.strip() or part.startswith("$$$$"):
                    break
                value.append(part.rstrip("\r"))
            return "\n".join(value)
    return None


def _record_id(prop: str | None, title: str, stem: str, number: int) -> str:
    return (prop or "").strip() or title.strip() or f"{stem}_{number}"


def sdf_stem(source: str) -> str:
    """The file name without ``.gz`` and its SD suffix (``lib.sdf.gz`` -> ``lib``); ``stdin`` for ``-``."""
    if source == "-":
        return "stdin"
    name = Path(source).name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    for suffix in SDF_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
