"""Tests for seqrnn.models.metrics: hand-computed examples, edge cases and property tests against brute force."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqrnn.models.metrics import (
    binary_auprc,
    binary_auroc,
    classification_metrics,
    format_table,
    multilabel_metrics,
    regression_metrics,
)
from seqrnn.models.metrics_base import average_ranks as _average_ranks


def one_hot_probs(pred: list[int], c: int) -> np.ndarray:
    """Probabilities whose argmax is ``pred`` (0.6 on the predicted class, the rest shared)."""
    p = np.full((len(pred), c), 0.4 / (c - 1))
    p[np.arange(len(pred)), pred] = 0.6
    return p


def brute_auroc(y: np.ndarray, s: np.ndarray) -> float:
    pos = s[y == 1]
    neg = s[y == 0]
    total = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return total / (len(pos) * len(neg))


def brute_auprc(y: np.ndarray, s: np.ndarray) -> float:
    """Precision at each distinct threshold (score >= t), weighted by the recall gained there."""
    n_pos = int((y == 1).sum())
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        sel = s >= t
        tp = int((y[sel] == 1).sum())
        recall = tp / n_pos
        ap += (recall - prev_recall) * tp / int(sel.sum())
        prev_recall = recall
    return ap


def all_plain(obj: object) -> bool:
    """True if obj is built only from dict/list/str/int/float/bool (no numpy scalars)."""
    if isinstance(obj, dict):
        return all(isinstance(k, str) and all_plain(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(all_plain(v) for v in obj)
    return type(obj) in (str, int, float, bool)


# --------------------------------------------------------------------------------------------------------
# _average_ranks


def test_average_ranks_ties() -> None:
    x = np.array([10.0, 20.0, 20.0, 5.0, 20.0])
    np.testing.assert_array_equal(_average_ranks(x), [2.0, 4.0, 4.0, 1.0, 4.0])


def test_average_ranks_infinite_ties_stay_together() -> None:
    x = np.array([np.inf, 1.0, np.inf, -np.inf])
    np.testing.assert_array_equal(_average_ranks(x), [3.5, 2.0, 3.5, 1.0])


def test_average_ranks_empty() -> None:
    assert _average_ranks(np.array([])).shape == (0,)


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=40))
def test_average_ranks_sum_and_order(values: list[int]) -> None:
    x = np.array(values, dtype=float)
    r = _average_ranks(x)
    n = len(values)
    assert r.sum() == pytest.approx(n * (n + 1) / 2)
    # Ranks follow the values: equal values share a rank, larger values have larger ranks.
    for i in range(n):
        for j in range(n):
            assert (x[i] < x[j]) == (r[i] < r[j])
            assert (x[i] == x[j]) == (r[i] == r[j])


# --------------------------------------------------------------------------------------------------------
# AUROC / AUPRC


def test_auroc_perfect_reversed_tied() -> None:
    y = np.array([0, 0, 1, 1])
    assert binary_auroc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert binary_auroc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert binary_auroc(y, np.full(4, 0.5)) == 0.5


def test_auroc_hand_computed_with_ties() -> None:
    # positives {0.4, 0.8, 0.9}, negatives {0.1, 0.4, 0.8}:
    # 0.4 -> 1 + 0.5 tie; 0.8 -> 2 + 0.5 tie; 0.9 -> 3; total 7 of 9 pairs.
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.4, 0.8, 0.8, 0.9])
    assert binary_auroc(y, s) == pytest.approx(7 / 9)


def test_auroc_one_class_is_nan() -> None:
    assert math.isnan(binary_auroc(np.ones(3), np.array([0.1, 0.2, 0.3])))
    assert math.isnan(binary_auroc(np.zeros(3), np.array([0.1, 0.2, 0.3])))
    assert math.isnan(binary_auroc(np.array([]), np.array([])))


def test_auroc_nan_score_is_nan() -> None:
    assert math.isnan(binary_auroc(np.array([0, 1]), np.array([0.1, np.nan])))


def test_binary_labels_validated() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        binary_auroc(np.array([-1, 1]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="length"):
        binary_auroc(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))


def test_auprc_hand_computed() -> None:
    # Thresholds high->low: (P=1, R=1/3), (1/2, 1/3), (2/3, 2/3), (3/4, 1), (3/5, 1)
    # AP = 1/3·1 + 1/3·2/3 + 1/3·3/4 = 29/36.
    y = np.array([1, 0, 1, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert binary_auprc(y, s) == pytest.approx(29 / 36)


def test_auprc_ties_enter_together() -> None:
    # 0.8 admits one positive and one negative at once: (P=1/2, R=1/2); then 0.4: (2/3, 1).
    # AP = 1/2·1/2 + 1/2·2/3 = 7/12 (not 1/2·1 + ..., which a per-sample sweep would give).
    y = np.array([1, 0, 1, 0])
    s = np.array([0.8, 0.8, 0.4, 0.2])
    assert binary_auprc(y, s) == pytest.approx(7 / 12)
    # The order of tied samples must not matter.
    assert binary_auprc(y[[1, 0, 2, 3]], s[[1, 0, 2, 3]]) == pytest.approx(7 / 12)


def test_auprc_edges() -> None:
    assert binary_auprc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert binary_auprc(np.ones(3), np.array([0.1, 0.5, 0.9])) == 1.0
    assert math.isnan(binary_auprc(np.zeros(3), np.array([0.1, 0.5, 0.9])))
    assert math.isnan(binary_auprc(np.array([]), np.array([])))
    # All tied: precision is the positive rate.
    assert binary_auprc(np.array([1, 0, 0, 0]), np.full(4, 0.3)) == pytest.approx(0.25)


binary_data = st.integers(2, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 6), min_size=n, max_size=n),  # small range -> many ties
    )
)


@given(binary_data)
def test_auroc_matches_pairwise_count(data: tuple[list[int], list[int]]) -> None:
    y, s = np.array(data[0]), np.array(data[1], dtype=float) / 6
    if 0 < y.sum() < len(y):
        assert binary_auroc(y, s) == pytest.approx(brute_auroc(y, s))
    else:
        assert math.isnan(binary_auroc(y, s))


@given(binary_data)
def test_auroc_negated_scores_complement(data: tuple[list[int], list[int]]) -> None:
    # Holds with ties too: a tied pair counts 1/2 either way.
    y, s = np.array(data[0]), np.array(data[1], dtype=float)
    if 0 < y.sum() < len(y):
        assert binary_auroc(y, s) + binary_auroc(y, -s) == pytest.approx(1.0)


@given(binary_data)
def test_auprc_matches_threshold_sweep(data: tuple[list[int], list[int]]) -> None:
    y, s = np.array(data[0]), np.array(data[1], dtype=float)
    if y.sum() > 0:
        ap = binary_auprc(y, s)
        assert ap == pytest.approx(brute_auprc(y, s))
        assert 0.0 < ap <= 1.0


# --------------------------------------------------------------------------------------------------------
# classification


def test_classification_three_class_hand_computed() -> None:
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    pred = [0, 1, 0, 1, 1, 2, 0, 2, 1]
    m = classification_metrics(y, one_hot_probs(pred, 3), ["a", "b", "c"])
    assert m["n"] == 9
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 1, 2]]
    assert m["accuracy"] == pytest.approx(6 / 9)
    # t = (3, 2, 4), p = (3, 4, 2), c = 6, s = 9: (54 - 25) / sqrt((81 - 29)(81 - 29)) = 29/52.
    assert m["mcc"] == pytest.approx(29 / 52)
    pc = m["per_class"]
    assert list(pc) == ["a", "b", "c"]
    assert pc["a"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert pc["b"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 2})
    assert pc["c"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4})
    assert m["macro_f1"] == pytest.approx(2 / 3)
    assert "auroc_macro" in m and "auroc" not in m and "auprc" not in m
    assert all_plain(m)
    json.dumps(m)


def test_classification_binary_mcc_and_auc() -> None:
    # TP=3, FN=1, FP=1, TN=3 -> MCC = (9 - 1) / sqrt(4·4·4·4) = 0.5.
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    p1 = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.1, 0.05])
    probs = np.stack([1 - p1, p1], axis=1)
    m = classification_metrics(y, probs, ["neg", "pos"])
    assert m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["mcc"] == pytest.approx(0.5)
    # Positives {.9, .8, .7, .2} vs negatives {.6, .3, .1, .05}: only .2 loses to .6 and .3 -> 14/16.
    assert m["auroc"] == pytest.approx(14 / 16)
    assert m["auprc"] == pytest.approx(binary_auprc(y, p1))
    assert "auroc_macro" not in m


def test_classification_unpredicted_class_zero_division() -> None:
    y = np.array([0, 1, 2, 2])
    m = classification_metrics(y, one_hot_probs([0, 1, 1, 1], 3), ["x", "y", "z"])
    assert m["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    # Class with no true samples: recall denominator 0 -> 0.0, support 0.
    m2 = classification_metrics(np.array([0, 0]), one_hot_probs([0, 1], 3), ["x", "y", "z"])
    assert m2["per_class"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m2["per_class"]["z"]["support"] == 0


def test_classification_constant_prediction_mcc_nan() -> None:
    m = classification_metrics(np.array([0, 1, 1]), one_hot_probs([1, 1, 1], 2), ["a", "b"])
    assert math.isnan(m["mcc"])
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_classification_auroc_macro_skips_absent_class() -> None:
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1]])
    m = classification_metrics(y, probs, ["a", "b", "c"])
    # Class c has no positives and is skipped; classes a and b separate perfectly.
    assert m["auroc_macro"] == 1.0
    # With class 0 scored backwards the mean over the two defined classes drops to 0.5.
    probs_bad = probs.copy()
    probs_bad[:, 0] = [0.1, 0.1, 0.3, 0.3]
    probs_bad[:, 1] = [0.0, 0.0, 0.7, 0.6]
    assert classification_metrics(y, probs_bad, ["a", "b", "c"])["auroc_macro"] == pytest.approx(0.5)


def test_classification_empty() -> None:
    m = classification_metrics(np.array([], dtype=int), np.empty((0, 3)), ["a", "b", "c"])
    assert m["n"] == 0
    assert math.isnan(m["accuracy"]) and math.isnan(m["mcc"]) and math.isnan(m["macro_f1"])
    assert math.isnan(m["auroc_macro"])
    assert m["confusion_matrix"] == [[0] * 3] * 3
    m2 = classification_metrics(np.array([]), np.empty((0, 2)), ["a", "b"])
    assert m2["n"] == 0 and math.isnan(m2["auroc"]) and math.isnan(m2["auprc"])
    format_table(m, "empty")


def test_classification_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        classification_metrics(np.array([0, 1]), np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        classification_metrics(np.array([0, 2]), np.zeros((2, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="unique"):
        classification_metrics(np.array([0, 1]), np.zeros((2, 2)), ["a", "a"])


labels_and_preds = st.tuples(st.integers(2, 5), st.integers(0, 40)).flatmap(
    lambda cn: st.tuples(
        st.just(cn[0]),
        st.lists(st.integers(0, cn[0] - 1), min_size=cn[1], max_size=cn[1]),
        st.lists(st.integers(0, cn[0] - 1), min_size=cn[1], max_size=cn[1]),
    )
)


@settings(max_examples=200)
@given(labels_and_preds)
def test_classification_properties(data: tuple[int, list[int], list[int]]) -> None:
    c, y_list, pred = data
    y = np.array(y_list, dtype=int)
    m = classification_metrics(y, one_hot_probs(pred, c), [f"c{k}" for k in range(c)])
    cm = np.array(m["confusion_matrix"])
    assert cm.shape == (c, c) and cm.sum() == len(y)
    assert [m["per_class"][f"c{k}"]["support"] for k in range(c)] == cm.sum(axis=1).tolist()
    if len(y):
        assert m["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        assert m["accuracy"] == pytest.approx(np.mean(y == np.array(pred)))
    assert math.isnan(m["mcc"]) or -1.0 - 1e-12 <= m["mcc"] <= 1.0 + 1e-12
    if c == 2 and not math.isnan(m["mcc"]):
        (tn, fp), (fn, tp) = cm.tolist()
        binary = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        assert m["mcc"] == pytest.approx(binary)
    if len(y) and np.array_equal(y, pred) and len(set(y_list)) > 1:
        assert m["mcc"] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------------
# multi-label


def test_multilabel_missing_labels_ignored() -> None:
    y = np.array([[0, 1], [1, np.nan], [1, 0], [0, np.nan]], dtype=float)
    p = np.array([[0.2, 0.9], [0.9, 0.1], [0.7, 0.3], [0.1, 0.8]])
    m = multilabel_metrics(y, p, ["t1", "t2"])
    assert m["n"] == 4
    t1, t2 = m["per_label"]["t1"], m["per_label"]["t2"]
    assert (t1["n"], t1["positives"]) == (4, 2)
    assert (t2["n"], t2["positives"]) == (2, 1)
    assert t1["auroc"] == 1.0 and t1["accuracy"] == 1.0
    # Rows 1 and 3 (scores 0.1 and 0.8, label NaN) are dropped for t2, so it separates perfectly.
    assert t2["auroc"] == 1.0 and t2["auprc"] == 1.0 and t2["accuracy"] == 1.0
    assert m["mean_auroc"] == 1.0 and m["mean_auprc"] == 1.0
    assert all_plain(m)

    # The same row given a real (wrong) label instead of NaN does change the result.
    y_filled = y.copy()
    y_filled[1, 1] = 1.0
    t2_filled = multilabel_metrics(y_filled, p, ["t1", "t2"])["per_label"]["t2"]
    assert t2_filled["n"] == 3 and t2_filled["positives"] == 2
    assert t2_filled["auroc"] == pytest.approx(0.5)
    assert t2_filled["accuracy"] == pytest.approx(2 / 3)


def test_multilabel_undefined_label_excluded_from_mean() -> None:
    y = np.array([[0, 1], [1, 1], [0, np.nan]], dtype=float)
    p = np.array([[0.8, 0.9], [0.2, 0.7], [0.6, 0.5]])
    m = multilabel_metrics(y, p, ["a", "b"])
    assert math.isnan(m["per_label"]["b"]["auroc"])  # only positives present
    assert m["per_label"]["b"]["auprc"] == 1.0
    assert m["per_label"]["a"]["auroc"] == 0.0
    assert m["mean_auroc"] == 0.0
    assert m["mean_auprc"] == pytest.approx((binary_auprc(y[:, 0], p[:, 0]) + 1.0) / 2)


def test_multilabel_threshold_and_all_missing() -> None:
    y = np.array([[1, np.nan], [0, np.nan]])
    p = np.array([[0.5, 0.3], [0.49, 0.3]])
    m = multilabel_metrics(y, p, ["a", "b"])
    assert m["per_label"]["a"]["accuracy"] == 1.0  # 0.5 counts as positive
    b = m["per_label"]["b"]
    assert b["n"] == 0 and b["positives"] == 0
    assert math.isnan(b["auroc"]) and math.isnan(b["auprc"]) and math.isnan(b["accuracy"])


def test_multilabel_empty() -> None:
    m = multilabel_metrics(np.empty((0, 2)), np.empty((0, 2)), ["a", "b"])
    assert m["n"] == 0 and math.isnan(m["mean_auroc"]) and math.isnan(m["mean_auprc"])
    format_table(m, "empty")


# --------------------------------------------------------------------------------------------------------
# regression


def test_regression_perfect_and_mean() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    perfect = regression_metrics(y, y.copy(), ["t"])["per_target"]["t"]
    assert perfect == pytest.approx(
        {"rmse": 0.0, "mae": 0.0, "r2": 1.0, "pearson": 1.0, "spearman": 1.0, "n": 4}
    )
    mean = regression_metrics(y, np.full(4, 2.5), ["t"])["per_target"]["t"]
    assert mean["r2"] == pytest.approx(0.0)
    assert mean["mae"] == pytest.approx(1.0)  # |1.5| + |0.5| + |0.5| + |1.5| over 4
    assert mean["rmse"] == pytest.approx(math.sqrt(1.25))
    assert math.isnan(mean["pearson"]) and math.isnan(mean["spearman"])  # constant prediction


def test_regression_hand_computed() -> None:
    y = np.array([1.0, 2.0, 3.0])
    p = np.array([2.0, 2.0, 5.0])
    t = regression_metrics(y, p, ["t"])["per_target"]["t"]
    # errors 1, 0, 2: SS_res = 5, SS_tot = 2 -> R2 = -1.5; rmse = sqrt(5/3); mae = 1.
    assert t["r2"] == pytest.approx(-1.5)
    assert t["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert t["mae"] == pytest.approx(1.0)
    # Centred y = (-1, 0, 1), p = (-1, -1, 2): r = 3 / sqrt(2 · 6).
    assert t["pearson"] == pytest.approx(3 / math.sqrt(12))


def test_spearman_monotone_nonlinear_and_ties() -> None:
    x = np.linspace(-2.0, 3.0, 9)
    t = regression_metrics(x, np.exp(3 * x), ["t"])["per_target"]["t"]
    assert t["spearman"] == pytest.approx(1.0)
    assert t["pearson"] < 0.95
    assert regression_metrics(x, -(x**3), ["t"])["per_target"]["t"]["spearman"] == pytest.approx(-1.0)
    # Ranks (1, 2.5, 2.5, 4) vs (1, 2, 3, 4): r = 4.5 / sqrt(4.5 · 5) = sqrt(0.9).
    tied = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 2.0, 3.0]), ["t"])
    assert tied["per_target"]["t"]["spearman"] == pytest.approx(math.sqrt(0.9))


def test_regression_missing_targets_masked() -> None:
    y = np.array([[1.0, 10.0], [2.0, np.nan], [np.nan, 30.0], [3.0, 40.0]])
    p = np.array([[1.0, 10.0], [2.0, -99.0], [123.0, 30.0], [3.0, 40.0]])
    m = regression_metrics(y, p, ["a", "b"])
    a, b = m["per_target"]["a"], m["per_target"]["b"]
    assert m["n"] == 4 and a["n"] == 3 and b["n"] == 3
    assert a["rmse"] == 0.0 and b["rmse"] == 0.0 and a["r2"] == 1.0 and b["r2"] == 1.0
    assert m["mean_rmse"] == 0.0 and m["mean_r2"] == 1.0
    assert all_plain(m)
    # Un-masking the row with the bad prediction changes the result.
    y2 = y.copy()
    y2[1, 1] = 20.0
    assert regression_metrics(y2, p, ["a", "b"])["per_target"]["b"]["rmse"] == pytest.approx(
        math.sqrt(119.0**2 / 4)
    )


def test_regression_constant_target_and_single_point() -> None:
    y = np.array([[0.1, 5.0]] * 10 + [[0.1, np.nan]])
    p = np.column_stack([np.linspace(0, 1, 11), np.full(11, 5.0)])
    m = regression_metrics(y, p, ["const", "one"])
    c = m["per_target"]["const"]
    assert math.isnan(c["r2"]) and math.isnan(c["pearson"]) and math.isnan(c["spearman"])
    assert c["rmse"] > 0
    one = regression_metrics(np.array([3.0]), np.array([2.0]), ["x"])["per_target"]["x"]
    assert one["n"] == 1 and one["rmse"] == 1.0 and math.isnan(one["r2"]) and math.isnan(one["pearson"])


def test_regression_empty_and_all_missing() -> None:
    m = regression_metrics(np.empty((0, 1)), np.empty((0, 1)), ["t"])
    assert m["n"] == 0 and m["per_target"]["t"]["n"] == 0
    assert (
        math.isnan(m["per_target"]["t"]["rmse"]) and math.isnan(m["mean_rmse"]) and math.isnan(m["mean_r2"])
    )
    m2 = regression_metrics(np.array([[np.nan, 1.0], [np.nan, 2.0]]), np.ones((2, 2)), ["gone", "here"])
    assert m2["per_target"]["gone"]["n"] == 0
    assert m2["mean_rmse"] == pytest.approx(m2["per_target"]["here"]["rmse"])
    format_table(m, "empty")


def test_regression_extreme_magnitudes_do_not_underflow_or_overflow() -> None:
    # Found by hypothesis: with denormal targets SS_tot underflowed to 0 and R2 divided by zero.
    tiny = regression_metrics(np.array([0.0, 2e-310, 4e-310]), np.array([0.0, 2e-310, 5e-310]), ["t"])
    t = tiny["per_target"]["t"]
    assert t["rmse"] == pytest.approx(1e-310 / math.sqrt(3))
    assert t["r2"] == pytest.approx(1 - 1 / 8)
    huge = regression_metrics(np.array([1e200, 2e200, 3e200]), np.array([1e200, 2e200, 4e200]), ["t"])
    h = huge["per_target"]["t"]
    assert h["rmse"] == pytest.approx(1e200 / math.sqrt(3))
    assert h["r2"] == pytest.approx(0.5)
    assert h["pearson"] == pytest.approx(3 / math.sqrt(2 * 14 / 3))  # centred (-1, 0, 1)·(-4/3, -1/3, 5/3)


def test_regression_shape_validation() -> None:
    with pytest.raises(ValueError, match="shape"):
        regression_metrics(np.zeros((3, 2)), np.zeros((3, 2)), ["only_one"])
    with pytest.raises(ValueError, match="rows"):
        regression_metrics(np.zeros((3, 1)), np.zeros((2, 1)), ["t"])


@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=30, unique=True),
    st.sampled_from([np.exp, np.arctan, lambda v: v**3, lambda v: 2 * v + 7]),
)
def test_spearman_invariant_to_monotone_transform(values: list[float], f: object) -> None:
    x = np.array(values)
    y = np.sin(x) * 10 + x  # arbitrary, not monotone in x
    base = regression_metrics(y, x, ["t"])["per_target"]["t"]["spearman"]
    with np.errstate(over="ignore"):
        fx = f(x / 100)  # type: ignore[operator]
    # The transform must keep values distinct in float for ranks to be unchanged.
    if np.all(np.isfinite(fx)) and len(np.unique(fx)) == len(fx):
        moved = regression_metrics(y, fx, ["t"])["per_target"]["t"]["spearman"]
        assert moved == pytest.approx(base, abs=1e-12) or (math.isnan(moved) and math.isnan(base))


# --------------------------------------------------------------------------------------------------------
# format_table


def test_format_table_classification() -> None:
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    m = classification_metrics(y, one_hot_probs([0, 1, 0, 1, 1, 2, 0, 2, 1], 3), ["helix", "strand", "coil"])
    text = format_table(m, "Secondary structure")
    lines = text.splitlines()
    assert lines[0] == "Secondary structure"
    assert any(line.startswith("accuracy") and "0.6667" in line for line in lines)
    assert any(line.startswith("mcc") and "0.5577" in line for line in lines)
    # Scalars come before the per-class table, which comes before the confusion matrix.
    assert text.index("macro_f1") < text.index("precision") < text.index("confusion matrix")
    cm_rows = lines[lines.index("confusion matrix (rows = true, columns = predicted)") + 1 :]
    assert cm_rows[0].split() == ["true", "\\", "pred", "helix", "strand", "coil"]
    assert cm_rows[2].split() == ["helix", "2", "1", "0"]
    assert cm_rows[4].split() == ["coil", "1", "1", "2"]


def test_format_table_multilabel_and_regression() -> None:
    ml = multilabel_metrics(
        np.array([[0, 1], [1, np.nan]]), np.array([[0.1, 0.9], [0.8, 0.2]]), ["tox", "sol"]
    )
    text = format_table(ml, "ML")
    assert "mean_auroc" in text and "tox" in text and "sol" in text and "positives" in text
    assert "confusion" not in text
    assert "nan" in text  # 'sol' has a single positive: AUROC undefined

    rg = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), ["logS"])
    text = format_table(rg, "Reg")
    assert "mean_rmse" in text and "logS" in text and "spearman" in text


def test_format_table_rejects_other_dicts() -> None:
    with pytest.raises(ValueError):
        format_table({"accuracy": 1.0}, "x")
