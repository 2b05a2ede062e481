"""Photometry: apparent magnitudes, magnitude-dependent errors, noise and outliers.

Apparent magnitudes
    The catalog stars lie in the Magellanic Clouds and the Galactic bulge, so their catalog
    magnitudes say more about those distances than about a survey.  Every simulated object
    (of any class) instead gets a mean magnitude in the cadence's reference band from the
    survey's brightness range, with differential counts rising towards faint magnitudes as
    ``N(m) dm ~ 10^(slope m)`` between ``bright`` and ``faint`` -- the same distribution for all
    classes, so the mean magnitude does not give the class away.

Errors
    The random error of one visit follows the single-visit error model of the LSST overview
    paper (Ivezic et al. 2019): with ``x = 10^(0.4 (m - m_5))``, ``m_5`` the visit's 5-sigma depth,
    ``sigma_rand^2 = (0.04 - gamma) x + gamma x^2``; a systematic floor is added in quadrature,
    ``sigma = sqrt(sigma_floor^2 + sigma_rand^2)``.  The depth of each visit scatters around the
    band's nominal ``m_5`` by ``depth_scatter`` magnitudes (seeing, sky, airmass), which makes the
    errors heteroscedastic within a curve as in real data.  Each survey has its own depths and
    floor (:data:`PHOTOMETRY`); e.g. ZTF reaches ``sigma = 0.2`` at r = 20.6 and ~0.015 at r = 16.

Detections
    A survey only reports detections: a visit whose expected signal-to-noise ratio
    ``1.0857 / sigma`` is below ``snr_limit`` (5 by default, i.e. fainter than the visit's 5-sigma
    depth) is dropped.  The generator then drops a band of an object altogether when fewer
    than the cadence's ``min_per_band`` detections remain, except the reference band, which is
    kept whole (as forced photometry would be) so that every object keeps a light curve.  The
    brightness ranges end at least 0.1 mag above the reference band's 5-sigma depth.

Noise and outliers
    The reported ``mag_err`` is the model ``sigma`` and the observed magnitude is the true one
    plus Gaussian noise of that standard deviation.  Optionally a fraction of points are
    outliers: their magnitude is displaced by ``5 sigma`` plus an exponential tail of mean
    0.3 mag, towards fainter magnitudes with probability 0.7 (clouds, bad pixels, blends) and
    brighter otherwise (cosmic rays); their reported error is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np

from lcvade.simulation.cadence import built_in


@dataclass(frozen=True)
class MagnitudeRange:
    """Mean magnitudes in the reference band: ``N(m) ~ 10^(slope m)`` on [bright, faint]."""

    bright: float
    faint: float
    slope: float = 0.2

    def __post_init__(self) -> None:
        if not self.bright < self.faint:
            raise ValueError("the magnitude range needs bright < faint")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Inverse-CDF draws of ``n`` mean magnitudes."""
        u = rng.uniform(0.0, 1.0, n)
        if self.slope == 0:
            return self.bright + u * (self.faint - self.bright)
        lo = 10.0 ** (self.slope * self.bright)
        hi = 10.0 ** (self.slope * self.faint)
        return np.log10(lo + u * (hi - lo)) / self.slope


@dataclass(frozen=True)
class ErrorModel:
    """Single-visit errors: 5-sigma depth per band, floor, gamma, per-visit depth scatter."""

    depth: dict[str, float]
    floor: float
    gamma: float = 0.039
    depth_scatter: float = 0.2

    def sigma(self, mag: np.ndarray, depth: np.ndarray | float) -> np.ndarray:
        """``sqrt(floor^2 + (0.04 - gamma) x + gamma x^2)``, ``x = 10^(0.4 (mag - depth))``."""
        x = 10.0 ** (0.4 * (np.asarray(mag, dtype=np.float64) - depth))
        return np.sqrt(self.floor**2 + (0.04 - self.gamma) * x + self.gamma * x**2)


@dataclass(frozen=True)
class PhotometrySpec:
    """A survey's brightness range (reference band) and error model."""

    magnitudes: MagnitudeRange
    errors: ErrorModel
    description: str = field(default="", compare=False)
    snr_limit: float | None = 5.0

    def with_(self, **changes) -> PhotometrySpec:
        return replace(self, **changes)


PHOTOMETRY: Final[dict[str, PhotometrySpec]] = {
    "uniform": PhotometrySpec(
        MagnitudeRange(13.0, 20.0),
        ErrorModel({"I": 21.5}, floor=0.007),
        "OGLE-like I: sigma ~0.02 at I = 18.7, 0.05 at I = 20",
    ),
    "asas": PhotometrySpec(
        MagnitudeRange(8.0, 13.8),
        ErrorModel({"V": 14.3}, floor=0.02),
        "ASAS-like V: sigma ~0.02 at V = 10, 0.1 at V = 13.5",
    ),
    "linear": PhotometrySpec(
        MagnitudeRange(14.0, 17.5),
        ErrorModel({"r": 18.3}, floor=0.02),
        "LINEAR-like: sigma ~0.02 at r = 15, 0.1 at r = 17.5",
    ),
    "ztf": PhotometrySpec(
        MagnitudeRange(13.5, 20.3),
        ErrorModel({"g": 20.8, "r": 20.6}, floor=0.01),
        "ZTF-like g, r: 5-sigma depths 20.8 and 20.6",
    ),
    "lsst": PhotometrySpec(
        MagnitudeRange(16.5, 24.0),
        ErrorModel({"u": 23.9, "g": 25.0, "r": 24.7, "i": 24.0, "z": 23.3, "y": 22.1}, floor=0.005),
        "LSST-like single-visit depths (Ivezic et al. 2019)",
    ),
}


def get_photometry(photometry: str | PhotometrySpec) -> PhotometrySpec:
    """A built-in survey photometry by cadence name, or ``photometry`` itself."""
    return built_in(photometry, PHOTOMETRY, PhotometrySpec, "no photometry model named")


MAG_PER_SNR: Final = 2.5 / np.log(10.0)
OUTLIER_SIGMAS: Final = 5.0
OUTLIER_TAIL: Final = 0.3
OUTLIER_FAINT_PROBABILITY: Final = 0.7


@dataclass(frozen=True)
class Observed:
    """Observed magnitudes, their reported errors, and which points are outliers."""

    mag: np.ndarray
    mag_err: np.ndarray
    outlier: np.ndarray
    detected: np.ndarray


def observe(
    true_mag: np.ndarray,
    band: np.ndarray,
    bands: tuple[str, ...],
    errors: ErrorModel,
    rng: np.random.Generator,
    outlier_fraction: float = 0.0,
    snr_limit: float | None = None,
) -> Observed:
    """Add errors, Gaussian noise and optional outliers to noiseless magnitudes.

    ``detected`` flags the visits whose expected signal-to-noise ratio reaches ``snr_limit``
    (all of them when it is None).
    """
    if not 0.0 <= outlier_fraction < 1.0:
        raise ValueError("outlier_fraction must lie in [0, 1)")
    missing = [b for b in bands if b not in errors.depth]
    if missing:
        raise ValueError(f"the error model has no 5-sigma depth for band(s) {missing}")
    depth = np.array([errors.depth[b] for b in bands])[band]
    depth = depth + rng.normal(0.0, errors.depth_scatter, band.size)
    sigma = errors.sigma(true_mag, depth)
    mag = true_mag + sigma * rng.standard_normal(band.size)
    outlier = np.zeros(band.size, dtype=bool)
    if outlier_fraction > 0:
        outlier = rng.uniform(0.0, 1.0, band.size) < outlier_fraction
        k = int(outlier.sum())
        sign = np.where(rng.uniform(0.0, 1.0, k) < OUTLIER_FAINT_PROBABILITY, 1.0, -1.0)
        shift = OUTLIER_SIGMAS * sigma[outlier] + rng.exponential(OUTLIER_TAIL, k)
        mag[outlier] += sign * shift
    if snr_limit is None:
        detected = np.ones(band.size, dtype=bool)
    else:
        detected = sigma <= MAG_PER_SNR / snr_limit
    return Observed(mag=mag, mag_err=sigma, outlier=outlier, detected=detected)
