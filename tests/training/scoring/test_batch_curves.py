"""Preparing objects for scoring: band policies and every reason an object is rejected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcvade import LCVaDEConfig
from training.scoring.curves import BandPolicy, prepare_objects
from training.scoring.photometry_rows import SKIP_NON_DETECTION, photometry_frame

SINGLE = LCVaDEConfig(n_classes=3, channels=8)
GR = LCVaDEConfig(n_classes=3, channels=8, bands=["g", "r"])
V = LCVaDEConfig(n_classes=3, channels=8, bands=["V"])


def _object(object_id, bands, mag=None, err=0.05, skip=None, source_id=None):
    n = len(bands)
    return photometry_frame(
        object_id,
        np.arange(n, dtype=float) * 0.7,
        np.full(n, 16.0) + 0.1 * np.sin(np.arange(n)) if mag is None else mag,
        np.full(n, err),
        None if all(b is None for b in bands) else list(bands),
        source_id=source_id,
        skip=skip,
    )


def _by_id(prepared):
    return {p.object_id: p for p in prepared}


def test_best_keeps_the_band_with_most_points_for_a_single_band_model():
    rows = _object("a", ["g"] * 12 + ["r"] * 15)
    (p,) = prepare_objects(rows, None, SINGLE, BandPolicy(multi_band="best"))
    assert p.curve is not None and set(p.curve.band) == {"r"} and len(p.curve) == 15
    assert p.bands == "r"
    assert "used band r" in p.notes and "dropped 12 points" in p.notes
    assert set(p.period_curve.bands) == {"g", "r"} and len(p.period_curve) == 27


def test_merge_scores_all_points_as_one_band():
    rows = _object("a", ["g"] * 6 + ["r"] * 7)
    (p,) = prepare_objects(rows, None, SINGLE, BandPolicy(multi_band="merge"))
    assert p.curve is not None and p.curve.band is None and len(p.curve) == 13
    assert p.bands == "g+r"


def test_require_rejects_several_bands_for_a_single_band_model():
    rows = pd.concat([_object("a", ["g"] * 12 + ["r"] * 12), _object("b", ["r"] * 12)])
    prepared = _by_id(prepare_objects(rows, None, SINGLE, BandPolicy(multi_band="require")))
    assert prepared["a"].curve is None
    assert "has bands g, r" in prepared["a"].reason and "--band-policy" in prepared["a"].reason
    assert prepared["b"].curve is not None


def test_unknown_bands_are_dropped_or_reject_the_object():
    rows = _object("a", ["g"] * 12 + ["r"] * 12 + ["u"] * 3 + ["z"] * 2)
    (dropped,) = prepare_objects(rows, None, GR, BandPolicy(unknown_bands="drop"))
    assert dropped.curve is not None and set(dropped.curve.bands) == {"g", "r"}
    assert "dropped 5 points in bands the model does not use: u, z" in dropped.notes
    (rejected,) = prepare_objects(rows, None, GR, BandPolicy(unknown_bands="reject"))
    assert rejected.curve is None
    assert "bands u, z are not among the model's bands g, r" in rejected.reason


def test_the_period_is_searched_in_every_band_with_enough_points():
    rows = _object("a", ["V"] * 15 + ["g"] * 20 + ["u"] * 4)
    (p,) = prepare_objects(rows, None, V)
    assert p.curve.bands == ("V",) and len(p.curve) == 15  # the model reads its band
    assert set(p.search_curve.bands) == {"V", "g"} and len(p.search_curve) == 35  # u: 4 points
    assert p.period_curve is p.search_curve
    assert "period searched in bands V, g" in p.notes
    np.testing.assert_array_equal(
        np.sort(p.search_curve.time[p.search_curve.band == "V"]), np.sort(p.curve.time)
    )
    given = pd.DataFrame({"object_id": ["a"], "period": [0.5]})
    (known,) = prepare_objects(rows, given, V)  # a given period is not searched
    assert known.search_curve is None and known.period_curve is known.curve
    assert "period searched" not in known.notes
    (alone,) = prepare_objects(_object("b", ["V"] * 15 + ["u"] * 4), None, V)
    assert alone.search_curve is None and alone.period_curve is alone.curve
    (too_many,) = prepare_objects(rows, None, V, max_points=18)  # g beyond the points limit
    assert too_many.search_curve is None


def test_sparse_band_is_dropped_or_rejects_the_object():
    rows = _object("a", ["g"] * 14 + ["r"] * 4)
    (dropped,) = prepare_objects(rows, None, GR, BandPolicy(sparse_bands="drop"))
    assert dropped.curve is not None and dropped.curve.bands == ("g",)
    assert dropped.bands == "g"
    (rejected,) = prepare_objects(rows, None, GR, BandPolicy(sparse_bands="reject"))
    assert rejected.curve is None and "band r has 4 points" in rejected.reason


def test_every_reject_reason_is_reported_and_no_object_is_dropped():
    nan_mag = np.full(12, 15.0)
    nan_mag[4] = np.nan
    rows = pd.concat(
        [
            _object("few", [None] * 6),
            _object("nanmag", [None] * 12, mag=nan_mag),
            _object("zero_err", [None] * 12, err=0.0),
            _object("limits", ["g"] * 3, skip=[SKIP_NON_DETECTION] * 3),
            _object("mixed", ["g"] * 6 + [None] * 6),
            _object("ok", [None] * 12),
        ]
    )
    objects = pd.DataFrame({"object_id": ["ok", "ghost"], "period": [1.5, np.nan]})
    prepared = prepare_objects(rows, objects, SINGLE)
    assert [p.object_id for p in prepared] == [
        "few",
        "nanmag",
        "zero_err",
        "limits",
        "mixed",
        "ok",
        "ghost",
    ]
    reasons = {p.object_id: p.reason for p in prepared}
    assert reasons["few"] == "the light curve has 6 points; at least 10 are needed"
    assert reasons["nanmag"] == "mag[4] = nan is not a finite number"
    assert reasons["zero_err"].startswith("mag_err[0] = 0.0 must be > 0")
    assert reasons["limits"] == "no usable points; skipped 3 points (non-detection: 3)"
    assert (
        "some of this object's points have a band name and others have none" in (reasons["mixed"])
    )
    assert reasons["ghost"] == "no photometry rows for this object"
    assert reasons["ok"] is None
    ok = prepared[5].curve
    assert ok.period == 1.5


def test_multi_band_model_rejects_points_without_band_names():
    (p,) = prepare_objects(_object("a", [None] * 20), None, GR)
    assert p.curve is None and "the model takes bands g, r" in p.reason


def test_repeated_detections_count_once_and_a_usable_copy_wins():
    rows = _object("a", ["r"] * 12, source_id=list(range(100, 112)))
    copy = rows.iloc[:5].copy()
    copy["mag"] = np.nan
    copy["skip"] = "non-finite magnitude"
    (p,) = prepare_objects(pd.concat([copy, rows, rows.iloc[3:9]]), None, GR)
    assert p.curve is not None and len(p.curve) == 12
    assert p.notes is None


@pytest.mark.parametrize("policy", ["best", "merge", "require"])
def test_single_band_objects_are_untouched_by_the_multi_band_policy(policy):
    rows = _object("a", ["i"] * 11)
    (p,) = prepare_objects(rows, None, SINGLE, BandPolicy(multi_band=policy))
    assert p.curve is not None and p.curve.bands == ("i",) and p.notes is None
