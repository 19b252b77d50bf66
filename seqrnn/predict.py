"""Streaming prediction: records -> encode -> token-budget batches -> model -> heads -> HDF5.

Records are read in windows (``window_tokens`` residues at most); each window is sorted into
length-bucketed batches, predicted under ``torch.inference_mode`` and written back in input order, so
memory is bounded by the window, not by the input, and the output order never depends on batching.
Per window the results are ``{head: (R_window, C)}`` for residue heads and ``{head: (N_window, C)}`` for
sequence heads.

On the CPU a window's batches run concurrently, one single-threaded worker per thread (up to
``MAX_AUTO_WORKERS``): torch's RNN kernel gains little from a second thread on one batch, and two
batches side by side get more done than one batch on two threads (docs/performance.md). Each batch is
computed the same way whichever worker takes it, so outputs do not depend on scheduling.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np
import torch

from seqrnn import __version__
from seqrnn.bundle import ModelBundle
from seqrnn.data.augment import Augmentation, build_augmentation
from seqrnn.data.batching import (
    BF16_ROWS,
    Example,
    collate,
    encode_record,
    token_budget_batches,
)
from seqrnn.data.formats import read_records
from seqrnn.data.records import Record
from seqrnn.encoders import EncodingError
from seqrnn.errors import InputError, ModelError, SeqrnnError
from seqrnn.io.hdf5 import DatasetSpec, RaggedH5Writer, check_writable, write_skipped
from seqrnn.memory import cap_primitive_caches, release_free_memory
from seqrnn.models.rnn import direction_helper

FORMAT = "seqrnn-predictions"
FORMAT_VERSION = 1
MAX_AUTO_WORKERS = 8  # each worker holds one batch's activations; more rarely pays on one socket


@dataclass
class PredictOptions:
    batch_tokens: int = 32768  # padded positions in flight at once, shared among the workers
    batch_size: int = 512  # sequences in flight at once, shared among the workers
    window_tokens: int = 250_000  # ~700 average proteins: enough to bucket lengths, small to hold
    on_invalid: str = "error"  # error | skip | mask (letters outside the alphabet -> X / N)
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; outputs are written as float32 either way)
    shard: tuple[int, int] | None = None  # (K, N): records whose input index i has i % N == K - 1
    test_views: int | None = None  # views averaged per sequence (None: the bundle's train.test_views)
    fmt: str | None = None
    sequence_column: str | None = None
    id_column: str | None = None
    genome: str | None = None  # the genome FASTA that BED intervals refer to
    workers: int = 0  # CPU batches predicted concurrently (0: one per torch thread, up to MAX_AUTO_WORKERS)


class Skipped(NamedTuple):
    """A record left out under ``--on-invalid skip``: ``record`` is ``FILE:ID`` as logged."""

    record: str
    reason: str
    index: int = -1  # position in the (concatenated) input, as /record_index

    @classmethod
    def of(cls, rec: Record, error: InputError) -> Skipped:
        return cls(f"{rec.source}:{rec.id}", error.reason, rec.index)


def all_skipped_note(skipped: Sequence[Skipped]) -> str:
    """Appended to "nothing left" errors: how many records were skipped and why the first was."""
    return (
        f" (all {len(skipped)} skipped; first: {skipped[0].record}: {skipped[0].reason})" if skipped else ""
    )


@dataclass
class WindowResult:
    examples: list[Example]
    residue: dict[str, np.ndarray]
    sequence: dict[str, np.ndarray]


@dataclass
class PredictSummary:
    output: Path
    n_sequences: int = 0
    n_residues: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    masked: list[tuple[str, int]] = field(default_factory=list)
    windows_predicted: int = 0
    windows_reused: int = 0
    class_fractions: dict[str, dict[str, float]] = field(default_factory=dict)


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` is bf16 where the hardware computes it natively (CPUs with AVX512-BF16 or AMX, CUDA GPUs
    that support it), fp32 elsewhere: the built-in model's Q3/Q8 move by at most 0.07 points in bf16
    (docs/performance.md), while emulated bf16 on older CPUs would be slower than fp32."""
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    native = [getattr(torch.cpu, f, None) for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return "bf16" if any(f is not None and f() for f in native) else "fp32"


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SeqrnnError("--device cuda was requested but no CUDA device is available")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise SeqrnnError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device(name)


def resolve_views(bundle: ModelBundle, options: PredictOptions) -> tuple[Augmentation | None, int]:
    """The augmentation and number of views to average: the bundle's choice unless options override.

    DNA models without a stored augmentation still accept ``--test-views 2`` (strand averaging);
    other models must have been trained with one.
    """
    stored = bundle.metadata.get("augment") or {}
    n = options.test_views if options.test_views is not None else int(stored.get("test_views", 1))
    if n <= 1:
        return None, 1
    name = stored.get("name") or ("reverse_complement" if bundle.encoder.name == "dna" else None)
    if name is None:
        raise ModelError(f"--test-views {n}: this model was trained without an augmentation to average over")
    if any(h.level == "residue" for h in bundle.model.heads.values()):
        raise ModelError(f"--test-views {n}: views cannot be averaged for per-residue heads")
    return build_augmentation(name), n


def add_views(ex: Example, text: str, bundle: ModelBundle, views: tuple[Augmentation | None, int]) -> Example:
    """Attach the encoded extra views of ``text`` to ``ex`` (views that fail to encode are left out)."""
    augmentation, n = views
    if augmentation is None:
        return ex
    extra = []
    for view in augmentation.views(text, n)[1:]:
        try:
            extra.append(bundle.encoder.encode_view(view)[0].astype(np.int16, copy=False))
        except EncodingError:
            continue
    ex.views = extra
    return ex


def _windows(
    records: Iterable[Record], bundle: ModelBundle, options: PredictOptions, skipped: list[Skipped]
) -> Iterator[list[Example]]:
    window: list[Example] = []
    tokens = 0
    views = resolve_views(bundle, options)
    for rec in records:
        try:
            ex = encode_record(rec, bundle.encoder)
            text = rec.text
        except InputError as exc:
            if options.on_invalid == "error":
                raise
            ex = _masked(rec, bundle, exc) if options.on_invalid == "mask" else None
            if ex is None:
                skipped.append(Skipped.of(rec, exc))
                continue
            text = bundle.encoder.mask_invalid(rec.text)[0]
        window.append(add_views(ex, text, bundle, views))
        tokens += ex.tokens.size
        if tokens >= options.window_tokens:
            yield window
            window, tokens = [], 0
    if window:
        yield window


def _masked(rec: Record, bundle: ModelBundle, error: InputError) -> Example | None:
    """Encode with out-of-alphabet letters replaced by the unknown letter; None if that cannot help."""
    try:
        text, n = bundle.encoder.mask_invalid(rec.text)
        if n == 0:  # the problem was not a letter (empty, nucleotide guard): masking cannot fix it
            return None
        ex = encode_record(Record(rec.id, text, rec.index, rec.source, rec.fields), bundle.encoder)
    except (EncodingError, InputError):
        return None
    ex.masked = n
    return ex


class SpareThreads:
    """The CPU threads a worker's batch may borrow for its layers' backward directions
    (:class:`seqrnn.models.rnn.DirectionHelper`): one slot per thread, held by a running batch or a
    lent direction. Lending happens only while no batch is queued, and a batch waits for a slot, so
    it helps a long chain that runs alone at the end without oversubscribing the cores or taking a
    thread from a batch that could use it."""

    def __init__(self, threads: int) -> None:
        self._free = threads
        self._queued = 0
        self._changed = threading.Condition()
        self._pool = ThreadPoolExecutor(
            threads - 1,
            thread_name_prefix="seqrnn-direction",
            initializer=torch.set_num_threads,
            initargs=(1,),
        )

    def queued(self) -> None:
        with self._changed:
            self._queued += 1

    @contextmanager
    def hold(self) -> Iterator[None]:
        """A slot for a queued batch that starts running."""
        with self._changed:
            self._queued -= 1
            self._changed.wait_for(lambda: self._free > 0)
            self._free -= 1
        try:
            yield
        finally:
            self._release()

    def try_submit(self, fn: Callable[[torch.Tensor], object], x: torch.Tensor) -> Future | None:
        with self._changed:
            if self._free <= 0 or self._queued > 0:
                return None
            self._free -= 1
        try:
            future = self._pool.submit(fn, x)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class BatchRunner:
    """Runs a window's batches: inline, or on CPU worker threads with ``threads_each`` torch threads.

    A context manager; leaving it cancels batches not yet started (an error, Ctrl-C, a closed consumer).
    """

    def __init__(self, options: PredictOptions, device: torch.device) -> None:
        threads = torch.get_num_threads()
        workers = 1
        if device.type == "cpu":
            workers = max(1, min(options.workers or min(threads, MAX_AUTO_WORKERS), threads))
        self.workers = workers
        self.threads_each = max(1, threads // workers)
        self._pool = (
            ThreadPoolExecutor(
                workers,
                thread_name_prefix="seqrnn-batch",
                initializer=torch.set_num_threads,
                initargs=(self.threads_each,),
            )
            if workers > 1
            else None
        )
        # Single-threaded workers (the CPU default) lend idle threads to each other's RNN directions;
        # never the inline path (one worker with one thread each means one thread in all).
        self.spare = (
            SpareThreads(threads) if device.type == "cpu" and threads > 1 and self.threads_each == 1 else None
        )

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        if self._pool is not None:
            return self._pool.submit(self._lending(fn))
        fn()  # inline: an error or Ctrl-C stops the window here, not after its remaining batches
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def _lending(self, fn: Callable[[], None]) -> Callable[[], None]:
        spare = self.spare
        if spare is None:
            return fn
        spare.queued()

        def run() -> None:
            with spare.hold(), direction_helper(spare):
                fn()

        return run

    def __enter__(self) -> BatchRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.spare is not None:
            self.spare.shutdown()


def start_window(
    bundle: ModelBundle,
    examples: Sequence[Example],
    options: PredictOptions,
    device: torch.device,
    runner: BatchRunner,
) -> Callable[[], WindowResult]:
    """Queue one window's batches on ``runner``; the returned function waits and assembles the result.

    Outputs are in the order of ``examples``. Examples with ``views`` get their sequence-level outputs
    averaged over the input and its views.
    """
    model = bundle.model
    heads = model.heads
    flat = list(examples)
    owner = list(range(len(examples)))
    for i, ex in enumerate(examples):
        for view in ex.views or ():
            flat.append(Example(ex.index, ex.id, view))
            owner.append(i)
    lengths = np.array([e.tokens.size for e in flat], dtype=np.int64)
    per_seq: dict[str, list[np.ndarray | None]] = {name: [None] * len(flat) for name in heads}
    bf16 = resolve_precision(options.precision, device) == "bf16"

    def run(idx: np.ndarray) -> None:
        # inference_mode and autocast are thread-local: entered by whichever thread runs the batch.
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            release_free_memory()  # the last batch's activations: keeps resident memory flat
            batch = collate([flat[i] for i in idx]).to(device)
            outputs = model.predict(batch.tokens, batch.lengths)
            for name, head in heads.items():
                out = outputs[name].float().cpu().numpy()
                for row, i in enumerate(idx):
                    per_seq[name][i] = out[row, : lengths[i]] if head.level == "residue" else out[row]

    # Both limits are for all batches in flight, so memory does not grow with the worker count.
    # Longest batches first (token_budget_batches' order), so a long chain does not finish last alone.
    tokens, size = (max(1, limit // runner.workers) for limit in (options.batch_tokens, options.batch_size))
    batches = token_budget_batches(lengths, tokens, size, **(BF16_ROWS if bf16 else {}))
    futures = [runner.submit(partial(run, idx)) for idx in batches]

    def finish() -> WindowResult:
        for future in futures:
            future.result()  # re-raises a batch's error here
        n = len(examples)
        residue = {k: np.concatenate(per_seq[k][:n]) for k, h in heads.items() if h.level == "residue"}
        sequence = {k: np.stack(per_seq[k]) for k, h in heads.items() if h.level != "residue"}
        if len(flat) > n:
            counts = np.bincount(owner, minlength=n).astype(np.float64)
            for k, values in sequence.items():
                total = np.zeros((n, *values.shape[1:]), dtype=np.float64)
                np.add.at(total, np.asarray(owner), values)
                sequence[k] = (total / counts.reshape(-1, *[1] * (values.ndim - 1))).astype(values.dtype)
        return WindowResult(list(examples), residue, sequence)

    return finish


def predict_examples(
    bundle: ModelBundle, examples: Sequence[Example], options: PredictOptions, device: torch.device
) -> WindowResult:
    """Predict one window; outputs are in the order of ``examples`` (see :func:`start_window`)."""
    with BatchRunner(options, device) as runner:
        return start_window(bundle, examples, options, device, runner)()


def predict_windows(
    bundle: ModelBundle, windows: Iterable[list[Example]], options: PredictOptions, device: torch.device
) -> Iterator[WindowResult]:
    """Results per window, in order. The next window is read, encoded and queued before this one is
    handed out, so workers stay busy while the caller writes and while a long chain's batch runs."""
    with BatchRunner(options, device) as runner:
        pending: Callable[[], WindowResult] | None = None
        for window in windows:
            started = start_window(bundle, window, options, device, runner)
            if pending is not None:
                yield pending()
            pending = started
        if pending is not None:
            yield pending()


def iter_predictions(
    bundle: ModelBundle,
    records: Iterable[Record],
    options: PredictOptions,
    device: torch.device,
    skipped: list[Skipped] | None = None,
) -> Iterator[WindowResult]:
    skipped = [] if skipped is None else skipped
    yield from predict_windows(bundle, _windows(records, bundle, options, skipped), options, device)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N) with 1 <= K <= N."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise SeqrnnError(f"--shard {text!r}: expected K/N, e.g. 3/10") from None
    if not 1 <= k <= n:
        raise SeqrnnError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def chain_inputs(inputs: Sequence[str | Path], options: PredictOptions) -> Iterator[Record]:
    """Records of all inputs in order, numbered globally; with a shard, only that shard's records.

    Shards take every N-th record (round robin), so they are balanced for sorted inputs too, and
    deterministic: the same inputs always give the same shard contents.
    """
    index = 0
    for path in inputs:
        for rec in read_records(
            path,
            options.fmt,
            sequence_column=options.sequence_column,
            id_column=options.id_column,
            genome=options.genome,
        ):
            rec.index = index
            index += 1
            if options.shard is None or rec.index % options.shard[1] == options.shard[0] - 1:
                yield rec


def dataset_layout(bundle: ModelBundle) -> tuple[dict[str, DatasetSpec], dict[str, DatasetSpec]]:
    residue: dict[str, DatasetSpec] = {}
    # The sequence as the model saw it (after the input policy), aligned with the residue axis.
    sequence: dict[str, DatasetSpec] = {
        "sequences": DatasetSpec(None, h5py.string_dtype("utf-8")),
        # Position of each record in the (concatenated) input; merging shards restores this order.
        "record_index": DatasetSpec(None, np.int64),
        # Letters replaced by the unknown letter (X / N) under --on-invalid mask; 0 for clean records.
        "masked": DatasetSpec(None, np.int32),
    }
    for name, head in bundle.model.heads.items():
        spec = DatasetSpec(
            len(head.classes), np.float32, {head.label_attr: np.array(head.classes, dtype="S")}
        )
        spec.attrs["kind"] = head.kind
        (residue if head.level == "residue" else sequence)[f"{head.level}/{name}/{head.output}"] = spec
    return residue, sequence


def _payload(bundle: ModelBundle, result: WindowResult) -> dict:
    """One window as writer arguments: ids, lengths, residue and sequence datasets."""
    return {
        "ids": [e.id for e in result.examples],
        "lengths": np.array([e.tokens.size for e in result.examples], dtype=np.int64),
        "residue": {_key(bundle, n): a for n, a in result.residue.items()},
        "sequence": {
            "sequences": np.array([bundle.encoder.decode(e.tokens) for e in result.examples], dtype=object),
            "record_index": np.array([e.index for e in result.examples], dtype=np.int64),
            "masked": np.array([e.masked for e in result.examples], dtype=np.int32),
            **{_key(bundle, n): a for n, a in result.sequence.items()},
        },
    }


def predict_to_h5(
    bundle: ModelBundle,
    inputs: Sequence[str | Path],
    output: str | Path,
    options: PredictOptions,
    device: torch.device,
    command: str = "",
    progress: bool = False,
    resume: bool = False,
) -> PredictSummary:
    """Predict all inputs into one HDF5 file.

    With ``resume`` every finished window is also kept as a part file in ``.<output>.parts/``; a rerun
    after a crash or kill reuses the parts that match (same model, same records) and predicts only the
    rest, then assembles the same file an uninterrupted run writes and removes the parts.
    """
    output = check_writable(output)
    cap_primitive_caches()
    if bundle.encoder.name == "smiles":
        from seqrnn.chem import note_without_rdkit

        note_without_rdkit()  # once: validity and canonical form cannot be checked without RDKit
    residue_specs, sequence_specs = dataset_layout(bundle)
    attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqrnn_version": __version__,
        "model_name": bundle.name,
        "model_sha256": bundle.sha256,
        **_ensemble_attrs(bundle),
        "command": command,
        "inputs": np.array([str(p) for p in inputs], dtype="S"),
        "shard": "{}/{}".format(*(options.shard or (1, 1))),
        "precision": resolve_precision(options.precision, device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    summary = PredictSummary(output)
    counts = {n: np.zeros(len(h.classes)) for n, h in bundle.model.heads.items() if h.level == "residue"}
    start = time.perf_counter()
    bar = _progress(progress)
    windows = _windows(chain_inputs(inputs, options), bundle, options, summary.skipped)
    payloads = (
        _resumable_payloads(bundle, windows, options, device, output, summary)
        if resume
        else (_payload(bundle, r) for r in predict_windows(bundle, windows, options, device))
    )
    with RaggedH5Writer(output, attrs, residue_specs, sequence_specs) as writer:
        for payload in payloads:
            writer.append(**payload)
            for key, arr in payload["residue"].items():
                counts[key.split("/")[1]] += np.bincount(arr.argmax(1), minlength=arr.shape[1])
            summary.n_sequences += len(payload["ids"])
            for rid, n in zip(payload["ids"], payload["sequence"]["masked"], strict=True):
                if n:
                    summary.masked.append((rid, int(n)))
            summary.n_residues += int(payload["lengths"].sum())
            if bar is not None:
                bar.update(len(payload["ids"]))
        if summary.n_sequences == 0 and options.shard is None:
            # An empty shard is a valid (empty) result: N may exceed the number of records.
            raise InputError(
                "no sequences to predict" + all_skipped_note(summary.skipped),
                source=", ".join(map(str, inputs)),
            )
        writer.attrs["n_skipped"] = len(summary.skipped)
        write_skipped(writer, [(s.index, s.record, s.reason) for s in summary.skipped])
        # How the inputs were read, so `seqrnn export -f csv` can put predictions next to their rows.
        writer.attrs["input_format"] = options.fmt or ""
        writer.attrs["sequence_column"] = options.sequence_column or ""
        writer.attrs["id_column"] = options.id_column or ""
        writer.attrs["n_masked"] = len(summary.masked)
    if resume:
        shutil.rmtree(_parts_dir(output), ignore_errors=True)
    if bar is not None:
        bar.close()
    summary.seconds = time.perf_counter() - start
    for name, c in counts.items():
        classes = bundle.model.heads[name].classes
        summary.class_fractions[name] = {
            k: float(v / max(c.sum(), 1)) for k, v in zip(classes, c, strict=True)
        }
    return summary


def _ensemble_attrs(bundle: ModelBundle) -> dict[str, np.ndarray]:
    members = bundle.metadata.get("ensemble")
    if not members:
        return {}
    return {
        "model_members": np.array([m["model"] for m in members], dtype="S"),
        "model_members_sha256": np.array([m["sha256"] for m in members], dtype="S"),
    }


def _parts_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.parts"


def _resumable_payloads(
    bundle: ModelBundle,
    windows: Iterator[list[Example]],
    options: PredictOptions,
    device: torch.device,
    output: Path,
    summary: PredictSummary,
) -> Iterator[dict]:
    parts = _parts_dir(output)
    parts.mkdir(exist_ok=True)
    residue_specs, sequence_specs = dataset_layout(bundle)
    # Every record is read and encoded again on a rerun (cheap next to the model), which rebuilds the
    # same window boundaries and the skip report; only the model calls of finished windows are saved.
    for w, window in enumerate(windows):
        part = parts / f"part{w:06d}.h5"
        first, last = window[0].index, window[-1].index
        payload = _read_part(part, bundle.sha256, first, last, len(window), residue_specs, sequence_specs)
        if payload is None:
            summary.windows_predicted += 1
            payload = _payload(bundle, predict_examples(bundle, window, options, device))
            attrs = {"model_sha256": bundle.sha256, "first_record": first, "last_record": last}
            with RaggedH5Writer(part, attrs, residue_specs, sequence_specs, compression=None) as writer:
                writer.append(**payload)
        else:
            summary.windows_reused += 1
        yield payload


def _read_part(
    path: Path, sha256: str, first: int, last: int, n: int, residue: Iterable[str], sequence: Iterable[str]
) -> dict | None:
    """A finished part for exactly these records from this model, or None."""
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            found = tuple(
                f.attrs.get(k) for k in ("model_sha256", "first_record", "last_record", "n_sequences")
            )
            if found != (sha256, first, last, n):
                return None
            return {
                "ids": list(f["ids"].asstr()[:]),
                "lengths": f["lengths"][:],
                "residue": {k: f[k][:] for k in residue},
                "sequence": {k: f[k][:] for k in sequence},
            }
    except (OSError, KeyError):
        return None


def _key(bundle: ModelBundle, name: str) -> str:
    head = bundle.model.heads[name]
    return f"{head.level}/{name}/{head.output}"


def _progress(enabled: bool):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(unit="seq", desc="predict", file=sys.stderr)
