"""The bundled default model: real training data, held-out examples, documented verdicts."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import lcvade
from lcvade.lightcurve import LightCurve
from lcvade.scorer import resolve_model_path
from service.examples import EXAMPLES, EXAMPLES_DIR, example_for_model, example_names
from training.class_families import COMMON_CLASS, family_of


@pytest.fixture(scope="module")
def default_scorer():
    return lcvade.load(device="cpu")


def test_every_common_class_keeps_the_family_of_its_catalogue_labels():
    for label, common in COMMON_CLASS.items():
        assert family_of(label) == family_of(common) != "other", (label, common)


def test_the_default_model_reads_brightness_free_features_calibrated_outside_the_fit(
    default_scorer,
):
    config = default_scorer.config
    assert config.feature_set in ("shape", "shape_fold") and config.bands == ["V"]
    assert set(default_scorer.class_names) <= set(COMMON_CLASS.values())
    seen = json.loads((resolve_model_path("default") / "object_ids.json").read_text())
    fit, calibration = set(seen["fit"]), set(seen["calibration"])
    assert len(calibration) >= 100 and not fit & calibration
    assert len(default_scorer.calibration) == len(calibration)
    # the web page's examples were never seen by the fit or the calibration
    for name in example_names():
        object_id = str(pd.read_csv(EXAMPLES_DIR / f"{name}.csv")["object_id"].iloc[0])
        assert object_id not in fit | calibration, name


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_bundled_examples_score_as_documented(default_scorer, name):
    # docs/default-model.md, "The web page's examples": the four stars are ordinary and named
    # within their family (the RR Lyrae star at 0.42 d is called RRc, not RRab); the
    # supernova is not flagged at p < 0.01, and its explanation puts the fold's significance
    # furthest below typical
    example = EXAMPLES[name]
    served = example_for_model(name, default_scorer.config)
    body = served.light_curve
    curve = LightCurve(body.time, body.mag, body.mag_err, body.band, id=name)
    result = default_scorer.score([curve], band_map=served.band_map)[0]
    assert result.bands_read == {example.main_band: "V"}
    assert result.period_source == "estimated"
    explanation = result.explanation
    if example.expected == "anomaly":
        assert explanation.dominant_term == "fold_significance"
        assert explanation.deviation["fold_significance"] < -5.0
    else:
        assert not result.is_anomaly, (result.p_value, result.predicted_class)
        assert family_of(result.predicted_class) == family_of(example.expected_class)
