"""In-silico saturation mutagenesis: every possible SNV in the intervals of a BED file, as the
:class:`~seqrnn.io.vcf.Variant` stream a VCF gives, so ``seqrnn variants --saturation`` scores them
through the same windows, checks and file as VCF variants.

Per interval line (0-based, end exclusive, as BED), per position in order: the genome base as REF and
the three other bases as ALTs 1-3 in ``ACGT`` order; ``record`` numbers the positions (one VCF record
each), ``index`` the ALT alleles; positions whose base is not ``A``/``C``/``G``/``T`` (``N``, IUPAC
codes) give no variants. Chromosome names resolve as in VCFs (``chr`` and mitochondrial aliases); an
interval outside its chromosome or on a contig the genome lacks is an :class:`InputError` naming the
BED line. Intervals are read one line at a time, so a whole chromosome streams in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from seqrnn.io.formats import bed_lines, open_text
from seqrnn.io.genome import Genome
from seqrnn.io.vcf_reader import Variant

BASES = "ACGT"
#: The three ALT alleles of each reference base, in ``ACGT`` order.
ALTS = {b: [a for a in BASES if a != b] for b in BASES}
#: Bases read per genome fetch inside a long interval (memory stays flat for a whole chromosome).
FETCH = 1 << 16


def saturation_variants(bed: str | Path, genome: Genome) -> Iterator[Variant]:
    """Every SNV of every interval of ``bed`` against ``genome``: three :class:`Variant` per position
    with an ``ACGT`` base, positions in file and coordinate order."""
    source = str(bed)
    index = record = 0
    with open_text(bed) as handle:
        for where, cols, start, end in bed_lines(handle, source):
            contig = genome.interval(cols[0], start, end, source, where)
            for lo in range(start, end, FETCH):
                text, _ = genome.fetch(contig, lo, min(lo + FETCH, end))
                for offset, ref in enumerate(text):
                    alts = ALTS.get(ref)
                    if alts is None:
                        continue
                    pos = lo + offset + 1  # 1-based, as VCF POS
                    name = f"{cols[0]}:{pos}"
                    for allele, alt in enumerate(alts, start=1):
                        yield Variant(index, record, allele, cols[0], pos, name, ref, alt)
                        index += 1
                    record += 1
