"""Batching invariances of the model: padding, point order, curve length, bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synthetic import periodic_curve, randomised_model

from lcvade import LightCurve, LightCurveError
from lcvade.batching import collate, subsample_indices
from lcvade.config import LCVaDEConfig


def loss_and_ias(model, curves, labels=None):
    batch = collate(curves, [c.period for c in curves], model.config)
    if labels is None:
        labels = torch.zeros(len(curves), dtype=torch.long)
    with torch.no_grad():
        terms = model.loss(batch, labels, sample=False)
        scores = model.score(batch)
    return terms.total.double(), scores.ias.double()


def test_padded_batch_equals_each_curve_alone(tiny_model, rng):
    shapes = [(15, 0.7), (180, 2.3), (60, 0.31), (400, 11.0)]
    curves = [periodic_curve(rng, n, p) for n, p in shapes]
    labels = torch.tensor([0, 2, 1, 2])
    batch_loss, batch_ias = loss_and_ias(tiny_model, curves, labels)
    for i, curve in enumerate(curves):
        alone_loss, alone_ias = loss_and_ias(tiny_model, [curve], labels[i : i + 1])
        torch.testing.assert_close(alone_loss[0], batch_loss[i], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(alone_ias[0], batch_ias[i], rtol=1e-5, atol=1e-5)


def test_point_order_does_not_change_ias(tiny_model, rng):
    curve = periodic_curve(rng, 150, 1.7)
    perm = rng.permutation(len(curve))
    shuffled = LightCurve(curve.time[perm], curve.mag[perm], curve.mag_err[perm], period=1.7)
    _, a = loss_and_ias(tiny_model, [curve])
    _, b = loss_and_ias(tiny_model, [shuffled])
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [10, 11, 200, 201, 1000, 5000])
def test_curves_of_10_to_5000_points_are_scored(tiny_model, rng, n):
    curve = periodic_curve(rng, n, 0.9)
    batch = collate([curve], [0.9], tiny_model.config)
    assert batch.mask.sum() == min(n, tiny_model.config.max_points)
    _, ias = loss_and_ias(tiny_model, [curve])
    assert torch.isfinite(ias).all()


def test_subsampling_is_deterministic_even_and_order_free(rng):
    idx = subsample_indices(5000, 200)
    assert idx.size == 200 and np.unique(idx).size == 200
    assert idx[0] == 0 and idx[-1] == 4999
    assert np.ptp(np.diff(idx)) <= 1  # evenly spaced
    np.testing.assert_array_equal(subsample_indices(150, 200), np.arange(150))
    curve = periodic_curve(rng, 3000, 2.0)
    perm = rng.permutation(3000)
    other = LightCurve(curve.time[perm], curve.mag[perm], curve.mag_err[perm], period=2.0)
    cfg = LCVaDEConfig(n_classes=2, channels=4)
    a, b = collate([curve], [2.0], cfg), collate([other], [2.0], cfg)
    torch.testing.assert_close(a.phase, b.phase)
    torch.testing.assert_close(a.value, b.value)


def test_folding_and_normalisation(rng):
    cfg = LCVaDEConfig(n_classes=2, channels=4, anchor_phase=None, feature_set="thesis")
    curve = periodic_curve(rng, 50, 3.0)
    batch = collate([curve], [3.0], cfg)
    np.testing.assert_allclose(
        batch.phase[0].numpy(), np.mod(curve.time, 3.0) / 3.0, rtol=1e-6, atol=1e-6
    )
    m, s = curve.mag.mean(), curve.mag.std()
    np.testing.assert_allclose(batch.value[0].numpy(), (curve.mag - m) / s, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(batch.error[0].numpy(), curve.mag_err / s, rtol=1e-5)
    np.testing.assert_allclose(batch.features[0].numpy(), [m, s, np.log10(3.0)], rtol=1e-6)
    np.testing.assert_allclose(batch.band_mean[0].numpy(), [m], rtol=1e-12)
    np.testing.assert_allclose(batch.band_std[0].numpy(), [s], rtol=1e-12)


def test_anchor_puts_maximum_light_at_anchor_phase(rng):
    cfg = LCVaDEConfig(n_classes=2, channels=4)
    curve = periodic_curve(rng, 300, 0.55, noise=0.005)
    batch = collate([curve], [0.55], cfg)
    phase, value = batch.phase[0].numpy(), batch.value[0].numpy()
    brightest = phase[np.argsort(value)[:10]]  # lowest magnitudes
    distance = np.abs(((brightest - cfg.anchor_phase) + 0.5) % 1.0 - 0.5)
    assert np.median(distance) < 0.03


def test_band_mapping_and_errors(rng):
    cfg = LCVaDEConfig(n_classes=2, channels=4, bands=["g", "r"])
    curve = periodic_curve(rng, 80, 1.1, bands=("g", "r"))
    batch = collate([curve], [1.1], cfg)
    expected = (curve.band == "r").astype(np.int64)
    np.testing.assert_array_equal(batch.band[0].numpy(), expected)
    assert batch.features.shape == (1, 5)

    only_g = periodic_curve(rng, 40, 1.1, bands=("g",))
    f = collate([only_g], [1.1], cfg).features[0]
    assert torch.isnan(f[1]) and torch.isnan(f[3])  # r-band mean and std are missing
    model = randomised_model(cfg)
    assert torch.isfinite(model.score(collate([only_g], [1.1], cfg)).ias).all()

    unknown = periodic_curve(rng, 40, 1.1, bands=("i",))
    with pytest.raises(LightCurveError, match="not one of this model's bands") as info:
        collate([unknown], [1.1], cfg)
    assert info.value.field == "band"

    unlabelled = periodic_curve(rng, 40, 1.1)
    with pytest.raises(LightCurveError, match="give a band name"):
        collate([unlabelled], [1.1], cfg)

    single = LCVaDEConfig(n_classes=2, channels=4)
    with pytest.raises(LightCurveError, match="takes one band"):
        collate([curve], [1.1], single)


def test_model_min_points_enforced(rng):
    cfg = LCVaDEConfig(n_classes=2, channels=4, min_points=20)
    curve = periodic_curve(rng, 15, 1.0)
    with pytest.raises(LightCurveError, match="at least 20") as info:
        collate([curve], [1.0], cfg)
    assert info.value.field == "points"


def test_ias_feature_term_can_be_switched_off(tiny_config, rng):
    with_features = randomised_model(tiny_config)
    thesis = randomised_model(tiny_config.model_copy(update={"ias_with_features": False}))
    curves = [periodic_curve(rng, 50, p) for p in (0.4, 3.0)]
    batch = collate(curves, [0.4, 3.0], tiny_config)
    with torch.no_grad():
        a, b = with_features.score(batch), thesis.score(batch)
        q = a.log_q_y.exp()
        feature_term = q * with_features.prior.log_pf(with_features.standardize(batch.features))
    torch.testing.assert_close(a.ias - b.ias, feature_term.sum(-1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(a.log_q_y, b.log_q_y)
