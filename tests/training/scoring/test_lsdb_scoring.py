"""Scoring an LSDB catalog whose light curves are nested-pandas columns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_data import periodic_table

from training.scoring.job import ScoreJobConfig
from training.scoring.lsdb_catalogs import score_catalog, score_nested_partition
from training.scoring.run import run_scoring

lsdb = pytest.importorskip("lsdb")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lsdb_scoring.py"


@pytest.fixture(scope="module")
def catalog_tables():
    """Objects with positions and their g/r light curves, some too short to score."""
    table = periodic_table(30, seed=41, bands=["g", "r"], points=(24, 50))
    short = periodic_table(3, seed=42, bands=["g", "r"], points=(6, 9), prefix="short")
    table = pd.concat([table, short], ignore_index=True)
    ids = sorted(table["object_id"].unique())
    rng = np.random.default_rng(43)
    objects = pd.DataFrame(
        {"id": ids, "ra": rng.uniform(30, 32, len(ids)), "dec": rng.uniform(-10, -8, len(ids))}
    )
    sources = table.merge(objects, left_on="object_id", right_on="id").drop(columns="id")
    return objects, sources


def test_catalog_scores_match_lcvade_score_on_the_same_light_curves(
    catalog_tables, multi_band_model, tmp_path
):
    objects, sources = catalog_tables
    small = {
        "ra_column": "ra",
        "dec_column": "dec",
        "should_generate_moc": False,
        "margin_threshold": None,
    }
    catalog = lsdb.from_dataframe(objects, **small).join_nested(
        lsdb.from_dataframe(sources, **small),
        left_on="id",
        right_on="object_id",
        nested_column_name="lc",
    )
    scores = score_catalog(catalog, multi_band_model, lc_column="lc", id_column="id")
    result = scores.compute()
    assert len(result) == len(objects)
    assert sorted(result["object_id"]) == sorted(objects["id"])
    assert {"ra", "dec"} <= set(result.columns)
    rejected = result[result["status"] == "rejected"]
    assert sorted(rejected["object_id"]) == [f"short{i:04d}" for i in range(3)]

    sources.to_csv(tmp_path / "lc.csv", index=False)
    run_scoring(
        [tmp_path / "lc.csv"],
        multi_band_model,
        tmp_path / "out",
        config=ScoreJobConfig(chunk_size=1000),
        progress=False,
    )
    expected = pd.read_parquet(tmp_path / "out").set_index("object_id").sort_index()
    got = result.set_index("object_id").sort_index()
    np.testing.assert_array_equal(got["status"], expected["status"])
    np.testing.assert_array_equal(got["n_points"], expected["n_points"])
    ok = expected["status"] == "ok"
    np.testing.assert_allclose(got["period"][ok], expected["period"][ok], rtol=1e-9)
    # partitions and parts may batch curves differently: float32 last-digit differences
    np.testing.assert_allclose(got["ias"][ok], expected["ias"][ok], rtol=1e-5)


def test_a_partition_keeps_its_index_and_maps_light_curve_fields(single_band_model):
    import nested_pandas as npd

    rng = np.random.default_rng(7)
    flat = pd.DataFrame(
        {
            "t": np.tile(np.linspace(0, 30, 15), 2) + rng.uniform(0, 0.1, 30),
            "m": 16 + rng.normal(0, 0.2, 30),
            "e": 0.05,
        },
        index=np.repeat([101, 102], 15),
    )
    base = pd.DataFrame({"ra": [1.0, 2.0], "dec": [3.0, 4.0], "p": [0.8, -1.0]}, index=[101, 102])
    partition = npd.NestedFrame(base).join_nested(flat, name="phot")
    result = score_nested_partition(
        partition,
        single_band_model,
        lc_column="phot",
        period_column="p",
        fields={"time": "t", "mag": "m", "mag_err": "e"},
    )
    assert list(result.index) == [101, 102]
    assert list(result["object_id"]) == ["101", "102"]
    assert list(result["period_source"]) == ["given", "estimated"]
    assert result.loc[101, "period"] == 0.8
    with pytest.raises(KeyError, match="lacks"):
        score_nested_partition(partition, single_band_model, lc_column="phot")


def test_the_runnable_example_scores_its_demo_catalog(multi_band_model, capsys):
    spec = importlib.util.spec_from_file_location("lsdb_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--model", str(multi_band_model), "--objects", "25"])
    assert len(result) == 25 and result["object_id"].is_unique
    assert (result["status"] == "ok").sum() >= 20
    assert "25 objects in" in capsys.readouterr().out
