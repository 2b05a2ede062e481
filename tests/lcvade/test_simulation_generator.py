"""The in-memory simulator: schema, truth, reproducibility, fidelity to the catalog rows."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from lcvade.simulation import (
    CADENCES,
    LABELS,
    PHOTOMETRY,
    MagnitudeRange,
    fit_fourier,
    load_catalog,
    simulate,
    to_lightcurves,
)
from lcvade.simulation.bands import AMPLITUDE_RATIO
from lcvade.simulation.labels import CATALOG_LABELS, FOURIER_LABELS

LC_COLUMNS = ["object_id", "time", "mag", "mag_err", "band"]


@pytest.fixture(scope="module")
def ztf():
    return simulate(600, seed=4, cadence="ztf")


def test_schema_and_consistency(ztf) -> None:
    lc, obj = ztf
    assert list(lc.columns) == LC_COLUMNS
    assert list(obj.columns[:3]) == ["object_id", "label", "period"]
    for column in ("time", "mag", "mag_err"):
        assert lc[column].dtype == np.float64
    assert pd.api.types.is_string_dtype(lc["object_id"])
    assert pd.api.types.is_string_dtype(lc["band"])
    assert set(lc["band"]) == {"g", "r"}
    assert obj["object_id"].is_unique and len(obj) == 600
    assert list(pd.unique(lc["object_id"])) == obj["object_id"].tolist()
    counts = lc.groupby("object_id", sort=False).size()
    assert np.array_equal(counts.to_numpy(), obj["n_points"].to_numpy())
    assert np.all(np.isfinite(lc[["time", "mag", "mag_err"]].to_numpy()))
    assert (lc["mag_err"] > 0).all()
    assert (
        lc.groupby("object_id", sort=False)["time"].apply(lambda t: t.is_monotonic_increasing)
    ).all()
    assert set(obj["label"]) == set(LABELS)
    assert (obj["period"] > 0).all() and (obj["amplitude"] > 0).all()
    assert (obj["cadence"] == "ztf").all() and (obj["reference_band"] == "r").all()
    assert (obj["n_outliers"] == 0).all()


def test_every_object_is_a_valid_light_curve(ztf) -> None:
    lc, obj = ztf
    curves = to_lightcurves(lc, obj)
    assert [c.id for c in curves] == obj["object_id"].tolist()
    assert np.allclose([c.period for c in curves], obj["period"])
    assert all(c.period is None for c in to_lightcurves(lc, obj, with_period=False)[:5])


def test_truth_matches_the_catalog_rows(ztf) -> None:
    _, obj = ztf
    catalog = load_catalog()
    drawn = obj[obj["label"].isin(CATALOG_LABELS)]
    rows = catalog.lookup(drawn["catalog_id"])
    assert (rows["label"].to_numpy() == drawn["label"].to_numpy()).all()
    assert np.array_equal(rows["P_1"].to_numpy(), drawn["period"].to_numpy())
    family = np.where(drawn["label"] == "LPV", "lpv", "pulsating")
    ratio = np.array([AMPLITUDE_RATIO[f]["r"] for f in family])
    assert np.allclose(drawn["amplitude"], rows["A_1"].to_numpy() * ratio)
    assert (rows["subtype"].to_numpy() == drawn["subtype"].to_numpy()).all()
    eb = obj[obj["label"].isin(["EA", "EW"])]
    assert (eb["catalog_id"] == "").all() and (eb["subtype"] == eb["label"]).all()


def test_same_seed_same_data_and_prefix_stability() -> None:
    lc1, obj1 = simulate(300, seed=12, cadence="linear")
    lc2, obj2 = simulate(300, seed=12, cadence="linear")
    pd.testing.assert_frame_equal(lc1, lc2)
    pd.testing.assert_frame_equal(obj1, obj2)
    lc3, obj3 = simulate(300, seed=13, cadence="linear")
    assert not obj3["period"].equals(obj1["period"])
    lc_small, obj_small = simulate(70, seed=12, cadence="linear")
    pd.testing.assert_frame_equal(obj_small, obj1.iloc[:70])
    pd.testing.assert_frame_equal(lc_small, lc1.iloc[: len(lc_small)])


def test_class_selection_is_balanced_and_restricted() -> None:
    _, obj = simulate(800, seed=3, classes="RRab,EW,LPV")
    counts = obj["label"].value_counts()
    assert set(counts.index) == {"RRab", "EW", "LPV"}
    assert counts.min() > 800 / 3 / 1.5
    lpv = obj[obj["label"] == "LPV"]
    assert set(lpv["subtype"]) == {"Mira", "SRV", "OSARG"}


def test_outliers_are_counted() -> None:
    lc, obj = simulate(300, seed=8, outlier_fraction=0.05)
    frac = obj["n_outliers"].sum() / obj["n_points"].sum()
    assert frac == pytest.approx(0.05, abs=0.01)


def _bright(cadence: str, epochs: tuple[int, int]):
    """A cadence with many points and a survey photometry restricted to bright stars."""
    spec = CADENCES[cadence].with_(epochs=epochs)
    mag = MagnitudeRange(13.0, 14.0) if cadence != "lsst" else MagnitudeRange(17.0, 18.0)
    return spec, PHOTOMETRY[cadence].with_(magnitudes=mag)


def _angle(x: np.ndarray) -> np.ndarray:
    return np.abs(np.angle(np.exp(1j * x)))


def test_refit_recovers_catalog_amplitude_and_fourier_parameters() -> None:
    """3-harmonic refits of generated I-band curves match the catalog rows they came from.

    Tolerances are five times the least-squares uncertainty of each parameter for the curve's
    noise and number of points (plus a small floor), so a wrong convention or amplitude scale
    fails while noise does not.
    """
    spec, phot = _bright("uniform", (250, 300))
    lc, obj = simulate(700, seed=21, cadence=spec, classes=FOURIER_LABELS, photometry=phot)
    rows = load_catalog().lookup(obj["catalog_id"]).set_index(obj.index)
    failures = []
    for (oid, group), (_, truth) in zip(
        lc.groupby("object_id", sort=False), obj.iterrows(), strict=True
    ):
        row = rows.loc[truth.name]
        fit = fit_fourier(
            group["time"].to_numpy(),
            group["mag"].to_numpy(),
            truth["period"],
            mag_err=group["mag_err"].to_numpy(),
        )
        sig_a = np.sqrt(2.0 / len(group)) * np.median(group["mag_err"])
        a1 = fit.amplitudes[0]
        checks = {
            "A_1": abs(fit.peak_to_peak - row["A_1"]) < 5 * 3 * sig_a + 0.002,
            "R21": abs(fit.r21 - row["R21"]) < 5 * sig_a / a1 * (1 + row["R21"]) + 0.002,
            "R31": abs(fit.r31 - row["R31"]) < 5 * sig_a / a1 * (1 + row["R31"]) + 0.002,
        }
        if row["R21"] * a1 > 10 * sig_a:
            checks["phi21"] = (
                _angle(fit.phi21 - row["phi21"])
                < 5 * sig_a * (1 / (row["R21"] * a1) + 2 / a1) + 0.01
            )
        if row["R31"] * a1 > 10 * sig_a:
            checks["phi31"] = (
                _angle(fit.phi31 - row["phi31"])
                < 5 * sig_a * (1 / (row["R31"] * a1) + 3 / a1) + 0.01
            )
        failures += [(oid, name) for name, ok in checks.items() if not ok]
    assert obj["label"].nunique() == len(FOURIER_LABELS)
    assert failures == []


def test_epochs_mark_maximum_light_and_primary_eclipse() -> None:
    spec, phot = _bright("uniform", (250, 300))
    lc, obj = simulate(
        300, seed=5, cadence=spec, photometry=phot, classes=["RRab", "DCEP_F", "EA", "EW"]
    )
    merged = lc.merge(obj[["object_id", "label", "period", "epoch"]], on="object_id")
    phase = np.mod((merged["time"] - merged["epoch"]) / merged["period"] + 0.5, 1.0) - 0.5
    merged["near"] = np.abs(phase) < 0.02
    merged["dm"] = merged["mag"] - merged.groupby("object_id")["mag"].transform("mean")
    near = merged[merged["near"]].groupby("object_id")["dm"].mean()
    labels = obj.set_index("object_id").loc[near.index, "label"]
    assert (near[labels.isin(["RRab", "DCEP_F"])] < 0).mean() > 0.97  # brighter at maximum
    assert (near[labels.isin(["EA", "EW"])] > 0).mean() > 0.97  # fainter in primary eclipse


def test_band_amplitudes_follow_the_ratios() -> None:
    spec, phot = _bright("ztf", (300, 400))
    lc, obj = simulate(150, seed=6, cadence=spec, photometry=phot, classes="RRab")
    ratios = []
    for oid, group in lc.groupby("object_id", sort=False):
        period = obj.set_index("object_id").loc[oid, "period"]
        amp = {}
        for band, sub in group.groupby("band"):
            amp[band] = fit_fourier(sub["time"].to_numpy(), sub["mag"].to_numpy(), period)
        ratios.append(amp["g"].peak_to_peak / amp["r"].peak_to_peak)
        assert amp["g"].mean > amp["r"].mean  # RR Lyrae are fainter in g than in r
    expected = AMPLITUDE_RATIO["pulsating"]["g"] / AMPLITUDE_RATIO["pulsating"]["r"]
    assert np.median(ratios) == pytest.approx(expected, rel=0.03)


def test_faint_bands_are_dropped_but_the_reference_band_is_kept() -> None:
    lc, obj = simulate(400, seed=2, cadence="lsst", classes="LPV")
    bands = lc.groupby("object_id")["band"].agg(set)
    assert all("r" in b for b in bands)
    assert sum("u" not in b for b in bands) > 0.3 * len(bands)  # red giants vanish in u
    per_band = lc.groupby(["object_id", "band"]).size()
    assert per_band.min() >= CADENCES["lsst"].min_per_band


def test_small_runs_are_fast() -> None:
    start = time.perf_counter()
    lc, _ = simulate(1000, seed=1)
    assert time.perf_counter() - start < 10.0
    assert len(lc) > 1000 * 40


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown cadence"):
        simulate(10, cadence="tess")
    with pytest.raises(ValueError, match="unknown class"):
        simulate(10, classes="Mira")
    with pytest.raises(ValueError, match="outlier_fraction"):
        simulate(10, outlier_fraction=1.5)
    lc, obj = simulate(0)
    assert len(lc) == 0 and len(obj) == 0 and list(lc.columns) == LC_COLUMNS
