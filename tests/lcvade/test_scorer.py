"""The Python scoring API: results, periods, calibration, reconstruction, devices."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from synthetic import periodic_curve

from lcvade.calibration import IASCalibration
from lcvade.checkpoint import save_model
from lcvade.period import PeriodSearch, find_period
from lcvade.scorer import load, resolve_device


@pytest.fixture
def scorer(tmp_path, tiny_model):
    save_model(
        tiny_model,
        tmp_path / "m",
        class_names=["A", "B", "C"],
        calibration=IASCalibration(np.linspace(-50.0, 0.0, 1000)),
    )
    return load(tmp_path / "m", device="cpu", p_value_threshold=0.05)


def test_results_are_consistent(scorer, rng):
    curves = [periodic_curve(rng, 60, p, curve_id=f"c{i}") for i, p in enumerate([0.4, 2.0, 9.0])]
    results = scorer.score(curves, batch_size=2)
    assert [r.id for r in results] == ["c0", "c1", "c2"]
    for r in results:
        assert r.anomaly_score == -r.ias
        assert set(r.class_probabilities) == {"A", "B", "C"}
        assert sum(r.class_probabilities.values()) == pytest.approx(1.0, abs=1e-9)
        assert r.predicted_class == max(r.class_probabilities, key=r.class_probabilities.get)
        expected_p = (1 + np.sum(scorer.calibration.values <= r.ias)) / 1001
        assert r.p_value == pytest.approx(expected_p)
        assert r.is_anomaly == (r.p_value < 0.05)
        assert r.period_source == "given" and r.period_confidence is None
        assert r.period_method == "given"
    assert scorer.score([]) == []
    # Batch size does not change results.
    again = scorer.score(curves, batch_size=64)
    for a, b in zip(results, again, strict=True):
        assert a.ias == pytest.approx(b.ias, rel=1e-5)


def test_estimated_periods_are_reported(scorer, rng):
    curve = periodic_curve(rng, 200, 0.61, baseline=900.0, with_period=False)
    result = scorer.score([curve])[0]
    assert result.period_source == "estimated"
    assert result.period == pytest.approx(0.61, rel=1e-3)
    assert result.period_confidence > 0.99
    assert result.period_method == scorer.period_search.method
    assert "harmonics=" in result.period_method


def test_the_scorer_searches_with_its_configured_settings(tmp_path, tiny_model, rng):
    save_model(tiny_model, tmp_path / "m2", class_names=["A", "B", "C"])
    search = PeriodSearch(n_harmonics=1, n_peaks=2, alias_orders=1)
    scorer = load(tmp_path / "m2", device="cpu", period_search=search)
    curve = periodic_curve(rng, 200, 0.61, baseline=900.0, with_period=False)
    result = scorer.score([curve])[0]
    assert result.period_method == search.method != PeriodSearch().method
    assert result.period == pytest.approx(find_period(curve, search).period)


def test_uncalibrated_model_gives_no_p_values(tmp_path, tiny_model, rng):
    save_model(tiny_model, tmp_path / "u", class_names=["A", "B", "C"])
    result = load(tmp_path / "u", device="cpu").score([periodic_curve(rng, 30, 1.0)])[0]
    assert result.p_value is None and result.percentile is None and result.is_anomaly is None


def test_reconstruction_is_in_magnitudes_and_matches_the_model(scorer, rng):
    curve = periodic_curve(rng, 120, 1.3)
    rec = scorer.reconstruct(curve, phases=np.linspace(0, 1, 11))
    assert rec.mean.shape == (1, 11) and rec.std.shape == (1, 11)
    assert rec.induction_mean.shape == (1, 24)
    np.testing.assert_allclose(rec.induction_phases, np.arange(1, 25) / 25)
    assert np.all(rec.std > 0)
    # The observed points come back as the curve's own magnitudes, folded.
    np.testing.assert_allclose(np.sort(rec.observed_mag), np.sort(curve.mag), rtol=1e-6)
    assert np.all((rec.observed_phase >= 0) & (rec.observed_phase < 1))
    # The GP mean at the observed phases, de-normalised, is what the loss compares against.
    from lcvade.batching import collate

    batch = collate([curve], [1.3], scorer.config)
    with torch.no_grad():
        mean, _ = scorer.model.encode(batch)
        decoded = scorer.model.decode(mean)
        pred, _ = scorer.model.predict(decoded, batch.phase, batch.band)
    m, s = batch.band_mean[0, 0].item(), batch.band_std[0, 0].item()
    rec_at_obs = scorer.reconstruct(curve, phases=batch.phase[0].numpy().astype(float))
    np.testing.assert_allclose(rec_at_obs.mean[0], pred[0].numpy() * s + m, rtol=1e-5)
    with pytest.raises(ValueError, match="phases"):
        scorer.reconstruct(curve, phases=[])


def test_scorer_description(scorer):
    assert scorer.class_names == ["A", "B", "C"]
    assert scorer.device == torch.device("cpu")
    assert (scorer.name, scorer.version) == ("lcvade", "1")


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")


def test_frozen_weights_score_bit_for_bit_like_the_parametrised_model(tiny_model, rng):
    from torch.nn.utils import parametrize

    from lcvade.batching import collate
    from models.backbone import frozen_weights

    tiny_model = copy.deepcopy(tiny_model)  # the fixture is shared; this test changes it
    frozen = frozen_weights(tiny_model)
    assert not any(parametrize.is_parametrized(m) for m in frozen.modules())
    assert any(parametrize.is_parametrized(m) for m in tiny_model.modules())  # untouched
    assert not any(p.requires_grad for p in frozen.parameters())
    curves = [periodic_curve(rng, n, p) for n, p in [(40, 0.5), (120, 3.0)]]
    batch = collate(curves, [0.5, 3.0], tiny_model.config)
    tiny_model.eval()
    with torch.inference_mode(), parametrize.cached():
        expected = tiny_model.score(batch)
    with torch.inference_mode():
        got = frozen.score(batch)
    assert torch.equal(got.ias, expected.ias)
    assert torch.equal(got.log_q_y, expected.log_q_y)
    # The copy is independent: training the original does not move the frozen weights.
    before = [p.clone() for p in frozen.parameters()]
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.add_(1.0)
    assert all(torch.equal(a, b) for a, b in zip(before, frozen.parameters(), strict=True))
