"""Concurrent CPU batch workers: same outputs and order as running batches inline, errors surface, no leaks;
RNN directions lent to idle threads; bf16 row counts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import numpy as np
import pytest
import torch

from seqrnn.core.runtime import cpu_bf16_rnn_works
from seqrnn.encoding.encoders import ProteinEncoder
from seqrnn.inference.engine import BatchRunner, PredictOptions, SpareThreads, predict_windows
from seqrnn.inference.pipeline import record_windows
from seqrnn.io.records import Record
from seqrnn.models.bundle import ModelBundle
from seqrnn.models.threads import direction_helper
from tests.unit.models.test_bundle import fixed_input, tiny_model


def iter_predictions(bundle, records, options, device):  # type: ignore[no-untyped-def]
    """Window results of ``records`` through the predict path's encode and model steps."""
    return predict_windows(bundle, record_windows(records, bundle, options, []), options, device)


ALPHABET = np.array(list("ACDEFGHIKLMNPQRSTVWY"))

NEEDS_BF16 = pytest.mark.skipif(
    not cpu_bf16_rnn_works(), reason="this CPU cannot run LSTM/GRU in bf16 (oneDNN needs AVX512)"
)


@pytest.fixture()
def two_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def _bundle() -> ModelBundle:
    return ModelBundle(tiny_model(ProteinEncoder()), ProteinEncoder(), {"heads": []}, name="tiny")


def _records(n: int = 30, seed: int = 0) -> list[Record]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 200, size=n)
    return [
        Record(f"p{i}", "".join(rng.choice(ALPHABET, size=int(k))), i, "mem") for i, k in enumerate(lengths)
    ]


def _run(workers: int) -> list:
    # Small budgets: many batches per window and several windows, so the look-ahead is exercised.
    options = PredictOptions(precision="fp32", batch_tokens=400, window_tokens=800, workers=workers)
    return list(iter_predictions(_bundle(), _records(), options, torch.device("cpu")))


def test_concurrent_workers_give_the_inline_results_in_input_order(two_threads: None) -> None:
    inline, concurrent = _run(workers=1), _run(workers=2)
    assert len(inline) == len(concurrent) > 2
    for a, b in zip(inline, concurrent, strict=True):
        assert [e.id for e in a.examples] == [e.id for e in b.examples]
        for name in a.residue:
            np.testing.assert_allclose(a.residue[name], b.residue[name], atol=1e-6)
        for name in a.sequence:
            np.testing.assert_allclose(a.sequence[name], b.sequence[name], atol=1e-6)
    ids = [e.id for w in concurrent for e in w.examples]
    assert ids == [f"p{i}" for i in range(30)]


def test_a_failing_batch_raises_in_the_caller_and_leaves_no_threads(two_threads: None) -> None:
    bundle = _bundle()
    calls = {"n": 0}
    real = bundle.model.predict

    def flaky(tokens: torch.Tensor, lengths: torch.Tensor) -> dict:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom in batch 3")
        return real(tokens, lengths)

    bundle.model.predict = flaky  # type: ignore[method-assign]
    options = PredictOptions(precision="fp32", batch_tokens=400, window_tokens=800, workers=2)
    with pytest.raises(RuntimeError, match="boom in batch 3"):
        list(iter_predictions(bundle, _records(), options, torch.device("cpu")))
    assert not [t for t in threading.enumerate() if t.name.startswith(("seqrnn-batch", "seqrnn-direction"))]


def test_worker_count_follows_threads_and_device(two_threads: None) -> None:
    with BatchRunner(0, torch.device("cpu")) as runner:
        assert (runner.workers, runner.threads_each) == (2, 1)
    with BatchRunner(1, torch.device("cpu")) as runner:
        assert (runner.workers, runner.threads_each) == (1, 2)
    with BatchRunner(8, torch.device("cpu")) as runner:
        assert runner.workers == 2  # never more workers than threads
    with BatchRunner(0, torch.device("cuda")) as runner:
        assert runner.workers == 1  # one stream of batches on a GPU


def test_batch_limits_are_shared_by_the_workers(two_threads: None) -> None:
    bundle = _bundle()
    shapes: list[tuple[int, int]] = []
    real = bundle.model.predict

    def recording(tokens: torch.Tensor, lengths: torch.Tensor) -> dict:
        shapes.append(tuple(tokens.shape))
        return real(tokens, lengths)

    bundle.model.predict = recording  # type: ignore[method-assign]
    options = PredictOptions(precision="fp32", batch_tokens=800, batch_size=6, workers=2)
    list(iter_predictions(bundle, _records(), options, torch.device("cpu")))
    # Two batches in flight hold no more than one batch of the limits given.
    assert max(b for b, _ in shapes) <= 3
    assert max(b * n for b, n in shapes if b > 1) <= 400


class _CountingHelper:
    def __init__(self) -> None:
        self.pool = SpareThreads(2)
        self.lent = 0

    def try_submit(self, fn: Callable[[torch.Tensor], object], x: torch.Tensor) -> Future | None:
        future = self.pool.try_submit(fn, x)
        self.lent += future is not None
        return future


@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=NEEDS_BF16)])
def test_lent_backward_directions_give_identical_outputs(precision: str) -> None:
    model = _bundle().model
    texts = ["".join(np.random.default_rng(i).choice(ALPHABET, size=n)) for i, n in enumerate([90, 40, 7])]
    tokens, lengths = fixed_input(ProteinEncoder(), texts)
    helper = _CountingHelper()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        alone = model.predict(tokens, lengths)
        with direction_helper(helper):
            lent = model.predict(tokens, lengths)
    helper.pool.shutdown()
    assert helper.lent == len(model.rnn)  # every layer's backward direction ran on the helper
    for name in alone:
        assert torch.equal(alone[name], lent[name])


def test_directions_are_not_lent_with_gradients() -> None:
    model = _bundle().model
    tokens, lengths = fixed_input(ProteinEncoder(), ["ACDEFGHIKL"])
    helper = _CountingHelper()
    with direction_helper(helper):
        model(tokens, lengths)  # autograd graphs stay in one thread
    helper.pool.shutdown()
    assert helper.lent == 0


def test_spare_threads_lend_only_idle_threads() -> None:
    spare = SpareThreads(2)
    release = threading.Event()
    spare.queued()
    with spare.hold():  # one batch running, none queued: one thread is idle
        lent = spare.try_submit(lambda x: release.wait(5), torch.zeros(1))
        assert lent is not None
        assert spare.try_submit(lambda x: x, torch.zeros(1)) is None  # both threads busy
        release.set()
        lent.result()
        spare.queued()  # another batch waits for a worker: it gets the thread, not a direction
        assert spare.try_submit(lambda x: x, torch.zeros(1)) is None
        with spare.hold():  # two batches on two threads: nothing to lend
            assert spare.try_submit(lambda x: x, torch.zeros(1)) is None
    spare.shutdown()


@NEEDS_BF16
def test_bf16_batches_keep_to_multiples_of_8_rows(two_threads: None) -> None:
    bundle = _bundle()
    rows: list[int] = []
    real = bundle.model.predict

    def recording(tokens: torch.Tensor, lengths: torch.Tensor) -> dict:
        rows.append(tokens.shape[0])
        return real(tokens, lengths)

    bundle.model.predict = recording  # type: ignore[method-assign]
    records = _records(n=300, seed=1)
    for precision in ("fp32", "bf16"):
        rows.clear()
        options = PredictOptions(precision=precision, batch_tokens=20000, workers=2)
        results = list(iter_predictions(bundle, records, options, torch.device("cpu")))
        assert sum(rows) == 300 and [e.id for w in results for e in w.examples] == [r.id for r in records]
        odd = [b for b in rows if b > 48 and b % 8]
        assert (odd == []) == (precision == "bf16")
