"""Reading labelled tables: digests, rejections, class selection and the period cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from labelled_curves import labelled_tables

from lcvade.tables import TableError
from training.data import data_digest, load_labelled
from training.period_cache import PeriodCache


@pytest.fixture
def tables():
    return labelled_tables(n_per_class=4, seed=1, with_period=True)


def write(tmp_path, photometry, objects, suffix="csv"):
    data, labels = tmp_path / f"lc.{suffix}", tmp_path / f"objects.{suffix}"
    if suffix == "csv":
        photometry.to_csv(data, index=False)
        objects.to_csv(labels, index=False)
    else:
        photometry.to_parquet(data, index=False)
        objects.to_parquet(labels, index=False)
    return data, labels


def test_digest_ignores_row_order_and_format_but_not_content(tmp_path, tables):
    photometry, objects = tables
    digest = data_digest(photometry, objects)
    shuffled = photometry.sample(frac=1.0, random_state=0)
    assert data_digest(shuffled, objects.iloc[::-1]) == digest
    csv = load_labelled(*write(tmp_path, photometry, objects, "csv"))
    parquet = load_labelled(*write(tmp_path, shuffled, objects, "parquet"))
    assert csv.digest == parquet.digest == digest
    changed = photometry.copy()
    changed.loc[0, "mag"] += 1e-6
    assert data_digest(changed, objects) != digest
    relabelled = objects.copy()
    relabelled.loc[0, "label"] = "other"
    assert data_digest(photometry, relabelled) != digest


def test_every_object_is_kept_or_rejected_with_a_reason(tmp_path, tables):
    photometry, objects = tables
    objects = objects.copy()
    objects.loc[0, "label"] = None  # unlabelled
    orphan = photometry[photometry.object_id == objects.object_id[1]].assign(object_id="orphan")
    short = photometry[photometry.object_id == objects.object_id[2]].head(5)
    short = short.assign(object_id="short")
    extra = pd.DataFrame([{"object_id": "short", "label": "sine", "period": 0.4}])
    photometry = pd.concat([photometry, orphan, short], ignore_index=True)
    data = load_labelled(*write(tmp_path, photometry, pd.concat([objects, extra])))
    reasons = {r.object_id: r.reason for r in data.rejections}
    assert "no label" in reasons[objects.object_id[0]]
    assert "no row in the object table" in reasons["orphan"]
    assert "points" in reasons["short"]
    assert len(data) + len(data.rejections) == len(objects) + 2
    assert all(c.period is not None for c in data.curves)
    assert data.class_counts() == {"eclipse": 4, "sawtooth": 4, "sine": 3}


def test_class_selection(tmp_path, tables):
    paths = write(tmp_path, *tables)
    data = load_labelled(*paths, classes=["sine", "eclipse"])
    assert set(data.labels) == {"sine", "eclipse"} and len(data) == 8
    assert not data.rejections  # deselected classes are not rejections
    with pytest.raises(TableError, match="do not occur.*sawtooth"):
        load_labelled(*paths, classes=["sine", "RRab"])


def test_duplicate_object_rows_are_refused(tmp_path, tables):
    photometry, objects = tables
    with pytest.raises(TableError, match="more than once"):
        load_labelled(*write(tmp_path, photometry, pd.concat([objects, objects.head(1)])))


def test_searched_periods_are_cached_and_refreshed_when_a_curve_changes(tmp_path):
    photometry, objects = labelled_tables(n_per_class=2, seed=2, with_period=False)
    paths = write(tmp_path, photometry, objects)
    cache = tmp_path / "cache.parquet"
    first = load_labelled(*paths, period_cache=cache)
    assert set(first.period_sources) == {"estimated"}
    assert len(PeriodCache(cache)) == len(first)
    second = load_labelled(*paths, period_cache=cache)
    assert set(second.period_sources) == {"cached"}
    assert np.array_equal(first.periods, second.periods)
    changed = photometry.copy()
    changed.loc[changed.object_id == objects.object_id[0], "mag"] += 0.01
    third = load_labelled(*write(tmp_path, changed, objects), period_cache=cache)
    assert third.period_sources.count("estimated") == 1
    assert third.period_sources.count("cached") == len(third) - 1
