"""Period search: an error-weighted Lomb-Scargle periodogram computed with a NUFFT.

Folding (thesis eq. 9.1) needs each object's period.  For curves that arrive without one we
search a generalised (floating-mean, error-weighted) Lomb-Scargle periodogram, computed by the
``nifty-ls`` package (a non-uniform FFT), over a uniform frequency grid:

* frequencies from ``1 / max_period`` to ``1 / min_period`` (defaults: periods of 0.05 to
  1000 days);
* spacing ``df = 1 / (samples_per_peak * T)`` with ``T`` the curve's time baseline, so every
  periodogram peak (width ~ ``1/T``) is sampled ``samples_per_peak`` times (default 5); the
  number of frequencies is capped at ``max_frequencies`` (the spacing grows instead).

The highest peak is refined by a parabola through it and its two neighbours.  Its
trustworthiness is reported as the false-alarm probability of the peak height under white
noise, with Baluev's (2008, MNRAS 385, 1279) analytic approximation for the maximum of a
periodogram over a frequency band.

Several bands are searched jointly: each band gets its own periodogram on the common grid and
the powers are averaged with weights equal to the bands' point counts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import nifty_ls
import numpy as np
from scipy.special import gammaln

from lcvade.lightcurve import DEFAULT_MIN_BASELINE, LightCurve


@dataclass(frozen=True)
class FrequencyGrid:
    """The frequency grid searched for a curve; see the module docstring."""

    min_period: float = DEFAULT_MIN_BASELINE
    max_period: float = 1000.0
    samples_per_peak: int = 5
    max_frequencies: int = 2_000_000

    def __post_init__(self) -> None:
        if not (0 < self.min_period < self.max_period):
            raise ValueError("the grid needs 0 < min_period < max_period")
        if self.samples_per_peak < 1 or self.max_frequencies < 16:
            raise ValueError("samples_per_peak must be >= 1 and max_frequencies >= 16")

    def for_baseline(self, baseline: float) -> tuple[float, float, int]:
        """(f_min, df, n_frequencies) in cycles per day for a curve spanning ``baseline`` days."""
        f_min = 1.0 / self.max_period
        f_max = 1.0 / self.min_period
        df = 1.0 / (self.samples_per_peak * max(baseline, self.min_period))
        n = int(math.ceil((f_max - f_min) / df)) + 1
        if n > self.max_frequencies:
            n = self.max_frequencies
            df = (f_max - f_min) / (n - 1)
        return f_min, df, n


DEFAULT_GRID = FrequencyGrid()


@dataclass(frozen=True)
class PeriodResult:
    """The outcome of a period search.

    ``power`` is the peak's normalised Lomb-Scargle power (0..1), ``false_alarm_probability``
    the chance that white noise alone gives a peak this high somewhere on the grid, and
    ``confidence = 1 - false_alarm_probability``.
    """

    period: float
    power: float
    false_alarm_probability: float

    @property
    def confidence(self) -> float:
        return float(1.0 - self.false_alarm_probability)


def baluev_false_alarm_probability(
    power: float, n_points: int, f_max: float, time: np.ndarray, weights: np.ndarray
) -> float:
    """False-alarm probability of a peak of normalised power ``power`` (Baluev 2008).

    The single-frequency tail probability of the standard-normalised periodogram is
    ``(1 - Z)^((N - 3) / 2)``; the expected number of up-crossings of level ``Z`` over
    ``[0, f_max]`` is approximated with the effective time span ``sqrt(4 pi Var_w(t))``:
    ``tau = g(N - 1) * f_max * T_eff * (1 - Z)^((N - 4) / 2) * sqrt((N - 1) Z / 2)``, where
    ``g(n) = sqrt(2 / n) Gamma(n / 2) / Gamma((n - 1) / 2)``.  With the single-frequency
    probability ``P_1 = (1 - Z)^((N - 3) / 2)`` of exceeding ``Z``,
    ``FAP = 1 - (1 - P_1) exp(-tau) = (1 - exp(-tau)) + P_1 exp(-tau)``.
    """
    z = float(np.clip(power, 0.0, 1.0 - 1e-15))
    n = int(n_points)
    if n <= 4 or z <= 0.0:
        return 1.0
    w = weights / weights.sum()
    mean_t = float(np.dot(w, time))
    var_t = float(np.dot(w, (time - mean_t) ** 2))
    t_eff = math.sqrt(4.0 * math.pi * var_t)
    nh = n - 1
    g = math.sqrt(2.0 / nh) * math.exp(gammaln(nh / 2.0) - gammaln((nh - 1) / 2.0))
    log1m = math.log1p(-z)
    log_single = 0.5 * (n - 3) * log1m
    tau = g * f_max * t_eff * math.exp(0.5 * (n - 4) * log1m) * math.sqrt(0.5 * nh * z)
    return float(min(1.0, -math.expm1(-tau) + math.exp(log_single - tau)))


def _band_groups(curve: LightCurve) -> list[np.ndarray]:
    if curve.band is None:
        return [np.arange(len(curve))]
    return [np.flatnonzero(curve.band == b) for b in curve.bands]


def _refine_peak(power: np.ndarray, i: int, f_min: float, df: float) -> float:
    """Frequency of the parabola's vertex through the peak and its neighbours."""
    if 0 < i < power.size - 1:
        left, mid, right = power[i - 1], power[i], power[i + 1]
        denom = left - 2.0 * mid + right
        if denom < 0:
            shift = 0.5 * (left - right) / denom
            return f_min + df * (i + float(np.clip(shift, -0.5, 0.5)))
    return f_min + df * i


def find_period(curve: LightCurve, grid: FrequencyGrid = DEFAULT_GRID) -> PeriodResult:
    """Search the period of one light curve (see the module docstring for the method)."""
    baseline = float(np.ptp(curve.time))
    f_min, df, n_freq = grid.for_baseline(baseline)
    total = np.zeros(n_freq)
    n_total = 0
    for idx in _band_groups(curve):
        t = curve.time[idx]
        order = np.argsort(t, kind="stable")
        result = nifty_ls.lombscargle(
            t[order],
            curve.mag[idx][order],
            curve.mag_err[idx][order],
            fmin=f_min,
            fmax=f_min + df * (n_freq - 1),
            Nf=n_freq,
            backend="finufft",
            nthreads=1,
        )
        power = np.nan_to_num(np.asarray(result.power, dtype=np.float64), nan=0.0)
        total += idx.size * power
        n_total += idx.size
    total /= n_total
    peak = int(np.argmax(total))
    frequency = _refine_peak(total, peak, f_min, df)
    weights = curve.mag_err**-2.0
    fap = baluev_false_alarm_probability(
        total[peak], n_total, f_min + df * (n_freq - 1), curve.time, weights
    )
    return PeriodResult(
        period=1.0 / frequency, power=float(total[peak]), false_alarm_probability=fap
    )


def find_periods(
    curves: Sequence[LightCurve],
    grid: FrequencyGrid = DEFAULT_GRID,
    n_jobs: int | None = None,
) -> list[PeriodResult]:
    """Search the periods of many curves, in parallel threads (the NUFFT releases the GIL).

    ``n_jobs`` defaults to the number of CPUs; results are in input order.
    """
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1 or len(curves) < 2:
        return [find_period(c, grid) for c in curves]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(lambda c: find_period(c, grid), curves))
