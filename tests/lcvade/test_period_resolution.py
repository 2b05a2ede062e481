"""The one rule that gives every curve a period (lcvade.period_resolution)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic import periodic_curve

from lcvade.lightcurve import LightCurve, LightCurveError
from lcvade.period import PeriodResult, find_period
from lcvade.period_resolution import (
    NO_USABLE_PERIOD,
    ResolvedPeriods,
    failure_reason,
    resolve_periods,
)


class DictStore:
    """A period store in memory: what a cache on disk keeps, without the disk."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[float, float]] = {}
        self.saves = 0

    def lookup(self, curve, method):
        return self.entries.get((str(curve.id), method))

    def add(self, curve, method, period, confidence):
        self.entries[(str(curve.id), method)] = (period, confidence)

    def save(self):
        self.saves += 1


def one_point_curve() -> LightCurve:
    return LightCurve(np.array([1.0]), np.array([15.0]), np.array([0.1]), id="short", min_points=1)


def test_given_and_estimated_curves_follow_the_rule():
    rng = np.random.default_rng(3)
    searched = periodic_curve(rng, 80, 0.7, with_period=False, curve_id="a")
    given = periodic_curve(rng, 80, 2.5, curve_id="b")
    resolved = resolve_periods([searched, given])
    expected = find_period(searched)
    assert resolved.periods[0] == expected.period
    assert resolved.confidences[0] == expected.confidence
    assert resolved.periods[1] == 2.5 and resolved.confidences[1] is None
    assert resolved.sources == ["estimated", "given"]
    assert resolved.failures == {}


def test_a_search_that_raises_fails_its_curve_alone():
    curves = [one_point_curve(), one_point_curve()]
    resolved = ResolvedPeriods.given(curves)
    assert resolved.missing() == [0, 1]
    resolved.record(0, FloatingPointError("overflow in the periodogram"))
    resolved.record(1, PeriodResult(1.5, 0.5, 0.1))
    assert resolved.failures == {0: "the period search failed: overflow in the periodogram"}
    assert math.isnan(resolved.periods[0]) and resolved.periods[1] == 1.5
    with pytest.raises(LightCurveError, match=r"curves\[0\] \(id 'short'\): the period search"):
        resolved.raise_failures(curves)


def test_a_period_that_is_not_finite_and_positive_is_a_failure():
    for period in (math.nan, math.inf, 0.0, -1.0):
        assert failure_reason(PeriodResult(period, 0.0, 1.0)) == NO_USABLE_PERIOD
    assert failure_reason(PeriodResult(1.5, 0.5, 0.1)) is None
    resolved = ResolvedPeriods.given([one_point_curve()])
    assert resolved.record(0, PeriodResult(math.nan, 0.0, 1.0)) is None
    assert resolved.failures == {0: NO_USABLE_PERIOD} and resolved.missing() == []


def test_a_store_is_filled_once_and_then_answers():
    rng = np.random.default_rng(5)
    curves = [periodic_curve(rng, 60, p, with_period=False, curve_id=str(p)) for p in (0.4, 3.0)]
    store = DictStore()
    first = resolve_periods(curves, store=store)
    assert first.sources == ["estimated", "estimated"] and store.saves == 1
    second = resolve_periods(curves, store=store)
    assert second.sources == ["cached", "cached"]
    np.testing.assert_array_equal(second.periods, first.periods)
    assert store.saves == 1  # nothing searched, nothing written
