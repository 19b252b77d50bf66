"""The training phases of seqrnn.training.trainer, one at a time, on tiny synthetic tables.

prepare_run -> build_data -> build_model -> encode_data -> build_fit -> fit -> finish; ``train`` is
those in order (the last test checks that calling them by hand gives the same model).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from seqrnn.encoding.examples import collate
from seqrnn.errors import ConfigError, UsageError
from seqrnn.models.bundle import load_bundle
from seqrnn.resources.synthetic import dna_binding_rows, protein_ss_rows, write_table
from seqrnn.training import trainer
from seqrnn.training.checkpoint import Progress
from seqrnn.training.config import RunConfig, config_from_mapping
from seqrnn.training.outcome import Monitor

TINY_MODEL = {"hidden": 8, "layers": 1, "embed_dim": 4, "dropout": 0.0, "head_dropout": 0.0}
SS3 = {"name": "ss3", "kind": "residue_classification", "columns": ["dssp3"]}  # classes from the data
QUIET: dict[str, Any] = {"log": lambda _m: None, "progress": False}


@pytest.fixture(scope="module")
def proteins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 short proteins: 26 train / 10 valid / 4 test with the fractions below."""
    path = tmp_path_factory.mktemp("data") / "proteins.csv"
    return write_table(protein_ss_rows(40, seed=1, min_len=20, max_len=50), path)


def _config(data: Path, out: Path, seed: int = 0, **train: Any) -> RunConfig:
    return config_from_mapping(
        {
            "encoder": "protein",
            "seed": seed,
            "output_dir": str(out),
            "data": {
                "train": str(data),
                "valid_fraction": 0.25,
                "test_fraction": 0.1,
                "mask_columns": ["disorder"],
            },
            "heads": [SS3],
            "model": TINY_MODEL,
            "train": {
                "epochs": 2,
                "threads": 1,
                "lr": 0.02,
                "warmup_steps": 0,
                "batch_tokens": 300,  # a few optimiser steps per epoch
                "device": "cpu",
                **train,
            },
        }
    )


def _until_fit(config: RunConfig, resume: bool = False) -> trainer.Training:
    """The phases up to build_fit, as train runs them."""
    session = trainer.prepare_run(config, resume, **QUIET)
    records, inputs = trainer.build_data(session)
    learner = trainer.build_model(session, inputs)
    data = trainer.encode_data(session, records, inputs, learner)
    return trainer.build_fit(session, inputs, learner, data)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------------------------------------
# prepare_run


def test_prepare_run_checks_the_run_directory_and_seeds_every_generator(
    proteins: Path, tmp_path: Path
) -> None:
    config = _config(proteins, tmp_path / "run", seed=7)
    session = trainer.prepare_run(config, **QUIET)
    assert session.config is config and session.run.root == tmp_path / "run"
    assert session.ctx.world == 1 and session.ctx.main and session.device == torch.device("cpu")
    assert not session.resume and not (tmp_path / "run").exists()  # nothing is created before the data
    drawn = torch.rand(3), np.random.random(3)
    torch.manual_seed(7)
    np.random.seed(7)
    assert torch.equal(drawn[0], torch.rand(3)) and np.array_equal(drawn[1], np.random.random(3))

    with pytest.raises(UsageError, match="no checkpoint"):
        trainer.prepare_run(config, resume=True, **QUIET)
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.pt").write_bytes(b"")
    with pytest.raises(UsageError, match="already holds a run"):
        trainer.prepare_run(config, **QUIET)


# --------------------------------------------------------------------------------------------------------
# build_data


def test_build_data_splits_by_the_fractions_and_the_seed(proteins: Path, tmp_path: Path) -> None:
    config = _config(proteins, tmp_path / "run")
    records, inputs = trainer.build_data(trainer.prepare_run(config, **QUIET))
    parts = {p: [r.id for r in getattr(records, p)] for p in ("train", "valid", "test")}
    assert {p: len(ids) for p, ids in parts.items()} == {"train": 26, "valid": 10, "test": 4}
    assert sorted(rid for ids in parts.values() for rid in ids) == sorted(
        f"prot{i}" for i in range(40)
    )  # disjoint, complete
    assert inputs.split == {"method": "random", "seed": 0, "train": 26, "valid": 10, "test": 4, "rejected": 0}
    assert [(part, rid) for part, _, _, rid in inputs.split_rows] == [
        (p, rid) for p, ids in parts.items() for rid in ids
    ]
    assert inputs.rejected == [] and inputs.resumed is None and inputs.start_epoch == 0
    # Fitted on the training part: the classes of ss3, the protein alphabet.
    assert inputs.specs[0]["name"] == "ss3" and inputs.specs[0]["classes"] == ["C", "E", "H"]
    assert inputs.meta == {"encoder": inputs.encoder.to_config(), "heads": inputs.specs}
    assert inputs.augmentation is None

    again, _ = trainer.build_data(trainer.prepare_run(config, **QUIET))
    assert [r.id for r in again.valid] == parts["valid"]  # same seed, same split
    other = _config(proteins, tmp_path / "other", seed=1)
    reseeded, _ = trainer.build_data(trainer.prepare_run(other, **QUIET))
    assert [r.id for r in reseeded.valid] != parts["valid"]


# --------------------------------------------------------------------------------------------------------
# build_model


def test_build_model_matches_the_config_and_the_seed(proteins: Path, tmp_path: Path) -> None:
    config = _config(proteins, tmp_path / "run")
    session = trainer.prepare_run(config, **QUIET)
    _, inputs = trainer.build_data(session)
    learner = trainer.build_model(session, inputs)
    model = learner.model
    assert len(model.rnn) == 1
    for direction in ("fwd", "bwd"):
        cell = model.rnn[0][direction]
        assert isinstance(cell, torch.nn.LSTM)
        assert (cell.input_size, cell.hidden_size) == (4, 8)
    assert model.embed.num_embeddings == inputs.encoder.vocab_size
    assert [h.name for h in learner.heads] == ["ss3"] and learner.heads[0] is model.heads["ss3"]
    assert learner.heads[0].net[-1].out_features == 3  # C, E, H
    assert learner.distiller is None and set(inputs.meta) == {"encoder", "heads"}
    assert learner.trainable_parameters == sum(p.numel() for p in model.parameters())

    def built(seed: int, **train: Any) -> trainer.Learner:
        s = trainer.prepare_run(_config(proteins, tmp_path / f"run{seed}", seed=seed, **train), **QUIET)
        return trainer.build_model(s, trainer.build_data(s)[1])

    assert _same(_weights(built(0).model), _weights(model))  # the seed fixes the initial weights
    assert not _same(_weights(built(1).model), _weights(model))

    gru = config_from_mapping({**config.to_dict(), "model": {**TINY_MODEL, "cell": "gru", "layers": 2}})
    s = trainer.prepare_run(gru, **QUIET)
    two = trainer.build_model(s, trainer.build_data(s)[1]).model
    assert len(two.rnn) == 2 and isinstance(two.rnn[1]["fwd"], torch.nn.GRU)
    assert two.rnn[1]["fwd"].input_size == 16  # both directions of the layer below

    frozen = built(0, freeze=["rnn"])
    assert not any(p.requires_grad for p in frozen.model.rnn.parameters())
    assert frozen.trainable_parameters == sum(
        p.numel() for n, p in frozen.model.named_parameters() if not n.startswith("rnn.")
    )


# --------------------------------------------------------------------------------------------------------
# encode_data


def test_encode_data_makes_one_example_per_record_then_the_run_directory(
    proteins: Path, tmp_path: Path
) -> None:
    lines: list[str] = []
    session = trainer.prepare_run(_config(proteins, tmp_path / "run"), log=lines.append, progress=False)
    records, inputs = trainer.build_data(session)
    learner = trainer.build_model(session, inputs)
    assert not (tmp_path / "run").exists()
    data = trainer.encode_data(session, records, inputs, learner)
    assert (tmp_path / "run" / "checkpoints").is_dir()
    for part in ("train", "valid", "test"):
        examples, recs = getattr(data, part), getattr(records, part)
        assert [e.id for e in examples] == [r.id for r in recs]
        assert [e.tokens.size for e in examples] == [
            len(r.text.split()) for r in recs
        ]  # space-separated residues
    assert data.train_texts == []  # no augmentation: no texts kept
    batch = collate(data.train[:2], learner.heads)
    assert batch.targets["ss3"].shape == batch.tokens.shape  # one class per residue
    assert lines[-1].startswith("data: 26 train / 10 valid / 4 test sequences (random split), ")
    assert f"model: lstm 1x8, {learner.trainable_parameters:,} parameters" in lines[-1]


# --------------------------------------------------------------------------------------------------------
# build_fit


def test_build_fit_writes_the_start_files_and_picks_the_monitor(proteins: Path, tmp_path: Path) -> None:
    training = _until_fit(_config(proteins, tmp_path / "run"))
    fitting, run = training.fit, tmp_path / "run"
    assert training.monitor == Monitor("ss3/accuracy", higher=True)
    assert training.progress == Progress(-math.inf)
    assert fitting.train_model is fitting.learner.model  # one process: not wrapped
    assert list(fitting.lengths) == [e.tokens.size for e in fitting.data.train]
    assert fitting.steps_per_epoch > 1
    optimised = [p for group in fitting.optimizer.param_groups for p in group["params"]]
    assert sum(p.numel() for p in optimised) == fitting.learner.trainable_parameters
    assert fitting.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)  # no warm-up
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "config.yaml", "run.json", "split.tsv"]
    record = json.loads((run / "run.json").read_text())
    assert record["split"] == fitting.inputs.split and record["seed"] == 0
    assert record["data_fingerprint"] == training.fingerprint and training.fingerprint.startswith("sha256:")
    assert len((run / "split.tsv").read_text().splitlines()) == 1 + 40


def test_build_fit_refuses_a_monitor_no_head_reports(proteins: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="monitor"):
        _until_fit(_config(proteins, tmp_path / "run", monitor="ss3/mean_rmse"))


# --------------------------------------------------------------------------------------------------------
# fit


def _training_loss(training: trainer.Training) -> float:
    """The summed head losses over the whole training part, in eval mode."""
    fitting = training.fit
    model, heads = fitting.learner.model, fitting.learner.heads
    batch = collate(fitting.data.train, heads)
    model.eval()
    with torch.no_grad():
        logits = model(batch.tokens, batch.lengths)
        return float(sum(h.loss(logits[h.name], batch.targets[h.name]) for h in heads))


def test_one_epoch_of_fit_lowers_the_training_loss_and_repeats_with_the_seed(
    proteins: Path, tmp_path: Path
) -> None:
    training = _until_fit(_config(proteins, tmp_path / "run"))
    before, loss_before = _weights(training.fit.learner.model), _training_loss(training)
    assert trainer.fit(training, stop_after=1) == 1
    after = _weights(training.fit.learner.model)
    assert not _same(before, after)
    assert _training_loss(training) < loss_before
    run = tmp_path / "run"
    (line,) = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert line["epoch"] == 1 and line["best"] and line["monitor"] == "ss3/accuracy"
    assert training.progress.best_epoch == 1 and training.progress.best == line["value"]
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 1 and last["step_in_epoch"] == 0
    assert _same(last["model"], after) and (run / "model.pt").is_file()

    again = _until_fit(_config(proteins, tmp_path / "again"))
    trainer.fit(again, stop_after=1)
    assert _same(_weights(again.fit.learner.model), after)  # same seed, same weights
    other = _until_fit(_config(proteins, tmp_path / "other", seed=3))
    trainer.fit(other, stop_after=1)
    assert not _same(_weights(other.fit.learner.model), after)


def test_fit_continues_a_resumed_run_at_its_next_epoch(proteins: Path, tmp_path: Path) -> None:
    config = _config(proteins, tmp_path / "run", epochs=3)
    first = _until_fit(config)
    assert trainer.fit(first, stop_after=1) == 1
    resumed = _until_fit(config, resume=True)
    assert resumed.fit.inputs.start_epoch == 1 and resumed.progress.best_epoch == 1
    assert _same(_weights(resumed.fit.learner.model), _weights(first.fit.learner.model))
    assert trainer.fit(resumed) == 3
    epochs = [json.loads(x)["epoch"] for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2, 3]


def test_fit_stops_early_after_patience_epochs_without_gain(proteins: Path, tmp_path: Path) -> None:
    training = _until_fit(_config(proteins, tmp_path / "run", epochs=5, patience=1, lr=1e-9))
    epochs_run = trainer.fit(training)
    # With a learning rate this small the accuracy cannot rise: epoch 1 is the best, epoch 2 ends it.
    assert epochs_run == 2 and training.progress.best_epoch == 1 and training.progress.bad_epochs == 1


# --------------------------------------------------------------------------------------------------------
# finish


def test_finish_scores_the_test_part_and_returns_the_result(proteins: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    config = _config(proteins, tmp_path / "run")
    session = trainer.prepare_run(config, log=lines.append, progress=False)
    records, inputs = trainer.build_data(session)
    learner = trainer.build_model(session, inputs)
    training = trainer.build_fit(
        session, inputs, learner, trainer.encode_data(session, records, inputs, learner)
    )
    result = trainer.finish(training, trainer.fit(training))
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints", "config.yaml", "metrics.jsonl", "model.pt", "run.json", "split.tsv", "test_metrics.json",
    ]  # fmt: skip
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.pt", "last.pt"]
    scored = json.loads((run / "test_metrics.json").read_text())
    assert scored["n_test"] == 4 and scored["epoch"] == result.best_epoch
    assert scored["model_sha256"] == load_bundle(run / "model.pt").sha256
    assert result.test_metrics is not None
    assert result.test_metrics["ss3"]["accuracy"] == scored["metrics"]["ss3"]["accuracy"]
    assert (result.output_dir, result.model_path, result.epochs_run) == (run, run / "model.pt", 2)
    assert result.monitor == "ss3/accuracy" and result.best_value == training.progress.best
    assert result.valid_metrics["ss3"]["accuracy"] == result.best_value and result.is_main
    assert any(line.startswith("test (4 records, best epoch ") for line in lines)


def test_finish_of_a_stopped_run_scores_nothing(proteins: Path, tmp_path: Path) -> None:
    training = _until_fit(_config(proteins, tmp_path / "run"))
    result = trainer.finish(training, trainer.fit(training, stop_after=1))
    assert result.epochs_run == 1 and result.test_metrics is None
    assert not (tmp_path / "run" / "test_metrics.json").exists()


def test_finish_stores_automatic_decision_thresholds(tmp_path: Path) -> None:
    data = write_table(dna_binding_rows(60, seed=2, length=30), tmp_path / "dna.tsv", "\t")
    config = config_from_mapping(
        {
            "encoder": "dna",
            "output_dir": str(tmp_path / "run"),
            "data": {"train": str(data), "sequence_column": "seq", "valid_fraction": 0.3},
            "heads": [
                {
                    "name": "bound",
                    "kind": "sequence_classification",
                    "columns": ["Bound"],
                    "threshold": "auto",
                }
            ],
            "model": TINY_MODEL,
            "train": {"epochs": 1, "threads": 1, "warmup_steps": 0, "device": "cpu"},
        }
    )
    lines: list[str] = []
    training = _until_fit(config)
    training.fit.session.log = lines.append
    trainer.finish(training, trainer.fit(training))
    threshold = load_bundle(tmp_path / "run" / "model.pt").model.heads["bound"].spec.threshold
    assert isinstance(threshold, float) and 0.0 < threshold < 1.0
    assert any(line.startswith(f"decision threshold for bound: {threshold:.4f}") for line in lines)


# --------------------------------------------------------------------------------------------------------
# the monitor, and train as the phases in order


def test_the_monitor_reads_and_compares_the_metric() -> None:
    low = Monitor("logs/mean_rmse", higher=False)
    assert low.start() == Progress(math.inf)
    assert low.value({"logs": {"mean_rmse": 0.5, "n": 3}}) == 0.5
    assert low.improves(0.5, Progress(0.6, 1)) and not low.improves(0.7, Progress(0.6, 1))
    assert low.improves(math.nan, Progress(math.inf)) and not low.improves(math.nan, Progress(0.6, 1))
    with pytest.raises(ConfigError, match="no scalar metric 'mean_rmse'"):
        low.value({"logs": {"per_target": [0.1]}})


def test_train_is_the_phases_in_order(proteins: Path, tmp_path: Path) -> None:
    result = trainer.train(_config(proteins, tmp_path / "train"), **QUIET)
    training = _until_fit(_config(proteins, tmp_path / "phases"))
    by_hand = trainer.finish(training, trainer.fit(training))
    assert _same(
        load_bundle(result.model_path).model.state_dict(), load_bundle(by_hand.model_path).model.state_dict()
    )
    assert (result.best_epoch, result.best_value, result.epochs_run, result.test_metrics) == (
        by_hand.best_epoch,
        by_hand.best_value,
        by_hand.epochs_run,
        by_hand.test_metrics,
    )
