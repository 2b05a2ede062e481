"""The bundled OGLE-III extract, the label constants and the extract script."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lcvade.simulation.catalog import EXTRACT_PATH, load_catalog
from lcvade.simulation.labels import (
    CATALOG_LABELS,
    DESCRIPTIONS,
    DSCT,
    FOURIER_LABELS,
    LABELS,
    LPV,
    OGLE_SUBTYPES,
    parse_classes,
)
from lcvade.simulation.make_catalog_extract import DEFAULT_SOURCE, build_extract, read_source


@pytest.fixture(scope="module")
def extract() -> pd.DataFrame:
    return pd.read_parquet(EXTRACT_PATH)


def test_labels_are_documented_and_partitioned() -> None:
    assert len(set(LABELS)) == len(LABELS) == 10
    assert set(DESCRIPTIONS) == set(LABELS)
    assert set(OGLE_SUBTYPES) == set(CATALOG_LABELS)
    assert set(CATALOG_LABELS) | {"EA", "EW"} == set(LABELS)


def test_parse_classes() -> None:
    assert parse_classes(None) == LABELS
    assert parse_classes("all") == LABELS
    assert parse_classes("ew, rrab,RRab") == ("RRab", "EW")
    assert parse_classes(["LPV", "DSCT"]) == ("DSCT", "LPV")
    with pytest.raises(ValueError, match="unknown class"):
        parse_classes("RRab,Mira")


def test_extract_is_small_and_covers_every_catalog_label(extract: pd.DataFrame) -> None:
    assert EXTRACT_PATH.stat().st_size < 4_000_000
    counts = extract["label"].value_counts()
    for label in CATALOG_LABELS:
        assert counts[label] >= 80, label
    for label, pairs in OGLE_SUBTYPES.items():
        rows = extract[extract["label"] == label]
        got = set(zip(rows["type"], rows["subtype"], strict=True))
        assert got <= set(pairs)
    lpv = extract[extract["label"] == LPV]
    assert lpv["subtype"].value_counts().to_dict() == {"Mira": 4000, "SRV": 4000, "OSARG": 4000}
    assert extract["id"].is_unique


def test_extract_values_are_physical(extract: pd.DataFrame) -> None:
    assert (extract["P_1"] > 0).all() and (extract["A_1"] > 0).all()
    fourier = extract[extract["label"].isin(FOURIER_LABELS)]
    for column in ("R21", "R31"):
        assert fourier[column].between(0.0, 1.0).all(), column
    for column in ("phi21", "phi31"):
        assert fourier[column].between(0.0, 2 * np.pi).all(), column
    # the delta Scuti ratio/phase columns are transposed in the source; after the swap their
    # phases look like those of the other pulsators and their ratios are below 1
    dsct = extract[extract["label"] == DSCT]
    assert 3.0 < dsct["phi21"].median() < 5.5
    assert dsct["R21"].median() < 0.6
    lpv = extract[extract["label"] == LPV]
    has2 = lpv["P_2"].notna()
    assert has2.mean() > 0.5
    assert (lpv.loc[has2, "A_2"] <= lpv.loc[has2, "A_1"]).all()
    assert lpv.loc[has2, "P_2"].between(2.0, 3000.0).all()
    bulge = extract[extract["field"] == "BLG"]
    assert bulge["V_I"].isna().all()


def test_period_amplitude_relations_are_the_catalogs(extract: pd.DataFrame) -> None:
    med = extract.groupby("label")[["P_1", "A_1"]].median()
    assert 0.45 < med.loc["RRab", "P_1"] < 0.7 and 0.25 < med.loc["RRc", "P_1"] < 0.4
    assert med.loc["RRab", "A_1"] > 1.5 * med.loc["RRc", "A_1"]
    assert med.loc["DSCT", "P_1"] < 0.2 < 100 < med.loc["LPV", "P_1"]
    assert med.loc["DCEP_F", "P_1"] > med.loc["DCEP_1O", "P_1"]


def test_catalog_draws_rows_of_the_label() -> None:
    catalog = load_catalog()
    rows = catalog.draw("RRc", 500, np.random.default_rng(3))
    again = catalog.draw("RRc", 500, np.random.default_rng(3))
    assert np.array_equal(rows.id, again.id)
    table = catalog.lookup(rows.id)
    assert (table["label"] == "RRc").all()
    assert np.allclose(table["P_1"].to_numpy(), rows["P_1"])
    assert len(set(rows.id)) > 400
    with pytest.raises(KeyError):
        catalog.draw("EA", 1, np.random.default_rng(0))
    assert 0.3 < catalog.default_colour("RRab") < 0.9
    assert catalog.default_colour("LPV") > 1.0


@pytest.mark.slow
@pytest.mark.skipif(not DEFAULT_SOURCE.is_file(), reason="the shared OGLE-III file is absent")
def test_extract_script_reproduces_the_bundled_file(extract: pd.DataFrame) -> None:
    rebuilt = build_extract(read_source(DEFAULT_SOURCE))
    pd.testing.assert_frame_equal(
        rebuilt.reset_index(drop=True), extract, check_dtype=False, check_exact=True
    )
