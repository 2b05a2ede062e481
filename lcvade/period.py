"""Period search: a multi-band periodogram, then alias-aware selection by a multi-harmonic fit.

Folding (thesis eq. 9.1) needs each object's period.  For curves that arrive without one the
search runs in three steps, all set by one :class:`PeriodSearch` (recorded in every result as
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
   neighbours.

3. **Selection.**  Every candidate is refitted with a multi-band, multi-harmonic model
   (:func:`harmonic_design`: one shared phase, per-band offsets and fundamentals, shared higher
   harmonics, after VanderPlas & Ivezic 2015, ApJ 812, 18) and ranked by the Bayesian
   information criterion (:func:`bayesian_information_criterion`), minimised over the number
   of harmonics up to ``n_harmonics``.  The winner's period is then doubled where the
   minima of its even and odd cycles differ (:func:`minima_difference_statistic`, the unequal
   eclipses of a binary caught at half its orbital period) by more than
   ``doubling_threshold`` standard deviations; the result says so in ``doubled``.

The result's confidence combines the false-alarm probability of the periodogram peak under
white noise (Baluev 2008, MNRAS 385, 1279) with the alias ambiguity: the BIC weight of the
winner among all candidates (:func:`candidate_probability`).  The winner's period is reported
at the refined periodogram frequency, so a single-band curve whose highest peak wins gets
exactly the period of the plain periodogram search.
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
    ``window_peaks``: local maxima taken per window; ``test_doubling``: try twice the period,
    taken when the minima of even and odd cycles differ by more than ``doubling_threshold``
    standard deviations (:func:`minima_difference_statistic`).

    The defaults: 4 harmonics (RRab light curves need 3-4; more start to fit the noise of bands
    with ~50 points), the 5 highest peaks, aliases at 1 and 2 cycles per day (a night-time
    survey's window function has its strongest side lobes there), a window of 0.01 c/d
    (several yearly side lobes, 1 / 365.25 c/d apart, around the sidereal and solar day), and a
    doubling threshold of 6 sigma (a binary left at half its period is still usable, a doubled
    pulsator is not).  ``docs/period-search.md`` has the ablation behind them.
    """

    grid: FrequencyGrid = field(default_factory=FrequencyGrid)
    n_harmonics: int = 4
    n_peaks: int = 5
    alias_orders: int = 2
    alias_window: float = 0.01
    window_peaks: int = 3
    test_doubling: bool = True
    doubling_threshold: float = 6.0

    def __post_init__(self) -> None:
        if self.n_harmonics < 1 or self.n_peaks < 1 or self.window_peaks < 1:
            raise ValueError("n_harmonics, n_peaks and window_peaks must be >= 1")
        if self.alias_orders < 0 or not (0 < self.alias_window < 0.5):
            raise ValueError("alias_orders must be >= 0 and 0 < alias_window < 0.5")

    @property
    def method(self) -> str:
        """The settings as one line, recorded as ``period_method`` with every result."""
        g = self.grid
        return (
            f"multiband-ls+bic periods={g.min_period:g}-{g.max_period:g}d "
            f"samples_per_peak={g.samples_per_peak} harmonics={self.n_harmonics} "
            f"peaks={self.n_peaks} aliases={self.alias_orders} window={self.alias_window:g} "
            f"window_peaks={self.window_peaks} "
            f"doubling={f'z>{self.doubling_threshold:g}' if self.test_doubling else 'off'}"
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

    ``power`` is the chosen peak's normalised Lomb-Scargle power (0..1) and
    ``false_alarm_probability`` the chance that white noise alone gives a peak this high
    somewhere on the grid.  ``alias_probability`` is the BIC weight of the chosen period among
    all candidates (aliases, other peaks, the doubled period), ``margin`` the BIC difference
    to the runner-up (``runner_up_period``; ``inf`` and ``None`` when there was none), and
    ``confidence = (1 - false_alarm_probability) * alias_probability``.  ``doubled`` says that
    the period is twice the periodogram's (the two halves of the cycle differ), and
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


def minima_difference_statistic(
    residual: np.ndarray, phase: np.ndarray, cycle: np.ndarray, n_bins: int
) -> float:
    """How strongly the residuals at minimum light differ between even and odd cycles.

    Folded at ``P``, an eclipsing binary whose periodogram peak is at half its orbital period
    lays its primary and secondary eclipses on top of each other: cycle ``n = floor(f t)`` of
    the half period holds the primary when ``n`` is even and the secondary when it is odd (or
    the other way round).  The inputs are the residuals ``r`` of the points at minimum light
    from the ``P`` model, their phases and cycles.  The phase is cut into ``n_bins`` bins
    ``k``; in each bin holding both parities, ``d_k = mean(r_even) - mean(r_odd)`` with variance
    ``v_k = s^2 (1 / n_even,k + 1 / n_odd,k)``, where ``s^2`` is the residuals' own scatter about
    their bin-and-parity means (so errors that are too small, and the shape the model misses
    in both parities alike, do not make a difference look significant).  The statistic is the
    inverse-variance weighted mean difference over its standard deviation,
    ``z = sum_k (d_k / v_k) / sqrt(sum_k 1 / v_k)``, ``N(0, 1)`` when the parities do not differ.
    ``0`` when fewer than two bins hold both parities.
    """
    if residual.size < 4:
        return 0.0
    bins = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    cell = 2 * bins + (cycle % 2)
    counts = np.bincount(cell, minlength=2 * n_bins).reshape(n_bins, 2)
    sums = np.bincount(cell, weights=residual.astype(np.float64), minlength=2 * n_bins)
    sums = sums.reshape(n_bins, 2)
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    dof = residual.size - int(np.count_nonzero(counts))
    both = np.all(counts > 0, axis=1)
    if dof < 2 or np.count_nonzero(both) < 2:
        return 0.0
    scatter = float(np.sum((residual - means.reshape(-1)[cell]) ** 2)) / dof
    if scatter <= 0.0:
        return 0.0
    inverse = 1.0 / (scatter * (1.0 / counts[both, 0] + 1.0 / counts[both, 1]))
    difference = means[both, 0] - means[both, 1]
    return float(np.sum(difference * inverse) / math.sqrt(float(np.sum(inverse))))


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


def _candidate_indices(
    power: np.ndarray, f_min: float, df: float, search: PeriodSearch
) -> list[int]:
    """Grid indices of the candidates of step 2 (module docstring), the highest peak first."""
    maxima = _local_maxima(power)
    if maxima.size == 0:
        return [int(np.argmax(power))]
    half = max(1, int(round(search.alias_window / df)))
    top = maxima[np.argsort(power[maxima])[::-1][: max(50, 20 * search.n_peaks)]]
    peaks: list[int] = []
    for i in top:
        if all(abs(int(i) - p) > half for p in peaks):
            peaks.append(int(i))
            if len(peaks) == search.n_peaks:
                break
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
        self.reference_band = int(np.argmax([idx.size for idx in groups]))
        self.time = curve.time - float(np.mean(curve.time))
        self.values = curve.mag - float(np.average(curve.mag, weights=curve.mag_err**-2.0))
        self.sigma = curve.mag_err
        base = self.n_bands + 2 * int(self.fundamental.sum())
        # keep the largest model well inside the number of points
        room = (self.n // 2 - base) // 2 + 1
        self.n_harmonics = int(max(1, min(search.n_harmonics, room)))
        self.n_parameters = np.array([base + 2 * (h - 1) for h in range(1, self.n_harmonics + 1)])

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

    def minima_difference(self, frequency: float, n_harmonics: int) -> float:
        """:func:`minima_difference_statistic` for the model with ``n_harmonics`` at ``frequency``.

        Minimum light is where the reference band's (most points) model is fainter than half
        way from its median to its faintest value, on a grid of 256 phases.  Residuals are
        averaged per epoch (:func:`epochs`, gap ``P / 50``) and the phase cut into
        ``clip(n_epochs / 8, 10, 100)`` bins.
        """
        scale = self.band_scale(frequency)
        k = int(self.n_parameters[n_harmonics - 1])
        design = self._design(self.time, self.band_index, frequency, scale)[:, :k]
        weighted = design / self.sigma[:, None]
        coef = np.linalg.lstsq(weighted, self.values / self.sigma, rcond=None)[0]
        residual = self.values - design @ coef
        grid = np.arange(256) / 256.0
        reference = np.full(grid.size, self.reference_band)
        model = self._design(grid / frequency, reference, frequency, scale)[:, :k] @ coef
        median, faintest = float(np.median(model)), float(model.max())
        at_minimum = model >= faintest - 0.5 * (faintest - median)
        epoch = epochs(self.time, 0.02 / frequency)
        n_epochs = int(epoch.max()) + 1
        count = np.bincount(epoch, minlength=n_epochs)
        mean_residual = np.bincount(epoch, weights=residual, minlength=n_epochs) / count
        cycles = np.bincount(epoch, weights=frequency * self.time, minlength=n_epochs) / count
        phase = np.mod(cycles, 1.0)
        keep = at_minimum[np.minimum((phase * grid.size).astype(np.int64), grid.size - 1)]
        n_bins = int(np.clip(n_epochs // 8, 10, 100))
        return minima_difference_statistic(
            mean_residual[keep], phase[keep], np.floor(cycles[keep]).astype(np.int64), n_bins
        )

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
    frequencies = np.array([_refine_peak(power, i, f_min, df) for i in indices])
    refit = _Refit(curve, search)
    chi2 = np.array([refit.chi_squares(f) for f in frequencies])  # (candidates, harmonics)
    scale = refit.scale(float(chi2[:, -1].min()))
    bic = np.array(
        [
            [
                bayesian_information_criterion(c, int(k), refit.n, scale)
                for c, k in zip(row, refit.n_parameters, strict=True)
            ]
            for row in chi2
        ]
    )
    best_h = np.argmin(bic, axis=1)
    candidate_bic = bic[np.arange(len(indices)), best_h]
    probabilities = candidate_probability(candidate_bic)
    order = np.argsort(candidate_bic, kind="stable")
    best = int(order[0])
    runner = int(order[1]) if order.size > 1 else None
    frequency = float(frequencies[best])
    n_harmonics = int(best_h[best] + 1)
    doubled = False
    if search.test_doubling and frequency / 2.0 >= f_min:
        statistic = refit.minima_difference(frequency, n_harmonics)
        doubled = abs(statistic) > search.doubling_threshold
    weights = curve.mag_err**-2.0
    fap = baluev_false_alarm_probability(
        power[indices[best]], len(curve), f_max, curve.time, weights
    )
    return PeriodResult(
        period=(2.0 if doubled else 1.0) / frequency,
        power=float(power[indices[best]]),
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
