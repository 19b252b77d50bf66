"""Exports from a predictions HDF5 file to formats other tools already parse.

- ``ss2``: PSIPRED VFORMAT, one file per sequence: ``index aa pred P(C) P(H) P(E)``;
- ``horiz``: PSIPRED HFORMAT, one file per sequence: confidence digits, prediction and sequence in
  blocks of 60 residues;
- ``tsv``: one table for all sequences, one row per residue: id, position, residue, and for every
  residue head the predicted class (a two-class head's stored decision threshold, else argmax) and each
  class probability (an ensemble's file: then each
  probability's std over members, ``<head>_P<class>_std``); for a file with per-sequence heads only
  (TF, promoter and SMILES models), one row per predicted record: ``id`` and the csv export's
  prediction columns;
- ``csv``: one row per input record (molecules, sequences), the input's own columns first (CSV/TSV
  inputs are re-read from the paths stored in the file; ``.smi``/FASTA give ``id`` and the sequence),
  then per sequence-level head: regression values in the training data's units (``pred_<head>`` or
  ``pred_<head>_<target>``), the predicted class and class probabilities (``pred_<head>``,
  ``pred_<head>_P<class>``), multi-label probabilities (``pred_<head>_P<label>``); ``pred_status`` is
  ``ok`` or ``skipped`` with the reason in ``pred_note``, so skipped rows stay in place, not dropped.
  An ensemble's file adds the std over members of each value or probability, the column's name with
  ``_std`` appended (``pred_<head>_std``, ``pred_<head>_P<class>_std``), after the head's columns.
PSIPRED formats need a 3-state head with classes H, E, C (``ss3`` of the built-in model).

The ``tsv`` and ``csv`` columns are :mod:`seqrnn.io.columns`', the ones
:meth:`seqrnn.io.predictions.Predictions.to_dataframe` gives (``level="residue"`` for the ``tsv`` layout).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from seqrnn.errors import InputError, OutputError, UsageError
from seqrnn.io.files import AtomicOutput, atomic_write_text, disk_error, make_output_dir, output_errors
from seqrnn.io.outputs import OutputPlan
from seqrnn.io.predictions import Predictions

EXPORT_FORMATS = ("ss2", "horiz", "tsv", "csv")


def _ss3_head(pred: Predictions) -> str:
    for head in pred.residue_heads:
        if sorted(pred.classes(head)) == ["C", "E", "H"]:
            return head
    raise InputError("PSIPRED formats need a residue head with classes H, E, C", source=str(pred.path))


def safe_name(rec_id: str) -> str:
    """A file name from a record id: characters other than letters, digits and ``._-`` become ``_``; at most
    200 characters; ``unnamed`` for an empty id.
    """
    return re.sub(r"[^A-Za-z0-9._-]", "_", rec_id)[:200] or "unnamed"


def ss2_text(seq: str, probs: np.ndarray, classes: list[str]) -> str:
    """PSIPRED VFORMAT (``.ss2``) text of one sequence.

    Args:
        seq: the residues (L letters).
        probs: (L, C) class probabilities, columns in ``classes`` order.
        classes: the head's classes; must include C, H and E (``ValueError`` otherwise).
    """
    c, h, e = (classes.index(k) for k in "CHE")
    lines = ["# PSIPRED VFORMAT (PSIPRED V4.0)", ""]
    for j, (aa, p) in enumerate(zip(seq, probs, strict=True)):
        pred = classes[int(p.argmax())]
        lines.append(f"{j + 1:4d} {aa} {pred}   {p[c]:.3f}  {p[h]:.3f}  {p[e]:.3f}")
    return "\n".join(lines) + "\n"


def horiz_text(seq: str, probs: np.ndarray, classes: list[str]) -> str:
    """PSIPRED HFORMAT (``.horiz``) text of one sequence, in blocks of 60 residues.

    Confidence is PSIPRED's ``10 x (best - second best)`` probability, capped at 9; ``probs`` is (L, C)
    with columns in ``classes`` order.
    """
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


def export_problem(
    fmt: str, residue: dict[str, list[str]], sequence: list[str], inputs: list[str]
) -> str | None:
    """Why predictions with these heads cannot be exported as ``fmt``, or None when they can.

    ``residue``: {head: classes} of the per-residue heads; ``sequence``: the per-sequence heads;
    ``inputs``: the input paths (``-`` is standard input). Checked before predicting, so a run never
    ends in an export that was bound to fail.
    """
    if fmt not in EXPORT_FORMATS:
        return f"unknown export format {fmt!r}; choose {', '.join(EXPORT_FORMATS)}"
    if fmt == "csv":
        if not sequence:
            return "csv writes one row per input record and the model has no per-sequence heads; use tsv"
        if not inputs or "-" in inputs:
            return "csv re-reads the input files, and standard input cannot be read again"
    if fmt in ("ss2", "horiz") and not any(sorted(c) == ["C", "E", "H"] for c in residue.values()):
        return "PSIPRED formats need a per-residue head with classes H, E, C (as protein-ss has)"
    return None


def export_path(predictions: str | Path, fmt: str) -> Path:
    """Default export location next to a predictions file: ``out.h5`` -> ``out.ss2/``, ``out.tsv``."""
    return Path(predictions).with_suffix(f".{fmt}")


def export(predictions: str | Path, fmt: str, output: str | Path) -> int:
    """Write ``fmt`` files for every sequence; returns how many sequences were exported.

    A file-system failure (full disk, read-only directory) is an :class:`OutputError` naming ``output``.
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose {', '.join(EXPORT_FORMATS)}")
    pred = Predictions(predictions)
    output = Path(output)
    try:
        with output_errors(output):
            return _export(pred, fmt, output)
    finally:
        pred.close()


def _export(pred: Predictions, fmt: str, output: Path) -> int:
    if fmt == "tsv":
        return _export_tsv(pred, output)
    if fmt == "csv":
        return _export_csv(pred, output)
    head = _ss3_head(pred)
    classes = pred.classes(head)
    make_output_dir(output)
    render = ss2_text if fmt == "ss2" else horiz_text
    n = 0
    for _i, rec_id, seq, probs in pred.residues(head):
        atomic_write_text(output / f"{safe_name(rec_id)}.{fmt}", render(seq, probs, classes), sweep=False)
        n += 1
    return n


def _export_tsv(pred: Predictions, output: Path) -> int:
    if not pred.residue_heads:
        return _export_sequence_tsv(pred, output)
    heads = pred.residue_heads
    columns = [pred.columns(h) for h in heads]  # a two-class head's stored cut-off calls it, else argmax
    std = pred.has_std
    header = ["id", "position", "residue"]
    for c in columns:
        header += c.names + (c.std_names if std else [])
    try:
        with AtomicOutput(output) as tmp, tmp.open("w") as fh:
            fh.write("\t".join(header) + "\n")
            iters = [pred.residues(h) for h in heads]
            # An ensemble's std rows run beside the mean rows; without std, None for every head.
            stds = zip(*(pred.residues(h, std=True) for h in heads), strict=True) if std else None
            for rows in zip(*iters, strict=True):
                spreads = next(stds) if stds is not None else (None,) * len(heads)
                _i, rec_id, seq, _ = rows[0]
                cells = []  # per head, the cells of every residue: class, probabilities, std
                for c, r, spread in zip(columns, rows, spreads, strict=True):
                    head_cells = c.rows(r[3])
                    if spread is not None:
                        for row, more in zip(head_cells, c.std_rows(spread[3]), strict=True):
                            row += more
                    cells.append(head_cells)
                for j, aa in enumerate(seq):
                    line = [rec_id, str(j + 1), aa]
                    for head_cells in cells:
                        line += head_cells[j]
                    fh.write("\t".join(line) + "\n")
    except OSError as exc:
        raise disk_error(exc, output) or OutputError(f"{output}: {exc.strerror}") from None
    return len(pred.ids)


def _export_sequence_tsv(pred: Predictions, output: Path) -> int:
    """Per-sequence heads only: one row per predicted record, ``id`` and the csv export's columns."""
    heads = _prediction_columns(pred)
    if not heads:
        raise InputError("no heads to export", source=str(pred.path))
    header = ["id", *(h for names, _, _ in heads for h in names)]
    try:
        with AtomicOutput(output) as tmp, tmp.open("w") as fh:
            fh.write("\t".join(header) + "\n")
            for i, rec_id in enumerate(pred.ids):
                cells = [rec_id, *(c for _, values, fmt in heads for c in fmt(values[i]))]
                fh.write("\t".join(cells) + "\n")
    except OSError as exc:
        raise disk_error(exc, output) or OutputError(f"{output}: {exc.strerror}") from None
    return len(pred.ids)


def _prediction_columns(
    pred: Predictions,
) -> list[tuple[list[str], np.ndarray, Callable[[np.ndarray], list[str]]]]:
    """(header, values, row formatter) per sequence-level head, ``values`` (N, C) in file order.

    The head kind stored with each dataset picks the columns (:func:`seqrnn.io.columns.sequence_columns`);
    files without a known kind get one probability column per label. An ensemble's ``std`` adds one more
    entry per head: the value columns' names with ``_std``, formatted as the values are.
    """
    heads = []
    for name in pred.sequence_heads:  # ``<model>/<head>`` for several models: columns pred_<model>/<head>
        columns = pred.columns(name)
        heads.append((columns.names, pred.values(name), columns.cells))
        std = pred.std_values(name)
        if std is not None:
            heads.append((columns.std_names, std, columns.std_cells))
    return heads


def _export_csv(pred: Predictions, output: Path) -> int:
    from seqrnn.io.formats import ReadOptions, chain_inputs, detect_format
    from seqrnn.io.inputs import parse_shard

    attrs = pred.file.attrs
    inputs = [str(p) for p in np.asarray(attrs.get("inputs", [])).astype(str)]
    if not inputs or "-" in inputs:
        raise InputError(
            "csv export re-reads the input files; standard input cannot be read again", source=str(pred.path)
        )
    heads = _prediction_columns(pred)
    if not heads:
        hint = " (its per-residue heads: -f tsv, one row per residue)" if pred.residue_heads else ""
        raise InputError(f"no per-sequence heads to export as csv{hint}", source=str(pred.path))
    shard = str(attrs.get("shard", "1/1"))
    options = ReadOptions(
        fmt=str(attrs.get("input_format", "")) or None,
        sequence_column=str(attrs.get("sequence_column", "")) or None,
        id_column=str(attrs.get("id_column", "")) or None,
        genome=str(attrs.get("genome", "")) or None,  # BED inputs are re-read from their genome
        shard=None if shard == "1/1" else parse_shard(shard),
    )
    row_of = {int(k): i for i, k in enumerate(pred.file["record_index"][:])}
    skipped = {}
    if "skipped" in pred.file:
        reasons = pred.file["skipped/reasons"].asstr()[:]
        skipped = dict(zip(pred.file["skipped/record_index"][:].tolist(), reasons, strict=True))
    added = [h for header, _, _ in heads for h in header] + ["pred_status", "pred_note"]
    n = 0
    try:
        with AtomicOutput(output) as tmp, tmp.open("w", newline="") as fh:
            writer: csv.DictWriter | None = None
            for rec in chain_inputs(inputs, options):
                fmt_in = detect_format(rec.source, options.fmt)
                if fmt_in in ("csv", "tsv"):
                    cells = dict(rec.fields)  # every column of the input row, in its order
                else:
                    cells = {
                        "id": rec.id,
                        "smiles" if fmt_in in ("smi", "sdf") else "sequence": rec.text,
                        **rec.fields,
                    }
                if writer is None:
                    clash = sorted(set(cells) & set(added))
                    if clash:
                        raise InputError(
                            f"input column {clash[0]!r} clashes with a csv export column", source=rec.source
                        )
                    writer = csv.DictWriter(
                        fh, fieldnames=[*cells, *added], restval="", extrasaction="ignore"
                    )
                    writer.writeheader()
                i = row_of.get(rec.index)
                if i is None:
                    cells.update(pred_status="skipped", pred_note=skipped.get(rec.index, "not predicted"))
                else:
                    for header, values, fmt in heads:
                        cells.update(zip(header, fmt(values[i]), strict=True))
                    cells.update(pred_status="ok", pred_note="")
                writer.writerow(cells)
                n += 1
    except OSError as exc:
        raise disk_error(exc, output) or OutputError(f"{output}: {exc.strerror}") from None
    return n


def plan_outputs(
    inputs: Sequence[str | Path],
    output: str | Path,
    exports: Sequence[str] = (),
    genome: str | Path | None = None,
    models: Sequence[str] = (),
) -> OutputPlan:
    """The output plan of a prediction (not yet checked): the HDF5 file and each export
    (:func:`seqrnn.inference.export.export_path`) against the inputs, their genome and the model files; an
    unknown export format is a :class:`UsageError`."""
    for kind in exports:
        if kind not in EXPORT_FORMATS:
            raise UsageError(f"--export {kind!r}: choose from {', '.join(EXPORT_FORMATS)}")
    plan = OutputPlan().read("input", *inputs).read_genome(genome).read_model(*models)
    plan.write("predictions file", output)
    for kind in exports:
        plan.write(f"{kind} export", export_path(output, kind), directory=kind in ("ss2", "horiz"))
    return plan
