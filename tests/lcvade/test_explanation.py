"""Explanations of scores: the terms add up to the IAS, on real curves scored by a real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lcvade
from lcvade.batching import collate
from lcvade.checkpoint import save_model
from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurve
from lcvade.model import LCVaDE
from lcvade.scorer import BUNDLED_MODELS
from training.inference import evaluate_model

EXAMPLES = Path(__file__).resolve().parents[2] / "service" / "static" / "examples"
ASAS = ["asas_classical_cepheid", "asas_mira", "asas_rr_lyrae_fm", "asas_w_ursae_maj"]


def example_curves(names=ASAS) -> list[LightCurve]:
    """Real ASAS V-band curves bundled as the web page's examples (see PROVENANCE.md)."""
    curves = []
    for name in names:
        rows = pd.read_csv(EXAMPLES / f"{name}.csv")
        rows = rows[rows["band"] == "V"]
        curves.append(LightCurve(rows.time, rows.mag, rows.mag_err, rows.band.tolist(), id=name))
    return curves


def renamed(curves: list[LightCurve], name: str) -> list[LightCurve]:
    """The curves with their V points sent under another band ``name``."""
    return [c.with_bands({"V": name}) for c in curves]


@pytest.fixture(scope="module")
def scored():
    scorer = lcvade.load("default", device="cpu")
    band = scorer.config.bands[0]
    # the V points sent as "ASAS_V", read as the model's band through the band map
    curves = renamed(example_curves(), "ASAS_V")
    return scorer, curves, scorer.score(curves, band_map={"ASAS_V": band})


def test_the_terms_add_up_to_the_score_and_match_the_model(scored):
    scorer, curves, results = scored
    band = scorer.config.bands[0]
    names = ["latent", *scorer.manifest.feature_names]
    mapped = [c.with_bands({"ASAS_V": band}) for c in curves]
    batch = collate(mapped, [r.period for r in results], scorer.config)
    model = evaluate_model(scorer.model, batch, terms=True)
    for i, r in enumerate(results):
        terms = r.explanation.terms
        assert list(terms) == names
        assert sum(terms.values()) == pytest.approx(r.ias, rel=1e-12, abs=1e-9)
        # the parts as the model computes them on its own path (eqs. 9.12 and IAS_f)
        latent = model.terms["expected_log_pz"][i] + model.terms["entropy_z"][i]
        assert terms["latent"] == pytest.approx(latent, rel=1e-4, abs=1e-3)
        features = sum(v for k, v in terms.items() if k != "latent")
        assert features == pytest.approx(model.terms["expected_log_pf"][i], rel=1e-4, abs=1e-3)
        assert r.bands_read == {"ASAS_V": band}


def test_closest_class_period_and_amplitude(scored):
    scorer, _, results = scored
    prior = scorer.model.prior
    mean = scorer.model.feature_mean.double().numpy()
    std = scorer.model.feature_std.double().numpy()
    for r in results:
        e = r.explanation
        k = scorer.class_names.index(e.closest_class)
        assert e.closest_class == r.predicted_class
        assert e.closest_class_probability == max(r.class_probabilities.values())
        mu = prior.f_mean[k].double().detach().numpy()
        sd = prior.f_var()[k].double().sqrt().detach().numpy()
        assert e.class_period == pytest.approx(10 ** (mu[-1] * std[-1] + mean[-1]), rel=1e-6)
        expected = (np.log10(r.period) - (mu[-1] * std[-1] + mean[-1])) / (sd[-1] * std[-1])
        assert e.period_deviation == pytest.approx(expected, rel=1e-4, abs=1e-4)
        # the shape feature set: the amplitude is the peak-to-peak A_b, stored as log10 A_b
        band = scorer.config.bands[0]
        assert scorer.config.feature_set in ("shape", "shape_fold")
        assert e.amplitude_feature == f"log10_amplitude_{band}"
        assert e.class_amplitude == pytest.approx(10 ** (mu[0] * std[0] + mean[0]), rel=1e-6)
        assert e.closest_class in e.summary and "period" in e.summary


def test_a_thesis_feature_model_explains_with_the_standard_deviation(tmp_path):
    config = LCVaDEConfig(n_classes=2, channels=4, feature_set="thesis", bands=["V"])
    save_model(LCVaDE(config), tmp_path / "m", class_names=["a", "b"])
    result = lcvade.load(tmp_path / "m", device="cpu").score(example_curves(["asas_mira"]))[0]
    e = result.explanation
    assert e.amplitude_feature == "mag_std_V"
    assert e.amplitude == pytest.approx(
        float(np.std(example_curves(["asas_mira"])[0].mag)), rel=0.05
    )


def test_an_older_model_explains_with_the_terms_alone(scored, tmp_path):
    scorer, curves, results = scored
    assert scorer.manifest.term_statistics is not None
    copy = tmp_path / "model"
    shutil.copytree(BUNDLED_MODELS / "default", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["term_statistics"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    old = lcvade.load(copy, device="cpu")
    again = old.score(curves, band_map={"ASAS_V": scorer.config.bands[0]})
    for before, r in zip(results, again, strict=True):
        assert r.explanation.typical is None and r.explanation.dominant_term is None
        assert r.explanation.terms == pytest.approx(before.explanation.terms)


def test_the_dominant_term_is_the_one_furthest_below_typical(scored, tmp_path):
    scorer, curves, results = scored
    copy = tmp_path / "model"
    shutil.copytree(BUNDLED_MODELS / "default", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    names = ["latent", *manifest["feature_names"]]
    stats = {n: {"median": 0.0, "spread": 1.0 + i} for i, n in enumerate(names)}
    manifest["term_statistics"] = stats
    (copy / "manifest.json").write_text(json.dumps(manifest))
    again = lcvade.load(copy, device="cpu").score(
        curves, band_map={"ASAS_V": scorer.config.bands[0]}
    )
    for before, r in zip(results, again, strict=True):
        e = r.explanation
        expected = {n: before.explanation.terms[n] / stats[n]["spread"] for n in names}
        assert e.deviation == pytest.approx(expected)
        assert e.dominant_term == min(expected, key=expected.get)
        assert e.typical == {n: 0.0 for n in names}


def test_an_eq_9_12_model_has_the_latent_term_only(tmp_path):
    config = LCVaDEConfig(n_classes=2, channels=4, ias_with_features=False)
    save_model(LCVaDE(config), tmp_path / "m", class_names=["a", "b"])
    scorer = lcvade.load(tmp_path / "m", device="cpu")
    curve = example_curves(["asas_mira"])[0]
    result = scorer.score([curve])[0]
    assert result.explanation.terms == {"latent": pytest.approx(result.ias, abs=0)}
    assert result.bands_read == {"V": "V"}


def test_batch_output_carries_the_explanation_and_the_band_read(tmp_path):
    from typer.testing import CliRunner

    from lcvade import cli

    table = pd.concat([pd.read_csv(EXAMPLES / f"{n}.csv") for n in ASAS[:2]])
    table = table.assign(band="ASAS_V")
    table.to_csv(tmp_path / "asas.csv", index=False)
    band = lcvade.load("default", device="cpu").config.bands[0]
    cli._register_commands()
    out = tmp_path / "scores.parquet"
    result = CliRunner().invoke(
        cli.app,
        ["score", str(tmp_path / "asas.csv"), "--out", str(out), "--band-map", f"ASAS_V={band}",
         "--no-progress", "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = pd.read_parquet(out).set_index("object_id")
    assert (rows["status"] == "ok").all() and len(rows) == 2
    assert (rows["bands_read"] == f"ASAS_V as {band}").all()
    total = rows["term_latent"] + rows["term_features"]
    np.testing.assert_allclose(total, rows["ias"], rtol=1e-12, atol=1e-9)
    assert (rows["closest_class"] == rows["predicted_class"]).all()
    assert rows["explanation"].str.contains("closest class").all()


def test_the_amplitude_is_compared_in_a_band_the_curve_has(tmp_path):
    config = LCVaDEConfig(n_classes=2, channels=4, bands=["g", "r"])
    save_model(LCVaDE(config), tmp_path / "m", class_names=["a", "b"])
    scorer = lcvade.load(tmp_path / "m", device="cpu")
    rows = pd.read_csv(EXAMPLES / "ztf_sn_ia.csv")
    g = rows[rows["band"] == "g"]
    only_g = LightCurve(g.time, g.mag, g.mag_err, g.band.tolist(), period=20.0)
    e = scorer.score([only_g])[0].explanation
    assert e.amplitude_feature == "log10_amplitude_g"
    expected = np.subtract(*np.percentile(g.mag.to_numpy(np.float32), [95, 5]))
    assert e.amplitude == pytest.approx(expected, rel=1e-5)
    assert list(e.terms) == ["latent", *scorer.manifest.feature_names]
