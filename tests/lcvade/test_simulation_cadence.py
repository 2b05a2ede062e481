"""Survey cadences and the photometric error model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lcvade.simulation.cadence import CADENCES, YEAR, CadenceSpec, get_cadence, sample_cadence
from lcvade.simulation.photometry import (
    PHOTOMETRY,
    ErrorModel,
    MagnitudeRange,
    get_photometry,
    observe,
)


@pytest.fixture(scope="module")
def samplings():
    rng = np.random.default_rng(21)
    return {name: sample_cadence(spec, 300, rng) for name, spec in CADENCES.items()}


@pytest.mark.parametrize("name", list(CADENCES))
def test_sampling_is_sorted_in_range_and_meets_the_per_band_minimum(samplings, name) -> None:
    spec, s = CADENCES[name], samplings[name]
    assert s.bands == spec.bands and s.n_objects == 300
    assert np.array_equal(np.repeat(np.arange(300), s.counts()), s.star)
    for k in range(0, 300, 17):
        t = s.time[s.offsets[k] : s.offsets[k + 1]]
        assert np.all(np.diff(t) >= 0)
    assert s.time.min() >= spec.mjd_start
    assert s.time.max() <= spec.mjd_start + spec.years * YEAR + 1.0
    assert s.band_counts().min() >= spec.min_per_band
    lo = spec.epochs[0] * spec.visits_per_epoch[0]
    hi = spec.epochs[1] * spec.visits_per_epoch[1] + spec.min_per_band * len(spec.bands)
    assert lo <= s.counts().min() and s.counts().max() <= hi


@pytest.mark.parametrize("name", ["asas", "linear", "ztf", "lsst"])
def test_survey_cadences_have_nights_and_seasons(samplings, name) -> None:
    spec, s = CADENCES[name], samplings[name]
    # observations cluster around local midnight of the site
    frac = np.mod(s.time - spec.night_centre + 0.5, 1.0) - 0.5
    assert np.quantile(np.abs(frac), 0.95) < 0.3
    # every object has a seasonal gap of more than two months
    gaps = [np.diff(s.time[s.offsets[k] : s.offsets[k + 1]]).max() for k in range(s.n_objects)]
    assert min(gaps) > 60.0


def test_uniform_cadence_has_no_seasons(samplings) -> None:
    s = samplings["uniform"]
    dense = [k for k in range(s.n_objects) if s.counts()[k] >= 150]
    gaps = [np.diff(s.time[s.offsets[k] : s.offsets[k + 1]]).max() for k in dense]
    assert np.median(gaps) < 80.0
    frac = np.mod(s.time, 1.0)
    assert stats.kstest(frac, "uniform").pvalue > 1e-3


def test_realistic_point_counts(samplings) -> None:
    ztf = samplings["ztf"].band_counts()
    assert 50 <= np.median(ztf[:, 0]) <= 500 and 50 <= np.median(ztf[:, 1]) <= 500
    assert np.median(ztf[:, 1]) > np.median(ztf[:, 0])  # more r than g
    lsst = samplings["lsst"].band_counts()
    u, r = CADENCES["lsst"].bands.index("u"), CADENCES["lsst"].bands.index("r")
    assert np.median(lsst[:, u]) < 80 and np.median(lsst[:, r]) > 2 * np.median(lsst[:, u])
    for name in ("asas", "linear"):
        counts = samplings[name].counts()
        assert 30 <= np.median(counts) <= 400, name
    # LINEAR takes several visits in a night
    lin = samplings["linear"]
    same_star = lin.star[1:] == lin.star[:-1]
    short = np.diff(lin.time)[same_star] < 0.05
    assert short.mean() > 0.3


def test_cadence_lookup_and_validation() -> None:
    assert get_cadence("ZTF") is CADENCES["ztf"]
    custom = CADENCES["uniform"].with_(epochs=(20, 20))
    assert get_cadence(custom) is custom
    with pytest.raises(ValueError, match="unknown cadence"):
        get_cadence("kepler")
    with pytest.raises(ValueError):
        CadenceSpec("x", ("g",), "r", 0.0, 1, (10, 20))
    with pytest.raises(ValueError):
        CadenceSpec("x", ("g",), "g", 0.0, 1, (30, 20))


def test_top_up_keeps_every_band_above_the_minimum() -> None:
    spec = CADENCES["lsst"].with_(epochs=(8, 8))  # 16 visits over six bands: most too few
    s = sample_cadence(spec, 50, np.random.default_rng(0))
    assert s.band_counts().min() == spec.min_per_band


# --- photometry ---------------------------------------------------------------------------
def test_error_model_depth_and_floor() -> None:
    model = ErrorModel({"r": 20.0}, floor=0.0)
    assert model.sigma(np.array([20.0]), 20.0)[0] == pytest.approx(0.2)
    mags = np.linspace(12, 22, 50)
    sig = model.sigma(mags, 20.0)
    assert np.all(np.diff(sig) > 0)
    floored = ErrorModel({"r": 20.0}, floor=0.01).sigma(np.array([10.0]), 20.0)[0]
    assert floored == pytest.approx(0.01, rel=0.01)
    ztf = PHOTOMETRY["ztf"].errors
    assert 0.01 < ztf.sigma(np.array([16.0]), ztf.depth["r"])[0] < 0.03


def test_magnitude_distribution_follows_the_counts_slope() -> None:
    rng = np.random.default_rng(1)
    mr = MagnitudeRange(14.0, 20.0, slope=0.3)
    m = mr.sample(20000, rng)
    assert m.min() >= 14.0 and m.max() <= 20.0
    lo, hi = 10 ** (0.3 * 14.0), 10 ** (0.3 * 20.0)

    def cdf(x):
        return (10 ** (0.3 * np.asarray(x)) - lo) / (hi - lo)

    assert stats.kstest(m, cdf).pvalue > 1e-3
    flat = MagnitudeRange(14.0, 20.0, slope=0.0).sample(20000, rng)
    assert abs(np.mean(flat) - 17.0) < 0.05
    with pytest.raises(ValueError):
        MagnitudeRange(20.0, 14.0)


def test_noise_matches_the_reported_errors_and_outliers_are_outliers() -> None:
    rng = np.random.default_rng(9)
    n = 100_000
    true = rng.uniform(14, 20, n)
    band = rng.integers(0, 2, n)
    errors = PHOTOMETRY["ztf"].errors
    seen = observe(true, band, ("g", "r"), errors, rng)
    pull = (seen.mag - true) / seen.mag_err
    assert abs(pull.std() - 1.0) < 0.01 and abs(pull.mean()) < 0.01
    assert not seen.outlier.any() and seen.detected.all()
    # per-visit depths scatter: the same magnitude gets different errors
    assert np.std(seen.mag_err[(true > 19.0) & (band == 1)]) > 0.005
    dirty = observe(true, band, ("g", "r"), errors, rng, outlier_fraction=0.05, snr_limit=5.0)
    assert dirty.outlier.mean() == pytest.approx(0.05, abs=0.005)
    shift = np.abs(dirty.mag - true)[dirty.outlier] / dirty.mag_err[dirty.outlier]
    assert np.quantile(shift, 0.05) > 3.0
    assert np.all(dirty.detected == (dirty.mag_err <= 2.5 / np.log(10) / 5.0))
    assert 0.0 < (~dirty.detected).mean() < 0.5
    with pytest.raises(ValueError, match="depth"):
        observe(true, band, ("g", "z"), errors, rng)


def test_photometry_lookup() -> None:
    assert set(PHOTOMETRY) == set(CADENCES)
    for name, spec in CADENCES.items():
        phot = get_photometry(name)
        assert set(spec.bands) <= set(phot.errors.depth)
        assert phot.magnitudes.faint <= phot.errors.depth[spec.reference_band] - 0.1
    with pytest.raises(ValueError):
        get_photometry("kepler")
