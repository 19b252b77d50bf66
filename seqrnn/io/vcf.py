"""VCF records -> one :class:`Variant` per ALT allele, and a genome to cut scoring windows from.

The work is split in two modules, both importable from here:

- :mod:`~seqrnn.io.vcf_reader` reads (pysam, ``pip install 'seqrnn[variants]'``):
  :func:`read_variants` streams one :class:`Variant` per ALT allele of each record, numbered in input
  order (``index``, written as ``variants/record_index``), so memory does not grow with the number of
  variants. Plain, bgzipped and plain-gzip VCF and BCF are read (plain gzip is streamed through a pipe:
  htslib cannot seek in it); ``region`` needs a bgzipped file with a tabix/CSI index.
- :mod:`~seqrnn.io.vcf_windows` checks a variant against the genome (:func:`check_variant`, one of
  :data:`STATUSES`) and cuts its windows (:func:`allele_window`), each allele centred in a window of
  ``width`` letters, padded with ``N`` outside the contig (the formula is in that module).

Contig names: :class:`seqrnn.io.genome.Genome` resolves a VCF chromosome name to a genome contig (itself,
or a unique ``chr``-prefix or mitochondrial alias); a name with no contig gives the status
``skipped:unknown_contig`` (or stops the run under ``--on-invalid error``).
"""

from __future__ import annotations

from seqrnn.io.vcf_reader import Variant, open_vcf, read_variants, require_pysam, vcf_region
from seqrnn.io.vcf_windows import (
    INVALID,
    LONG,
    MAX_ALLELE,
    MISMATCH,
    NUCLEOTIDES,
    OK,
    OUT_OF_CONTIG,
    PADDED,
    REF_CHECKED,
    REF_EQUALS_ALT,
    STATUSES,
    SYMBOLIC,
    UNKNOWN_CONTIG,
    Checked,
    allele_window,
    check_variant,
    classify,
    variant_windows,
)

__all__ = [
    "INVALID",
    "LONG",
    "MAX_ALLELE",
    "MISMATCH",
    "NUCLEOTIDES",
    "OK",
    "OUT_OF_CONTIG",
    "PADDED",
    "REF_CHECKED",
    "REF_EQUALS_ALT",
    "STATUSES",
    "SYMBOLIC",
    "UNKNOWN_CONTIG",
    "Checked",
    "Variant",
    "allele_window",
    "check_variant",
    "classify",
    "open_vcf",
    "read_variants",
    "require_pysam",
    "variant_windows",
    "vcf_region",
]
