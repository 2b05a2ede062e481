"""AUROC, AUPR and the confusion matrix against scikit-learn and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics import confusion_matrix as sk_confusion

from training.metrics import accuracy, aupr, auroc, confusion_matrix


def test_hand_worked_case():
    # outliers at scores 0.9 and 0.4; inliers at 0.8, 0.3, 0.1
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.4, 0.3, 0.1])
    # pairs (outlier > inlier): 0.9 beats 3, 0.4 beats 2 -> 5 of 6
    assert auroc(y, s) == pytest.approx(5 / 6)
    # precision at the two recall steps: 1/1 and 2/3
    assert aupr(y, s) == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_scikit_learn_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    y[:2] = [0, 1]
    continuous = rng.normal(size=300) + 0.8 * y
    tied = np.round(continuous, 0)  # many ties
    for s in (continuous, tied):
        assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert aupr(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_extremes_and_undefined_cases():
    y = np.array([0, 0, 1, 1])
    assert auroc(y, np.array([1, 2, 3, 4])) == 1.0
    assert auroc(y, np.array([4, 3, 2, 1])) == 0.0
    assert aupr(y, np.array([1, 2, 3, 4])) == 1.0
    assert auroc(np.zeros(4), np.arange(4.0)) is None
    assert aupr(np.ones(4), np.arange(4.0)) is None
    with pytest.raises(ValueError, match="finite"):
        auroc(y, np.array([1.0, np.nan, 2.0, 3.0]))


def test_confusion_matrix_and_accuracy():
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    matrix = confusion_matrix(true, predicted, 4)
    assert np.array_equal(matrix, sk_confusion(true, predicted, labels=range(4)))
    assert accuracy(true, predicted) == pytest.approx(np.trace(matrix) / 200)
    assert accuracy(np.array([]), np.array([])) is None
