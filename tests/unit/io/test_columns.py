"""Tests for seqrnn.io.columns: the export columns of a head, by its kind and level."""

from __future__ import annotations

import numpy as np
import pytest

from seqrnn.io.columns import decide, residue_columns, sequence_columns

ROWS = np.array([[0.25, 0.75], [0.6, 0.4]], dtype=np.float32)


def test_classification_calls_a_class_then_gives_probabilities() -> None:
    columns = sequence_columns("sequence_classification", "y", ["a", "b"])
    assert columns.names == ["pred_y", "pred_y_Pa", "pred_y_Pb"]
    assert columns.std_names == ["pred_y_Pa_std", "pred_y_Pb_std"]
    assert columns.rows(ROWS) == [["b", "0.2500", "0.7500"], ["a", "0.6000", "0.4000"]]
    arrays = columns.arrays(ROWS)
    assert list(arrays) == columns.names and arrays["pred_y"].tolist() == ["b", "a"]
    assert np.array_equal(arrays["pred_y_Pb"], ROWS[:, 1])
    # A two-class head's stored threshold calls the second class at P >= it.
    low = sequence_columns("sequence_classification", "y", ["a", "b"], threshold=0.3)
    assert low.calls(ROWS).tolist() == ["b", "b"]
    assert low.cells(ROWS[1]) == ["b", "0.6000", "0.4000"]


def test_regression_values_in_units() -> None:
    one = sequence_columns("sequence_regression", "logs", ["measured log solubility"])
    assert one.names == ["pred_logs"] and one.std_names == ["pred_logs_std"]
    assert one.cells(np.array([1.23456789])) == ["1.23457"]
    assert one.std_cells(np.array([0.000123456])) == ["0.000123456"]
    two = sequence_columns("sequence_regression", "r", ["a", "b"])
    assert two.names == ["pred_r_a", "pred_r_b"] and two.std_names == ["pred_r_a_std", "pred_r_b_std"]


@pytest.mark.parametrize("kind", ["sequence_multilabel", "", "made_up"])
def test_probabilities_per_label(kind: str) -> None:
    columns = sequence_columns(kind, "tox", ["a", "b"])
    assert columns.names == ["pred_tox_Pa", "pred_tox_Pb"] and not columns.called
    assert columns.rows(ROWS)[0] == ["0.2500", "0.7500"]
    assert list(columns.std_arrays(ROWS)) == ["pred_tox_Pa_std", "pred_tox_Pb_std"]


def test_residue_columns_are_the_tsv_export_s() -> None:
    columns = residue_columns("ss3", ["H", "E", "C"])
    assert columns.names == ["ss3", "ss3_PH", "ss3_PE", "ss3_PC"]
    assert columns.std_names == ["ss3_PH_std", "ss3_PE_std", "ss3_PC_std"]
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2]], dtype=np.float32)
    assert columns.rows(probs) == [["C", "0.1000", "0.2000", "0.7000"], ["H", "0.5000", "0.3000", "0.2000"]]
    assert columns.std_rows(probs[:1]) == [["0.1000", "0.2000", "0.7000"]]


@pytest.mark.parametrize("threshold", [None, 0.3, 0.9])
def test_decide_cuts_two_classes_and_takes_argmax_otherwise(threshold: float | None) -> None:
    probs = np.random.default_rng(0).dirichlet([1, 1], size=50)
    expected = probs.argmax(1) if threshold is None else (probs[:, 1] >= threshold).astype(int)
    assert np.array_equal(decide(probs, threshold), expected)
    three = np.random.default_rng(1).dirichlet([1, 1, 1], size=50)
    assert np.array_equal(decide(three, threshold), three.argmax(1))
    assert decide(np.zeros((0, 2))).shape == (0,)
