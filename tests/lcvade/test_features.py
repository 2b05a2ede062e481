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
from lcvade.features import band_percentiles, shape_statistics
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


@pytest.mark.parametrize("feature_set", ["thesis", "shape"])
def test_shape_features_do_not_see_apparent_brightness(rng, feature_set):
    config = LCVaDEConfig(n_classes=2, channels=2, feature_set=feature_set)
    curve = periodic_curve(rng, 120, 0.7)
    fainter = LightCurve(curve.time, curve.mag + 4.0, curve.mag_err, period=curve.period)
    a, b = (collate([c], [0.7], config).features[0].numpy() for c in (curve, fainter))
    if feature_set == "shape":
        np.testing.assert_allclose(a, b, atol=1e-6)
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
