"""The features f that p(f|y) models beside the latent code (thesis section 9.2).

Two feature sets, chosen per model by ``LCVaDEConfig.feature_set``; both have two numbers per
band and the log period, so F = 2B + 1.

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
"""

from __future__ import annotations

import numpy as np

from lcvade.config import LCVaDEConfig

PERCENTILES = (0.05, 0.50, 0.95)


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
    if config.bands is None:
        return [first, second, "log10_period"]
    return [
        *[f"{first}_{b}" for b in config.bands],
        *[f"{second}_{b}" for b in config.bands],
        "log10_period",
    ]


def band_features(
    per_band: np.ndarray,
    per_band_mask: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    config: LCVaDEConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """The two per-band parts of f for one curve, from its magnitudes by band (B, L).

    ``mean`` and ``std`` are the band's m and s (:func:`lcvade.folding.band_statistics`);
    f is then (first, second, log10 p).
    """
    if config.feature_set == "thesis":
        return mean, std
    return shape_statistics(per_band, per_band_mask, config.scale_floor)
