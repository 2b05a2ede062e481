"""Reading long-format tables in every supported format and grouping them into curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from lcvade import LightCurve
from lcvade.tables import Rejection, TableError, iter_curves, read_table


@pytest.fixture
def photometry(rng) -> pd.DataFrame:
    rows = []
    for k, n in enumerate([30, 12, 5]):
        for _ in range(n):
            rows.append((f"obj{k}", rng.uniform(0, 100), rng.normal(15, 0.2), 0.05, "r"))
    return pd.DataFrame(rows, columns=["object_id", "time", "mag", "mag_err", "band"])


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".xml", ".fits", ".ecsv"])
def test_every_format_reads_back_the_same_rows(tmp_path, photometry, suffix):
    path = tmp_path / f"lc{suffix}"
    if suffix in (".csv", ".csv.gz"):
        photometry.to_csv(path, index=False)
    elif suffix == ".parquet":
        photometry.to_parquet(path)
    else:
        fmt = {".xml": "votable", ".fits": "fits", ".ecsv": "ascii.ecsv"}[suffix]
        Table.from_pandas(photometry).write(path, format=fmt)
    frame = read_table(path)
    assert list(frame.columns[:4]) == ["object_id", "time", "mag", "mag_err"]
    np.testing.assert_allclose(frame["mag"].to_numpy(float), photometry["mag"].to_numpy())
    assert frame["object_id"].astype(str).tolist() == photometry["object_id"].tolist()


def test_partitioned_parquet_directory(tmp_path, photometry):
    folder = tmp_path / "parts"
    folder.mkdir()
    photometry.iloc[:20].to_parquet(folder / "part-0.parquet")
    photometry.iloc[20:].to_parquet(folder / "part-1.parquet")
    assert len(read_table(folder)) == len(photometry)


def test_aliases_are_renamed(tmp_path):
    frame = pd.DataFrame(
        {"objectId": ["a"], "MJD": [1.0], "magpsf": [15.0], "sigmapsf": [0.1], "filter": ["g"]}
    )
    path = tmp_path / "x.csv"
    frame.to_csv(path, index=False)
    assert list(read_table(path).columns) == ["object_id", "time", "mag", "mag_err", "band"]


def test_unreadable_and_unknown_files(tmp_path):
    with pytest.raises(TableError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    odd = tmp_path / "x.dat"
    odd.write_text("1,2")
    with pytest.raises(TableError, match="cannot tell the format"):
        read_table(odd)
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(TableError, match="could not read"):
        read_table(bad)
    frame = pd.DataFrame({"object_id": ["a"], "time": [1.0]})
    frame.to_csv(tmp_path / "y.csv", index=False)
    with pytest.raises(TableError, match="lacks the column"):
        read_table(tmp_path / "y.csv", columns=["object_id", "time", "mag"])


def test_grouping_keeps_every_object(photometry):
    objects = pd.DataFrame(
        {"object_id": ["obj0", "obj1", "obj2", "ghost"], "period": [0.5, np.nan, 2.0, 1.0]}
    )
    out = list(iter_curves(photometry, objects))
    assert [o.id if isinstance(o, LightCurve) else o.object_id for o in out] == [
        "obj0",
        "obj1",
        "obj2",
        "ghost",
    ]
    assert isinstance(out[0], LightCurve) and len(out[0]) == 30 and out[0].period == 0.5
    assert isinstance(out[1], LightCurve) and out[1].period is None
    assert isinstance(out[2], Rejection) and out[2].field == "points"
    assert "5 points" in out[2].reason
    assert isinstance(out[3], Rejection) and "no photometry" in out[3].reason
    assert out[0].bands == ("r",)


def test_bad_values_become_rejections(photometry):
    photometry.loc[3, "mag_err"] = -1.0
    photometry["mag"] = photometry["mag"].astype(object)
    photometry.loc[35, "mag"] = "n/a"
    out = list(iter_curves(photometry))
    assert isinstance(out[0], Rejection) and out[0].field == "mag_err"
    assert isinstance(out[1], Rejection) and out[1].field == "mag"
    assert "not a finite number" in out[1].reason


def test_missing_columns_are_explained():
    with pytest.raises(TableError, match="object_id, time, mag, mag_err"):
        list(iter_curves(pd.DataFrame({"object_id": ["a"], "time": [1.0]})))
