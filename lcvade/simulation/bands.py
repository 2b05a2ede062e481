"""Photometric bands: amplitude ratios and mean-colour offsets between bands.

The catalog gives every pulsating star's shape and peak-to-peak amplitude in the I band.  In
another band b the simulator uses the same shape (same Fourier phases; colour-dependent phase
shifts are neglected) with the amplitude scaled by a ratio ``A_b / A_I`` that depends on the
amplitude family of the class:

* ``pulsating`` (RR Lyrae, Cepheids, delta Scuti stars): temperature-driven pulsations whose
  amplitude grows towards the blue.  The ratios are approximate values read off published
  multi-band light curves -- the V/I ratio of about 1.6 of OGLE RR Lyrae stars and Cepheids,
  and the ugriz ratios of the SDSS Stripe 82 RR Lyrae templates (Sesar et al. 2010);
* ``lpv``: long-period variables have much larger amplitudes in the blue (molecular band
  absorption in cool giants), e.g. Mira V amplitudes are 2-3 times their I amplitudes;
* ``grey``: eclipses are nearly achromatic for components of similar temperature; the
  simulator uses ratio 1 in all bands for eclipsing binaries.

Mean magnitudes in other bands follow from the star's V - I colour with offsets linear in
inverse effective wavelength: ``m_b - I = k_b (V - I)`` with
``k_b = (1/lambda_b - 1/lambda_I) / (1/lambda_V - 1/lambda_I)``, so ``k_V = 1`` and ``k_I = 0``
(a crude but monotonic colour model, good to a few tenths of a magnitude for normal stars).
"""

from __future__ import annotations

from typing import Final

import numpy as np

#: Effective wavelengths in micrometres (Johnson-Cousins V, I; SDSS/ZTF/LSST ugrizy).
EFFECTIVE_WAVELENGTH: Final[dict[str, float]] = {
    "u": 0.36,
    "g": 0.48,
    "V": 0.55,
    "r": 0.62,
    "i": 0.75,
    "I": 0.80,
    "z": 0.87,
    "y": 0.97,
}

#: Peak-to-peak amplitude in band b divided by the I-band amplitude, per amplitude family.
AMPLITUDE_RATIO: Final[dict[str, dict[str, float]]] = {
    "pulsating": {
        "u": 1.80,
        "g": 1.75,
        "V": 1.60,
        "r": 1.35,
        "i": 1.05,
        "I": 1.00,
        "z": 0.90,
        "y": 0.85,
    },
    "lpv": {
        "u": 3.00,
        "g": 2.80,
        "V": 2.50,
        "r": 2.00,
        "i": 1.20,
        "I": 1.00,
        "z": 0.85,
        "y": 0.75,
    },
    "grey": {b: 1.0 for b in EFFECTIVE_WAVELENGTH},
}


def _check(band: str) -> None:
    if band not in EFFECTIVE_WAVELENGTH:
        raise ValueError(
            f"unknown band {band!r}; the simulator knows {', '.join(EFFECTIVE_WAVELENGTH)}"
        )


def amplitude_ratio(family: str, band: str) -> float:
    """``A_band / A_I`` for an amplitude family (``pulsating``, ``lpv`` or ``grey``)."""
    _check(band)
    return AMPLITUDE_RATIO[family][band]


def colour_coefficient(band: str) -> float:
    """``k_b`` of ``m_b - I = k_b (V - I)`` (see the module docstring)."""
    _check(band)
    inv = {b: 1.0 / w for b, w in EFFECTIVE_WAVELENGTH.items()}
    return (inv[band] - inv["I"]) / (inv["V"] - inv["I"])


def band_offsets(bands: tuple[str, ...], reference: str, colour: np.ndarray) -> np.ndarray:
    """Mean-magnitude offsets ``m_b - m_reference`` (n_objects, n_bands) for V - I ``colour``."""
    k_ref = colour_coefficient(reference)
    k = np.array([colour_coefficient(b) - k_ref for b in bands])
    return np.asarray(colour, dtype=np.float64)[:, None] * k[None, :]


def ratio_table(family: str, bands: tuple[str, ...], reference: str) -> np.ndarray:
    """Amplitude of each band relative to the reference band, for one family."""
    ref = amplitude_ratio(family, reference)
    return np.array([amplitude_ratio(family, b) / ref for b in bands])
