"""Period search: recovery, false-alarm probabilities, batching, the frequency grid."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.timeseries import LombScargle
from synthetic import periodic_curve

from lcvade import FrequencyGrid, LightCurve, find_period, find_periods
from lcvade.period import baluev_false_alarm_probability


@pytest.mark.parametrize("period", [0.093, 0.57, 3.3, 41.0])
def test_recovers_the_period_of_periodic_curves(rng, period):
    curve = periodic_curve(rng, 150, period, baseline=1200.0, with_period=False)
    result = find_period(curve)
    assert result.period == pytest.approx(period, rel=1e-3)
    assert result.false_alarm_probability < 1e-6
    assert result.confidence > 0.999999
    assert 0.5 < result.power <= 1.0


def test_pure_noise_has_a_high_false_alarm_probability(rng):
    t = rng.uniform(0, 500, 60)
    curve = LightCurve(t, rng.normal(15, 0.05, 60), np.full(60, 0.05))
    assert find_period(curve).false_alarm_probability > 0.05


def test_false_alarm_probability_matches_astropy_baluev(rng):
    t = rng.uniform(0, 700, 120)
    dy = rng.uniform(0.02, 0.1, 120)
    y = rng.normal(0, 1, 120)
    reference = LombScargle(t, y, dy)
    for z in (0.08, 0.15, 0.3, 0.6):
        expected = reference.false_alarm_probability(
            z, method="baluev", minimum_frequency=1e-3, maximum_frequency=20.0
        )
        got = baluev_false_alarm_probability(z, 120, 20.0, t, dy**-2)
        assert got == pytest.approx(float(expected), rel=1e-3)


def test_multiband_search_uses_all_bands(rng):
    curve = periodic_curve(rng, 200, 0.73, bands=("g", "r"), with_period=False)
    assert find_period(curve).period == pytest.approx(0.73, rel=1e-3)


def test_batched_search_equals_one_by_one(rng):
    curves = [periodic_curve(rng, 80, p, with_period=False) for p in (0.3, 1.1, 2.9, 0.45, 7.0)]
    batched = find_periods(curves, n_jobs=2)
    single = [find_period(c) for c in curves]
    assert batched == single


def test_frequency_grid():
    grid = FrequencyGrid(min_period=0.1, max_period=100.0, samples_per_peak=4)
    f_min, df, n = grid.for_baseline(500.0)
    assert f_min == pytest.approx(0.01)
    assert df == pytest.approx(1 / 2000)
    assert f_min + df * (n - 1) >= 10.0 - df
    capped = FrequencyGrid(max_frequencies=1000).for_baseline(1e5)
    assert capped[2] == 1000
    with pytest.raises(ValueError):
        FrequencyGrid(min_period=10.0, max_period=1.0)
