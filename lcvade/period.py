"""Period search: a multi-band periodogram, then alias-aware selection by a multi-harmonic fit.

Folding (thesis eq. 9.1) needs each object's period.  For curves that arrive without one the
search runs in four steps, all set by one :class:`PeriodSearch` (recorded in every result as
:attr:`PeriodSearch.method`).

1. **Periodogram.**  Each band gets a generalised (floating-mean, error-weighted) Lomb-Scargle
   periodogram, computed by the ``nifty-ls`` package (a non-uniform FFT) on a common uniform
   frequency grid (:class:`FrequencyGrid`): frequencies from ``1 / max_period`` to
   ``1 / min_period`` spaced ``df = 1 / (samples_per_peak * T)``, ``T`` the curve's baseline.
   The bands' powers are averaged with weights equal to their point counts,
   ``P(f) = sum_b N_b P_b(f) / N``.

2. **Candidates.**  The ``n_peaks`` highest local maxima of ``P(f)`` at least ``alias_window``
   apart, and, for each, the places where a ground-based survey's nightly sampling puts its
   aliases: ``|f + k f_sid|`` for ``k = +-1 .. +-alias_orders`` with ``f_sid = 1.0027379``
   cycles per day (the sidereal day: a field returns to the same hour angle once per sidereal
   day; the yearly side lobes at ``+- 1 / 365.25`` and the solar-day alias at exactly 1 c/d lie
   inside the window).  Within ``alias_window`` of each such place the ``window_peaks`` highest
   local maxima of ``P(f)`` are candidates, each refined by a parabola through it and its two
   neighbours.  A narrow eclipse spreads its power over many harmonics, none of which need
   stand out alone, so the ``n_peaks`` highest peaks of the periodogram summed over
   ``summed_harmonics`` harmonics (:func:`harmonic_sum`) are candidates too.

3. **Selection.**  Every candidate is refitted with a multi-band, multi-harmonic model
   (:func:`harmonic_design`: one shared phase, per-band offsets and fundamentals, shared higher
   harmonics, after VanderPlas & Ivezic 2015, ApJ 812, 18) and ranked by the Bayesian
   information criterion (:func:`bayesian_information_criterion`), minimised over the number
   of harmonics up to ``n_harmonics``.  ``S(f)`` peaks at half the frequency of every
   periodic signal, so a summed candidate that the model at twice its frequency explains as
   well is moved there (:func:`sub_harmonic_explained`), and stands down where it then lands
   on a plain candidate.

4. **Doubling.**  An eclipsing binary caught at half its orbital period folds its primary and
   secondary eclipses on top of each other.  The doubled model lets even and odd cycles of the
   winner differ in the depth of their minima (:func:`parity_fit`); it replaces the winner
   when its Bayes factor over the single model exceeds 1 (:func:`doubling_log_evidence`,
   prior width ``doubling_prior``), and the result says so in ``doubled``.

The result's confidence combines the false-alarm probability of the periodogram peak under
white noise (Baluev 2008, MNRAS 385, 1279) with the alias ambiguity: the BIC weight of the
winner among all candidates (:func:`candidate_probability`); the power behind the
false-alarm probability is that of the winner's strongest harmonic on the periodogram
(:func:`_strongest_harmonic`).  The winner's period is reported at the refined periodogram
frequency, so a single-band curve whose highest peak wins gets exactly the period of the
plain periodogram search.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import nifty_ls
import numpy as np
from scipy.special import gammaln

from lcvade.lightcurve import DEFAULT_MIN_BASELINE, LightCurve

#: Cycles per solar day of the sidereal day, the period of a ground-based survey's window.
SIDEREAL_FREQUENCY = 1.0027379
#: Points a band needs before it gets its own fundamental in the harmonic model.
MIN_POINTS_FOR_BAND_FUNDAMENTAL = 5


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
class PeriodSearch:
    """Every setting of the period search, in one place (see the module docstring).

    ``n_harmonics``: most harmonics of the refit (the BIC picks 1..n_harmonics per candidate);
    ``n_peaks``: distinct periodogram peaks taken as candidates; ``alias_orders``: aliases at
    ``1/P +- k f_sid`` for ``k = 1..alias_orders``; ``alias_window`` (cycles per day): the
    half-width searched around each alias and the least distance between distinct peaks;
    ``window_peaks``: local maxima taken per window; ``summed_harmonics``: harmonics summed in
    :func:`harmonic_sum`, whose ``n_peaks`` highest peaks are candidates too (0 or 1: none);
    ``test_doubling``: try twice the period, taken when the model whose even and odd cycles
    differ in depth wins by its Bayes factor (:func:`doubling_log_evidence`), with prior
    standard deviation ``doubling_prior`` of the fractional depth difference
    (:func:`parity_fit`).

    The defaults: 4 harmonics (RRab light curves need 3-4; more start to fit the noise of bands
    with ~50 points), the 5 highest peaks, aliases at 1 and 2 cycles per day (a night-time
    survey's window function has its strongest side lobes there), a window of 0.01 c/d
    (several yearly side lobes, 1 / 365.25 c/d apart, around the sidereal and solar day), 8
    summed harmonics (eclipses 1/8 of the cycle wide and wider put most of their power in
    them), and a doubling prior that lets the minima differ by up to about their own depth
    (0.5).  ``docs/period-search.md`` has the ablation behind them.
    """

    grid: FrequencyGrid = field(default_factory=FrequencyGrid)
    n_harmonics: int = 4
    n_peaks: int = 5
    alias_orders: int = 2
    alias_window: float = 0.01
    window_peaks: int = 3
    summed_harmonics: int = 8
    test_doubling: bool = True
    doubling_prior: float = 0.5

    def __post_init__(self) -> None:
        if self.n_harmonics < 1 or self.n_peaks < 1 or self.window_peaks < 1:
            raise ValueError("n_harmonics, n_peaks and window_peaks must be >= 1")
        if self.summed_harmonics < 0:
            raise ValueError("summed_harmonics must be >= 0 (0: no summed-harmonic candidates)")
        if self.alias_orders < 0 or not (0 < self.alias_window < 0.5):
            raise ValueError("alias_orders must be >= 0 and 0 < alias_window < 0.5")
        if not self.doubling_prior > 0:
            raise ValueError("doubling_prior must be a positive standard deviation")

    @property
    def method(self) -> str:
        """The settings as one line, recorded as ``period_method`` with every result."""
        g = self.grid
        doubling = f"bayes(depth={self.doubling_prior:g})" if self.test_doubling else "off"
        return (
            f"multiband-ls+bic periods={g.min_period:g}-{g.max_period:g}d "
            f"samples_per_peak={g.samples_per_peak} harmonics={self.n_harmonics} "
            f"peaks={self.n_peaks} aliases={self.alias_orders} window={self.alias_window:g} "
            f"window_peaks={self.window_peaks} summed_harmonics={self.summed_harmonics} "
            f"doubling={doubling}"
        )


DEFAULT_SEARCH = PeriodSearch()


def as_search(search: PeriodSearch | FrequencyGrid) -> PeriodSearch:
    """A :class:`PeriodSearch`; a bare :class:`FrequencyGrid` gets the default other settings."""
    if isinstance(search, FrequencyGrid):
        return PeriodSearch(grid=search)
    return search


@dataclass(frozen=True)
class PeriodResult:
    """The outcome of a period search.

    ``power`` is the normalised Lomb-Scargle power (0..1) of the highest periodogram peak
    among the chosen frequency's harmonics ``k f``, ``k <= max(n_harmonics, summed_harmonics)``
    (the peak itself when a periodogram peak wins; the strongest harmonic when a
    summed-harmonic candidate or a subharmonic wins), and ``false_alarm_probability`` the
    chance that white noise alone gives a peak this high somewhere on the grid.
    ``alias_probability`` is the BIC weight of the chosen period among all candidates
    (aliases, other peaks, summed-harmonic peaks), ``margin`` the BIC difference to the
    runner-up (``runner_up_period``; ``inf`` and ``None`` when there was none), and
    ``confidence = (1 - false_alarm_probability) * alias_probability``.  ``doubled`` says that
    the doubling test doubled the refit's winner (its even and odd cycles differ; a
    candidate at the orbital period can also win the refit directly), and
    ``n_harmonics`` how many harmonics the chosen fit used.
    """

    period: float
    power: float
    false_alarm_probability: float
    alias_probability: float = 1.0
    margin: float = math.inf
    runner_up_period: float | None = None
    doubled: bool = False
    n_harmonics: int = 1
    method: str = ""

    @property
    def confidence(self) -> float:
        return float((1.0 - self.false_alarm_probability) * self.alias_probability)


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


def harmonic_design(
    time: np.ndarray,
    band_index: np.ndarray,
    n_bands: int,
    frequency: float,
    n_harmonics: int,
    band_fundamental: np.ndarray | None = None,
    band_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Design matrix of the multi-band, multi-harmonic model at ``frequency``.

    ``m(t_j) = c_b + a_b cos(2 pi f t_j) + s_b sin(2 pi f t_j)
    + g_b sum_{h=2}^{H} [alpha_h cos(2 pi h f t_j) + beta_h sin(2 pi h f t_j)]``, ``b = b_j``:
    one phase shared by all bands, per-band offsets ``c_b`` and fundamentals ``(a_b, s_b)``
    (a band's amplitude), shared higher harmonics (the shape) multiplied by the band's fixed
    scale ``g_b`` (``band_scale``, default 1; :func:`band_amplitude_scale`).  Columns: the
    ``B`` offsets,
    then the fundamentals of the bands flagged in ``band_fundamental`` (default all), then
    the harmonics ``h = 2..H`` in order, so every prefix ending after a harmonic is the model
    with fewer harmonics.  With one band this is the ``H``-term Fourier series.
    """
    n = time.size
    flagged = np.ones(n_bands, bool) if band_fundamental is None else band_fundamental
    phase = 2.0 * np.pi * frequency * time
    offsets = np.zeros((n, n_bands))
    offsets[np.arange(n), band_index] = 1.0
    columns = [offsets]
    cos1, sin1 = np.cos(phase), np.sin(phase)
    for b in np.flatnonzero(flagged):
        mask = (band_index == b).astype(np.float64)
        columns.append(np.stack([cos1 * mask, sin1 * mask], axis=1))
    scale = np.ones(n) if band_scale is None else band_scale[band_index]
    for h in range(2, n_harmonics + 1):
        columns.append(np.stack([np.cos(h * phase) * scale, np.sin(h * phase) * scale], axis=1))
    return np.concatenate(columns, axis=1)


def band_amplitude_scale(
    design: np.ndarray,
    values: np.ndarray,
    sigma: np.ndarray,
    band_index: np.ndarray,
    band_fundamental: np.ndarray,
) -> np.ndarray:
    """Each band's fundamental amplitude over their point-weighted mean, ``A_b / A``.

    From the weighted least-squares fit of the one-harmonic model (offsets and fundamentals,
    ``design``): ``A_b = sqrt(a_b^2 + s_b^2)``, ``A = sum_b N_b A_b / sum_b N_b`` over the bands
    with a fundamental.  Pulsators keep their shape from band to band while the amplitude
    changes, so the shared harmonics of :func:`harmonic_design` are multiplied by this ratio.
    Bands without a fundamental, and all bands when ``A = 0``, get 1.
    """
    n_bands = band_fundamental.size
    scale = np.ones(n_bands)
    flagged = np.flatnonzero(band_fundamental)
    if flagged.size == 0:
        return scale
    coef = np.linalg.lstsq(design / sigma[:, None], values / sigma, rcond=None)[0]
    pairs = coef[n_bands:].reshape(-1, 2)
    amplitude = np.hypot(pairs[:, 0], pairs[:, 1])
    counts = np.bincount(band_index, minlength=n_bands)[flagged]
    mean = float(np.dot(counts, amplitude) / counts.sum())
    if mean > 0:
        scale[flagged] = amplitude / mean
    return scale


def parity_fit(
    residual: np.ndarray, regressors: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """How even and odd cycles differ: the coefficients of the doubled model and their covariance.

    Folded at ``P``, an eclipsing binary whose periodogram peak is at half its orbital period
    lays its primary and secondary eclipses on top of each other: cycle ``n = floor(f t)``
    holds the primary when ``n`` is even and the secondary when it is odd (or the other way
    round).  The doubled model adds to the ``P`` model ``m(phi)`` the term
    ``(-1)^n delta d(phi)``, with ``d = m - min m`` the depth profile: minima of depths
    ``(1 +- delta)`` times their mean.  With the ``P`` model's residuals ``r``, the regressors
    ``U`` (here the one column ``(-1)^n d``; the algebra holds for any number) and weights
    ``W``, the weighted least-squares estimate is ``b = (U^T W U)^-1 U^T W r``, and its
    covariance the heteroscedasticity-robust sandwich (HC3)
    ``C = (U^T W U)^-1 [sum_j w_j^2 e_j^2 u_j u_j^T] (U^T W U)^-1``, with
    ``e_j = (r_j - u_j^T b) / (1 - h_j)`` and ``h_j = w_j u_j^T (U^T W U)^-1 u_j`` (residuals
    that the ``P`` model leaves where the profile is steep, as at the fast rise of an RRab,
    and errors that are too small, do not make a difference look significant).
    ``None`` when there are too few residuals or the regressors are degenerate.
    """
    n, p = regressors.shape
    if n < p + 2:
        return None
    root = np.sqrt(weights)
    a = regressors * root[:, None]
    y = residual * root
    gram = a.T @ a
    if np.linalg.matrix_rank(gram) < p:
        return None
    coef = np.linalg.solve(gram, a.T @ y)
    leverage = np.einsum("ij,ij->i", a, np.linalg.solve(gram, a.T).T)
    left = a * ((y - a @ coef) / np.maximum(1.0 - leverage, 1e-3))[:, None]
    meat = left.T @ left
    covariance = np.linalg.solve(gram, np.linalg.solve(gram, meat).T)
    return coef, 0.5 * (covariance + covariance.T)


def doubling_log_evidence(coef: np.ndarray, covariance: np.ndarray, prior_sd: np.ndarray) -> float:
    """Log Bayes factor of the doubled model over the single one, from :func:`parity_fit`.

    The estimate ``b`` is ``N(beta, C)``; under the single model ``beta = 0``, under the doubled
    one ``beta ~ N(0, S)``, ``S = diag(prior_sd^2)``.  So ``b ~ N(0, C)`` against
    ``b ~ N(0, C + S)``, and
    ``ln B = (b^T C^-1 b - b^T (C + S)^-1 b) / 2 - ln det(I + S C^-1) / 2``.
    The second term is the Occam penalty: the better the data pin ``b`` down, the more a
    difference of the prior's size must show before the doubled model is preferred.
    """
    prior = np.diag(np.asarray(prior_sd, dtype=np.float64) ** 2)
    try:
        fit = float(coef @ np.linalg.solve(covariance, coef))
        wide = float(coef @ np.linalg.solve(covariance + prior, coef))
        sign, logdet = np.linalg.slogdet(np.eye(coef.size) + prior @ np.linalg.inv(covariance))
    except np.linalg.LinAlgError:
        return -math.inf
    if sign <= 0:
        return -math.inf
    return 0.5 * (fit - wide) - 0.5 * logdet


def epochs(time: np.ndarray, gap: float) -> np.ndarray:
    """Epoch number of each point: points less than ``gap`` after the previous one share it.

    The bands of one visit (SDSS takes ``ugriz`` within minutes) see the same state of the star,
    so their residuals are not independent; they are averaged per epoch before comparing.
    """
    order = np.argsort(time, kind="stable")
    starts = np.concatenate([[True], np.diff(time[order]) >= gap])
    epoch = np.empty(time.size, dtype=np.int64)
    epoch[order] = np.cumsum(starts) - 1
    return epoch


def nested_chi_squares(design: np.ndarray, values: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Weighted residual sums of squares of every prefix of ``design``'s columns.

    With ``A = diag(1/sigma) X``, ``y = values / sigma`` and the QR factorisation ``A = QR``,
    the least-squares fit on the first ``k`` columns leaves
    ``chi2_k = ||y||^2 - sum_{i <= k} (q_i^T y)^2``.  A column that is (numerically) a
    combination of the earlier ones adds nothing (``|R_kk| <= 1e-9 max |R_ii|``).
    """
    a = design / sigma[:, None]
    y = values / sigma
    q, r = np.linalg.qr(a)
    diag = np.abs(np.diag(r))
    projection = q.T @ y
    projection[diag <= 1e-9 * max(float(diag.max(initial=0.0)), 1e-300)] = 0.0
    return np.maximum(float(y @ y) - np.cumsum(projection**2), 0.0)


def bayesian_information_criterion(
    chi2: float, n_parameters: int, n_points: int, scale: float
) -> float:
    """``BIC = chi2 / s^2 + k ln N``, with ``s^2 >= 1`` the reduced chi-square of the best fit.

    Survey errors are often underestimated; dividing by ``s^2`` (when above 1) rescales them
    so that the best model's residuals are consistent with them, which keeps the BIC's
    differences from overstating how well one period beats another.
    """
    return float(chi2 / scale + n_parameters * math.log(n_points))


def candidate_probability(bic: np.ndarray) -> np.ndarray:
    """BIC weights of competing models: ``w_c = exp(-(BIC_c - BIC_min) / 2) / sum_d w_d``.

    ``exp(-BIC / 2)`` approximates each model's evidence, so with equal prior odds ``w_c``
    is the posterior probability of candidate ``c`` among those compared.
    """
    w = np.exp(-0.5 * (bic - bic.min()))
    return w / w.sum()


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


def periodogram(curve: LightCurve, grid: FrequencyGrid) -> tuple[np.ndarray, float, float]:
    """The bands' point-weighted mean power on the grid, with its ``f_min`` and ``df``."""
    baseline = float(np.ptp(curve.time))
    f_min, df, n_freq = grid.for_baseline(baseline)
    total = np.zeros(n_freq)
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
    return total / len(curve), f_min, df


def _local_maxima(power: np.ndarray) -> np.ndarray:
    inner = (power[1:-1] > power[:-2]) & (power[1:-1] >= power[2:])
    maxima = np.flatnonzero(inner) + 1
    if power.size == 1 or power[0] > power[1]:
        maxima = np.concatenate([[0], maxima])
    if power.size > 1 and power[-1] > power[-2]:
        maxima = np.concatenate([maxima, [power.size - 1]])
    return maxima


def _strongest_harmonic(power: np.ndarray, i: int, f_min: float, df: float, n_terms: int) -> int:
    """Grid index of the highest of the powers that :func:`harmonic_sum` adds up at index ``i``."""
    best = i
    for k in range(2, n_terms + 1):
        centre = k * i + int(round((k - 1) * f_min / df))
        lo, hi = max(0, centre - k // 2), min(power.size, centre + k // 2 + 1)
        if lo < hi:
            j = lo + int(np.argmax(power[lo:hi]))
            if power[j] > power[best]:
                best = j
    return best


def _distinct_peaks(power: np.ndarray, maxima: np.ndarray, half: int, count: int) -> list[int]:
    """The ``count`` highest of the local maxima ``maxima`` of ``power``, ``half`` apart."""
    keep = min(maxima.size, max(50, 20 * count))
    top = maxima[np.argpartition(-power[maxima], keep - 1)[:keep]] if keep else maxima
    top = top[np.argsort(power[top], kind="stable")[::-1]]
    peaks: list[int] = []
    for i in top:
        if all(abs(int(i) - p) > half for p in peaks):
            peaks.append(int(i))
            if len(peaks) == count:
                break
    return peaks


def _candidate_indices(
    power: np.ndarray, f_min: float, df: float, search: PeriodSearch
) -> list[int]:
    """Grid indices of the candidates of step 2 (module docstring), the highest peak first."""
    maxima = _local_maxima(power)
    if maxima.size == 0:
        return [int(np.argmax(power))]
    half = max(1, int(round(search.alias_window / df)))
    peaks = _distinct_peaks(power, maxima, half, search.n_peaks)
    centres = []
    for p in peaks:
        f = f_min + df * p
        centres.append(f)
        for k in range(1, search.alias_orders + 1):
            centres += [f + k * SIDEREAL_FREQUENCY, abs(f - k * SIDEREAL_FREQUENCY)]
    chosen = dict.fromkeys(peaks)
    for f in centres:
        lo = max(0, int(math.floor((f - f_min) / df)) - half)
        hi = min(power.size, int(math.ceil((f - f_min) / df)) + half + 1)
        if hi <= lo:
            continue
        inside = maxima[(maxima >= lo) & (maxima < hi)]
        for i in inside[np.argsort(power[inside])[::-1][: search.window_peaks]]:
            chosen.setdefault(int(i))
    return list(chosen)


def sub_harmonic_explained(bic_at_f: float, bic_at_2f: np.ndarray) -> int | None:
    """Whether a candidate at frequency ``f`` is a sub-harmonic of a signal at ``2 f``.

    The periodogram summed over harmonics (:func:`harmonic_sum`) peaks at ``f / 2`` of any
    signal of frequency ``f``: the harmonics of ``f / 2`` include all those of ``f``.  A model
    at ``f / 2`` with ``2H`` harmonics fits the signal as well as one at ``f`` with ``H``; it
    only wins the selection when its frequency, refined on the summed periodogram, is closer
    to the truth than that of the plain periodogram's peak.  So the candidate is compared with
    the model at ``2 f`` at the same frequency: when that model's BIC (``bic_at_2f``, one entry
    per number of harmonics) is as low or lower than the candidate's, the even and odd cycles
    are alike and the candidate is explained by ``2 f``.  Returns the index of the best number
    of harmonics at ``2 f``, or None where the candidate stands on its own (e.g. an eclipsing
    binary whose two eclipses differ).
    """
    best = int(np.argmin(bic_at_2f))
    return best if bic_at_2f[best] <= bic_at_f else None


def harmonic_sum(power: np.ndarray, f_min: float, df: float, n_terms: int) -> np.ndarray:
    """The periodogram summed over harmonics: ``S(f) = sum_{k=1..K} P(k f)``.

    A signal with sharp features (a narrow eclipse) spreads its power over many harmonics of
    its frequency, none of which need stand out alone; their sum does.  On the grid
    ``f_i = f_min + i df``, ``P(k f_i)`` is the highest power within ``k df / 2`` of ``k f_i``
    (the grid's half spacing, scaled by ``k``); harmonics beyond the grid add nothing.
    """
    n = power.size
    total = power.copy()
    padded = np.concatenate([np.zeros(n_terms), power, np.zeros(n_terms)])
    for k in range(2, n_terms + 1):
        half = k // 2
        centre = int(round((k - 1) * f_min / df))  # k f_i sits at index k i + centre
        count = max(0, -(-(n - centre) // k))
        if count == 0:
            continue
        start = n_terms + centre - half
        widest = padded[start : start + k * count : k].copy()
        for j in range(1, 2 * half + 1):
            np.maximum(widest, padded[start + j : start + j + k * count : k], out=widest)
        total[:count] += widest
    return total


class _Refit:
    """The harmonic refits of one curve: BIC of each candidate frequency (step 3)."""

    def __init__(self, curve: LightCurve, search: PeriodSearch) -> None:
        groups = _band_groups(curve)
        self.n = len(curve)
        self.n_bands = len(groups)
        self.band_index = np.empty(self.n, dtype=np.int64)
        for b, idx in enumerate(groups):
            self.band_index[idx] = b
        self.fundamental = np.array([idx.size >= MIN_POINTS_FOR_BAND_FUNDAMENTAL for idx in groups])
        self.time = curve.time - float(np.mean(curve.time))
        self.values = curve.mag - float(np.average(curve.mag, weights=curve.mag_err**-2.0))
        self.sigma = curve.mag_err
        base = self.n_bands + 2 * int(self.fundamental.sum())
        # keep the largest model well inside the number of points
        room = (self.n // 2 - base) // 2 + 1
        self.n_harmonics = int(max(1, min(search.n_harmonics, room)))
        self.n_parameters = np.array([base + 2 * (h - 1) for h in range(1, self.n_harmonics + 1)])
        most = max(search.n_harmonics, search.summed_harmonics)
        self.profile_harmonics = int(max(1, min(most, room)))

    def _design(self, time: np.ndarray, band: np.ndarray, frequency: float, scale: np.ndarray):
        return harmonic_design(
            time, band, self.n_bands, frequency, self.n_harmonics, self.fundamental, scale
        )

    def band_scale(self, frequency: float) -> np.ndarray:
        first = harmonic_design(
            self.time, self.band_index, self.n_bands, frequency, 1, self.fundamental
        )
        return band_amplitude_scale(
            first, self.values, self.sigma, self.band_index, self.fundamental
        )

    def chi_squares(self, frequency: float) -> np.ndarray:
        """chi2 of the model with 1..H harmonics at ``frequency``."""
        design = self._design(self.time, self.band_index, frequency, self.band_scale(frequency))
        return nested_chi_squares(design, self.values, self.sigma)[self.n_parameters - 1]

    def parity_test(self, frequency: float) -> tuple[np.ndarray, np.ndarray] | None:
        """:func:`parity_fit` of the harmonic model at ``frequency``.

        The model has up to ``max(n_harmonics, summed_harmonics)`` harmonics (a narrow eclipse
        needs many), as many as minimise the BIC.  The profile is each band's model on a grid
        of 256 phases, ``d`` its depth below the band's brightest model value, read off at each
        point's phase.  Residuals and regressors are
        averaged per epoch (:func:`epochs`, gap ``P / 50``), so that the bands of one visit
        count once, and weighted by the inverse variance of their means.
        """
        scale = self.band_scale(frequency)
        most = self.profile_harmonics
        full = harmonic_design(
            self.time, self.band_index, self.n_bands, frequency, most, self.fundamental, scale
        )
        n_parameters = self.n_parameters[0] + 2 * np.arange(most)
        chi2 = nested_chi_squares(full, self.values, self.sigma)[n_parameters - 1]
        fit_scale = max(1.0, float(chi2[-1]) / max(1, self.n - int(n_parameters[-1])))
        bic = [
            bayesian_information_criterion(c, int(k), self.n, fit_scale)
            for c, k in zip(chi2, n_parameters, strict=True)
        ]
        k = int(n_parameters[int(np.argmin(bic))])
        design = full[:, :k]
        weighted = design / self.sigma[:, None]
        coef = np.linalg.lstsq(weighted, self.values / self.sigma, rcond=None)[0]
        residual = self.values - design @ coef
        n_grid = 256
        grid = np.arange(n_grid) / n_grid
        bands = np.repeat(np.arange(self.n_bands), n_grid)
        phases = np.tile(grid, self.n_bands)
        model = (
            harmonic_design(
                phases / frequency, bands, self.n_bands, frequency, most, self.fundamental, scale
            )[:, :k]
            @ coef
        )
        model = model.reshape(self.n_bands, n_grid)
        depth = model - model.min(axis=1, keepdims=True)
        cycles = frequency * self.time
        at = np.minimum((np.mod(cycles, 1.0) * n_grid).astype(np.int64), n_grid - 1)
        sign = 1.0 - 2.0 * np.mod(np.floor(cycles), 2.0)
        profile = (sign * depth[self.band_index, at])[:, None]
        epoch = epochs(self.time, 0.02 / frequency)
        n_epochs = int(epoch.max()) + 1
        count = np.bincount(epoch, minlength=n_epochs)
        variance = np.bincount(epoch, weights=self.sigma**2, minlength=n_epochs) / count**2
        mean_residual = np.bincount(epoch, weights=residual, minlength=n_epochs) / count
        mean_profile = np.stack(
            [np.bincount(epoch, weights=col, minlength=n_epochs) / count for col in profile.T],
            axis=1,
        )
        return parity_fit(mean_residual, mean_profile, 1.0 / variance)

    def scale(self, chi2_full: float) -> float:
        dof = max(1, self.n - int(self.n_parameters[-1]))
        return max(1.0, chi2_full / dof)


def find_period(
    curve: LightCurve, search: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH
) -> PeriodResult:
    """Search the period of one light curve (see the module docstring for the method)."""
    search = as_search(search)
    power, f_min, df = periodogram(curve, search.grid)
    f_max = f_min + df * (power.size - 1)
    indices = _candidate_indices(power, f_min, df, search)
    frequencies = [_refine_peak(power, i, f_min, df) for i in indices]
    refit = _Refit(curve, search)
    n_plain = len(indices)
    half = max(1, int(round(search.alias_window / df)))
    if search.summed_harmonics > 1:
        summed = harmonic_sum(power, f_min, df, search.summed_harmonics)
        for i in _distinct_peaks(summed, _local_maxima(summed), half, search.n_peaks):
            if all(abs(i - j) > half for j in indices):
                indices.append(i)
                frequencies.append(_refine_peak(summed, i, f_min, df))
    frequencies = np.array(frequencies)
    chi2 = np.array([refit.chi_squares(f) for f in frequencies])  # (candidates, harmonics)
    scale = refit.scale(float(chi2[:, -1].min()))

    def bics(row: np.ndarray) -> np.ndarray:
        return np.array(
            [
                bayesian_information_criterion(c, int(k), refit.n, scale)
                for c, k in zip(row, refit.n_parameters, strict=True)
            ]
        )

    bic = np.array([bics(row) for row in chi2])
    best_h = np.argmin(bic, axis=1)
    candidate_bic = bic[np.arange(len(indices)), best_h]
    for c in range(n_plain, len(indices)):
        f, h, b = float(frequencies[c]), int(best_h[c]), float(candidate_bic[c])
        while 2.0 * f <= f_max:
            row = bics(refit.chi_squares(2.0 * f))
            up = sub_harmonic_explained(b, row)
            if up is None:
                break
            f, h, b = 2.0 * f, up, float(row[up])
        frequencies[c], best_h[c], candidate_bic[c] = f, h, b
        indices[c] = min(power.size - 1, int(round((f - f_min) / df)))
        for j in range(len(indices)):
            # a copy of a plain candidate stands down (the plain periodogram's period is
            # kept where it is right); of two summed ones, the better fit stays
            if j != c and abs(frequencies[j] - f) <= half * df:
                worse = c if j < n_plain or candidate_bic[j] <= candidate_bic[c] else j
                candidate_bic[worse] = math.inf
    probabilities = candidate_probability(candidate_bic)
    order = np.argsort(candidate_bic, kind="stable")
    order = order[np.isfinite(candidate_bic[order])]
    best = int(order[0])
    runner = int(order[1]) if order.size > 1 else None
    frequency = float(frequencies[best])
    n_harmonics = int(best_h[best] + 1)
    doubled = False
    if search.test_doubling and frequency / 2.0 >= f_min:
        fit = refit.parity_test(frequency)
        prior = np.array([search.doubling_prior])
        doubled = fit is not None and doubling_log_evidence(*fit, prior) > 0.0
    weights = curve.mag_err**-2.0
    n_terms = max(search.n_harmonics, search.summed_harmonics)
    peak = _strongest_harmonic(power, indices[best], f_min, df, n_terms)
    fap = baluev_false_alarm_probability(power[peak], len(curve), f_max, curve.time, weights)
    return PeriodResult(
        period=(2.0 if doubled else 1.0) / frequency,
        power=float(power[peak]),
        false_alarm_probability=fap,
        alias_probability=float(probabilities[best]),
        margin=math.inf if runner is None else float(candidate_bic[runner] - candidate_bic[best]),
        runner_up_period=None if runner is None else float(1.0 / frequencies[runner]),
        doubled=doubled,
        n_harmonics=n_harmonics,
        method=search.method,
    )


def find_periods(
    curves: Sequence[LightCurve],
    search: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH,
    n_jobs: int | None = None,
) -> list[PeriodResult]:
    """Search the periods of many curves, in parallel threads (the NUFFT releases the GIL).

    ``n_jobs`` defaults to the number of CPUs; results are in input order.
    """
    search = as_search(search)
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1 or len(curves) < 2:
        return [find_period(c, search) for c in curves]
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(lambda c: find_period(c, search), curves))
