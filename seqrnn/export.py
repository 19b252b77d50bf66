"""Exports from a predictions HDF5 file to formats other tools already parse.

- ``ss2``: PSIPRED VFORMAT, one file per sequence: ``index aa pred P(C) P(H) P(E)``;
- ``horiz``: PSIPRED HFORMAT, one file per sequence: confidence digits, prediction and sequence in
  blocks of 60 residues;
- ``tsv``: one table for all sequences, one row per residue: id, position, residue, and for every
  residue head the predicted class and each class probability.
PSIPRED formats need a 3-state head with classes H, E, C (``ss3`` of the built-in model).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from seqrnn.errors import InputError, OutputError

EXPORT_FORMATS = ("ss2", "horiz", "tsv")


class Predictions:
    """Read access to a seqrnn predictions file, one sequence at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.file = h5py.File(self.path, "r")
        except (OSError, FileNotFoundError):
            raise InputError("not a readable HDF5 file", source=str(path)) from None
        if self.file.attrs.get("format") != "seqrnn-predictions":
            raise InputError("not a seqrnn predictions file", source=str(path))
        self.ids = self.file["ids"].asstr()[:]
        self.offsets = self.file["offsets"][:]
        self.sequences = self.file["sequences"].asstr()[:] if "sequences" in self.file else None
        self.residue_heads = sorted(self.file["residue"]) if "residue" in self.file else []

    def classes(self, head: str) -> list[str]:
        return list(self.file[f"residue/{head}/probs"].attrs["classes"].astype(str))

    def residues(self, head: str) -> Iterator[tuple[int, str, str, np.ndarray]]:
        ds = self.file[f"residue/{head}/probs"]
        for i, rec_id in enumerate(self.ids):
            seq = (
                self.sequences[i]
                if self.sequences is not None
                else "X" * int(self.offsets[i + 1] - self.offsets[i])
            )
            yield i, rec_id, seq, ds[self.offsets[i] : self.offsets[i + 1]]

    def close(self) -> None:
        self.file.close()


def _ss3_head(pred: Predictions) -> str:
    for head in pred.residue_heads:
        if sorted(pred.classes(head)) == ["C", "E", "H"]:
            return head
    raise InputError("PSIPRED formats need a residue head with classes H, E, C", source=str(pred.path))


def safe_name(rec_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", rec_id)[:200] or "unnamed"


def ss2_text(seq: str, probs: np.ndarray, classes: list[str]) -> str:
    c, h, e = (classes.index(k) for k in "CHE")
    lines = ["# PSIPRED VFORMAT (PSIPRED V4.0)", ""]
    for j, (aa, p) in enumerate(zip(seq, probs, strict=True)):
        pred = classes[int(p.argmax())]
        lines.append(f"{j + 1:4d} {aa} {pred}   {p[c]:.3f}  {p[h]:.3f}  {p[e]:.3f}")
    return "\n".join(lines) + "\n"


def horiz_text(seq: str, probs: np.ndarray, classes: list[str]) -> str:
    top2 = np.sort(probs, axis=1)[:, -2:]
    # PSIPRED's confidence: 10 x (best - second best), 0..9.
    conf = "".join(str(min(9, int(10 * (b - a)))) for a, b in top2)
    pred = "".join(classes[int(k)] for k in probs.argmax(1))
    out = ["# PSIPRED HFORMAT (PSIPRED V4.0)", ""]
    for start in range(0, len(seq), 60):
        block = seq[start : start + 60]
        ruler = "".join(f"{start + k:>10d}" for k in range(10, len(block) + 1, 10))
        out += [
            f"Conf: {conf[start : start + 60]}",
            "",
            f"Pred: {pred[start : start + 60]}",
            f"  AA: {block}",
            f"      {ruler}",
            "",
            "",
        ]
    return "\n".join(out)


def export_path(predictions: str | Path, fmt: str) -> Path:
    """Default export location next to a predictions file: ``out.h5`` -> ``out.ss2/``, ``out.tsv``."""
    return Path(predictions).with_suffix(f".{fmt}")


def export(predictions: str | Path, fmt: str, output: str | Path) -> int:
    """Write ``fmt`` files for every sequence; returns how many sequences were exported."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose {', '.join(EXPORT_FORMATS)}")
    pred = Predictions(predictions)
    output = Path(output)
    try:
        if fmt == "tsv":
            return _export_tsv(pred, output)
        head = _ss3_head(pred)
        classes = pred.classes(head)
        output.mkdir(parents=True, exist_ok=True)
        render = ss2_text if fmt == "ss2" else horiz_text
        n = 0
        for _i, rec_id, seq, probs in pred.residues(head):
            _atomic_write(output / f"{safe_name(rec_id)}.{fmt}", render(seq, probs, classes))
            n += 1
        return n
    finally:
        pred.close()


def _export_tsv(pred: Predictions, output: Path) -> int:
    if not pred.residue_heads:
        raise InputError("no per-residue heads to export", source=str(pred.path))
    heads = pred.residue_heads
    classes = {h: pred.classes(h) for h in heads}
    header = ["id", "position", "residue"]
    for h in heads:
        header += [h] + [f"{h}_P{c}" for c in classes[h]]
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        with tmp.open("w") as fh:
            fh.write("\t".join(header) + "\n")
            iters = [pred.residues(h) for h in heads]
            for rows in zip(*iters, strict=True):
                _i, rec_id, seq, _ = rows[0]
                for j, aa in enumerate(seq):
                    cells = [rec_id, str(j + 1), aa]
                    for h, (_, _, _, probs) in zip(heads, rows, strict=True):
                        p = probs[j]
                        cells.append(classes[h][int(p.argmax())])
                        cells += [f"{x:.4f}" for x in p]
                    fh.write("\t".join(cells) + "\n")
        os.replace(tmp, output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{output}: {exc.strerror}") from None
    return len(pred.ids)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
