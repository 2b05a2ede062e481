"""IAS calibration (percentiles, conformal p-values) and Benjamini-Hochberg."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lcvade.calibration import (
    DEFAULT_P_VALUE_THRESHOLD,
    AnomalyRule,
    IASCalibration,
    benjamini_hochberg,
)


def test_percentile_and_p_value():
    cal = IASCalibration(np.array([3.0, 1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(cal.values, [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(cal.percentile([0.5, 1.0, 2.5, 9.0]), [0, 25, 50, 100])
    np.testing.assert_allclose(cal.p_value([0.5, 1.0, 2.5, 9.0]), [1 / 5, 2 / 5, 3 / 5, 1.0])


def test_p_values_of_exchangeable_scores_are_uniform():
    rng = np.random.default_rng(0)
    cal = IASCalibration(rng.normal(size=20000))
    p = cal.p_value(rng.normal(size=20000))
    # A valid conformal p-value: P(p <= a) ~= a for every level a (tolerance ~3 sd of the
    # sampling error of both sets).
    for a in (0.01, 0.05, 0.2, 0.5):
        assert np.mean(p <= a) == pytest.approx(a, abs=0.015)


def test_calibration_rejects_empty_or_non_finite():
    with pytest.raises(ValueError):
        IASCalibration(np.array([]))
    with pytest.raises(ValueError):
        IASCalibration(np.array([1.0, np.nan]))


def brute_force_bh(p, q):
    """The largest set of the k smallest p-values whose k-th value is <= k q / m."""
    m = len(p)
    best = set()
    for k in range(1, m + 1):
        for subset in itertools.combinations(range(m), k):
            smallest = sorted(p)[:k]
            if sorted(p[i] for i in subset) == smallest and smallest[-1] <= k * q / m:
                best = max(best, set(subset), key=len)
    return best


def test_benjamini_hochberg_matches_definition():
    rng = np.random.default_rng(1)
    for _ in range(30):
        p = np.round(rng.uniform(0, 0.2, 7), 3)
        got = set(np.flatnonzero(benjamini_hochberg(p, 0.1)))
        assert got == brute_force_bh(list(p), 0.1)


def test_benjamini_hochberg_step_up_example():
    p = np.array([0.01, 0.04, 0.03, 0.5])
    # sorted 0.01, 0.03, 0.04, 0.5 against 0.0125, 0.025, 0.0375, 0.05: only rank 1 passes.
    np.testing.assert_array_equal(benjamini_hochberg(p, 0.05), [True, False, False, False])
    # At q = 0.2 the thresholds 0.05, 0.1, 0.15, 0.2 pass ranks 1-3.
    np.testing.assert_array_equal(benjamini_hochberg(p, 0.2), [True, True, True, False])
    assert benjamini_hochberg(np.array([]), 0.1).size == 0
    with pytest.raises(ValueError):
        benjamini_hochberg(p, 1.5)


def test_the_anomaly_rule_is_a_threshold_or_benjamini_hochberg():
    p = np.array([0.001, 0.009, 0.01, 0.02, 0.5])
    threshold = AnomalyRule()
    assert threshold.p_value_threshold == DEFAULT_P_VALUE_THRESHOLD == 0.01
    np.testing.assert_array_equal(threshold.flags(p), [True, True, False, False, False])
    assert threshold.record() == {"p_below": 0.01}
    assert threshold.describe(True, 5) == "p_value < 0.01"
    fdr = AnomalyRule(fdr=0.05)
    np.testing.assert_array_equal(fdr.flags(p), benjamini_hochberg(p, 0.05))
    assert fdr.record() == {"fdr": 0.05}
    assert "Benjamini-Hochberg" in fdr.describe(True, 5) and "5 curves" in fdr.describe(True, 5)
    assert fdr.describe(False, 5).startswith("none")
