"""Long inputs: one very long chain is predicted in time chunks with memory linear in its length and a
small constant, with the dense path's outputs; a long SMILES's views parse the molecule once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from seqrnn.models import chunked, rnn
from seqrnn.models.heads import HeadSpec
from seqrnn.models.rnn import ModelConfig, SeqRNN


def _model(seed: int = 0, branch: int | None = None, **config: object) -> SeqRNN:
    torch.manual_seed(seed)
    specs = [
        HeadSpec(name="ss", kind="residue_classification", classes=["H", "E", "C"]),
        HeadSpec(name="y", kind="sequence_regression", classes=["y"], mean=[1.5], std=[2.0], hidden=6),
    ]
    if branch:  # a residue head with its own BiLSTM over the front features, beside a plain one
        specs.append(HeadSpec(name="dis", kind="residue_classification", classes=["o", "d"], branch=branch))
    if config.get("conv_pool", 1) != 1:
        specs = specs[1:]  # residue heads do not take pooled positions
    model = SeqRNN(ModelConfig(**config), vocab_size=22, head_specs=specs)  # type: ignore[arg-type]
    # Non-zero biases, so state carried across chunk borders matters.
    for param in model.parameters():
        param.data.add_(0.05 * torch.randn_like(param))
    return model.eval()


def _dense(model: SeqRNN, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
    logits = model(tokens, lengths)
    return {name: head.postprocess(logits[name]) for name, head in model.heads.items()}


@pytest.mark.parametrize(
    ("config", "length", "chunk"),
    [
        ({"cell": "lstm", "hidden": 16, "layers": 2, "conv_channels": 8, "conv_kernel": 9}, 301, 64),
        ({"cell": "gru", "hidden": 12, "layers": 3, "conv_channels": 6, "conv_layers": 2}, 250, 37),
        ({"cell": "lstm", "hidden": 8, "layers": 1}, 129, 50),
        ({"cell": "gru", "hidden": 8, "layers": 2, "conv_channels": 6, "conv_pool": 3}, 200, 40),
        ({"cell": "lstm", "hidden": 8, "layers": 2}, 40, 4096),  # one chunk
        ({"cell": "lstm", "hidden": 8, "layers": 2, "conv_channels": 6, "branch": 5}, 180, 41),
        ({"cell": "gru", "hidden": 8, "layers": 1, "branch": 3}, 90, 30),  # branch on the embedding
    ],
)
def test_chunked_matches_dense(config: dict[str, object], length: int, chunk: int) -> None:
    model = _model(**config)
    tokens = torch.randint(1, 22, (1, length), generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([length])
    with torch.inference_mode():
        want = _dense(model, tokens, lengths)
        got = chunked.predict_chunked(model, tokens, lengths, chunk=chunk)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].shape == want[name].shape
        assert got[name].dtype == torch.float32
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-5)


def test_predict_takes_the_chunked_path_only_for_one_long_sequence(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(hidden=8, layers=2, conv_channels=4)
    calls: list[tuple[int, ...]] = []
    real = chunked.predict_chunked

    def spy(model: SeqRNN, tokens: torch.Tensor, lengths: torch.Tensor, chunk: int | None = None):
        calls.append(tuple(tokens.shape))
        return real(model, tokens, lengths, chunk)

    monkeypatch.setattr(rnn, "predict_chunked", spy)
    monkeypatch.setattr(chunked, "LONG_SEQUENCE", 100)
    monkeypatch.setattr(chunked, "CHUNK_POSITIONS", 32)
    long_one = torch.randint(1, 22, (1, 150))
    with torch.inference_mode():
        got = model.predict(long_one, torch.tensor([150]))
        want = _dense(model, long_one, torch.tensor([150]))
        model.predict(long_one[:, :100], torch.tensor([100]))  # not longer than the threshold
        two = torch.randint(1, 22, (2, 150))
        model.predict(two, torch.tensor([150, 150]))  # batches of several stay dense
    model.predict(long_one, torch.tensor([150]))  # with gradients (training, attributions): dense
    assert calls == [(1, 150)]
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-5)


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, {tests!r})
    from test_long_inputs import _model

    model = _model(hidden={hidden}, layers=2, conv_channels=32)
    peaks = []
    with torch.inference_mode():
        for n in {lengths!r}:
            model.predict(torch.randint(1, 22, (1, n)), torch.tensor([n]))
            peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(json.dumps(peaks))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KB on Linux")
def test_one_long_chain_costs_a_few_kb_per_residue() -> None:
    # The growth of peak memory from a 20,000- to a 50,000-residue chain, per residue: fixed costs (kernel
    # set-up, a chunk's activations) are paid by the first chain already. Hidden 128: the stored
    # lower-layer outputs are 2 * 128 float32 = 1 KB per residue; the dense path held about 6 KB.
    lengths, hidden = (20_000, 50_000), 128
    tests = str(Path(__file__).parent)
    script = _MEMORY_SCRIPT.format(tests=tests, lengths=lengths, hidden=hidden)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        check=True,
    )
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    per_residue = (second - first) / (lengths[1] - lengths[0])
    assert per_residue < 2.0, f"{per_residue:.2f} KB per residue (peak RSS {first} -> {second} KB)"


def test_smiles_views_parse_the_molecule_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rdkit")
    from seqrnn.encoding import chem

    text = "CCOc1ccc(C)cc1" * 40
    # The views as they are defined: the input, then random_smiles drawn in turn from the seeded rng.
    rng = np.random.default_rng(chem.stable_seed(text))
    want = [text] + [chem.random_smiles(text, rng) for _ in range(7)]

    parsed: list[str] = []
    to_mol = chem.to_mol

    def counting(smiles: str):  # type: ignore[no-untyped-def]
        parsed.append(smiles)
        return to_mol(smiles)

    monkeypatch.setattr(chem, "to_mol", counting)
    assert chem.smiles_views(text, 8) == want
    # Sanitising grows faster than the molecule (RDKit's kekulisation), so once, not once per view.
    assert parsed == [text]
