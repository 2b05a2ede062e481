"""Magnitudes from alert photometry: difference fluxes, reference fluxes and direct-image fluxes.

Alert packets measure an object on the *difference* image (science minus reference).  For a
transient -- nothing at its position in the reference -- that is its light curve.  For a
variable star it is not: the star's light is in the reference, and the difference flux swings
around zero as the star brightens and fades.  These pure functions turn what the packets carry
into magnitudes of either kind:

* :func:`flux_to_ab_mag`: an AB magnitude from a flux in nJy (Rubin/LSST ``psfFlux`` for
  transients, ``scienceFlux`` -- the direct-image flux -- for variables);
* :func:`ztf_apparent_magnitude`: the apparent ("DC") magnitude of a ZTF detection on a
  reference source, the reference flux plus the signed difference flux.
"""

from __future__ import annotations

import math

import numpy as np

NJY_AB_ZERO_POINT = 31.4
POGSON = 2.5 / math.log(10.0)  # d m / d ln f, 1.0857...


def flux_to_ab_mag(flux: np.ndarray, flux_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitude and its error from a flux in nJy: m = -2.5 log10(f) + 31.4.

    The error is first-order propagation, sigma_m = 2.5 / ln(10) * sigma_f / f.  Non-positive
    fluxes have no magnitude and give NaN.
    """
    f = np.asarray(flux, dtype=np.float64)
    e = np.asarray(flux_err, dtype=np.float64)
    positive = f > 0
    safe = np.where(positive, f, 1.0)
    mag = np.where(positive, -2.5 * np.log10(safe) + NJY_AB_ZERO_POINT, np.nan)
    err = np.where(positive, POGSON * e / safe, np.nan)
    return mag, err


def ztf_apparent_magnitude(
    magnr: np.ndarray,
    sigmagnr: np.ndarray,
    magpsf: np.ndarray,
    sigmapsf: np.ndarray,
    sign: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apparent magnitude and error of ZTF detections on a reference source.

    With fluxes on the common scale f = 10^(-0.4 m) (the photometric zero point cancels),
    the reference flux f_ref = 10^(-0.4 magnr) and the difference flux
    f_diff = s 10^(-0.4 magpsf), s = +1 when ``isdiffpos`` is ``t``/``1`` and -1 when it is
    ``f``/``0``, the source's flux in the science image is

        f = f_ref + s 10^(-0.4 magpsf),        m = -2.5 log10(f),

    and, the two measurements being independent,

        sigma_f^2 = (f_ref sigmagnr / c)^2 + (|f_diff| sigmapsf / c)^2,   c = 2.5 / ln 10,
        sigma_m = c sigma_f / f.

    This is the "DC magnitude" of the ZTF alert documentation as the brokers compute it:
    ALeRCE (magnitude correction step of ``alercebroker/pipeline``; corrected when
    ``distnr`` < 1.4") and Fink (``dc_mag`` of ``fink-science``), the error as Fink writes
    it (ALeRCE subtracts the reference term instead, treating it as already part of
    ``sigmapsf``).  Where f <= 0 (a difference larger than the reference, i.e. a wrong
    association) the magnitude and its error are NaN.
    """
    ref = 10.0 ** (-0.4 * np.asarray(magnr, dtype=np.float64))
    diff = np.asarray(sign, dtype=np.float64) * 10.0 ** (-0.4 * np.asarray(magpsf, np.float64))
    flux = ref + diff
    flux_err = np.hypot(ref * np.asarray(sigmagnr, np.float64), np.abs(diff) * sigmapsf) / POGSON
    positive = flux > 0
    safe = np.where(positive, flux, 1.0)
    mag = np.where(positive, -2.5 * np.log10(safe), np.nan)
    err = np.where(positive, POGSON * flux_err / safe, np.nan)
    return mag, err
