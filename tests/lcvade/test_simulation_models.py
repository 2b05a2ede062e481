"""Light-curve models: Fourier pulsators, LPV stochastic model, eclipsing binaries, bands."""

from __future__ import annotations

import numpy as np
import pytest

from lcvade.lightcurve import LightCurve
from lcvade.period import FrequencyGrid, find_period
from lcvade.simulation.bands import (
    AMPLITUDE_RATIO,
    EFFECTIVE_WAVELENGTH,
    band_offsets,
    colour_coefficient,
)
from lcvade.simulation.catalog import load_catalog
from lcvade.simulation.eclipsing import (
    binary_curves,
    binary_magnitude,
    draw_binaries,
    overlap_area,
    relative_flux,
)
from lcvade.simulation.shapes import (
    FourierSeries,
    LPVStars,
    catalog_fourier_series,
    fit_fourier,
    lpv_magnitude,
    ogle_fourier_series,
    ou_synthesis,
)

TWO_PI = 2 * np.pi


def _wrap(x: np.ndarray) -> np.ndarray:
    """Angle differences folded into (-pi, pi]."""
    return np.angle(np.exp(1j * np.asarray(x)))


# --- Fourier pulsators --------------------------------------------------------------------
def test_series_peak_to_peak_is_the_catalog_amplitude(rng: np.random.Generator) -> None:
    rows = load_catalog().draw("RRab", 200, rng)
    series = catalog_fourier_series(rows, rng.uniform(0, TWO_PI, 200))
    fine = np.ptp(series.evaluate(np.broadcast_to(np.linspace(0, 1, 20001), (200, 20001))), 1)
    assert np.allclose(fine, rows["A_1"], rtol=2e-4)


def test_fourier_refit_recovers_ogle_parameters_exactly(rng: np.random.Generator) -> None:
    """Generator and refit use one convention: phi_k1 = phi_k - k phi_1, cosine series."""
    amp, r21, phi21, r31, phi31 = 0.7, 0.45, 4.3, 0.3, 2.6
    for phi1 in rng.uniform(0, TWO_PI, 5):
        series = ogle_fourier_series(
            np.array([amp]),
            np.array([r21]),
            np.array([phi21]),
            np.array([r31]),
            np.array([phi31]),
            np.array([phi1]),
        )
        period = 0.57
        t = np.sort(rng.uniform(0, 300, 150))
        mag = 15.0 + series.evaluate(t / period, np.zeros(t.size, dtype=int))
        fit = fit_fourier(t, mag, period)
        assert fit.mean == pytest.approx(15.0, abs=1e-9)
        assert fit.peak_to_peak == pytest.approx(amp, rel=1e-4)
        assert fit.r21 == pytest.approx(r21, abs=1e-9)
        assert fit.r31 == pytest.approx(r31, abs=1e-9)
        assert abs(_wrap(fit.phi21 - phi21)) < 1e-9
        assert abs(_wrap(fit.phi31 - phi31)) < 1e-9


def test_sine_convention_would_give_other_phases(rng: np.random.Generator) -> None:
    """A sine series with the same numbers has phi21 shifted by pi/2: the refit tells them apart."""
    t = np.sort(rng.uniform(0, 100, 200))
    period, phi21 = 0.6, 4.3
    x = TWO_PI * t / period
    mag = np.sin(x) + 0.4 * np.sin(2 * x + phi21)
    fit = fit_fourier(t, mag, period)
    assert abs(_wrap(fit.phi21 - (phi21 + np.pi / 2))) < 1e-9
    assert abs(_wrap(fit.phi21 - phi21)) > 1.0


def _rise_fraction(series: FourierSeries) -> np.ndarray:
    """Fraction of the cycle from minimum light (largest mag) to maximum light."""
    grid = series.on_grid(4096)
    return np.mod(np.argmin(grid, 1) - np.argmax(grid, 1), 4096) / 4096


def test_rrab_and_cepheids_rise_fast_and_decline_slowly(rng: np.random.Generator) -> None:
    catalog = load_catalog()
    for label in ("RRab", "DCEP_F"):
        rows = catalog.draw(label, 400, rng)
        series = catalog_fourier_series(rows, rng.uniform(0, TWO_PI, 400))
        strong = rows["R21"] > 0.35
        assert np.median(_rise_fraction(series)[strong]) < 0.33, label


def test_max_light_phase_is_the_brightest(rng: np.random.Generator) -> None:
    rows = load_catalog().draw("DCEP_1O", 50, rng)
    series = catalog_fourier_series(rows, rng.uniform(0, TWO_PI, 50))
    at_max = series.evaluate(series.max_light_phase(), np.arange(50))
    assert np.allclose(at_max, series.on_grid().min(axis=1))


# --- stochastic processes and LPVs ---------------------------------------------------------
def test_ou_synthesis_has_the_exponential_covariance() -> None:
    rng = np.random.default_rng(7)
    n_stars, sigma, tau = 4000, 0.3, 20.0
    lags = np.array([0.0, 10.0, 20.0, 60.0])
    t = np.tile(np.concatenate([[0.0], lags]), n_stars)
    star = np.repeat(np.arange(n_stars), lags.size + 1)
    x = ou_synthesis(
        t, star, np.full(n_stars, sigma), np.full(n_stars, tau), rng, n_modes=32
    ).reshape(n_stars, -1)
    cov = (x[:, :1] * x[:, 1:]).mean(axis=0)
    expected = sigma**2 * np.exp(-lags / tau)
    assert np.allclose(cov, expected, atol=0.006)
    assert abs(x.mean()) < 0.01


def _lpv_stars(subtype: str, period: float, n: int, rng: np.random.Generator) -> LPVStars:
    return LPVStars(
        period=np.full(n, period),
        amplitude=np.full(n, 1.0),
        period2=np.full(n, np.nan),
        amplitude2=np.full(n, np.nan),
        subtype=np.array([subtype] * n, dtype=object),
        phi1=rng.uniform(0, TWO_PI, n),
        phi2=np.zeros(n),
    )


def test_mira_period_is_found_and_semiregulars_are_less_regular() -> None:
    rng = np.random.default_rng(11)
    n, m, period = 30, 400, 250.0
    t = np.sort(rng.uniform(0, 3000, m))
    star = np.repeat(np.arange(n), m)
    times = np.tile(t, n)
    residual = {}
    for subtype in ("Mira", "SRV", "OSARG"):
        dm = lpv_magnitude(times, star, _lpv_stars(subtype, period, n, rng), rng)
        dm = dm.reshape(n, m)
        rms = [fit_fourier(t, dm[k], period, n_harmonics=1).rms for k in range(n)]
        residual[subtype] = float(np.median(rms))
        if subtype == "Mira":
            curve = LightCurve(t, 14.0 + dm[0], np.full(m, 0.02))
            found = find_period(curve, FrequencyGrid(min_period=10.0, max_period=2000.0))
            assert found.period == pytest.approx(period, rel=0.03)
    assert residual["Mira"] < residual["SRV"] < residual["OSARG"]
    assert residual["Mira"] < 0.15


def test_lpv_second_period_adds_power() -> None:
    rng = np.random.default_rng(5)
    t = np.linspace(0, 4000, 3000)
    stars = _lpv_stars("Mira", 300.0, 1, rng)
    with_p2 = LPVStars(
        **{**stars.__dict__, "period2": np.array([1500.0]), "amplitude2": np.array([0.8])}
    )
    zeros = np.zeros(t.size, dtype=int)
    a = lpv_magnitude(t, zeros, stars, np.random.default_rng(1))
    b = lpv_magnitude(t, zeros, with_p2, np.random.default_rng(1))
    slow = fit_fourier(t, b - a, 1500.0, n_harmonics=1)
    assert slow.peak_to_peak == pytest.approx(0.8, rel=0.25)


# --- eclipsing binaries -----------------------------------------------------------------
def test_overlap_area_closed_forms() -> None:
    assert overlap_area(np.array([3.0]), np.array([1.0]), np.array([1.0]))[0] == 0.0
    inside = overlap_area(np.array([0.1]), np.array([1.0]), np.array([0.3]))[0]
    assert inside == pytest.approx(np.pi * 0.09)
    lens = overlap_area(np.array([1.0]), np.array([1.0]), np.array([1.0]))[0]
    assert lens == pytest.approx(2 * np.pi / 3 - np.sqrt(3) / 2)
    rng = np.random.default_rng(0)
    d, a, b = rng.uniform(0, 2, 100), rng.uniform(0.1, 1, 100), rng.uniform(0.1, 1, 100)
    assert np.allclose(overlap_area(d, a, b), overlap_area(d, b, a))
    # Monte Carlo check of one partial overlap
    pts = rng.uniform(-1, 1, (400_000, 2))
    in1 = np.hypot(pts[:, 0], pts[:, 1]) < 0.6
    in2 = np.hypot(pts[:, 0] - 0.7, pts[:, 1]) < 0.4
    mc = 4.0 * np.mean(in1 & in2)
    assert overlap_area(np.array([0.7]), np.array([0.6]), np.array([0.4]))[0] == pytest.approx(
        mc, rel=0.03
    )


@pytest.mark.parametrize("kind", ["EA", "EW"])
def test_binaries_eclipse_at_phases_zero_and_half(kind: str) -> None:
    rng = np.random.default_rng(2)
    systems = draw_binaries(kind, 300, rng)
    grid = np.linspace(0, 1, 1000, endpoint=False)
    star = np.repeat(np.arange(300), grid.size)
    flux = relative_flux(np.tile(grid, 300), systems, star).reshape(300, -1)
    assert np.all(flux > 0)
    primary = flux[:, 0]
    secondary = flux[:, 500]
    quadrature = flux[:, 250]
    assert np.all(primary < quadrature) and np.all(secondary < quadrature)
    assert np.all(primary <= secondary + 1e-12)  # the hotter star is behind at phase 0
    assert np.all(np.argmin(flux, axis=1) == 0)
    assert np.all((systems.r1 + systems.r2) > np.cos(systems.inclination))
    curves = binary_curves(systems)
    mag = binary_magnitude(np.tile(grid, 300), systems, star, curves).reshape(300, -1)
    assert np.allclose(mag.mean(axis=1), 0.0, atol=2e-3)
    assert np.allclose(np.ptp(mag, axis=1), curves.amplitude, rtol=0.02)


def test_detached_flat_outside_eclipses_contact_varies_continuously() -> None:
    rng = np.random.default_rng(4)
    grid = np.linspace(0, 1, 2000, endpoint=False)
    ea = draw_binaries("EA", 200, rng)
    star = np.repeat(np.arange(200), grid.size)
    flux = relative_flux(np.tile(grid, 200), ea, star).reshape(200, -1)
    outside = np.abs(np.sin(TWO_PI * grid))[None, :] > (ea.r1 + ea.r2)[:, None]
    out_ptp = np.array([np.ptp(f[o]) for f, o in zip(flux, outside, strict=True)])
    depth = 1.0 - flux[:, 0]
    assert np.median(out_ptp) < 0.02
    assert np.median(out_ptp / depth) < 0.2
    assert ea.period.min() >= 0.4 and ea.period.max() <= 30
    ew = draw_binaries("EW", 200, rng)
    flux = relative_flux(np.tile(grid, 200), ew, star).reshape(200, -1)
    # between eclipses (phase 0.25) and just before them (phase 0.15) the light keeps changing
    assert np.all(flux[:, 500] - flux[:, 300] > 0.01)
    assert ew.period.min() >= 0.22 and ew.period.max() <= 1.0
    amp_ew = binary_curves(ew).amplitude
    assert 0.1 < np.median(amp_ew) < 0.9


# --- bands -------------------------------------------------------------------------------
def test_colour_coefficients_and_ratios() -> None:
    assert colour_coefficient("V") == pytest.approx(1.0)
    assert colour_coefficient("I") == pytest.approx(0.0)
    order = sorted(EFFECTIVE_WAVELENGTH, key=EFFECTIVE_WAVELENGTH.get)
    ks = [colour_coefficient(b) for b in order]
    assert all(a > b for a, b in zip(ks, ks[1:], strict=False))
    for family in ("pulsating", "lpv"):
        ratios = [AMPLITUDE_RATIO[family][b] for b in order]
        assert all(a >= b for a, b in zip(ratios, ratios[1:], strict=False))
        assert AMPLITUDE_RATIO[family]["I"] == 1.0
    offsets = band_offsets(("g", "r"), "r", np.array([0.0, 1.0]))
    assert np.allclose(offsets[0], 0.0) and offsets[1, 0] > 0.5 and offsets[1, 1] == 0.0
    with pytest.raises(ValueError, match="unknown band"):
        colour_coefficient("K")
