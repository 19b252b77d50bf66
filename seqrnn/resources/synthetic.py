"""Small synthetic datasets with learnable rules, for tests, examples and the workflow demo.

Each generator is seeded and returns rows in the same column layout as the real benchmark files, so the
same readers and configs are exercised: a NetSurfP-style CSV (space-separated per-residue cells), a
DeepBind-style TSV (``FoldID EventID seq Bound``) and a MoleculeNet-style CSV (``smiles`` + targets).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

AMINO = "ACDEFGHIKLMNPQRSTVWY"
_HELIX = set("AELMQKRH")
_STRAND = set("VIYFWT")


def protein_ss_rows(n: int, seed: int = 0, min_len: int = 30, max_len: int = 120) -> list[dict[str, str]]:
    """Residue labels follow local composition: helix formers -> H/G, strand formers -> E/B, else coil."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        # Segments of one composition make the labels depend on a window, not a single residue.
        seq: list[str] = []
        while len(seq) < length:
            kind = rng.integers(3)
            pool = sorted(_HELIX) if kind == 0 else sorted(_STRAND) if kind == 1 else list("GPSNDTC")
            seq.extend(rng.choice(pool, size=int(rng.integers(4, 12))))
        seq = seq[:length]
        ss8 = []
        for j in range(length):
            window = seq[max(0, j - 3) : j + 4]
            h = sum(c in _HELIX for c in window)
            e = sum(c in _STRAND for c in window)
            ss8.append(
                "H"
                if h >= 4
                else "E"
                if e >= 4
                else "G"
                if h == 3
                else "B"
                if e == 3
                else "T"
                if j % 7 == 0
                else "C"
            )
        ss3 = ["H" if c in "HGI" else "E" if c in "EB" else "C" for c in ss8]
        disorder = ["0.0" if j < 2 else "1.0" for j in range(length)]  # unresolved termini, as in PDB chains
        rows.append(
            {
                "id": f"prot{i}",
                "seq": " ".join(seq),
                "dssp3": " ".join(ss3),
                "dssp8": " ".join(ss8),
                "disorder": " ".join(disorder),
            }
        )
    return rows


MOTIF = "TGACGTCA"


def dna_binding_rows(n: int, seed: int = 0, length: int = 60) -> list[dict[str, str]]:
    """Bound sequences carry the motif (either strand) at a random position; unbound ones do not."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        seq = list(rng.choice(list("ACGT"), size=length))
        bound = i % 2 == 0
        if bound:
            pos = int(rng.integers(0, length - len(MOTIF)))
            seq[pos : pos + len(MOTIF)] = list(MOTIF)
        text = "".join(seq)
        if not bound:
            text = text.replace(MOTIF, "TGACTTCA")
        rows.append({"FoldID": "A", "EventID": f"peak{i}", "seq": text, "Bound": str(int(bound))})
    return rows


def molecule_rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    """SMILES from a small grammar; ``logs`` depends on atom counts, ``halogen``/``ring``/``amine`` are labels."""
    rng = np.random.default_rng(seed)
    # Halogens hang off a carbon as branches, so every SMILES is chemically valid (RDKit accepts it).
    pieces = ["C", "CC", "O", "N", "c1ccccc1", "C(Cl)", "C(Br)", "C(=O)", "C(C)", "C(F)"]
    rows = []
    for i in range(n):
        parts = ["C", *rng.choice(pieces, size=int(rng.integers(2, 9)))]
        smi = "".join(parts)
        n_c = smi.count("C") + smi.count("c") - smi.count("Cl")
        n_o, n_n = smi.count("O"), smi.count("N")
        halogen = int(any(x in smi for x in ("Cl", "Br", "F")))
        logs = 0.5 - 0.35 * n_c + 0.6 * n_o + 0.4 * n_n - 0.5 * halogen + float(rng.normal(0, 0.05))
        amine = "" if rng.random() < 0.2 else str(int(n_n > 0))  # missing labels, as in Tox21
        rows.append(
            {
                "mol_id": f"mol{i}",
                "smiles": smi,
                "logs": f"{logs:.3f}",
                "halogen": str(halogen),
                "ring": str(int("c1" in smi)),
                "amine": amine,
            }
        )
    return rows


def write_table(rows: list[dict[str, str]], path: str | Path, delimiter: str = ",") -> Path:
    """Write ``rows`` as a delimited table with a header (the first row's keys); returns the path.

    ``rows`` must not be empty.
    """
    path = Path(path)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_examples(
    directory: str | Path, n: int = 200, seed: int = 0, n_dna: int | None = None
) -> dict[str, Path]:
    """Write the three synthetic training tables into ``directory``; returns {task: path}.

    The shipped copies in ``data/examples/synthetic`` were made with ``n=300, n_dna=1000, seed=0``.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    return {
        "protein": write_table(protein_ss_rows(n, seed), out / "protein_ss.csv"),
        "dna": write_table(dna_binding_rows(n_dna or n, seed), out / "dna_binding.tsv", "\t"),
        "smiles": write_table(molecule_rows(n, seed), out / "molecules.csv"),
    }
