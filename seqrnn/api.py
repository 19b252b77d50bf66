"""The Python API: one call per task, on the same code paths as the command line.

================================  ================================================================
``load_model(name_or_path)``      a built-in model name or ``.pt`` path (a list: an ensemble)
``predict(inputs, model, ...)``   -> :class:`Predictions`, what ``seqrnn predict`` writes, in memory
``read_predictions(path)``        -> :class:`Predictions` of a file ``seqrnn predict`` wrote
``train(config, ...)``            a YAML path or a dict, as ``seqrnn train``
``evaluate(data, model, ...)``    the metrics ``seqrnn evaluate`` prints
================================  ================================================================

Options carry the CLI's names with underscores (``--batch-tokens`` -> ``batch_tokens``) and its
defaults. :func:`predict` runs records through :func:`seqrnn.inference.pipeline.write_predictions`, the body of
``seqrnn predict``, into an in-memory HDF5 file of the same layout (docs/hdf5-format.md), so the
numbers are those of the CLI, bit for bit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from seqrnn.core.runtime import PRECISIONS, resolve_device, set_threads
from seqrnn.encoding.examples import ON_INVALID
from seqrnn.errors import SeqrnnError
from seqrnn.inference.engine import PredictOptions
from seqrnn.io.inputs import ReadOptions, as_paths, in_shard, parse_shard, python_inputs
from seqrnn.io.predictions import Predictions
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.zoo import load_named

if TYPE_CHECKING:
    import torch

    from seqrnn.inference.evaluate import Evaluation
    from seqrnn.training import TrainResult
    from seqrnn.training.config import RunConfig

__all__ = ["Predictions", "evaluate", "load_model", "predict", "read_predictions", "train"]

PathLike = str | os.PathLike[str]
#: A built-in model name, group or pattern, or a ``.pt`` path; several of them (side by side, one output
#: group each); or a loaded bundle (e.g. an ensemble from ``load_model([...], ensemble=True)``).
ModelLike = PathLike | Sequence[PathLike] | ModelBundle
#: A path, several paths, sequences as text, or ``(id, sequence)`` pairs (or a ``{id: sequence}`` dict).
Inputs = PathLike | Iterable[PathLike] | Iterable[str] | Iterable[tuple[str, str]] | Mapping[str, str]

COMMAND = "seqrnn.predict (Python API)"


# Models -------------------------------------------------------------------------------------------


def load_model(name_or_path: ModelLike, *, device: str = "auto", ensemble: bool = False) -> ModelBundle:
    """Load a model bundle, as ``seqrnn predict -m``.

    Args:
        name_or_path: a built-in model name (``seqrnn models`` lists them), a group (``tf``) or pattern
            (``tf-*``), or a ``.pt`` file; a list of several runs them side by side (their outputs are
            named ``<model>/<head>``; the models must read the same alphabet).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        ensemble: average the models given as one ensemble (``--ensemble``; members must share the
            encoder and heads) instead.

    Returns:
        The bundle: ``.model`` (a torch module with ``.heads``), ``.encoder``, ``.metadata``,
        ``.name``, ``.sha256``. Pass it as ``model=`` to :func:`predict` or :func:`evaluate` to load
        it once for several calls.

    Raises:
        ModelError: no such model, or a damaged or incompatible file.
    """
    if isinstance(name_or_path, ModelBundle):
        return name_or_path
    names = [name_or_path] if isinstance(name_or_path, str | os.PathLike) else list(name_or_path)
    return load_named(names, resolve_device(device), ensemble)


def _model_and_device(model: ModelLike, device: str | None) -> tuple[ModelBundle, torch.device]:
    """The bundle and the device it runs on: a loaded bundle stays where it is unless ``device`` is
    given (then it is moved there); a name is loaded on ``device`` (default ``auto``)."""
    if not isinstance(model, ModelBundle):
        dev = resolve_device(device or "auto")
        return load_model(model, device=str(dev)), dev
    if device is not None:
        dev = resolve_device(device)
        model.model.to(dev)
        return model, dev
    import torch

    param = next(model.model.parameters(), None)
    return model, param.device if param is not None else torch.device("cpu")


# Options ------------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, low: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SeqrnnError(f"{name}={value!r}: expected an integer of at least {low}")


def _options(
    *,
    batch_tokens: int,
    batch_size: int,
    window_tokens: int,
    on_invalid: str,
    precision: str,
    test_views: int | None,
    workers: int,
    threads: int | None,
    read: ReadOptions,
    allowed_on_invalid: Sequence[str] = ON_INVALID,
) -> PredictOptions:
    """Checked :class:`PredictOptions` (the CLI checks the same through its option types)."""
    _check_int("batch_tokens", batch_tokens, 1)
    _check_int("batch_size", batch_size, 1)
    _check_int("window_tokens", window_tokens, 1)
    _check_int("workers", workers, 0)
    _check_int("test_views", test_views, 1, optional=True)
    _check_int("threads", threads, 1, optional=True)
    if on_invalid not in allowed_on_invalid:
        raise SeqrnnError(f"on_invalid={on_invalid!r}: choose {', '.join(allowed_on_invalid)}")
    if precision not in PRECISIONS:
        raise SeqrnnError(f"precision={precision!r}: choose {', '.join(PRECISIONS)}")
    return PredictOptions(
        batch_tokens=batch_tokens,
        batch_size=batch_size,
        window_tokens=window_tokens,
        on_invalid=on_invalid,
        precision=precision,
        test_views=test_views,
        workers=workers,
        read=read,
    )


def _read_options(
    fmt: str | None,
    sequence_column: str | None,
    id_column: str | None,
    genome: PathLike | None,
    shard: str | tuple[int, int] | None = None,
) -> ReadOptions:
    if isinstance(shard, tuple):
        shard = "{}/{}".format(*shard)
    return ReadOptions(
        fmt=fmt,
        sequence_column=sequence_column,
        id_column=id_column,
        genome=os.fspath(genome) if genome else None,
        shard=parse_shard(shard) if shard else None,
    )


# Prediction ---------------------------------------------------------------------------------------


def predict(
    inputs: Inputs,
    model: ModelLike,
    *,
    output: PathLike | None = None,
    device: str | None = None,
    precision: str = "auto",
    threads: int | None = None,
    batch_tokens: int = 32768,
    batch_size: int = 512,
    workers: int = 0,
    window_tokens: int = 250_000,
    on_invalid: str = "error",
    test_views: int | None = None,
    format: str | None = None,
    sequence_column: str | None = None,
    id_column: str | None = None,
    genome: PathLike | None = None,
    shard: str | tuple[int, int] | None = None,
    progress: bool = False,
    compress: bool = False,
) -> Predictions:
    """Predict sequences with a model, as ``seqrnn predict`` (same code, same numbers).

    Args:
        inputs: what to predict, one of
            - a path (FASTA / SMILES / CSV / TSV / BED, ``.gz`` ok; ``-`` is standard input) or a
              list of paths, read as the CLI reads them;
            - a list of sequences as text (``["MKTAYIAKQR", ...]``): ids are their positions,
              ``"0"``, ``"1"``, ...;
            - ``(id, sequence)`` pairs (any iterable, read lazily) or a ``{id: sequence}`` dict.
        model: a built-in model name or ``.pt`` path, a list of them (an ensemble), or a bundle from
            :func:`load_model`.
        output: also keep the result as this HDF5 file (written atomically); the returned
            predictions then read that file instead of memory.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``. Default: ``auto`` for a model given by
            name; a loaded bundle stays on its device unless this is given.
        precision: ``auto`` (bf16 where the hardware computes it natively, else fp32), ``fp32``,
            ``bf16``.
        threads: torch CPU threads (process-wide, as ``--threads``); None keeps torch's choice.
        batch_tokens: padded positions in flight at once (shared by the workers).
        batch_size: sequences in flight at once (shared by the workers).
        workers: CPU batches predicted concurrently (0: one per torch thread, up to 8).
        window_tokens: residues read, predicted and written per window (bounds memory).
        on_invalid: ``error`` (stop), ``skip`` (leave the record out: see ``Predictions.skipped``),
            ``mask`` (letters outside the alphabet become X / N).
        test_views: sequence-level outputs averaged over this many views (DNA: 2 = both strands);
            None: the model's own setting.
        format: input format ``fasta``, ``smi``, ``csv``, ``tsv`` or ``bed`` (default: from the file
            name); input files only, as are ``sequence_column``, ``id_column`` and ``genome``.
        sequence_column: CSV/TSV column holding the sequences.
        id_column: CSV/TSV column holding the record ids.
        genome: the genome FASTA that BED intervals refer to.
        shard: ``"K/N"`` or ``(K, N)``: only records i with ``i % N == K - 1``.
        progress: show a progress bar on a terminal.
        compress: gzip the datasets of ``output`` (about a quarter smaller, several percent slower).

    Returns:
        :class:`Predictions`: ``len(p)`` records; ``p[i]`` or ``p["id"]`` -> ``{head: array}`` with
        per-residue heads ``(L, C)`` float32 and per-sequence heads ``(C,)``; ``p.classes(head)``
        names the columns. Held in memory (or read from ``output``); ``p.close()`` releases it.

    Raises:
        TypeError: an unknown option, or inputs of an unsupported type.
        InputError: unreadable input or an invalid sequence (under ``on_invalid="error"``).
        ModelError: the model cannot be loaded.
        SeqrnnError: an option value out of range.
    """
    from seqrnn.inference.pipeline import plan_outputs, predict_to_h5, predictions_writer, write_predictions

    read = _read_options(format, sequence_column, id_column, genome, shard)
    options = _options(
        batch_tokens=batch_tokens,
        batch_size=batch_size,
        window_tokens=window_tokens,
        on_invalid=on_invalid,
        precision=precision,
        test_views=test_views,
        workers=workers,
        threads=threads,
        read=read,
    )
    paths, records = python_inputs(inputs)
    if records is not None:
        file_options = {"format": format, "sequence_column": sequence_column, "id_column": id_column}
        given = [k for k, v in {**file_options, "genome": genome}.items() if v]
        if given:
            raise SeqrnnError(f"{', '.join(given)}: apply to input files, not to sequences given in memory")
        records = in_shard(records, read.shard)
    if output is not None:  # never over an input file, the genome or the model (checked before loading)
        given = [model] if isinstance(model, ModelBundle | str | os.PathLike) else list(model)
        files = [m.path if isinstance(m, ModelBundle) else m for m in given]
        models = [str(f) for f in files if f is not None]
        plan_outputs(paths, output, genome=genome, models=models).check()
    set_threads(threads)
    bundle, dev = _model_and_device(model, device)
    if output is not None:
        predict_to_h5(
            bundle,
            paths,
            output,
            options,
            dev,
            COMMAND,
            progress=progress,
            records=records,
            compression="gzip" if compress else None,
        )
        return Predictions(output)
    writer = predictions_writer(bundle, None)
    write_predictions(writer, bundle, paths, options, dev, COMMAND, progress=progress, records=records)
    assert writer.file is not None
    return Predictions(writer.file)


def read_predictions(path: PathLike) -> Predictions:
    """Open a predictions file written by ``seqrnn predict`` (or ``merge``), for lazy reading.

    Args:
        path: the HDF5 file.

    Returns:
        :class:`Predictions` reading the file record by record (only ids and offsets are loaded on
        opening). Use it as a context manager, or call ``close()``.

    Raises:
        InputError: the file is missing or not a seqrnn predictions file.
    """
    return Predictions(path)


# Training and evaluation --------------------------------------------------------------------------


def train(
    config: PathLike | Mapping[str, Any] | RunConfig,
    *,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    resume: bool = False,
    device: str | None = None,
    threads: int | None = None,
    stop_after: int | None = None,
    quiet: bool = False,
) -> TrainResult:
    """Train a model, as ``seqrnn train``.

    Args:
        config: a YAML run config (path), a built-in config's name (``"example_protein"``; see
            ``seqrnn configs``), the same as a dict (``{"encoder": "protein", "data": {...},
            "heads": [...], ...}``, validated as a YAML file is), or a loaded ``RunConfig``.
        overrides: ``--set`` items, ``["model.hidden=64", "train.epochs=3"]``, or a dict
            ``{"model.hidden": 64}``.
        resume: continue the run in ``output_dir`` from its last checkpoint.
        device: overrides ``train.device`` (``auto``, ``cpu``, ``cuda``).
        threads: overrides ``train.threads``.
        stop_after: stop after this many epochs with a resumable checkpoint.
        quiet: no progress messages or bars (otherwise on stderr, as the CLI).

    Returns:
        ``TrainResult``: ``model_path`` (the bundle, loadable with :func:`load_model`), ``output_dir``,
        ``best_epoch``, ``monitor``, ``best_value``, ``epochs_run``, ``valid_metrics``,
        ``test_metrics``.

    Raises:
        ConfigError: an invalid config or override.
    """
    from seqrnn.resources import resolve_config
    from seqrnn.training import train as run_training
    from seqrnn.training.config import RunConfig, config_from_mapping, load_config

    if isinstance(overrides, str):
        raise TypeError("overrides: expected a list of KEY=VALUE items or a dict, not one string")
    items = (
        [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
        if isinstance(overrides, Mapping)
        else list(overrides)
    )
    if device is not None:
        items.append(f"train.device={device}")
    if threads:
        items.append(f"train.threads={threads}")
    if isinstance(config, RunConfig):
        cfg = config_from_mapping(config.to_dict(), items)
    elif isinstance(config, Mapping):
        cfg = config_from_mapping(dict(config), items)
    else:
        path, shipped = resolve_config(config)  # a file, or a built-in config by name (seqrnn configs)
        cfg = load_config(path, shipped + items)
    if quiet:
        return run_training(cfg, resume=resume, log=lambda _msg: None, progress=False, stop_after=stop_after)
    return run_training(cfg, resume=resume, stop_after=stop_after)


def evaluate(
    data: PathLike | Sequence[PathLike] | None,
    model: ModelLike,
    *,
    class_files: Mapping[str, PathLike] | None = None,
    labels: Mapping[str, str | Sequence[str]] | None = None,
    mask_columns: Sequence[str] | None = None,
    device: str | None = None,
    precision: str = "auto",
    threads: int | None = None,
    batch_tokens: int = 32768,
    batch_size: int = 512,
    workers: int = 0,
    test_views: int | None = None,
    on_invalid: str = "error",
    format: str | None = None,
    sequence_column: str | None = None,
    id_column: str | None = None,
    genome: PathLike | None = None,
) -> Evaluation:
    """Score a model on labelled data, as ``seqrnn evaluate``.

    Args:
        data: labelled file(s) (CSV/TSV/FASTA with the label columns the model was trained on); None
            with ``class_files``.
        model: as for :func:`predict`.
        class_files: instead of ``data``, one file per class, ``{"promoter": "p.fa", "other": "n.fa"}``
            (``--class-file``): every record is labelled with its file's class, for the model's one
            sequence classification head, whose classes must include them.
        labels: ``{head: column}``: read a head's labels from another column (``--label``).
        mask_columns: score residues only where these columns are 1; None: the model's own.
        on_invalid: ``error`` or ``skip`` (skipped records are left out of the scores).
        device, precision, threads, batch_tokens, batch_size, workers, test_views, format,
            sequence_column, id_column, genome: as for :func:`predict`.

    Returns:
        ``Evaluation``: ``metrics`` ``{head: {metric: value}}`` (accuracy, per-class F1, confusion,
        MCC, AUROC, RMSE, ... by head kind), ``n_sequences`` scored, ``skipped`` records.

    Raises:
        InputError: unreadable data, missing label columns, or nothing to score.
        ValueError: ``labels`` names an unknown head; not exactly one of ``data`` and ``class_files``;
            a class the model does not have.
    """
    from seqrnn.inference.evaluate import evaluate_records, labelled_inputs

    options = _options(
        batch_tokens=batch_tokens,
        batch_size=batch_size,
        window_tokens=PredictOptions.window_tokens,
        on_invalid=on_invalid,
        precision=precision,
        test_views=test_views,
        workers=workers,
        threads=threads,
        read=_read_options(format, sequence_column, id_column, genome),
        allowed_on_invalid=("error", "skip"),
    )
    paths = as_paths(data, "data") if data is not None else []
    files = {str(k): os.fspath(v) for k, v in class_files.items()} if class_files is not None else None
    if bool(paths) == bool(files):
        raise ValueError(
            "evaluate: give exactly one of data (labelled files) and class_files (one per class)"
        )
    set_threads(threads)
    bundle, dev = _model_and_device(model, device)
    if bundle.members:
        raise ValueError("evaluate: one model (or ensemble) per call; call it once per model")
    masks = (
        list(mask_columns)
        if mask_columns is not None
        else bundle.metadata.get("data", {}).get("mask_columns", [])
    )
    heads = bundle.model.heads
    before = {name: list(heads[name].spec.columns) for name in labels or {} if name in heads}
    try:
        bundle.use_label_columns(labels or {})
        _, records = labelled_inputs(bundle, paths, files, options.read)
        return evaluate_records(bundle, records, options, dev, masks)
    finally:  # a bundle passed in keeps its own label columns
        for name, columns in before.items():
            heads[name].spec.columns = columns
