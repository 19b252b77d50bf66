"""Concurrent CPU batch workers: same outputs and order as running batches inline, errors surface, no leaks."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from seqrnn.bundle import ModelBundle
from seqrnn.data.records import Record
from seqrnn.encoders import ProteinEncoder
from seqrnn.predict import BatchRunner, PredictOptions, iter_predictions
from tests.unit.test_bundle import tiny_model

ALPHABET = np.array(list("ACDEFGHIKLMNPQRSTVWY"))


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
    assert not [t for t in threading.enumerate() if t.name.startswith("seqrnn-batch")]


def test_worker_count_follows_threads_and_device(two_threads: None) -> None:
    with BatchRunner(PredictOptions(), torch.device("cpu")) as runner:
        assert (runner.workers, runner.threads_each) == (2, 1)
    with BatchRunner(PredictOptions(workers=1), torch.device("cpu")) as runner:
        assert (runner.workers, runner.threads_each) == (1, 2)
    with BatchRunner(PredictOptions(workers=8), torch.device("cpu")) as runner:
        assert runner.workers == 2  # never more workers than threads
    with BatchRunner(PredictOptions(), torch.device("cuda")) as runner:
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
