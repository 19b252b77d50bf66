"""Position frequency matrices: JASPAR loading, PWM scanning, motif comparison and MEME output.

A motif here is a :class:`PFM`: a name and an (L, 4) float array of base probabilities in A, C, G, T
order (rows sum to 1), plus the number of sites it was built from. JASPAR files are parsed by Biopython
(``Bio.motifs``); MEME files are written in MEME's "minimal" text format (version 4), which MEME suite
tools (Tomtom, FIMO) and ``Bio.motifs.parse(handle, "minimal")`` read.

* ``pwm_scan_scores`` -> (N,) best log-odds hit per sequence over both strands (the no-training baseline).
* ``compare`` scores two PFMs by column Pearson correlation over their best ungapped alignment (either
  strand), summed and divided by the longer motif's length: 1.0 only when both match over their whole
  length, so a short core (CACGTG) found inside a longer motif does not tie with a full-length match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from Bio import motifs as bio_motifs
from Bio.motifs import jaspar

from seqrnn.errors import InputError
from seqrnn.io.files import atomic_write_text
from seqrnn.io.records import Record
from seqrnn.models.metrics import classification_metrics

BASES = "ACGT"


@dataclass
class PFM:
    """A position frequency matrix: a name and (L, 4) base probabilities in A C G T order."""

    name: str
    probs: np.ndarray  # (L, 4) A C G T, rows sum to 1
    sites: int = 0  # number of sites the matrix was built from (0: unknown)
    matrix_id: str = ""  # JASPAR matrix id (e.g. MA0093.4); empty for learned motifs

    @property
    def length(self) -> int:
        """The motif width L (number of columns)."""
        return int(self.probs.shape[0])

    def consensus(self) -> str:
        """The most probable base of every column (ties: the first of A, C, G, T)."""
        return "".join(BASES[i] for i in self.probs.argmax(1))

    def information(self) -> np.ndarray:
        """(L,) information content per column in bits (uniform background)."""
        p = np.clip(self.probs, 1e-9, 1.0)
        return 2.0 + (p * np.log2(p)).sum(1)

    def trimmed(self, min_bits: float = 0.3) -> PFM:
        """Without the low-information columns at either end (at least one column is kept)."""
        keep = np.flatnonzero(self.information() >= min_bits)
        if keep.size == 0:
            return self
        return PFM(self.name, self.probs[keep[0] : keep[-1] + 1], self.sites, self.matrix_id)

    def reverse_complement(self) -> PFM:
        """The motif of the other strand: columns reversed, A<->T and C<->G swapped."""
        return PFM(self.name, self.probs[::-1, ::-1].copy(), self.sites, self.matrix_id)


def load_jaspar(path: str | Path) -> list[bio_motifs.Motif]:
    """All motifs of a JASPAR-format file, as Biopython motifs (with counts).

    Raises :class:`InputError` when the file cannot be read, is not JASPAR or holds no motif.
    """
    try:
        with open(path) as fh:
            found = list(bio_motifs.parse(fh, "jaspar"))
    except OSError as exc:
        raise InputError(f"cannot read motif file ({exc.strerror})", source=str(path)) from None
    except (ValueError, IndexError) as exc:
        raise InputError(f"not a JASPAR motif file ({exc})", source=str(path)) from None
    if not found:
        raise InputError("no motifs in file", source=str(path))
    return found


def find_motif(found: Sequence[bio_motifs.Motif], query: str, source: str = "") -> bio_motifs.Motif:
    """A motif by matrix id (MA0093.4, or MA0093 for any version) or by TF name (exact spelling first,
    then case-insensitive)."""
    q = query.strip().upper()
    for m in found:
        if m.matrix_id.upper() == q or m.matrix_id.upper().split(".")[0] == q:
            return m
    # The exact spelling first: JASPAR has both TCF12 (human) and Tcf12 (mouse).
    named = [m for m in found if m.name == query.strip()] or [m for m in found if m.name.upper() == q]
    if not named:
        raise InputError(f"no motif with id or name {query!r}", source=source)
    return named[0]


def to_pfm(motif: bio_motifs.Motif) -> PFM:
    """A Biopython motif's counts as a :class:`PFM`; ``sites`` is the mean column count, rounded."""
    counts = np.array([[motif.counts[b][i] for b in BASES] for i in range(motif.length)], dtype=np.float64)
    probs = counts / counts.sum(1, keepdims=True)
    return PFM(motif.name, probs, round(float(counts.sum(1).mean())), motif.matrix_id)


def pwm_scan_scores(motif: bio_motifs.Motif, sequences: Iterable[str]) -> np.ndarray:
    """(N,) best log-odds score (bits, uniform background, JASPAR pseudocounts) over both strands.

    Letters other than ACGT score as the worst base at that position, so an N never creates a hit;
    a sequence shorter than the motif gets -inf.
    """
    motif = bio_motifs.Motif(alphabet="ACGT", counts=motif.counts)  # a copy: pseudocounts stay local
    motif.pseudocounts = jaspar.calculate_pseudocounts(motif)
    pssm = np.array([[motif.pssm[b][i] for b in BASES] for i in range(motif.length)])
    both = [pssm, pssm[::-1, ::-1]]
    lookup = np.full(256, 4, dtype=np.int64)
    for i, b in enumerate(BASES):
        lookup[ord(b)] = lookup[ord(b.lower())] = i
    out = []
    width = pssm.shape[0]
    for seq in sequences:
        idx = lookup[np.frombuffer(seq.strip().encode("ascii", "replace"), dtype=np.uint8)]
        if idx.size < width:
            out.append(-math.inf)
            continue
        windows = np.lib.stride_tricks.sliding_window_view(idx, width)
        best = -math.inf
        for mat in both:
            padded = np.concatenate([mat, mat.min(1, keepdims=True)], axis=1)  # column 4: non-ACGT
            scores = padded[np.arange(width), windows].sum(1)
            best = max(best, float(scores.max()))
        out.append(best)
    return np.asarray(out, dtype=np.float64)


def compare(a: PFM, b: PFM, min_overlap: int = 4) -> tuple[float, int, str]:
    """Best (score, offset of b relative to a, strand of b) over ungapped alignments of both strands."""
    best = (-math.inf, 0, "+")
    longer = max(a.length, b.length)
    need = min(min_overlap, a.length, b.length)
    for strand, other in (("+", b.probs), ("-", b.probs[::-1, ::-1])):
        for offset in range(-(other.shape[0] - need), a.length - need + 1):
            lo, hi = max(0, offset), min(a.length, offset + other.shape[0])
            if hi - lo < need:
                continue
            x = a.probs[lo:hi]
            y = other[lo - offset : hi - offset]
            score = float(_column_pcc(x, y).sum()) / longer
            if score > best[0]:
                best = (score, offset, strand)
    return best


def _column_pcc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(1, keepdims=True)
    yc = y - y.mean(1, keepdims=True)
    den = np.sqrt((xc**2).sum(1) * (yc**2).sum(1))
    return np.where(den > 0, (xc * yc).sum(1) / np.where(den > 0, den, 1.0), 0.0)


@dataclass
class Match:
    """A database motif's similarity to a query PFM (:func:`compare`, :func:`best_matches`)."""

    matrix_id: str
    name: str
    score: float  # summed column Pearson correlation / longer motif's length (1.0: full-length match)
    offset: int  # query column where the database motif (on ``strand``) starts; both trimmed first
    strand: str  # "+" or "-": the database motif's strand in the best alignment


def best_matches(query: PFM, database: Sequence[PFM], top: int = 5) -> list[Match]:
    """The ``top`` database motifs most similar to ``query`` (low-information ends trimmed first)."""
    q = query.trimmed()
    scored = []
    for m in database:
        score, offset, strand = compare(q, m.trimmed())
        scored.append(Match(m.matrix_id, m.name, score, offset, strand))
    scored.sort(key=lambda m: -m.score)
    return scored[:top]


def write_meme(pfms: Sequence[PFM], path: str | Path) -> None:
    """MEME minimal motif format, version 4 (uniform background)."""
    lines = [
        "MEME version 4",
        "",
        f"ALPHABET= {BASES}",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        "A 0.25 C 0.25 G 0.25 T 0.25",
        "",
    ]
    for pfm in pfms:
        lines.append(f"MOTIF {pfm.name.replace(' ', '_')}")
        lines.append(
            f"letter-probability matrix: alength= 4 w= {pfm.length} nsites= {max(pfm.sites, 1)} E= 0"
        )
        lines.extend(" ".join(f"{v:.6f}" for v in row) for row in pfm.probs)
        lines.append("")
    atomic_write_text(path, "\n".join(lines))


def evaluate_pwm(
    motif: bio_motifs.Motif, sequences: Sequence[str], labels: Sequence[str], positive: str = "1"
) -> dict:
    """The PWM scan scored like a two-class model head (``seqrnn evaluate`` metrics).

    The scan's "probability" is sigmoid(best log-odds score): a monotone map, so AUROC and AUPRC are
    those of the raw scores, and the 0.5 cut-off is a log-odds score of 0.
    """
    scores = pwm_scan_scores(motif, sequences)
    p = 1.0 / (1.0 + np.exp(-np.clip(scores, -500, 500)))
    y = np.array([lab.strip() == positive for lab in labels], dtype=np.int64)
    return classification_metrics(y, np.stack([1 - p, p], axis=1), ["0", positive])


def labelled_texts(records: Iterable[Record], label_column: str) -> tuple[list[str], list[str]]:
    """The sequences of labelled records and their labels from ``label_column`` (a record without it
    is an :class:`InputError` naming file and record)."""
    texts, labels = [], []
    for rec in records:
        if label_column not in rec.fields:
            raise InputError(f"no label column {label_column!r}", source=rec.source, record=rec.id)
        texts.append(rec.text)
        labels.append(rec.fields[label_column])
    return texts, labels


def write_motif_table(rows: Sequence[dict[str, Any]], json_path: str | Path, tsv_path: str | Path) -> None:
    """Learned motifs with their best database matches, as JSON (every match) and as a TSV (the best).

    ``rows``: per motif ``motif``, ``source``, ``influence`` (or None), ``sites``, ``consensus`` and
    ``matches`` (dicts with ``matrix_id``, ``name``, ``score``; best first).
    """
    atomic_write_text(json_path, json.dumps(list(rows), indent=1) + "\n")
    lines = ["motif\tsource\tinfluence\tsites\tconsensus\tbest_match\tbest_match_name\tsimilarity"]
    for row in rows:
        best = row["matches"][0] if row["matches"] else {"matrix_id": "", "name": "", "score": float("nan")}
        influence = "" if row["influence"] is None else f"{row['influence']:.4f}"
        lines.append(
            f"{row['motif']}\t{row['source']}\t{influence}\t{row['sites']}\t{row['consensus']}\t"
            f"{best['matrix_id']}\t{best['name']}\t{best['score']:.3f}"
        )
    atomic_write_text(tsv_path, "\n".join(lines) + "\n")
