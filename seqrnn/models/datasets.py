"""The public data files the built-in models were trained on: dataset name, source, licence and sha256.

A model card names its training data from this table (:mod:`seqrnn.models.cards`), never by the path the
file had on the machine that trained it. ``sha256`` is that of the file as the built-in models read it,
which is what a bundle records as its data fingerprint (``sha256:<hex>``) when it was trained on one
file; so a bundle trained on one of these files is recognised by its fingerprint, wherever the file lay.
``note`` says where that file differs from the published one (compressed or decompressed).

The shipped configs read these files below ``$SEQRNN_DATA`` (:data:`seqrnn.resources.DATA_ENV`) in the
folders given by ``folder``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFile:
    """One published data file."""

    file: str  # the file name
    sha256: str  # of the file as the built-in models read it
    dataset: str  # the dataset's name, as cards print it
    url: str  # where it is published
    licence: str
    folder: str  # where the shipped configs and benchmarks expect it below $SEQRNN_DATA
    note: str = ""


_MOLECULENET = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/"
_MOLECULENET_TERMS = "MoleculeNet / DeepChem distribution (MIT); original assay data as cited by MoleculeNet"
_DEEPBIND = "https://github.com/MedChaabane/deepRAM/tree/master/datasets/ChIP-seq"
_ENCODE_TERMS = "ENCODE data: free to use with citation (encodeproject.org)"
_CNNPROM = "https://github.com/solovictor/CNNPromoterData"
_CNNPROM_NAME = "CNNProm promoter data (Umarov & Solovyev, PLOS One 2017)"


def _moleculenet(file: str, sha256: str, name: str, published: str = "", note: str = "") -> DataFile:
    url = _MOLECULENET + (published or file)
    return DataFile(file, sha256, f"MoleculeNet {name}", url, _MOLECULENET_TERMS, "smiles/moleculenet", note)


def _deepbind(file: str, sha256: str) -> DataFile:
    experiment = file.removesuffix("_AC.seq.gz")
    name = f"DeepBind ENCODE ChIP-seq {experiment}, training fold _AC"
    return DataFile(file, sha256, name, _DEEPBIND, _ENCODE_TERMS, "dna/deepbind_chipseq")


def _cnnprom(file: str, sha256: str) -> DataFile:
    return DataFile(
        file, sha256, _CNNPROM_NAME, _CNNPROM, "CC BY 4.0 (PLOS One supplementary data)", "dna/cnnprom"
    )


DATA_FILES: tuple[DataFile, ...] = (
    _moleculenet("BBBP.csv", "21c46d1637ba49d371ec233454a3833bc7123a98f76204841e1674b5767a23a8", "BBBP"),
    _moleculenet(
        "delaney-processed.csv",
        "8c06a76f0c6487d29ab0f903e6a7a7139f189ab3c1178f159c8be8964602f189",
        "ESOL (Delaney)",
    ),
    _moleculenet(
        "Lipophilicity.csv",
        "aed41590cb30609d51d8e08ad3ff06495a76e80e211358801f596b10da69bacd",
        "Lipophilicity",
    ),
    _moleculenet(
        "tox21.csv",
        "7d7e7facd853a63e79ddce4e9c3fcb7a0d83a1c300b603031c0f2c64fbe77761",
        "Tox21",
        published="tox21.csv.gz",
        note="decompressed from the published tox21.csv.gz",
    ),
    _moleculenet(
        "clintox.csv.gz", "2ee7050a830fe9ae7a8218e6577fa6f54284947034ff904b6d8204e993a297cc", "ClinTox"
    ),
    _moleculenet("sider.csv.gz", "4cc7ccb20dded475853c583596e227116c222c6ca7dbb40159bdbe9ee3f099b9", "SIDER"),
    DataFile(
        "Train_HHblits.csv.gz",
        "25be583000ac1047bf2e7000935bad7f052a40117dab488697c4bc9d4d56afb4",
        "NetSurfP-2.0 training set (Klausen et al., Proteins 2019; ProtTrans CSV release)",
        "https://www.dropbox.com/s/98hovta9qjmmiby/Train_HHblits.csv?dl=1",
        "none stated by the source; DSSP labels from the PDB",
        "protein_ss/netsurfp2",
        "gzip of the published Train_HHblits.csv, whose sha256 is "
        "210db0c604de104237fde010cb8a035ee3c0b04c8e73efeaf2508f8f9a921763",
    ),
    _deepbind(
        "SERBP1_H1-hESC_HudsonAlpha_AC.seq.gz",
        "804e3436d39b227a82fb89f161db17a93a5b262c1f42216ec5f0182a6b91c5fe",
    ),
    _deepbind(
        "SRF_H1-hESC_SRF_HudsonAlpha_AC.seq.gz",
        "33e46d27403bfd97ea2c045066481277f65d5652b957207ad4ed7afacfac786c",
    ),
    _deepbind(
        "SUZ12_H1-hESC_SUZ12_USC_AC.seq.gz",
        "5345b3b507b08b375cfda77dd9ea32a5ac027ee3b45cd3722ff29521135a641f",
    ),
    _deepbind(
        "TAF1_H1-hESC_TAF1_HudsonAlpha_AC.seq.gz",
        "fb40049957e4033c7c18d4df0824770ce8655ab9e0ee5bdec21aef3c2c306d79",
    ),
    _deepbind(
        "TAF7_H1-hESC_TAF7_(SC-101167)_HudsonAlpha_AC.seq.gz",
        "e10d25ed9206b3de672633f26d8c54573233e3a9aecededd5d9ae232b4b585f5",
    ),
    _deepbind(
        "TBP_H1-hESC_TBP_Stanford_AC.seq.gz",
        "f752124eb275dbf72b314f3f7014fc672d489eeac7305698c66c9e3ee3d6e4c0",
    ),
    _deepbind(
        "TCF12_H1-hESC_TCF12_HudsonAlpha_AC.seq.gz",
        "60741d3d66e7c6e738e249c2e3bf862b0e5e464b0342f81202e5ac8f2a4a24eb",
    ),
    _deepbind(
        "TEAD4_H1-hESC_TEAD4_(SC-101184)_HudsonAlpha_AC.seq.gz",
        "6f41f518a75470f44fd35050a3756982e2e05912f5dfc4197c0e84fc21b1b9b5",
    ),
    _deepbind(
        "USF1_H1-hESC_USF-1_HudsonAlpha_AC.seq.gz",
        "a7c7b1176abf274ce7b962acd1e8c549e40979b236d3a67a2100a4d6a7c069a4",
    ),
    _deepbind(
        "USF2_H1-hESC_USF2_Stanford_AC.seq.gz",
        "8b5ad2cbca4bd11dd7a8e92660330611f21308fb80701810d079da47842afba6",
    ),
    _deepbind(
        "YY1_H1-hESC_YY1_(SC-281)_HudsonAlpha_AC.seq.gz",
        "03c8e2963a2e260790226c6662abf7c6760ae8ce16f7d217581b27b3efd6e144",
    ),
    _deepbind(
        "ZNF143_H1-hESC_Znf143_(16618-1-AP)_Stanford_AC.seq.gz",
        "171ea7c49393d39ef19e8a79645af22615a166183a7b5d89b9b6dc409c861a71",
    ),
    _cnnprom("Ecoli_prom.fa", "1712f385e357491d309bd14f8fd4e8de3d018bd418402cab3c6014232197ce5e"),
    _cnnprom("Ecoli_non_prom.fa", "cf5f078da7e56c5f38c8abd8ffaeaa227863bff4f5c249f2cfda61cb5331c774"),
    _cnnprom("Bacillus_prom.fa", "ed567448ac42e2b7958f58c971e2b8e95d7e28e266a1d8d778fec03de0d8bb68"),
    _cnnprom("Bacillus_non_prom.fa", "ffb3bc854a6b410ce692a0dea47838dadb6c0f6bdeaf41bcbffe24108b4f7fad"),
    _cnnprom("Mouse_tata_dbtss.fa", "f1c68a9c3af678409a6184d825f1b09bd320912259ffcc63ef7acf63717c1f9b"),
    _cnnprom("Mouse_nonprom.fa", "44fc703c470dd77c4c44ceb0b8b40f198742cd9781055fda9d1328f89b688026"),
    _cnnprom("Arabidopsis_tata.fa", "2beaa31c2797e7f8d193b6015b7239a89509341f59dde57d904d8664e492901b"),
    _cnnprom("Arabidopsis_non_tata.fa", "93f7c91d25bd18d7640c09f7fcd6052abf9f6f4425eda56dbebe6cc6ecfa2d1b"),
    _cnnprom("Arabidopsis_non_prom.fa", "1ab75553cdbf99d54e56928a56b3f35eb14a5f3bbb31bba7c1102b406a615c90"),
    _cnnprom(
        "Arabidopsis_non_prom_big.fa", "12f6901527b506907373a6c4bcbaf289622159657e9f0a307b29f822ea2dc250"
    ),
)


def find_file(name: str) -> DataFile | None:
    """The table's entry for a file name (``BBBP.csv``), or None."""
    return next((f for f in DATA_FILES if f.file == name), None)


def find_sha256(sha256: str) -> DataFile | None:
    """The table's entry for a sha256 (hex, or a data fingerprint ``sha256:<hex>``), or None."""
    digest = sha256.removeprefix("sha256:")
    return next((f for f in DATA_FILES if f.sha256 == digest), None)
