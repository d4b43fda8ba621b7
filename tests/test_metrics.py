"""Built-in metrics against hand-computed values and brute-force definitions."""
from __future__ import annotations

import numpy as np
import pytest

from galaxyzoo.specs import Task
from galaxyzoo_builtin.metrics import functions as m

FOUR = Task("classification", ("a", "b", "c", "d"))
THREE = Task("classification", ("a", "b", "c"))
TWO = Task("classification", ("no", "yes"))


def one_hot_probs(pred: list[int], classes: int) -> np.ndarray:
    return np.eye(classes)[pred] * 0.7 + 0.3 / classes


def test_accuracy_and_confusion_matrix():
    y = [0, 1, 2, 2, 3]
    probs = one_hot_probs([0, 2, 2, 1, 3], 4)
    assert m.accuracy(y, probs, FOUR) == pytest.approx(3 / 5)
    expected = np.array([
        [1, 0, 0, 0],
        [0, 0, 1, 0],
        [0, 1, 1, 0],
        [0, 0, 0, 1],
    ])
    np.testing.assert_array_equal(m.confusion_matrix(y, probs, FOUR), expected)


def test_balanced_accuracy_weights_classes_equally():
    y = [0, 0, 0, 1]
    probs = one_hot_probs([0, 0, 0, 0], 2)
    assert m.accuracy(y, probs, TWO) == pytest.approx(0.75)
    assert m.balanced_accuracy(y, probs, TWO) == pytest.approx(0.5)
    # Class "c" never occurs in y_true: left out of the mean (recalls 1 and 0.5).
    assert m.balanced_accuracy([0, 1, 1], one_hot_probs([0, 1, 2], 3), THREE) == pytest.approx(0.75)


def test_roc_auc_binary_textbook_example():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    probs = np.stack([1 - scores, scores], axis=1)
    assert m.roc_auc_ovr([0, 0, 1, 1], probs, TWO) == pytest.approx(0.75)


def test_roc_auc_ties_count_half():
    # Positive scores {0.5, 0.9} against negative {0.5, 0.5}: 0.5 + 0.5 + 1 + 1 of 4 pairs.
    scores = np.array([0.5, 0.5, 0.5, 0.9])
    probs = np.stack([1 - scores, scores], axis=1)
    assert m.roc_auc_ovr([0, 1, 0, 1], probs, TWO) == pytest.approx(0.75)
    # All scores tied: no information.
    assert m.roc_auc_ovr([0, 1, 0, 1], np.full((4, 2), 0.5), TWO) == pytest.approx(0.5)


def test_roc_auc_macro_over_classes_hand_computed():
    y = [0, 1, 2, 2]
    probs = np.array([
        [0.6, 0.3, 0.1],
        [0.2, 0.5, 0.3],
        [0.3, 0.3, 0.4],
        [0.5, 0.1, 0.4],
    ])
    # class 0: positive 0.6 beats negatives 0.2, 0.3, 0.5 -> 1
    # class 1: positive 0.5 beats 0.3, 0.3, 0.1 -> 1
    # class 2: positives 0.4, 0.4 vs negatives 0.1, 0.3 -> all 4 pairs won -> 1
    assert m.roc_auc_ovr(y, probs, THREE) == pytest.approx(1.0)
    probs[3, 2] = 0.2  # class 2: 0.2 beats 0.1, loses to 0.3 -> 3/4; macro (1 + 1 + 0.75) / 3
    assert m.roc_auc_ovr(y, probs, THREE) == pytest.approx((1 + 1 + 0.75) / 3)


def brute_force_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    aucs = []
    for c in range(probs.shape[1]):
        pos = probs[labels == c, c]
        neg = probs[labels != c, c]
        if pos.size and neg.size:
            diff = pos[:, None] - neg[None, :]
            aucs.append(((diff > 0) + 0.5 * (diff == 0)).mean())
    return float(np.mean(aucs))


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_matches_pairwise_definition(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 60)
    probs = rng.integers(0, 6, (60, 4)) / 5.0  # coarse values: many ties
    assert m.roc_auc_ovr(labels, probs, FOUR) == pytest.approx(brute_force_auc(labels, probs))


def test_roc_auc_skips_classes_without_positives():
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    # class 2 absent; class 0: pos {0.9, 0.6} vs neg {0.1} -> 1; class 1: pos 0.8 vs {0.05, 0.3} -> 1
    assert m.roc_auc_ovr([0, 1, 0], probs, THREE) == pytest.approx(1.0)


def test_classification_metrics_reject_bad_shapes_and_labels():
    with pytest.raises(ValueError, match="shape"):
        m.accuracy([0, 1], np.zeros((2, 3)), FOUR)
    with pytest.raises(ValueError, match="labels"):
        m.accuracy([0, 4], np.zeros((2, 4)), FOUR)


VOTES = Task("vote_fractions", tuple(f"c{i}" for i in range(37)))


def test_rmse_over_all_columns():
    truth = np.zeros((2, 37))
    pred = np.zeros((2, 37))
    pred[0, 0] = 0.3
    pred[1, 36] = 0.4
    assert m.rmse(truth, pred, VOTES) == pytest.approx(np.sqrt((0.09 + 0.16) / 74))


def test_rmse_per_question_uses_the_gz2_question_blocks():
    truth = np.zeros((4, 37))
    pred = np.zeros((4, 37))
    pred[:, 3:5] = 0.1   # Q2 (Class2.1, Class2.2)
    pred[:, 31:37] = 0.2  # Q11 (Class11.1 … 11.6)
    per_q = m.rmse_per_question(truth, pred, VOTES)
    expected = np.zeros(11)
    expected[1] = 0.1
    expected[10] = 0.2
    np.testing.assert_allclose(per_q, expected)
    with pytest.raises(ValueError, match="37"):
        m.rmse_per_question(np.zeros((2, 5)), np.zeros((2, 5)), Task("vote_fractions", tuple("abcde")))
