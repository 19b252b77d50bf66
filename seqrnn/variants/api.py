"""The Python calls for genome-scale jobs, one each, on the command line's own code paths:
:func:`score_variants` (``seqrnn variants``) and :func:`tile` (``seqrnn tile``).

Each returns a reader of the file it wrote (:class:`VariantEffects`, :class:`Track`) with
``to_dataframe()``; without ``output`` the file is written to a temporary directory that the reader
removes when closed::

    import seqrnn

    with seqrnn.score_variants("calls.vcf.gz", "hg38.fa", "tf-USF1") as effects:
        effects.statuses                 # {'ok': 9812, 'ref_mismatch': 3, ...}
        table = effects.to_dataframe()   # the columns of `seqrnn variants --export tsv`, numbers as floats
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from seqrnn.errors import SeqrnnError
from seqrnn.io.effects import SCORES, file_models, open_variants, read_block
from seqrnn.variants.exports import TSV_COLUMNS, exported_classes

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from seqrnn.inference.engine import PredictOptions
    from seqrnn.variants.scoring import ScoringModel

PathLike = str | Path


def load_scoring_models(
    names: Sequence[str], device: torch.device, window: int | None = None
) -> list[ScoringModel]:
    """The DNA models of ``-m`` values (names, groups such as ``tf``, patterns, ``.pt`` paths; repeats
    allowed) as scored by ``variants`` and ``tile``, each with its label and window width."""
    from seqrnn.models.bundle import load_bundle
    from seqrnn.models.zoo import expand_names
    from seqrnn.variants.scoring import scoring_models

    return scoring_models(
        [(m, load_bundle(m, device)) for m in expand_names(names, allow_repeats=True)], window
    )


class _Reader:
    """An HDF5 results file, open for reading; removes ``cleanup`` (a temporary directory) on close."""

    def __init__(self, file: h5py.File, cleanup: Path | None = None) -> None:
        self.file = file
        self.path = Path(file.filename)
        self._cleanup = cleanup

    def close(self) -> None:
        """Close the file (and remove it when it was written to a temporary directory)."""
        self.file.close()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)
            self._cleanup = None

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VariantEffects(_Reader):
    """A variants file (``seqrnn variants``): ``models`` ({model: {head: (kind, classes)}}),
    ``statuses`` (count per status), ``len()`` (variants) and :meth:`to_dataframe`."""

    def __init__(self, path: PathLike, cleanup: Path | None = None) -> None:
        super().__init__(open_variants(path), cleanup)
        self.models = file_models(self.file)

    def __len__(self) -> int:
        return int(self.file["variants/record_index"].shape[0])

    @property
    def statuses(self) -> dict[str, int]:
        """How many variants got each status (``ok``, ``ref_mismatch``, ``skipped:...``)."""
        names, counts = np.unique(self.file["variants/status"].asstr()[:], return_counts=True)
        return {str(k): int(v) for k, v in zip(names, counts, strict=True)}

    def to_dataframe(self) -> pd.DataFrame:
        """One row per variant, model, head and class, with the columns of ``--export tsv``
        (``ref_score``, ``alt_score``, ``diff``, ``log_odds_diff`` as floats, NaN where not scored).
        The whole table is built in memory: for millions of variants use the TSV export."""
        pd = _pandas()
        n = len(self)
        block = read_block(self.file, 0, n)
        parts = []
        for model, heads in self.models.items():
            for head, (kind, classes) in heads.items():
                for c, name in exported_classes(kind, classes):
                    part: dict[str, Any] = {k: block[k] for k in ("chrom", "pos", "id", "ref", "alt")}
                    part.update(model=model, head=head, **{"class": name})
                    part.update(
                        {
                            f"{s}_score" if s in ("ref", "alt") else s: block[f"{model}/{head}/{s}"][:, c]
                            for s in SCORES
                        }
                    )
                    part.update(status=block["status"], genome_ref=block["genome_ref"])
                    part.update(padded_fraction=block["padded_fraction"])
                    parts.append(pd.DataFrame(part, columns=TSV_COLUMNS))
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TSV_COLUMNS)
        # Variants in input order, then model, head and class, as the TSV export writes them.
        order = np.argsort(np.tile(np.arange(n), len(parts)), kind="stable")
        return table.iloc[order].reset_index(drop=True)


class Track(_Reader):
    """A track file (``seqrnn tile``): ``len()`` (bins) and :meth:`to_dataframe`."""

    def __init__(self, path: PathLike, cleanup: Path | None = None) -> None:
        from seqrnn.variants.tracks import FORMAT

        file = h5py.File(path, "r")
        if file.attrs.get("format") != FORMAT:
            file.close()
            raise SeqrnnError(f"{path}: not a seqrnn track file")
        super().__init__(file, cleanup)

    def __len__(self) -> int:
        return int(self.file.attrs["n_bins"])

    def to_dataframe(self) -> pd.DataFrame:
        """One row per bin: ``chrom``, ``start``, ``end`` (0-based, end exclusive), ``center``, then one
        column per model, head and class, ``<model>/<head>/<class>``."""
        pd = _pandas()
        track = self.file["track"]
        columns: dict[str, Any] = {"chrom": track["chrom"].asstr()[:]}
        columns.update({k: track[k][:] for k in ("start", "end", "center")})
        for label in self.file.attrs["models"].astype(str):
            for head, group in track[label].items():
                scores = group["scores"]
                for c, name in enumerate(scores.attrs["classes"].astype(str)):
                    columns[f"{label}/{head}/{name}"] = scores[:, c]
        return pd.DataFrame(columns)


def score_variants(
    vcf: PathLike,
    genome: PathLike,
    model: str | Sequence[str],
    *,
    output: PathLike | None = None,
    window: int | None = None,
    region: str | None = None,
    on_invalid: str = "ref_mismatch",
    chunk_size: int = 4096,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = False,
    **options: Any,
) -> VariantEffects:
    """Score every ALT allele of ``vcf`` with DNA ``model`` (a name, group, pattern or ``.pt`` path,
    or a list of them, each scored on its own), as ``seqrnn variants`` does (docs/variants.md).

    ``output``: keep the variants file there (written atomically, never over an input); without it
    the file lives in a temporary directory until the returned reader is closed. The other options
    are the command's; ``options`` are the model-running ones of :func:`seqrnn.predict`
    (``batch_tokens``, ``batch_size``, ``workers``, ``precision``). Raises :class:`~seqrnn.errors.SeqrnnError` subclasses as the command exits on.
    """
    from seqrnn.variants.exports import plan_outputs
    from seqrnn.variants.scoring import VariantOptions, score_vcf_to_h5

    if on_invalid not in ("ref_mismatch", "error"):
        raise SeqrnnError(f"on_invalid={on_invalid!r}: choose ref_mismatch or error")
    names = [model] if isinstance(model, str) else list(model)
    with _target(output, "variants.h5") as (path, cleanup):
        plan_outputs(Path(vcf), Path(genome), names, path, ())[0].check()
        dev, predict_options = _setup(device, threads, options)
        models = load_scoring_models(names, dev, window)
        opts = VariantOptions(
            window=window,
            chunk_size=chunk_size,
            on_invalid=on_invalid,
            region=region,
            predict=predict_options,
        )
        score_vcf_to_h5(models, vcf, genome, path, opts, dev, "seqrnn.score_variants", progress=progress)
        return VariantEffects(path, cleanup)


def tile(
    genome: PathLike,
    model: str | Sequence[str],
    *,
    regions: PathLike | None = None,
    chrom: str | None = None,
    stride: int = 50,
    output: PathLike | None = None,
    window: int | None = None,
    chunk_size: int = 4096,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = False,
    **options: Any,
) -> Track:
    """Score windows every ``stride`` bases along the BED ``regions`` (or the whole contig ``chrom``)
    with DNA ``model``, as ``seqrnn tile`` does; ``output`` as for :func:`score_variants`."""
    from seqrnn.io.outputs import OutputPlan
    from seqrnn.variants.tracks import tile_to_h5

    if (regions is None) == (chrom is None):
        raise SeqrnnError("give either regions (a BED file) or chrom (a contig name)")
    names = [model] if isinstance(model, str) else list(model)
    with _target(output, "track.h5") as (path, cleanup):
        plan = OutputPlan().read("BED file", regions).read_genome(genome).read_model(*names)
        plan.write("track file", path)
        plan.check()
        dev, predict_options = _setup(device, threads, options)
        models = load_scoring_models(names, dev, window)
        tile_to_h5(
            models,
            genome,
            path,
            stride,
            predict_options,
            dev,
            bed=regions,
            chrom=chrom,
            chunk_size=chunk_size,
            command="seqrnn.tile",
            progress=progress,
        )
        return Track(path, cleanup)


@contextlib.contextmanager
def _target(output: PathLike | None, name: str) -> Iterator[tuple[Path, Path | None]]:
    """Where the file goes, and the temporary directory to remove with it (None for ``output``); a
    temporary directory is removed again when the block fails (bad options, a model that will not load,
    a run that stops)."""
    if output is not None:
        yield Path(output), None
        return
    directory = Path(tempfile.mkdtemp(prefix="seqrnn-"))
    try:
        yield directory / name, directory
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _setup(
    device: str | None, threads: int | None, options: Mapping[str, Any]
) -> tuple[torch.device, PredictOptions]:
    from seqrnn.core.runtime import check_threads, resolve_device, set_threads
    from seqrnn.inference.options import split_options

    predict_options, _ = split_options(options, reading=False)
    check_threads(threads)
    set_threads(threads)
    return resolve_device(device or "auto"), predict_options


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise SeqrnnError("to_dataframe needs pandas: pip install 'seqrnn[pandas]'") from None
    return pd
