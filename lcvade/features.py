"""The features f that p(f|y) models beside the latent code (thesis section 9.2).

Three feature sets, chosen per model by ``LCVaDEConfig.feature_set``: two numbers per band
and the log period, F = 2B + 1, for ``thesis`` and ``shape``; ``shape_fold`` adds one, the
fold's significance, before the log period (F = 2B + 2).

* ``thesis``: f = (m_b, s_b, log10 p), the mean and standard deviation of the magnitudes of
  band b.  The mean apparent magnitude m describes the survey's depth and the star's distance
  rather than its class, so a model trained on one survey finds every star of a brighter or
  fainter survey unusual.

* ``shape``: f = (log10 A_b, kappa_b, log10 p), which is the same for a star wherever it is
  observed from.  With q_5, q_50, q_95 the 5th, 50th and 95th percentiles of the magnitudes of
  band b (linear interpolation between order statistics),

      A_b     = q_95 - q_5                                 robust peak-to-peak amplitude
      kappa_b = (q_95 + q_5 - 2 q_50) / (q_95 - q_5)       percentile skewness, in [-1, 1]

  A is floored at the model's ``scale_floor``; kappa is 0 for a constant band.  kappa > 0
  means the curve spends most of its time bright and dips faint (eclipses), kappa < 0 the
  reverse (a pulsator's fast rise to a brief maximum).

* ``shape_fold``: the ``shape`` features and, before log10 p, the significance of the fold,
  which says whether the curve folded at p is periodic at all -- what tells a transient or
  an erratic curve, folded at whatever period a search returns, from a variable star:

      s = log10(1 - min(1, T / p) log10 FAP(Z)),       T = t_max - t_min

  Z is the larger normalised power of the one-harmonic model at 1/p and at 2/p (a contact
  binary's light varies at twice its orbital frequency), with an offset per band
  (``m = c_b + a_b cos 2 pi h t / p + s_b sin 2 pi h t / p``, h = 1 or 2, weighted by
  1/sigma^2),

      Z = 1 - chi2_fit / chi2_offsets,

  and FAP(Z) its false-alarm probability over the default period search's frequencies
  (Baluev 2008, :func:`lcvade.period.baluev_false_alarm_probability`).  A fold that covers
  less than one cycle (p > T, as for a supernova folded at a period longer than its light
  curve) carries only the fraction T / p of its evidence.  s is 0 for a fold white noise
  explains and grows slowly with the evidence (s = 1 at FAP = 1e-9, s = 2 at 1e-99), so a
  short curve of a real variable is not far from a long one.
"""

from __future__ import annotations

import math

import numpy as np

from lcvade.config import LCVaDEConfig
from lcvade.period import (
    DEFAULT_SEARCH,
    baluev_false_alarm_probability,
    harmonic_design,
    nested_chi_squares,
)

PERCENTILES = (0.05, 0.50, 0.95)
FOLD_NAMES = ("fold_significance",)


def band_percentiles(values: np.ndarray, mask: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """Percentiles ``q`` (fractions) of ``values`` (B, L) under ``mask`` per row: (B, len(q)).

    The percentile at fraction q of n sorted values v_(0..n-1) is the linear interpolation at
    position q (n - 1), as ``numpy.percentile``'s default; rows with no points give NaN.
    """
    count = mask.sum(axis=-1)
    ordered = np.sort(np.where(mask, values, np.inf), axis=-1)
    ordered = np.where(np.isinf(ordered), 0.0, ordered)  # padding, never read when count > 0
    position = np.asarray(q)[None, :] * np.maximum(count - 1, 0)[:, None]
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(count - 1, 0)[:, None])
    frac = position - low
    rows = np.arange(values.shape[0])[:, None]
    out = ordered[rows, low] * (1.0 - frac) + ordered[rows, high] * frac
    return np.where(count[:, None] > 0, out, np.nan)


def shape_statistics(
    values: np.ndarray, mask: np.ndarray, amplitude_floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """log10 A_b and kappa_b (see the module docstring) of every band row of ``values``."""
    q5, q50, q95 = band_percentiles(values, mask, PERCENTILES).T
    spread = q95 - q5
    amplitude = np.maximum(spread, amplitude_floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        skew = np.where(spread > 0, (q95 + q5 - 2.0 * q50) / spread, 0.0)
    skew = np.where(np.isnan(q50), np.nan, skew)
    return np.log10(amplitude), skew


def feature_names(config: LCVaDEConfig) -> list[str]:
    """Names of the features f in model order."""
    first, second = (
        ("mag_mean", "mag_std") if config.feature_set == "thesis" else ("log10_amplitude", "skew")
    )
    fold = list(FOLD_NAMES) if config.feature_set == "shape_fold" else []
    if config.bands is None:
        return [first, second, *fold, "log10_period"]
    return [
        *[f"{first}_{b}" for b in config.bands],
        *[f"{second}_{b}" for b in config.bands],
        *fold,
        "log10_period",
    ]


def fold_significance(
    time: np.ndarray,
    mag: np.ndarray,
    mag_err: np.ndarray,
    channels: np.ndarray,
    n_bands: int,
    period: float,
) -> float:
    """s of the ``shape_fold`` features (see the module docstring) of one curve folded at
    ``period``; ``channels`` is each point's band channel 0..n_bands-1."""
    power = 0.0
    for harmonic in (1.0, 2.0):
        design = harmonic_design(time, channels, n_bands, harmonic / period, 1)
        chi2 = nested_chi_squares(design, mag, mag_err)
        offsets, fit = float(chi2[n_bands - 1]), float(chi2[-1])
        if offsets > 0:
            power = max(power, 1.0 - fit / offsets)
    f_max = 1.0 / DEFAULT_SEARCH.grid.min_period
    fap = baluev_false_alarm_probability(power, time.size, f_max, time, mag_err**-2.0)
    coverage = min(1.0, (float(np.ptp(time)) if time.size else 0.0) / period)
    return math.log10(1.0 - coverage * math.log10(max(fap, 1e-300)))


def band_features(
    per_band: np.ndarray,
    per_band_mask: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    config: LCVaDEConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The two per-band parts of f for one curve, from its magnitudes by band (B, L).

    ``mean`` and ``std`` are the band's m and s (:func:`lcvade.folding.band_statistics`);
    f is then (first, second[, fold significance], log10 p).
    """
    if config.feature_set == "thesis":
        return mean, std
    return shape_statistics(per_band, per_band_mask, config.scale_floor)
