"""What the variants unit tests share: a 40-bp contig, a VCF header and a one-ALT variant."""

from __future__ import annotations

from seqrnn.io.vcf import Variant

CHR1 = "ACGTACGTAC" + "GGGGGTTTTT" + "CCCCCAAAAA" + "TGCATGCATG"  # 40 bp
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def variant(pos: int, ref: str, alt: str, chrom: str = "chr1") -> Variant:
    """A variant at 1-based ``pos`` (record 0, allele 1)."""
    return Variant(0, 0, 1, chrom, pos, ".", ref, alt)
