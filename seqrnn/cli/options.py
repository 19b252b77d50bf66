"""The options the subcommands share, declared once: their enums and typer options
(:mod:`seqrnn.cli.run_args` groups them per command)."""

from __future__ import annotations

from enum import Enum

import typer


class Device(str, Enum):
    """Where the model runs (``--device``)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class OnInvalid(str, Enum):
    """What to do with a record that cannot be encoded (``--on-invalid``)."""

    error = "error"
    skip = "skip"
    mask = "mask"


class Precision(str, Enum):
    """Numeric precision of inference (``--precision``)."""

    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


class Standardize(str, Enum):
    """How SMILES are standardised before encoding (``--standardize``; see seqrnn.encoding.chem)."""

    none = "none"
    canonical = "canonical"
    parent = "parent"
    largest_fragment = "largest_fragment"


class Alphabet(str, Enum):
    """Built-in encoders (``seqrnn encode --alphabet``)."""

    protein = "protein"
    dna = "dna"
    smiles = "smiles"


FORMAT_OPT = typer.Option(
    None, "--format", help="Input format: fasta, smi, sdf, csv, tsv or bed (default: from extension)."
)
SEQCOL_OPT = typer.Option(None, "--sequence-column", help="CSV/TSV column holding sequences or SMILES.")
IDCOL_OPT = typer.Option(None, "--id-column", help="CSV/TSV column (SDF: property) holding record ids.")
GENOME_OPT = typer.Option(None, "--genome", help="Genome FASTA that BED inputs refer to (pyfaidx index).")
DEVICE_OPT = typer.Option(Device.auto, "--device", help="auto picks CUDA when available.")
THREADS_OPT = typer.Option(None, "--threads", min=1, help="CPU threads for torch (default: torch's choice).")
TOKENS_OPT = typer.Option(
    32768,
    "--batch-tokens",
    min=1,
    help="Padded positions per batch (token budget; shared by concurrent CPU workers).",
)
BATCH_OPT = typer.Option(
    512, "--batch-size", min=1, help="Sequences per batch at most (shared by concurrent CPU workers)."
)
PRECISION_OPT = typer.Option(
    Precision.auto,
    "--precision",
    help="auto: bf16 autocast where the CPU (AVX512-BF16/AMX) or GPU computes it natively, else fp32.",
)
VIEWS_OPT = typer.Option(
    None,
    "--test-views",
    min=1,
    help="Average sequence-level outputs over N views (DNA: 2 = both strands); default: the model's.",
)
STANDARDIZE_OPT = typer.Option(
    None,
    "--standardize",
    help="SMILES models: none (as written), canonical (RDKit canonical SMILES) or parent (largest organic "
    "fragment, neutralised, then canonical); default: the model's own (the built-in models: canonical).",
)
MEMBERS_OPT = typer.Option(
    None,
    "--members",
    min=1,
    help="Ensembles: predict with the first N members only (faster; 1 writes no std); default: all.",
)
MODEL_OPT = typer.Option(
    ...,
    "--model",
    "-m",
    help="Built-in model (seqrnn models), group (tf, promoter, moleculenet) or pattern ('tf-*'), or a .pt "
    "path; repeat for several models side by side (one output group each).",
)
ENSEMBLE_OPT = typer.Option(
    False, "--ensemble", help="Average the models given as one ensemble (mean and std) instead."
)


CLASS_FILE_OPT = typer.Option(
    [], "--class-file", help="CLASS=FILE: FILE holds records of class CLASS (repeat: one file per class)."
)

WORKERS_OPT = typer.Option(
    0,
    "--workers",
    min=0,
    help="CPU batches predicted at once, each on threads/workers threads (0: one per thread, up to 8).",
)
WINDOW_OPT = typer.Option(
    None, "--window", min=1, help="Window length (default: the model's trained length, else 101)."
)
CHUNK_OPT = typer.Option(4096, "--chunk-size", min=1, help="Variants or windows read and scored at once.")
QUIET_OPT = typer.Option(False, "--quiet", "-q", help="Print nothing on success.")
