"""Threshold-free anomaly-detection metrics and classification metrics (section 9.5.1).

Without a validation set no threshold can be chosen, so detectors are compared over every
threshold: the area under the ROC curve (AUROC) and under the precision-recall curve (AUPR,
computed as average precision, the step-wise sum over thresholds of the recall increase times
the precision).  The outlier class is the positive class and higher scores mean "more
anomalous" (``anomaly_score = -IAS``).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError("one score is needed per label")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    return y, s


def auroc(is_outlier: np.ndarray, anomaly_score: np.ndarray) -> float | None:
    """P(score of a random outlier > score of a random inlier), ties counted one half.

    This is the Mann-Whitney U statistic over the product of class sizes; ``None`` when one
    of the two classes is absent.
    """
    y, s = _check(is_outlier, anomaly_score)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(s)  # average ranks for ties
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def aupr(is_outlier: np.ndarray, anomaly_score: np.ndarray) -> float | None:
    """Average precision: sum over distinct thresholds of (R_n - R_{n-1}) P_n."""
    y, s = _check(is_outlier, anomaly_score)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return None
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), s_sorted.size - 1]
    true_pos = np.cumsum(y_sorted)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_pos / predicted
    recall = true_pos / n_pos
    gains = np.diff(np.r_[0.0, recall])
    return float(np.sum(gains * precision))


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``M[i, j]`` of curves of class ``i`` predicted as class ``j``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, int), np.asarray(predicted, int)), 1)
    return matrix


def accuracy(true: np.ndarray, predicted: np.ndarray) -> float | None:
    true = np.asarray(true)
    if true.size == 0:
        return None
    return float(np.mean(true == np.asarray(predicted)))
