"""Eclipsing binaries: a simple geometric model of detached (EA) and contact (EW) systems.

The catalog lists no eclipsing binaries, so their light curves come from geometry:

* two spherical stars seen as uniform discs (no limb darkening) of fractional radii
  ``r_1 = R_1 / a`` and ``r_2 = R_2 / a`` on a circular orbit of separation ``a = 1`` and
  inclination ``i``; surface brightnesses 1 and ``J`` (secondary / primary), so the
  out-of-eclipse luminosities are ``L_1 = pi r_1^2`` and ``L_2 = J pi r_2^2``;
* at orbital phase ``phi`` (0 = primary eclipse) the projected separation of the centres is
  ``d = sqrt(sin^2(2 pi phi) + cos^2 i cos^2(2 pi phi))``; the eclipsed flux is the area of the
  overlap of the two discs (the circle-circle lens area) times the surface brightness of the
  star behind -- the primary near phase 0, the secondary near phase 0.5;
* tidal distortion adds the ellipsoidal variation ``dL_j / L_j = -e_j cos(4 pi phi)``.  For
  detached systems ``e_1 = c q r_1^3 sin^2 i`` and ``e_2 = c r_2^3 sin^2 i / q``
  (``q = M_2 / M_1``), the leading term of Morris' (1985) expression with ``c = 1.5`` for
  typical limb and gravity darkening -- small for well-detached stars.  That first-order term
  badly underestimates the distortion of stars filling their Roche lobes, so for contact
  systems ``e_1 = e_2 = e sin^2 i`` with ``e`` drawn from 0.04-0.12, which gives the
  continuous, rounded light variation of W UMa stars (flux semi-amplitudes of the
  ``cos 4 pi phi`` term of the order of those of observed W UMa light curves).

Reflection, the O'Connell effect, eccentric orbits and third light are not modelled.  The light
curve in magnitudes is ``-2.5 log10(F(phi) / (L_1 + L_2))`` minus its phase average, so the
simulated mean magnitude is the phase-averaged one as for the pulsators.  Eclipses are grey:
the same magnitude curve is used in every band.

Parameter ranges (assumptions, documented here and drawn uniformly unless stated):

============  =========================================  ======================================
parameter     EA (detached, Beta Persei / Algol like)     EW (contact, W Ursae Majoris like)
============  =========================================  ======================================
period        log10 P ~ N(0.4, 0.35), kept in 0.4-30 d   log10 P ~ N(log10 0.37, 0.1), 0.22-1 d
r_1           0.06 - 0.25                                0.40 - 0.50
r_2           r_1 x (0.4 - 1.0)                           r_1 q^0.46 (Roche-lobe size ratio)
q             0.3 - 1.0                                  0.08 - 1.0
J             0.05 - 1.0                                 0.85 - 1.0 (common envelope)
cos i         (r_1 + r_2) x (0 - 0.95): always eclipsing  (r_1 + r_2) x (0 - 0.8)
e             Morris first-order term                     0.04 - 0.12 (times sin^2 i)
============  =========================================  ======================================

Eclipse depths and widths follow from these: the full eclipse width is about
``(r_1 + r_2) / pi`` in phase (0.04-0.15 for EA, about 0.2-0.3 for EW), and the primary depth
grows with the ratio of radii and the central overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from lcvade.simulation.labels import EA, EW

TWO_PI: Final = 2.0 * np.pi
ELLIPSOIDAL_COEFFICIENT: Final = 1.5
PHASE_GRID: Final = 512


@dataclass(frozen=True)
class Binaries:
    """Per-system parameters (arrays of equal length); angles in radians."""

    period: np.ndarray
    r1: np.ndarray
    r2: np.ndarray
    inclination: np.ndarray
    surface_ratio: np.ndarray
    mass_ratio: np.ndarray
    ellipsoidal1: np.ndarray
    ellipsoidal2: np.ndarray

    def __len__(self) -> int:
        return int(self.period.size)


def _truncated_lognormal(
    rng: np.random.Generator, mean: float, sigma: float, low: float, high: float, n: int
) -> np.ndarray:
    """10^N(mean, sigma) restricted to [low, high] by redrawing out-of-range values."""
    out = 10.0 ** rng.normal(mean, sigma, n)
    bad = (out < low) | (out > high)
    while np.any(bad):
        out[bad] = 10.0 ** rng.normal(mean, sigma, int(bad.sum()))
        bad = (out < low) | (out > high)
    return out


def draw_binaries(kind: str, n: int, rng: np.random.Generator) -> Binaries:
    """Draw ``n`` systems of ``kind`` (``"EA"`` or ``"EW"``) from the ranges in the docstring."""
    if kind == EA:
        period = _truncated_lognormal(rng, 0.4, 0.35, 0.4, 30.0, n)
        r1 = rng.uniform(0.06, 0.25, n)
        r2 = r1 * rng.uniform(0.4, 1.0, n)
        q = rng.uniform(0.3, 1.0, n)
        surface = rng.uniform(0.05, 1.0, n)
        impact = rng.uniform(0.0, 0.95, n)
        inclination = np.arccos(impact * (r1 + r2))
        sin2i = np.sin(inclination) ** 2
        e1 = ELLIPSOIDAL_COEFFICIENT * q * r1**3 * sin2i
        e2 = ELLIPSOIDAL_COEFFICIENT * r2**3 * sin2i / q
    elif kind == EW:
        period = _truncated_lognormal(rng, np.log10(0.37), 0.1, 0.22, 1.0, n)
        q = rng.uniform(0.08, 1.0, n)
        r1 = rng.uniform(0.40, 0.50, n)
        r2 = r1 * q**0.46
        surface = rng.uniform(0.85, 1.0, n)
        impact = rng.uniform(0.0, 0.8, n)
        inclination = np.arccos(impact * (r1 + r2))
        e1 = rng.uniform(0.04, 0.12, n) * np.sin(inclination) ** 2
        e2 = e1
    else:
        raise ValueError(f"unknown eclipsing-binary kind {kind!r}; use {EA!r} or {EW!r}")
    return Binaries(period, r1, r2, inclination, surface, q, e1, e2)


def overlap_area(d: np.ndarray, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Area of the intersection of two discs of radii ``r1``, ``r2`` with centres ``d`` apart."""
    d, r1, r2 = np.broadcast_arrays(
        np.asarray(d, float), np.asarray(r1, float), np.asarray(r2, float)
    )
    area = np.zeros(d.shape)
    small = np.minimum(r1, r2)
    inside = d <= np.abs(r1 - r2)
    area[inside] = np.pi * small[inside] ** 2
    partial = (~inside) & (d < r1 + r2)
    if np.any(partial):
        dd, a, b = d[partial], r1[partial], r2[partial]
        c1 = np.clip((dd**2 + a**2 - b**2) / (2.0 * dd * a), -1.0, 1.0)
        c2 = np.clip((dd**2 + b**2 - a**2) / (2.0 * dd * b), -1.0, 1.0)
        k = (-dd + a + b) * (dd + a - b) * (dd - a + b) * (dd + a + b)
        area[partial] = (
            a**2 * np.arccos(c1) + b**2 * np.arccos(c2) - 0.5 * np.sqrt(np.maximum(k, 0.0))
        )
    return area


def relative_flux(phase: np.ndarray, systems: Binaries, star: np.ndarray) -> np.ndarray:
    """Flux at orbital ``phase`` (cycles) over the out-of-eclipse total ``L_1 + L_2``."""
    r1, r2 = systems.r1[star], systems.r2[star]
    inc, j = systems.inclination[star], systems.surface_ratio[star]
    angle = TWO_PI * phase
    cos_a = np.cos(angle)
    d = np.sqrt(np.sin(angle) ** 2 + (np.cos(inc) * cos_a) ** 2)
    lum1 = np.pi * r1**2
    lum2 = j * np.pi * r2**2
    ell = np.cos(2.0 * angle)
    flux = lum1 * (1.0 - systems.ellipsoidal1[star] * ell) + lum2 * (
        1.0 - systems.ellipsoidal2[star] * ell
    )
    eclipsed = overlap_area(d, r1, r2) * np.where(cos_a > 0.0, 1.0, j)
    return (flux - eclipsed) / (lum1 + lum2)


@dataclass(frozen=True)
class BinaryCurves:
    """Phase-averaged zero points and peak-to-peak amplitudes of the systems' magnitude curves."""

    mean_offset: np.ndarray
    amplitude: np.ndarray


def binary_curves(systems: Binaries, n_grid: int = PHASE_GRID) -> BinaryCurves:
    """Each system's magnitude curve on a phase grid: its mean and peak-to-peak range."""
    n = len(systems)
    grid = np.broadcast_to(np.arange(n_grid) / n_grid, (n, n_grid))
    star = np.broadcast_to(np.arange(n)[:, None], (n, n_grid))
    mag = -2.5 * np.log10(relative_flux(grid, systems, star))
    return BinaryCurves(mean_offset=mag.mean(axis=1), amplitude=np.ptp(mag, axis=1))


def binary_magnitude(
    phase: np.ndarray, systems: Binaries, star: np.ndarray, curves: BinaryCurves
) -> np.ndarray:
    """Magnitude offsets from the phase-averaged magnitude at ``phase`` of systems ``star``."""
    return -2.5 * np.log10(relative_flux(phase, systems, star)) - curves.mean_offset[star]
