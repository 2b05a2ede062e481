"""The doubling decision and the summed-harmonic candidates of the period search."""

from __future__ import annotations

import numpy as np
import pytest

from lcvade import LightCurve, PeriodSearch, find_period
from lcvade.period import (
    DEFAULT_GRID,
    doubling_log_evidence,
    harmonic_sum,
    parity_fit,
    periodogram,
)
from lcvade.simulation import simulate, to_lightcurves
from lcvade.simulation.eclipsing import Binaries, binary_curves, binary_magnitude


def contact_binary(seed: int, surface_ratio: float, period: float = 0.37) -> LightCurve:
    """A W UMa-like system of the simulator's model, 250 points over 600 days."""
    systems = Binaries(
        period=np.array([period]),
        r1=np.array([0.45]),
        r2=np.array([0.45 * 0.5**0.46]),
        inclination=np.array([np.radians(84.0)]),
        surface_ratio=np.array([surface_ratio]),
        mass_ratio=np.array([0.5]),
        ellipsoidal1=np.array([0.08]),
        ellipsoidal2=np.array([0.08]),
    )
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0.0, 600.0, 250))
    err = np.full(t.size, 0.015)
    star = np.zeros(t.size, dtype=np.int64)
    mag = binary_magnitude(t / period, systems, star, binary_curves(systems))
    return LightCurve(t, 14.0 + mag + rng.normal(0.0, err), err)


def test_a_contact_binary_with_unequal_minima_is_found_at_its_period_and_with_equal_ones_not():
    doubled = 0
    for seed in range(4):
        unequal = contact_binary(seed, surface_ratio=0.7)
        # the premise: the periodogram's highest peak is at half the orbital period
        power, f_min, df = periodogram(unequal, DEFAULT_GRID)
        assert 1.0 / (f_min + df * int(np.argmax(power))) == pytest.approx(0.185, rel=1e-2)
        result = find_period(unequal)
        # either the summed-harmonic candidate at the orbital period wins the refit, or the
        # half period wins and the unequal minima double it
        assert result.period == pytest.approx(0.37, rel=1e-3)
        assert result.false_alarm_probability < 1e-6 and result.power > 0.3
        # with the plain periodogram's candidates alone the half period wins the refit, and
        # the doubling test must find the unequal minima
        alone = find_period(unequal, PeriodSearch(summed_harmonics=1))
        assert alone.period == pytest.approx(0.37, rel=1e-3)
        doubled += alone.doubled
        equal = find_period(contact_binary(seed, surface_ratio=1.0))
        assert not equal.doubled
        assert equal.period == pytest.approx(0.185, rel=1e-3)
    assert doubled >= 1


def test_the_simulator_pulsators_are_rarely_doubled():
    doubled, recovered = [], []
    for k, label in enumerate(("RRab", "RRc", "DCEP_F")):
        lightcurves, objects = simulate(12, seed=300 + k, cadence="uniform", classes=label)
        curves = to_lightcurves(lightcurves, objects, with_period=False)
        results = [find_period(c) for c in curves]
        doubled += [r.doubled for r in results]
        found = np.array([r.period for r in results])
        recovered += list(np.abs(found / objects["period"].to_numpy() - 1.0) < 0.01)
    # one RRab of these 36 shows a 3.5-sigma depth difference between even and odd cycles
    # (a Bayes factor of 6.5) and is doubled
    assert sum(doubled) <= 1
    assert np.mean(recovered) >= 0.95


def test_parity_fit_finds_a_depth_difference_and_no_more_than_noise_without_one():
    rng = np.random.default_rng(3)
    n = 200
    phase = rng.uniform(0.0, 1.0, n)
    sign = np.where(rng.uniform(size=n) < 0.5, 1.0, -1.0)
    depth = np.exp(-0.5 * ((phase - 0.5) / 0.05) ** 2)
    slope = -(phase - 0.5) / 0.05**2 * depth
    regressors = np.stack([sign * depth, sign * slope], axis=1)
    weights = np.full(n, 1.0 / 0.01**2)
    statistics = []
    for _ in range(300):
        noise = rng.normal(0.0, 0.01, n)
        coef, covariance = parity_fit(noise, regressors, weights)
        statistics.append(float(coef @ np.linalg.solve(covariance, coef)))
    # chi-square with 2 degrees of freedom when the cycles do not alternate
    assert 1.6 < np.mean(statistics) < 2.5
    assert np.mean(np.array(statistics) > 2.0 * np.log(n)) < 0.03
    coef, covariance = parity_fit(
        0.05 * regressors[:, 0] + rng.normal(0, 0.01, n), regressors, weights
    )
    assert coef[0] == pytest.approx(0.05, abs=4.0 * np.sqrt(covariance[0, 0]))
    assert doubling_log_evidence(coef, covariance, np.array([0.5, 0.05])) > 3.0
    # too few residuals for two regressors and a scatter
    assert parity_fit(np.zeros(3), regressors[:3], weights[:3]) is None


def test_doubling_evidence_has_an_occam_penalty():
    prior = np.array([0.5, 0.05])
    tight = np.diag([0.01**2, 0.001**2])
    # no difference at all: the extra freedom costs
    assert doubling_log_evidence(np.zeros(2), tight, prior) < -5.0
    # the same 3-sigma difference counts for less the better the data pin it down
    loose = np.diag([0.1**2, 0.01**2])
    assert doubling_log_evidence(np.array([0.03, 0.0]), tight, prior) < doubling_log_evidence(
        np.array([0.3, 0.0]), loose, prior
    )
    assert doubling_log_evidence(np.array([0.3, 0.0]), tight, prior) > 100.0


def test_harmonic_sum_peaks_at_the_fundamental_of_a_comb():
    f_min, df = 0.001, 0.001
    power = np.zeros(2000)
    for k in range(1, 9):  # a comb at 0.05 c/d and its harmonics, none higher than 0.2
        power[int(round((k * 0.05 - f_min) / df))] = 0.2
    power[int(round((0.333 - f_min) / df))] = 0.5  # one strong single peak
    summed = harmonic_sum(power, f_min, df, 8)
    assert int(np.argmax(power)) == int(round((0.333 - f_min) / df))
    assert int(np.argmax(summed)) == int(round((0.05 - f_min) / df))
    assert summed.max() == pytest.approx(1.6)
    # one term is the periodogram itself
    np.testing.assert_array_equal(harmonic_sum(power, f_min, df, 1), power)


def test_the_doubling_prior_is_validated_and_recorded():
    with pytest.raises(ValueError, match="doubling_prior"):
        PeriodSearch(doubling_prior=0.0)
    with pytest.raises(ValueError, match="summed_harmonics"):
        PeriodSearch(summed_harmonics=-1)
    assert "bayes(depth=0.5)" in PeriodSearch().method
    assert "doubling=off" in PeriodSearch(test_doubling=False).method
    assert "summed_harmonics=8" in PeriodSearch().method
