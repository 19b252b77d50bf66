"""Genome-scale scoring: variant effects (VCF alleles -> reference and alternative windows -> model
score changes) and genome tracks (windows along regions at a stride).

:mod:`~seqrnn.io.vcf` reads VCFs (pysam) and cuts windows from an indexed genome,
:mod:`~seqrnn.variants.scoring` runs the models chunk by chunk into the variants HDF5 file,
:mod:`~seqrnn.io.effects` holds that file's layout, :mod:`~seqrnn.variants.exports` its TSV / VCF exports (docs/variants.md),
:mod:`~seqrnn.variants.tracks` tiles regions into a track file (bedGraph / bigWig exports), and
:mod:`~seqrnn.variants.api` is the Python surface of both (``seqrnn.score_variants``, ``seqrnn.tile``).
"""

from seqrnn.variants.exports import export_tsv, export_vcf
from seqrnn.variants.scoring import VariantOptions, VariantSummary, score_vcf_to_h5, scoring_models

__all__ = [
    "VariantOptions",
    "VariantSummary",
    "export_tsv",
    "export_vcf",
    "score_vcf_to_h5",
    "scoring_models",
]
