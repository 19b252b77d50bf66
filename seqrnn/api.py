"""The Python API: one call per task, on the same code paths as the command line.

================================  ================================================================
``load_model(name_or_path)``      a built-in model name or ``.pt`` path (a list: side by side)
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

from seqrnn.core.runtime import check_threads, resolve_device, set_threads
from seqrnn.errors import SeqrnnError
from seqrnn.inference.options import split_options
from seqrnn.io.formats import ReadOptions
from seqrnn.io.inputs import as_paths, in_shard, python_inputs
from seqrnn.io.predictions import Predictions
from seqrnn.io.records import Record
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


# Prediction ---------------------------------------------------------------------------------------


def predict(
    inputs: Inputs,
    model: ModelLike,
    *,
    output: PathLike | None = None,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = False,
    compress: bool = False,
    **options: Any,
) -> Predictions:
    """Predict sequences with a model, as ``seqrnn predict`` (same code, same numbers).

    Args:
        inputs: what to predict, one of
            - a path (FASTA / SMILES / CSV / TSV / BED, ``.gz`` ok; ``-`` is standard input) or a
              list of paths, read as the CLI reads them;
            - a list of sequences as text (``["MKTAYIAKQR", ...]``): ids are their positions,
              ``"0"``, ``"1"``, ...;
            - ``(id, sequence)`` pairs (any iterable, read lazily) or a ``{id: sequence}`` dict.
        model: a built-in model name or ``.pt`` path, a list of them (side by side, one output group
            each), or a bundle from :func:`load_model` (``ensemble=True`` averages a list).
        output: also keep the result as this HDF5 file (written atomically); the returned
            predictions then read that file instead of memory.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``. Default: ``auto`` for a model given by
            name; a loaded bundle stays on its device unless this is given.
        threads: torch CPU threads (process-wide, as ``--threads``); None keeps torch's choice.
        options: the CLI's options with underscores and its defaults, checked by name and value
            (:func:`seqrnn.inference.options.split_options`): ``precision`` (``auto``: bf16 where
            the hardware computes it natively, else fp32; ``fp32``; ``bf16``), ``batch_tokens``
            and ``batch_size`` (padded positions and sequences in flight at once, shared by the
            workers), ``workers`` (CPU batches predicted concurrently; 0: one per torch thread, up
            to 8), ``window_tokens`` (residues read, predicted and written per window),
            ``on_invalid`` (``error``: stop; ``skip``: leave the record out, see
            ``Predictions.skipped``; ``mask``: letters outside the alphabet become X / N),
            ``test_views`` (sequence-level outputs averaged over this many views; DNA: 2 = both
            strands), ``standardize`` (SMILES models: ``none``, ``canonical``, ``parent``,
            ``largest_fragment``; default the model's own), ``members`` (ensembles: the first N
            members only). For input files only: ``format`` (``fasta``, ``smi``, ``csv``, ``tsv``,
            ``bed``; default from the file name), ``sequence_column``, ``id_column``, ``genome``
            (the FASTA that BED intervals refer to) and ``shard`` (``"K/N"`` or ``(K, N)``: only
            records i with ``i % N == K - 1``).
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
    from seqrnn.inference.export import plan_outputs
    from seqrnn.inference.pipeline import predict_to_h5

    predict_options, read = split_options(options)
    paths, records = _inputs(inputs, read)
    if output is not None:  # never over an input file, the genome or the model (checked before loading)
        plan_outputs(paths, output, genome=read.genome, models=_model_files(model)).check()
    check_threads(threads)
    set_threads(threads)
    bundle, dev = _model_and_device(model, device)
    summary = predict_to_h5(
        bundle,
        paths,
        output,
        predict_options,
        dev,
        read=read,
        records=records,
        command=COMMAND,
        progress=progress,
        compression="gzip" if compress else None,
    )
    return Predictions(output if output is not None else summary.file)


def _inputs(inputs: Inputs, read: ReadOptions) -> tuple[list[str], Iterable[Record] | None]:
    """The input files, or the records given in memory (file options refused, the shard applied)."""
    paths, records = python_inputs(inputs)
    if records is None:
        return paths, None
    file_options = {"format": read.fmt, "sequence_column": read.sequence_column, "id_column": read.id_column}
    given = [k for k, v in {**file_options, "genome": read.genome}.items() if v]
    if given:
        raise SeqrnnError(f"{', '.join(given)}: apply to input files, not to sequences given in memory")
    return paths, in_shard(records, read.shard)


def _model_files(model: ModelLike) -> list[str]:
    """The files behind ``model`` (names of built-in models resolve later), for the output plan."""
    given = [model] if isinstance(model, ModelBundle | str | os.PathLike) else list(model)
    files = [m.path if isinstance(m, ModelBundle) else m for m in given]
    return [str(f) for f in files if f is not None]


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
    threads: int | None = None,
    **options: Any,
) -> Evaluation | dict[str, Evaluation]:
    """Score a model on labelled data, as ``seqrnn evaluate``; several models side by side are each
    scored on their own.

    Args:
        data: labelled file(s) (CSV/TSV/FASTA with the label columns the model was trained on); None
            with ``class_files``.
        model: as for :func:`predict`.
        class_files: instead of ``data``, one file per class, ``{"promoter": "p.fa", "other": "n.fa"}``
            (``--class-file``): every record is labelled with its file's class, for the model's one
            sequence classification head, whose classes must include them.
        labels: ``{head: column}``: read a head's labels from another column (``--label``).
        mask_columns: score residues only where these columns are 1; None: the model's own.
        device, threads, options: as for :func:`predict` (``on_invalid``: ``error`` or ``skip``;
            skipped records are left out of the scores).

    Returns:
        ``Evaluation``: ``metrics`` ``{head: {metric: value}}`` (accuracy, per-class F1, confusion,
        MCC, AUROC, RMSE, ... by head kind), ``n_sequences`` scored, ``skipped`` records; for
        several models (a list without ``ensemble``) ``{model name: Evaluation}``.

    Raises:
        InputError: unreadable data, missing label columns, or nothing to score.
        ValueError: ``labels`` names an unknown head; not exactly one of ``data`` and ``class_files``;
            a class the model does not have.
    """
    from seqrnn.inference.evaluate import evaluate_models

    predict_options, read = split_options(options)
    paths = as_paths(data, "data") if data is not None else []
    files = {str(k): os.fspath(v) for k, v in class_files.items()} if class_files is not None else None
    if bool(paths) == bool(files):
        raise ValueError(
            "evaluate: give exactly one of data (labelled files) and class_files (one per class)"
        )
    check_threads(threads)
    set_threads(threads)
    bundle, dev = _model_and_device(model, device)
    scored = evaluate_models(bundle, paths, files, predict_options, dev, read, labels, mask_columns)
    if not bundle.members:
        return scored[0].evaluation
    return {done.bundle.name: done.evaluation for done in scored}
