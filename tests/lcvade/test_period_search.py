"""Period search on real multi-band curves: 1-day aliases, doubled binaries, honest confidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic import periodic_curve

from lcvade import LightCurve, PeriodSearch, find_period, find_periods
from lcvade.period import DEFAULT_GRID, periodogram
from lcvade.tables import iter_curves

STRIPE82 = Path(__file__).resolve().parents[1] / "data" / "stripe82"


def stripe82_sample() -> tuple[list[LightCurve], pd.DataFrame]:
    """The 40 real SDSS Stripe 82 RR Lyrae of tests/data/stripe82 (see its README)."""
    points = pd.read_parquet(STRIPE82 / "stripe82_lightcurves.parquet")
    objects = pd.read_parquet(STRIPE82 / "stripe82_objects.parquet")
    by_id = {c.id: c for c in iter_curves(points)}
    return [by_id[o] for o in objects["object_id"]], objects


def plain_peak_period(curve: LightCurve) -> float:
    """The highest peak of the band-averaged periodogram, refined by a parabola (the search
    without candidates, refits or doubling)."""
    power, f_min, df = periodogram(curve, DEFAULT_GRID)
    i = int(np.argmax(power))
    shift = 0.0
    if 0 < i < power.size - 1:
        left, mid, right = power[i - 1 : i + 2]
        curvature = left - 2.0 * mid + right
        if curvature < 0:
            shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    return 1.0 / (f_min + df * (i + shift))


def sawtooth(phase: np.ndarray) -> np.ndarray:
    """An RRab-like shape: a rise over 15 % of the cycle, then a slow decline."""
    x = np.mod(phase, 1.0)
    return np.where(x < 0.15, 0.5 - x / 0.15, -0.5 + (x - 0.15) / 0.85)


def nightly_curve(seed: int, period: float = 0.61) -> LightCurve:
    """70 nights out of 300, each observed once at about the same hour: strong 1-day aliases."""
    rng = np.random.default_rng(seed)
    nights = np.sort(rng.choice(np.arange(300), 70, replace=False)).astype(float)
    t = nights + 0.3 + rng.normal(0.0, 0.03, 70)
    err = np.full(70, 0.03)
    return LightCurve(t, 15.0 + 0.8 * sawtooth(t / period) + rng.normal(0.0, err), err)


def eclipses(phase: np.ndarray, primary: float, secondary: float, width: float) -> np.ndarray:
    """Magnitude drop of two V-shaped eclipses of half-width ``width`` at phases 0 and 0.5."""
    x = np.mod(phase, 1.0)
    to_primary = np.minimum(x, 1.0 - x)
    to_secondary = np.abs(x - 0.5)
    return primary * np.clip(1.0 - to_primary / width, 0.0, 1.0) + secondary * np.clip(
        1.0 - to_secondary / width, 0.0, 1.0
    )


def binary_curve(seed: int, secondary: float, period: float = 2.37) -> LightCurve:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 900.0, 300))
    err = np.full(300, 0.02)
    mag = 14.0 + eclipses(t / period, 0.5, secondary, 0.08) + rng.normal(0.0, err)
    return LightCurve(t, mag, err)


@pytest.mark.slow
def test_real_stripe82_rr_lyrae_are_recovered():
    curves, objects = stripe82_sample()
    assert len(curves) == 40 and set(objects["label"]) == {"RR_Lyrae_FM", "RR_Lyrae_FO"}
    found = np.array([r.period for r in find_periods(curves, n_jobs=2)])
    truth = objects["period"].to_numpy()
    recovered = np.abs(found / truth - 1.0) < 0.01
    assert recovered.mean() >= 0.9
    # the periods are each curve's own, not a typical RR Lyrae period
    assert (np.abs(found / np.roll(truth, 3) - 1.0) < 0.01).mean() < 0.2


def test_a_strong_one_day_alias_is_resolved():
    true_period = 0.61
    aliased = 0
    for seed in range(12):
        curve = nightly_curve(seed, true_period)
        plain = plain_peak_period(curve)
        if abs(plain / true_period - 1.0) < 0.01:
            continue
        # the premise: the periodogram's highest peak is a 1-day alias, 1/P +- 1 c/d
        assert abs(abs(1.0 / plain - 1.0 / true_period) - 1.0) < 0.01
        aliased += 1
        result = find_period(curve)
        assert result.period == pytest.approx(true_period, rel=1e-3)
        assert not result.doubled
    assert aliased >= 3


def test_a_detached_binary_with_unequal_minima_is_doubled():
    doubled = 0
    plain_candidates = PeriodSearch(summed_harmonics=1)
    for seed in range(6):
        curve = binary_curve(seed, secondary=0.2)
        # the premise: the periodogram puts the two eclipses on top of each other
        assert plain_peak_period(curve) == pytest.approx(2.37 / 2, rel=1e-3)
        result = find_period(curve)
        # either the refit prefers the orbital period among the candidates, or the half
        # period wins and the unequal minima double it
        assert result.period == pytest.approx(2.37, rel=1e-3)
        # with the plain periodogram's candidates alone, the half period wins the refit, and
        # the doubling test must find the unequal minima
        alone = find_period(curve, plain_candidates)
        assert alone.period == pytest.approx(2.37, rel=1e-3)
        doubled += alone.doubled
    assert doubled >= 2


def test_equal_minima_and_pulsators_are_not_doubled(rng):
    for seed in range(3):
        result = find_period(binary_curve(seed, secondary=0.5))
        assert not result.doubled
        assert result.period == pytest.approx(2.37 / 2, rel=1e-3)
    for seed in range(3):
        result = find_period(nightly_curve(100 + seed))
        assert not result.doubled


@pytest.mark.parametrize("period", [0.093, 0.37, 0.57, 3.3, 41.0])
def test_single_band_answers_are_the_plain_periodogram_where_it_was_right(rng, period):
    for _ in range(3):
        curve = periodic_curve(rng, 120, period, baseline=900.0, with_period=False)
        plain = plain_peak_period(curve)
        if abs(plain / period - 1.0) > 1e-3:
            continue
        assert find_period(curve).period == pytest.approx(plain, rel=1e-6)


def test_confidence_reports_an_alias_that_the_data_cannot_break():
    # one point per night at exactly the same sidereal time: a sinusoid at f and at
    # f + 1 sidereal day^-1 fit equally well, though either is far above the noise
    rng = np.random.default_rng(5)
    t = np.sort(rng.choice(np.arange(400), 90, replace=False)) * 0.99726957
    err = np.full(t.size, 0.02)
    mag = 15.0 + 0.3 * np.sin(2 * np.pi * t / 0.7) + rng.normal(0.0, err)
    result = find_period(LightCurve(t, mag, err))
    assert result.false_alarm_probability < 1e-6
    assert result.confidence < 0.7
    assert result.margin < 2.0
    assert result.runner_up_period is not None
    # the runner-up is an alias: a whole number of sidereal days^-1 away
    cycles = abs(1.0 / result.period - 1.0 / result.runner_up_period) / 1.0027379
    assert cycles >= 0.5 and abs(cycles - round(cycles)) < 0.01
    clean = find_period(periodic_curve(rng, 150, 0.7, baseline=900.0, with_period=False))
    assert clean.confidence > 0.999 and clean.margin > 10.0


def test_settings_live_in_one_object_and_are_recorded():
    search = PeriodSearch(n_harmonics=2, n_peaks=3, alias_orders=1)
    rng = np.random.default_rng(0)
    result = find_period(periodic_curve(rng, 100, 0.8, with_period=False), search)
    assert result.method == search.method
    assert "harmonics=2" in search.method and "peaks=3" in search.method
    assert search.method != PeriodSearch().method
    with pytest.raises(ValueError, match="n_harmonics"):
        PeriodSearch(n_harmonics=0)
    with pytest.raises(ValueError, match="alias_window"):
        PeriodSearch(alias_window=0.0)
