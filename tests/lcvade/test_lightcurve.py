"""Validation of LightCurve: every rule rejects a bad input with a message naming it."""

from __future__ import annotations

import numpy as np
import pytest

from lcvade import LightCurve, LightCurveError


def good(n: int = 12) -> dict:
    t = np.linspace(0.0, 10.0, n)
    return {"time": t, "mag": 15.0 + np.sin(t), "mag_err": np.full(n, 0.05)}


def rejected(**kwargs) -> LightCurveError:
    with pytest.raises(LightCurveError) as info:
        LightCurve(**kwargs)
    return info.value


def test_lengths_differ_names_the_field():
    args = good()
    args["mag_err"] = args["mag_err"][:-1]
    err = rejected(**args)
    assert err.field == "mag_err"
    assert "11 values but time has 12" in str(err)


def test_band_length_differs():
    err = rejected(**good(), band=["g"] * 5)
    assert err.field == "band"
    assert "one band per point" in str(err)


@pytest.mark.parametrize("field", ["time", "mag", "mag_err"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_field_and_first_index(field, bad):
    args = good()
    args[field] = args[field].copy()
    args[field][7] = bad
    args[field][9] = bad
    err = rejected(**args)
    assert err.field == field
    assert err.index == 7
    assert f"{field}[7]" in str(err)
    assert "finite" in str(err)


@pytest.mark.parametrize("bad", [0.0, -0.1])
def test_non_positive_errors(bad):
    args = good()
    args["mag_err"] = args["mag_err"].copy()
    args["mag_err"][3] = bad
    err = rejected(**args)
    assert (err.field, err.index) == ("mag_err", 3)
    assert "must be > 0" in str(err)


def test_too_few_points():
    err = rejected(**good(9))
    assert err.field == "points"
    assert "9 points; at least 10" in str(err)
    assert len(LightCurve(**good(9), min_points=5)) == 9


def test_too_few_points_in_one_band():
    args = good(20)
    band = ["g"] * 12 + ["r"] * 8
    err = rejected(**args, band=band)
    assert err.field == "points"
    assert "band 'r' has 8 points" in str(err)


@pytest.mark.parametrize("period", [0.0, -1.0, np.nan, np.inf, "fast"])
def test_bad_period(period):
    err = rejected(**good(), period=period)
    assert err.field == "period"
    assert "period" in str(err)


def test_bad_band_name():
    band = ["g"] * 11 + [""]
    err = rejected(**good(), band=band)
    assert (err.field, err.index) == ("band", 11)


def test_non_numeric_values():
    args = good()
    args["mag"] = ["a"] * 12
    err = rejected(**args)
    assert err.field == "mag"
    assert "numbers" in str(err)


def test_two_dimensional_input():
    args = good()
    args["time"] = args["time"].reshape(3, 4)
    err = rejected(**args)
    assert err.field == "time"
    assert "one-dimensional" in str(err)


def test_unsorted_times_are_sorted_and_duplicates_kept():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 100, 30)
    t[5] = t[6]
    mag = rng.normal(15, 0.1, 30)
    err = rng.uniform(0.01, 0.1, 30)
    curve = LightCurve(t, mag, err)
    order = np.argsort(t, kind="stable")
    assert np.all(np.diff(curve.time) >= 0)
    assert len(curve) == 30
    # Each (time, mag, err) triple survives intact.
    got = set(zip(curve.time, curve.mag, curve.mag_err, strict=True))
    assert got == set(zip(t[order], mag[order], err[order], strict=True))


def test_point_order_does_not_matter():
    rng = np.random.default_rng(1)
    t, m, e = rng.uniform(0, 50, 40), rng.normal(15, 0.2, 40), rng.uniform(0.01, 0.1, 40)
    band = rng.choice(["g", "r"], 40)
    a = LightCurve(t, m, e, band=band)
    perm = rng.permutation(40)
    b = LightCurve(t[perm], m[perm], e[perm], band=band[perm])
    for field in ("time", "mag", "mag_err", "band"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.bands == ("g", "r")


def test_arrays_are_read_only():
    curve = LightCurve(**good())
    with pytest.raises(ValueError):
        curve.mag[0] = 1.0


def test_values_that_are_not_magnitudes_are_refused_with_their_index():
    t = np.arange(12.0)
    mag = np.full(12, 15.0) + 0.1 * np.sin(t)
    mag[7] = 3.1e4  # a flux sent as a magnitude
    with pytest.raises(LightCurveError, match=r"mag\[7\] = 31000 is not a magnitude") as info:
        LightCurve(t, mag, np.full(12, 0.05))
    assert info.value.field == "mag" and info.value.index == 7
    mag[7] = -26.7  # the Sun is still a magnitude
    assert len(LightCurve(t, mag, np.full(12, 0.05))) == 12
