"""Alert packets (ZTF and Rubin/LSST Avro) read into photometry rows and merged per object."""

from __future__ import annotations

import math
import tarfile

import numpy as np
import pytest
from batch_data import (
    LSST_SCHEMA,
    ZTF_SCHEMA,
    lsst_alert,
    lsst_source,
    write_avro,
    ztf_alert,
    ztf_detection,
)

from lcvade import LCVaDEConfig
from training.scoring.alerts import (
    AlertError,
    count_alerts,
    flux_to_ab_mag,
    read_alerts,
)
from training.scoring.curves import prepare_objects
from training.scoring.photometry_rows import SKIP_NON_DETECTION, SKIP_NON_FINITE_MAG

SINGLE_BAND = LCVaDEConfig(n_classes=3, channels=8)
GR = LCVaDEConfig(n_classes=3, channels=8, bands=["g", "r"])


def _read_all(path):
    import pandas as pd

    return pd.concat(list(read_alerts(path)), ignore_index=True)


def test_flux_to_ab_mag_follows_the_nanojansky_zero_point():
    # 3631 Jy is AB magnitude 0 by definition; 1 nJy is 31.4 (to the rounding of 31.4).
    mag, err = flux_to_ab_mag(np.array([3631e9, 1.0, 1e4, 0.0, -5.0]), np.full(5, 1e3))
    assert mag[0] == pytest.approx(0.0, abs=2e-3)
    assert mag[1] == pytest.approx(31.4)
    assert mag[2] == pytest.approx(31.4 - 10.0)
    assert err[2] == pytest.approx(2.5 / math.log(10) * 0.1)
    assert np.isnan(mag[3:]).all() and np.isnan(err[3:]).all()


def _ztf_object(object_id, start_candid, jd0=2459000.5, n=14):
    rng = np.random.default_rng(start_candid % 1000)
    return [
        ztf_detection(jd0 + 1.3 * k, 1 + k % 2, 17 + 0.3 * rng.normal(), 0.05, start_candid + k)
        for k in range(n)
    ]


def test_ztf_repeated_alerts_merge_into_one_curve_without_double_counting(tmp_path):
    points = _ztf_object("ZTF21aaaaaaa", 10**15, n=22)
    limits = [{"jd": 2458990.5, "fid": 1}, {"jd": 2458991.5, "fid": 2}]
    first = ztf_alert("ZTF21aaaaaaa", points[19], limits + points[:19])
    second = ztf_alert("ZTF21aaaaaaa", points[21], limits + points[:21])
    path = write_avro(tmp_path / "night.avro", ZTF_SCHEMA, [first, second])

    rows = _read_all(path)
    assert len(rows) == (1 + 2 + 19) + (1 + 2 + 21)  # candidate + history, twice
    assert set(rows["band"].dropna()) == {"g", "r"}
    assert rows["time"].min() == pytest.approx(2458990.5 - 2400000.5)
    assert (rows["skip"] == SKIP_NON_DETECTION).sum() == 4

    (prepared,) = prepare_objects(rows, None, GR)
    assert prepared.curve is not None, prepared.reason
    assert len(prepared.curve) == 22  # 22 distinct detections, limits set aside
    assert prepared.bands == "g,r"
    np.testing.assert_allclose(
        np.sort(prepared.curve.time), np.sort([p["jd"] - 2400000.5 for p in points])
    )
    assert prepared.notes == "skipped 2 points (non-detection: 2)"  # repeated limits once


def test_ztf_nan_magnitude_and_non_detections_are_skipped_and_counted(tmp_path):
    points = _ztf_object("ZTF21bbbbbbb", 2 * 10**15, n=12)
    bad = dict(points[-1], magpsf=float("nan"))
    alert = ztf_alert("ZTF21bbbbbbb", bad, [{"jd": 2458999.0, "fid": 1}, *points[:-1]])
    path = write_avro(tmp_path / "nan.avro", ZTF_SCHEMA, [alert])

    rows = _read_all(path)
    assert (rows["skip"] == SKIP_NON_FINITE_MAG).sum() == 1
    (prepared,) = prepare_objects(rows, None, SINGLE_BAND)
    # 11 detections remain, in g and r; the single-band model keeps the band with most points
    assert prepared.curve is None
    assert "non-finite magnitude: 1" in prepared.reason
    assert "non-detection: 1" in prepared.reason
    assert prepared.n_points == 11


def test_an_alert_of_only_unusable_points_is_rejected_not_lost(tmp_path):
    only_nan = ztf_detection(2459000.5, 2, float("nan"), 0.1, 77)
    alert = ztf_alert("ZTF22ccccccc", only_nan, [{"jd": 2458999.5, "fid": 2}] * 3)
    path = write_avro(tmp_path / "empty.avro", ZTF_SCHEMA, [alert])
    (prepared,) = prepare_objects(_read_all(path), None, SINGLE_BAND)
    assert prepared.object_id == "ZTF22ccccccc"
    assert prepared.curve is None and prepared.n_points == 0
    assert prepared.reason.startswith("no usable points")
    assert "non-detection: 1" in prepared.reason  # identical upper limits count once


def _lsst_history(object_id, first_source, n, bands=("g", "r")):
    return [
        lsst_source(
            first_source + k,
            object_id,
            60000.0 + 0.9 * k,
            bands[k % len(bands)],
            1000.0 * (1 + 0.1 * np.sin(k)),
            20.0,
        )
        for k in range(n)
    ]


def test_lsst_fluxes_become_ab_magnitudes_and_bad_fluxes_are_skipped(tmp_path):
    history = _lsst_history(9001, 500, 24)
    history[3] = dict(history[3], psfFlux=-12.0)  # non-positive: no magnitude
    history[4] = dict(history[4], psfFluxErr=None)  # no error
    newest = lsst_source(600, 9001, 60030.0, "r", 1500.0, 30.0)
    alerts = [
        lsst_alert(1, 9001, history[20], history[:20]),
        lsst_alert(2, 9001, newest, history),
    ]
    path = write_avro(tmp_path / "rubin.avro", LSST_SCHEMA, alerts)

    rows = _read_all(path)
    assert set(rows["object_id"]) == {"9001"}
    newest_row = rows[rows["source_id"] == 600].iloc[0]
    assert newest_row["mag"] == pytest.approx(-2.5 * math.log10(1500.0) + 31.4)
    assert newest_row["mag_err"] == pytest.approx(2.5 / math.log(10) * 30.0 / 1500.0)

    (prepared,) = prepare_objects(rows, None, GR)
    assert prepared.curve is not None, prepared.reason
    assert len(prepared.curve) == 25 - 2  # 24 history + newest, two skipped, repeats merged
    assert prepared.n_points == 23


def test_lsst_object_with_too_few_points_after_negative_fluxes_says_why(tmp_path):
    history = _lsst_history(42, 100, 11, bands=("i",))
    for k in (0, 1, 2):
        history[k] = dict(history[k], psfFlux=-1.0)
    path = write_avro(
        tmp_path / "few.avro", LSST_SCHEMA, [lsst_alert(5, 42, history[-1], history[:-1])]
    )
    (prepared,) = prepare_objects(_read_all(path), None, SINGLE_BAND)
    assert prepared.curve is None
    assert "8 points" in prepared.reason and "non-positive flux: 3" in prepared.reason


def test_tar_archive_of_alert_files_is_read_and_counted(tmp_path):
    files = []
    for k, object_id in enumerate(["ZTF20a", "ZTF20b", "ZTF20c"]):
        points = _ztf_object(object_id, (k + 3) * 10**15, n=10)
        files.append(
            write_avro(
                tmp_path / f"{k}.avro", ZTF_SCHEMA, [ztf_alert(object_id, points[-1], points[:-1])]
            )
        )
    archive = tmp_path / "ztf_public_20240101.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for f in files:
            tar.add(f, arcname=f"alerts/{f.name}")
    rows = _read_all(archive)
    assert sorted(rows["object_id"].unique()) == ["ZTF20a", "ZTF20b", "ZTF20c"]
    assert len(rows) == 30
    assert count_alerts(archive) == 3
    assert count_alerts(files[0]) == 1


def test_an_avro_file_that_is_not_an_alert_is_refused_with_the_reason(tmp_path):
    schema = {"type": "record", "name": "x", "fields": [{"name": "a", "type": "int"}]}
    path = write_avro(tmp_path / "other.avro", schema, [{"a": 1}])
    with pytest.raises(AlertError, match="objectId and candidate"):
        _read_all(path)
    garbage = tmp_path / "garbage.avro"
    garbage.write_bytes(b"not avro at all")
    with pytest.raises(AlertError, match="not an Avro container file"):
        _read_all(garbage)
