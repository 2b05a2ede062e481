"""Light-curve shapes of pulsating stars: Fourier pulsators and stochastic long-period variables.

Fourier pulsators (RR Lyrae, Cepheids, delta Scuti stars)
    OGLE-III describes each I-band light curve by a cosine Fourier series

        m(t) = A_0 + sum_k A_k cos(2 pi k (t - T_0) / P + phi_k),

    and lists the peak-to-peak amplitude ``A_1`` of the light curve with the ratios and phase
    differences ``R_k1 = A_k / A_1`` and ``phi_k1 = phi_k - k phi_1`` (k = 2, 3).  The simulator
    uses exactly this convention: it draws ``phi_1`` uniformly (a random epoch), sets
    ``phi_k = phi_k1 + k phi_1`` and scales the first Fourier amplitude so that the peak-to-peak
    range of the three-harmonic curve equals the catalog ``A_1``.  Magnitudes grow downwards, so
    with this sign convention RRab stars and Cepheids show the familiar fast rise to maximum
    light and slow decline (a useful check that the convention is the catalog's).
    :func:`fit_fourier` refits such a series by linear least squares and returns the
    parameters in the same convention.

Long-period variables (Mira, SRV, OSARG)
    The catalog gives a period ``P_1`` and amplitude ``A_1`` (and often a second period ``P_2``
    with amplitude ``A_2``), but LPVs are not strictly periodic.  The simulator models them as

        dm(t) = (A_1 / 2) exp(a(t) - s_a^2 / 2) cos(2 pi t / P_1 + phi_1 + psi_1(t))
                + (A_2 / 2) cos(2 pi t / P_2 + phi_2 + psi_2(t))
                + A_1 r(t),

    where ``psi_1, psi_2`` (phase wander, i.e. cycle-to-cycle period jitter), ``a`` (log-amplitude
    modulation) and ``r`` (red noise) are independent stationary Gaussian processes with the
    exponential covariance ``s^2 exp(-|dt| / tau)`` of an Ornstein-Uhlenbeck process.  Their
    scales ``s`` and correlation times ``tau`` (in units of ``P_1``) depend on the subtype, from
    nearly regular Miras to erratic OSARGs (:data:`LPV_IRREGULARITY`); the values are
    assumptions chosen to give visibly regular Miras and visibly irregular semi-regulars, not
    fits to data.  Each process is drawn by spectral synthesis: a sum of ``n_modes`` cosines
    with random phases and angular frequencies drawn from the process' Lorentzian spectral
    density (a Cauchy distribution of scale ``1 / tau``), whose covariance is exactly the
    exponential one in expectation and which can be evaluated at arbitrary irregular times,
    vectorised over many stars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from lcvade.simulation.catalog import CatalogRows

TWO_PI: Final = 2.0 * np.pi
N_HARMONICS: Final = 3
PHASE_GRID: Final = 512


# --- Fourier pulsators --------------------------------------------------------------------
@dataclass(frozen=True)
class FourierSeries:
    """Cosine-series coefficients of many stars: ``amplitudes``/``phases`` are (n, K)."""

    amplitudes: np.ndarray
    phases: np.ndarray

    def __len__(self) -> int:
        return int(self.amplitudes.shape[0])

    def evaluate(self, phase: np.ndarray, star: np.ndarray | None = None) -> np.ndarray:
        """Magnitude offsets at ``phase`` (cycles) of stars ``star`` (one per point).

        Without ``star``, ``phase`` is (n, m): m phases for each of the n stars.
        """
        if star is None:
            out = np.zeros(np.shape(phase))
            for k in range(self.amplitudes.shape[1]):
                out += self.amplitudes[:, k, None] * np.cos(
                    TWO_PI * (k + 1) * phase + self.phases[:, k, None]
                )
            return out
        out = np.zeros(phase.shape)
        for k in range(self.amplitudes.shape[1]):
            out += self.amplitudes[star, k] * np.cos(
                TWO_PI * (k + 1) * phase + self.phases[star, k]
            )
        return out

    def on_grid(self, n_grid: int = PHASE_GRID) -> np.ndarray:
        """The curves on ``n_grid`` evenly spaced phases, (n, n_grid)."""
        grid = np.broadcast_to(np.arange(n_grid) / n_grid, (len(self), n_grid))
        return self.evaluate(grid)

    def peak_to_peak(self, n_grid: int = PHASE_GRID) -> np.ndarray:
        """Peak-to-peak range of each curve, sampled on ``n_grid`` phases."""
        return np.ptp(self.on_grid(n_grid), axis=1)

    def max_light_phase(self, n_grid: int = PHASE_GRID) -> np.ndarray:
        """Phase (cycles) of maximum light, i.e. of the smallest magnitude."""
        return np.argmin(self.on_grid(n_grid), axis=1) / n_grid


def ogle_fourier_series(
    amplitude: np.ndarray,
    r21: np.ndarray,
    phi21: np.ndarray,
    r31: np.ndarray,
    phi31: np.ndarray,
    phi1: np.ndarray,
) -> FourierSeries:
    """The three-harmonic cosine series with OGLE parameters and peak-to-peak ``amplitude``.

    ``phi_k = phi_k1 + k phi_1`` and ``A_k = R_k1 A_1``; the first amplitude is then scaled so
    that the curve's peak-to-peak range equals ``amplitude``.
    """
    phi1 = np.asarray(phi1, dtype=np.float64)
    unit = np.stack([np.ones_like(phi1), np.asarray(r21, float), np.asarray(r31, float)], axis=1)
    phases = np.stack([phi1, phi21 + 2.0 * phi1, phi31 + 3.0 * phi1], axis=1)
    phases = np.mod(phases, TWO_PI)
    ptp = FourierSeries(unit, phases).peak_to_peak()
    scale = np.asarray(amplitude, dtype=np.float64) / ptp
    return FourierSeries(unit * scale[:, None], phases)


def catalog_fourier_series(rows: CatalogRows, phi1: np.ndarray) -> FourierSeries:
    """:func:`ogle_fourier_series` of catalog rows (their ``A_1, R21, phi21, R31, phi31``)."""
    return ogle_fourier_series(
        rows["A_1"], rows["R21"], rows["phi21"], rows["R31"], rows["phi31"], phi1
    )


@dataclass(frozen=True)
class FourierFit:
    """A least-squares cosine-series fit (OGLE convention, see the module docstring)."""

    mean: float
    amplitudes: np.ndarray
    phases: np.ndarray
    peak_to_peak: float
    rms: float

    @property
    def r21(self) -> float:
        return float(self.amplitudes[1] / self.amplitudes[0])

    @property
    def r31(self) -> float:
        return float(self.amplitudes[2] / self.amplitudes[0])

    @property
    def phi21(self) -> float:
        return float(np.mod(self.phases[1] - 2.0 * self.phases[0], TWO_PI))

    @property
    def phi31(self) -> float:
        return float(np.mod(self.phases[2] - 3.0 * self.phases[0], TWO_PI))


def fit_fourier(
    time: np.ndarray,
    mag: np.ndarray,
    period: float,
    n_harmonics: int = N_HARMONICS,
    mag_err: np.ndarray | None = None,
) -> FourierFit:
    """Fit ``m = A_0 + sum_k A_k cos(2 pi k t / P + phi_k)`` by weighted linear least squares.

    ``a cos x + b sin x = A cos(x + phi)`` with ``A = hypot(a, b)`` and ``phi = atan2(-b, a)``.
    """
    phase = np.asarray(time, dtype=np.float64) / period
    columns = [np.ones_like(phase)]
    for k in range(1, n_harmonics + 1):
        columns += [np.cos(TWO_PI * k * phase), np.sin(TWO_PI * k * phase)]
    design = np.stack(columns, axis=1)
    y = np.asarray(mag, dtype=np.float64)
    w = np.ones_like(y) if mag_err is None else 1.0 / np.asarray(mag_err, dtype=np.float64)
    coef, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    a, b = coef[1::2], coef[2::2]
    amplitudes = np.hypot(a, b)
    phases = np.mod(np.arctan2(-b, a), TWO_PI)
    series = FourierSeries(amplitudes[None, :], phases[None, :])
    resid = y - design @ coef
    return FourierFit(
        mean=float(coef[0]),
        amplitudes=amplitudes,
        phases=phases,
        peak_to_peak=float(series.peak_to_peak()[0]),
        rms=float(np.sqrt(np.mean(resid**2))),
    )


# --- stochastic processes -----------------------------------------------------------------
def ou_synthesis(
    time: np.ndarray,
    star: np.ndarray,
    sigma: np.ndarray,
    tau: np.ndarray,
    rng: np.random.Generator,
    n_modes: int = 16,
) -> np.ndarray:
    """Stationary processes with covariance ``sigma^2 exp(-|dt| / tau)``, one per star.

    Spectral synthesis (see the module docstring): ``x(t) = sigma sqrt(2 / M) sum_m
    cos(w_m t + u_m)`` with ``u_m`` uniform and ``w_m`` Cauchy-distributed with scale
    ``1 / tau``, whose characteristic function gives ``E[x(t) x(t + s)] = sigma^2 exp(-|s| / tau)``.
    ``time`` and ``star`` are per point; ``sigma``/``tau`` per star.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    tau = np.asarray(tau, dtype=np.float64)
    omega = rng.standard_cauchy((sigma.size, n_modes)) / tau[:, None]
    offset = rng.uniform(0.0, TWO_PI, (sigma.size, n_modes))
    out = np.zeros(time.shape)
    for m in range(n_modes):
        out += np.cos(omega[star, m] * time + offset[star, m])
    return out * (sigma * np.sqrt(2.0 / n_modes))[star]


# --- long-period variables ----------------------------------------------------------------
@dataclass(frozen=True)
class LPVIrregularity:
    """Scales of the stochastic parts of an LPV subtype (times in units of ``P_1``)."""

    phase_sigma: float
    phase_tau: float
    log_amplitude_sigma: float
    log_amplitude_tau: float
    red_sigma: float
    red_tau: float


#: Assumed irregularity of each LPV subtype (see the module docstring).
LPV_IRREGULARITY: Final[dict[str, LPVIrregularity]] = {
    "Mira": LPVIrregularity(0.3, 5.0, 0.10, 5.0, 0.05, 2.0),
    "SRV": LPVIrregularity(0.8, 3.0, 0.25, 3.0, 0.15, 1.0),
    "OSARG": LPVIrregularity(1.2, 2.0, 0.35, 2.0, 0.25, 1.0),
}


@dataclass(frozen=True)
class LPVStars:
    """Per-star parameters of simulated long-period variables."""

    period: np.ndarray
    amplitude: np.ndarray
    period2: np.ndarray
    amplitude2: np.ndarray
    subtype: np.ndarray
    phi1: np.ndarray
    phi2: np.ndarray

    def __len__(self) -> int:
        return int(self.period.size)

    def irregularity(self, field: str) -> np.ndarray:
        """One :class:`LPVIrregularity` field per star, from its subtype."""
        return np.array([getattr(LPV_IRREGULARITY[s], field) for s in self.subtype])


def lpv_magnitude(
    time: np.ndarray,
    star: np.ndarray,
    stars: LPVStars,
    rng: np.random.Generator,
    n_modes: int = 16,
) -> np.ndarray:
    """I-band magnitude offsets of LPVs at ``time`` (days) of stars ``star`` (the model above).

    Multiply by a band's amplitude ratio for other bands: all terms are intrinsic variability.
    """
    p1 = stars.period

    def wander(term: str, period: np.ndarray) -> np.ndarray:
        """The OU process of ``term``: its ``_sigma``, with its ``_tau`` in units of ``period``."""
        sigma = stars.irregularity(f"{term}_sigma")
        tau = stars.irregularity(f"{term}_tau") * period
        return ou_synthesis(time, star, sigma, tau, rng, n_modes)

    phase_wander = wander("phase", p1)
    log_amp_sigma = stars.irregularity("log_amplitude_sigma")
    log_amp = wander("log_amplitude", p1)
    red = wander("red", p1)
    envelope = np.exp(log_amp - 0.5 * log_amp_sigma[star] ** 2)
    out = (
        0.5
        * stars.amplitude[star]
        * envelope
        * np.cos(TWO_PI * time / p1[star] + stars.phi1[star] + phase_wander)
    )
    out += stars.amplitude[star] * red
    has2 = np.isfinite(stars.period2) & np.isfinite(stars.amplitude2)
    if np.any(has2):
        p2 = np.where(has2, stars.period2, 1.0)
        a2 = np.where(has2, stars.amplitude2, 0.0)
        wander2 = wander("phase", p2)
        out += 0.5 * a2[star] * np.cos(TWO_PI * time / p2[star] + stars.phi2[star] + wander2)
    return out
