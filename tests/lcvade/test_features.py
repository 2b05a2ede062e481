"""The feature sets f: percentile statistics, brightness independence, old manifests."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic import periodic_curve

import lcvade
from lcvade.batching import collate
from lcvade.checkpoint import MANIFEST_FILE, load_model, save_model
from lcvade.config import LCVaDEConfig
from lcvade.features import band_percentiles, feature_names, fold_significance, shape_statistics
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE


def test_band_percentiles_match_numpy_with_padding(rng):
    values = rng.normal(size=(3, 40))
    counts = np.array([40, 7, 1])
    mask = np.arange(40) < counts[:, None]
    got = band_percentiles(values, mask, (0.05, 0.5, 0.95))
    for b, n in enumerate(counts):
        np.testing.assert_allclose(got[b], np.percentile(values[b, :n], [5, 50, 95]))
    empty = band_percentiles(values, np.zeros_like(mask), (0.5,))
    assert np.isnan(empty).all()


def test_percentile_skewness_sign_follows_eclipses_and_pulsations():
    phase = np.linspace(0.0, 1.0, 400, endpoint=False)
    eclipse = np.where(np.abs(phase - 0.5) < 0.06, 1.0, 0.0)  # faint dips: larger magnitudes
    pulsation = -eclipse  # brief bright maxima
    mask = np.ones((2, 400), dtype=bool)
    log_amp, skew = shape_statistics(np.stack([eclipse, pulsation]), mask, 1e-3)
    assert skew[0] > 0.5 and skew[1] < -0.5
    np.testing.assert_allclose(log_amp, [0.0, 0.0])


@pytest.mark.parametrize("feature_set", ["thesis", "shape", "shape_fold"])
def test_shape_features_do_not_see_apparent_brightness(rng, feature_set):
    config = LCVaDEConfig(n_classes=2, channels=2, feature_set=feature_set)
    curve = periodic_curve(rng, 120, 0.7)
    fainter = LightCurve(curve.time, curve.mag + 4.0, curve.mag_err, period=curve.period)
    a, b = (collate([c], [0.7], config).features[0].numpy() for c in (curve, fainter))
    if feature_set != "thesis":
        np.testing.assert_allclose(a, b, atol=1e-5)
    else:
        assert b[0] == pytest.approx(a[0] + 4.0, abs=1e-4)
        np.testing.assert_allclose(a[1:], b[1:], atol=1e-5)


def test_feature_set_round_trips_and_old_manifests_read_the_thesis_set(tmp_path, rng):
    curves = [periodic_curve(rng, 80, p) for p in (0.4, 2.5)]
    for feature_set in ("thesis", "shape"):
        model = LCVaDE(LCVaDEConfig(n_classes=2, channels=2, feature_set=feature_set)).eval()
        out = save_model(model, tmp_path / feature_set, class_names=["a", "b"])
        loaded, manifest, _ = load_model(out)
        assert loaded.config.feature_set == feature_set == manifest.config.feature_set
    # a manifest written before the option existed has no feature_set: it scored (m, s, log p)
    path = tmp_path / "thesis" / MANIFEST_FILE
    data = json.loads(path.read_text())
    del data["config"]["feature_set"]
    path.write_text(json.dumps(data))
    old = lcvade.load(tmp_path / "thesis", device="cpu")
    assert old.config.feature_set == "thesis"
    assert old.manifest.feature_names == ["mag_mean", "mag_std", "log10_period"]
    assert all(np.isfinite(r.ias) for r in old.score(curves))


def fold_s(curve: LightCurve, period: float) -> float:
    channels = np.zeros(len(curve), dtype=np.int64)
    return fold_significance(curve.time, curve.mag, curve.mag_err, channels, 1, period)


def test_the_fold_significance_tells_a_period_from_noise_and_from_a_transient(rng):
    star = periodic_curve(rng, 150, 0.61)
    assert fold_s(star, 0.61) > 1.0  # FAP below 1e-9
    noise = LightCurve(star.time, 15.0 + rng.normal(0, 0.03, 150), star.mag_err)
    assert fold_s(noise, 0.61) < 0.3
    # a supernova-like rise and fall over 80 days, 20 points: at no period is it periodic,
    # and folded at a period longer than the light curve only T / p of the evidence counts
    t = np.sort(rng.uniform(0.0, 80.0, 20))
    bump = 19.0 - 2.0 * np.exp(-0.5 * ((t - 25.0) / 12.0) ** 2) + rng.normal(0, 0.05, 20)
    transient = LightCurve(t, bump, np.full(20, 0.05))
    for period in (0.7, 3.3):
        assert fold_s(transient, period) < 0.84
    long_fold, longer_fold = fold_s(transient, 160.0), fold_s(transient, 320.0)
    assert longer_fold < long_fold < 0.84
    # a contact binary varies at twice its orbital frequency: its fold at P counts
    contact = LightCurve(star.time, star.mag, star.mag_err)
    assert fold_s(contact, 2 * 0.61) == pytest.approx(fold_s(contact, 0.61), abs=0.3)


def test_the_fold_feature_set_puts_the_significance_before_the_period(rng):
    config = LCVaDEConfig(n_classes=2, channels=2, feature_set="shape_fold", bands=["V"])
    assert config.feature_dim == 4
    assert feature_names(config) == [
        "log10_amplitude_V", "skew_V", "fold_significance", "log10_period",
    ]  # fmt: skip
    curve = periodic_curve(rng, 120, 0.7, bands=("V",))
    f = collate([curve], [0.7], config).features[0].numpy()
    assert f[2] == pytest.approx(fold_s(curve, 0.7), rel=1e-5)
    assert f[3] == pytest.approx(np.log10(0.7), rel=1e-6)
