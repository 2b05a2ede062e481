"""End-to-end batch scoring in one process: inputs, rows in = rows out, parts, resume, FDR."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import get_type_hints

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from batch_data import periodic_table, table_curves

import lcvade
from lcvade.calibration import benjamini_hochberg
from lcvade.score_record import ScoreResult, value_type
from lcvade.tables import iter_curves
from training.scoring.job import ScoreJobConfig
from training.scoring.output import finished_parts, part_path
from training.scoring.results import result_schema
from training.scoring.run import RunSummary, ScoreRunError, run_scoring


def score_file(
    path: Path, model: Path, out: Path, chunk_size: int | None = None, **options
) -> RunSummary:
    """:func:`run_scoring` of one input file, without a progress bar; ``chunk_size``, when
    given, is the job's only setting."""
    if chunk_size is not None:
        options["config"] = ScoreJobConfig(chunk_size=chunk_size)
    return run_scoring([path], model, out, progress=False, **options)


# The result columns of a model of classes sine, sawtooth and dip, as docs/batch-scoring.md
# lists them.
RESULT_COLUMNS = [
    ("object_id", "string"),
    ("n_points", "int64"),
    ("bands", "string"),
    ("period", "double"),
    ("period_source", "string"),
    ("period_method", "string"),
    ("period_confidence", "double"),
    ("ias", "double"),
    ("anomaly_score", "double"),
    ("percentile", "double"),
    ("p_value", "double"),
    ("is_anomaly", "bool"),
    ("predicted_class", "string"),
    ("prob_sine", "double"),
    ("prob_sawtooth", "double"),
    ("prob_dip", "double"),
    ("bands_read", "string"),
    ("closest_class", "string"),
    ("dominant_term", "string"),
    ("term_latent", "double"),
    ("term_features", "double"),
    ("period_deviation", "double"),
    ("amplitude_deviation", "double"),
    ("explanation", "string"),
    ("status", "string"),
    ("reason", "string"),
    ("notes", "string"),
]


def _objects_of(table: pd.DataFrame) -> set[str]:
    return set(table["object_id"].astype(str))


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("object_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def photometry(tmp_path_factory):
    """60 periodic objects plus a few that cannot be scored, written as CSV."""
    table = periodic_table(60, seed=11)
    short = periodic_table(4, seed=12, points=(4, 8), prefix="short")
    folder = tmp_path_factory.mktemp("inputs")
    both = pd.concat([table, short], ignore_index=True)
    both.to_csv(folder / "lc.csv", index=False)
    return both, folder


def test_scores_equal_the_python_api_and_no_object_is_lost(photometry, single_band_model, tmp_path):
    table, folder = photometry
    summary = score_file(folder / "lc.csv", single_band_model, tmp_path / "out", chunk_size=20)
    results = _read(tmp_path / "out")
    assert summary.rows == len(results) == len(_objects_of(table))
    assert set(results["object_id"]) == _objects_of(table)
    rejected = results[results["status"] == "rejected"]
    assert set(rejected["object_id"]) == {f"short{i:04d}" for i in range(4)}
    assert rejected["reason"].str.contains("at least 10 are needed").all()
    assert rejected["ias"].isna().all()

    scorer = lcvade.load(single_band_model)
    curves = table_curves(table[~table["object_id"].str.startswith("short")])
    expected = {r.id: r for r in scorer.score(curves)}
    ok = results[results["status"] == "ok"].set_index("object_id")
    assert len(ok) == len(expected) == 60
    for object_id, row in ok.iterrows():
        want = expected[object_id]
        # float32 scores move in their last digits with the batch a curve shares
        assert row["ias"] == pytest.approx(want.ias, rel=1e-5)
        assert row["period"] == pytest.approx(want.period, rel=1e-9)
        assert row["p_value"] == pytest.approx(want.p_value)
        assert row["predicted_class"] == want.predicted_class
        assert row["prob_sine"] == pytest.approx(want.class_probabilities["sine"], abs=1e-5)
        assert row["period_source"] == "estimated"
        assert row["period_method"] == scorer.period_search.method == want.period_method
    probabilities = ok[["prob_sine", "prob_sawtooth", "prob_dip"]].sum(axis=1)
    np.testing.assert_allclose(probabilities, 1.0, atol=1e-4)  # float32 posteriors
    np.testing.assert_allclose(ok["anomaly_score"], -ok["ias"])


def test_parquet_file_partitioned_directory_votable_and_csv_give_the_same_rows(
    photometry, single_band_model, tmp_path
):
    table, folder = photometry
    subset = table[table["object_id"].isin(sorted(_objects_of(table))[:30])]
    subset.to_parquet(tmp_path / "lc.parquet", index=False)
    partitioned = tmp_path / "partitioned"
    for k, (_, rows) in enumerate(subset.groupby(subset.index % 3)):
        target = partitioned / f"night={k}"
        target.mkdir(parents=True)
        rows.to_parquet(target / "part-0.parquet", index=False)
    Table.from_pandas(subset).write(tmp_path / "lc.xml", format="votable")
    subset.to_csv(tmp_path / "lc.csv", index=False)

    outputs = {}
    for k, name in enumerate(("lc.csv", "lc.parquet", "partitioned", "lc.xml")):
        score_file(tmp_path / name, single_band_model, tmp_path / f"out{k}", chunk_size=10)
        outputs[name] = _read(tmp_path / f"out{k}")
    reference = outputs["lc.csv"]
    assert len(reference) == 30
    for name, result in outputs.items():
        # the part count is estimated per format, so curves may share other batches: float32
        # scores then differ in their last digits
        pd.testing.assert_frame_equal(result, reference, rtol=1e-5, obj=name)


def test_given_periods_from_the_object_table_are_used(photometry, single_band_model, tmp_path):
    table, folder = photometry
    ids = sorted(_objects_of(table))[:5]
    objects = pd.DataFrame({"object_id": ids + ["nowhere"], "period": [1.25] * 5 + [2.0]})
    objects.to_csv(tmp_path / "objects.csv", index=False)
    subset = table[table["object_id"].isin(ids)]
    subset.to_csv(tmp_path / "lc.csv", index=False)
    score_file(
        tmp_path / "lc.csv",
        single_band_model,
        tmp_path / "out.parquet",
        objects=tmp_path / "objects.csv",
    )
    results = _read(tmp_path / "out.parquet").set_index("object_id")
    assert len(results) == 6
    assert results.loc["nowhere", "reason"] == "no photometry rows for this object"
    scored = results.drop(index="nowhere")
    assert (scored["period_source"] == "given").all() and (scored["period"] == 1.25).all()
    assert scored["period_confidence"].isna().all()
    assert (scored["period_method"] == "given").all()


def test_chunking_bounds_the_objects_per_part_and_a_single_csv_is_assembled(
    photometry, single_band_model, tmp_path
):
    table, folder = photometry
    parts = []
    out = tmp_path / "scores.csv"
    summary = score_file(
        folder / "lc.csv", single_band_model, out, chunk_size=16, on_part=parts.append
    )
    n_objects = len(_objects_of(table))
    assert summary.parts == len(parts) == int(np.ceil(n_objects / 16))
    assert max(p["rows"] for p in parts) <= 2 * 16  # a hash bucket holds about chunk_size
    assert sum(p["rows"] for p in parts) == n_objects
    assert not (tmp_path / "scores.csv.parts").exists()
    written = pd.read_csv(out)
    assert len(written) == n_objects and written["object_id"].is_unique
    with pytest.raises(ScoreRunError, match="already exists"):
        score_file(folder / "lc.csv", single_band_model, out)


class Interrupted(Exception):
    """Stands for a crash of the run after some parts were written."""


def test_a_rerun_resumes_and_skips_finished_parts(photometry, single_band_model, tmp_path):
    table, folder = photometry
    out = tmp_path / "out"
    config = ScoreJobConfig(chunk_size=12)
    written = []

    def crash_after_two(done):
        written.append(done["part"])
        if len(written) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        score_file(
            folder / "lc.csv", single_band_model, out, config=config, on_part=crash_after_two
        )
    assert finished_parts(out) == set(written)
    stamps = {j: part_path(out, j).stat().st_mtime_ns for j in written}
    assert not (out / "_SUCCESS").exists()

    resumed = []
    summary = score_file(
        folder / "lc.csv", single_band_model, out, config=config, on_part=resumed.append
    )
    assert sorted(p["part"] for p in resumed) == sorted(set(range(summary.parts)) - set(written))
    assert {j: part_path(out, j).stat().st_mtime_ns for j in written} == stamps
    assert summary.parts_scored == summary.parts - 2 and (out / "_SUCCESS").is_file()

    clean = tmp_path / "clean"
    score_file(folder / "lc.csv", single_band_model, clean, config=config)
    pd.testing.assert_frame_equal(_read(out), _read(clean))

    again = []
    score_file(folder / "lc.csv", single_band_model, out, config=config, on_part=again.append)
    assert again == []  # a finished run is not scored twice

    with pytest.raises(ScoreRunError, match="different settings"):
        score_file(folder / "lc.csv", single_band_model, out, chunk_size=7)
    overwritten = score_file(
        folder / "lc.csv", single_band_model, out, overwrite=True, chunk_size=30
    )
    assert overwritten.parts_scored == overwritten.parts == 3


def test_fdr_flags_benjamini_hochberg_over_the_whole_run(single_band_model, tmp_path):
    rng = np.random.default_rng(5)
    normal = periodic_table(45, seed=21)
    odd = []
    for i in range(15):  # large-amplitude noise: nothing like the training classes
        t = np.sort(rng.uniform(0, 60, 40))
        odd.append(
            pd.DataFrame(
                {
                    "object_id": f"odd{i}",
                    "time": t,
                    "mag_err": 0.02,
                    "mag": 15 + rng.standard_cauchy(40).clip(-30, 30),
                }
            )
        )
    pd.concat([normal, *odd]).to_csv(tmp_path / "lc.csv", index=False)
    out = tmp_path / "out"
    q = 0.2
    summary = score_file(
        tmp_path / "lc.csv", single_band_model, out, config=ScoreJobConfig(chunk_size=15, fdr=q)
    )
    assert summary.parts >= 4
    results = _read(out)
    flagged = benjamini_hochberg(results["p_value"].to_numpy(), q)
    assert flagged.any(), "the test needs at least one discovery"
    np.testing.assert_array_equal(results["is_anomaly"].to_numpy(bool), flagged)
    assert summary.anomalies == flagged.sum()

    # the same parts, re-flagged by the fixed threshold when rerun without --fdr
    score_file(
        tmp_path / "lc.csv",
        single_band_model,
        out,
        config=ScoreJobConfig(chunk_size=15, p_value_threshold=0.05),
    )
    rethresholded = _read(out)
    np.testing.assert_array_equal(
        rethresholded["is_anomaly"].to_numpy(bool), rethresholded["p_value"] < 0.05
    )


def test_parts_are_parquet_with_one_schema(photometry, single_band_model, tmp_path):
    table, folder = photometry
    summary = score_file(folder / "lc.csv", single_band_model, tmp_path / "out", chunk_size=50)
    schemas = {pq.read_schema(part_path(tmp_path / "out", j)) for j in range(summary.parts)}
    assert len(schemas) == 1
    (schema,) = schemas
    assert schema.names[:3] == ["object_id", "n_points", "bands"]
    assert schema.names[-3:] == ["status", "reason", "notes"]
    assert not (tmp_path / "out" / "_staging").exists()
    # CSV outputs are read by position: the columns and their types are the documented ones
    assert [(f.name, str(f.type)) for f in schema] == RESULT_COLUMNS


def test_the_scalar_columns_are_the_score_records_fields_in_its_order():
    """Every scalar field of ScoreResult is one column of the Arrow type of its values, in
    the record's order; the other columns are the batch's own or flatten a field."""
    arrow = {str: pa.string(), float: pa.float64(), bool: pa.bool_()}
    hints = get_type_hints(ScoreResult)
    kinds = {f.name: value_type(hints[f.name]) for f in dataclasses.fields(ScoreResult)}
    expected = [
        ("object_id" if name == "id" else name, arrow[kind])
        for name, kind in kinds.items()
        if kind in arrow
    ]
    schema = result_schema(["sine", "sawtooth", "dip"])
    names = {name for name, _ in expected}
    assert [(f.name, f.type) for f in schema if f.name in names] == expected
    assert len(expected) == 11


STRIPE82 = Path(__file__).resolve().parents[2] / "data" / "stripe82"


def test_real_multiband_periods_are_searched_in_every_band_as_the_library_does(tmp_path):
    """Stripe 82 RR Lyrae (ugriz) scored by the one-band default model reading g as V: the
    batch path searches the period in all five bands (the library's search on the whole
    curve), scores the band read at that period as the library does, and recovers the
    catalogue periods at least as often as a search in the band read alone."""
    points = pd.read_parquet(STRIPE82 / "stripe82_lightcurves.parquet")
    catalogue = pd.read_parquet(STRIPE82 / "stripe82_objects.parquet").head(8)
    points = points[points["object_id"].isin(catalogue["object_id"])]
    config = ScoreJobConfig(band_map={"g": "V"})
    rows = {}
    for name, table in (("all", points), ("g", points[points["band"] == "g"])):
        path = tmp_path / f"{name}.parquet"
        table.to_parquet(path)
        score_file(path, "default", tmp_path / f"{name}.out.parquet", config=config)
        rows[name] = _read(tmp_path / f"{name}.out.parquet").set_index("object_id")
    every = rows["all"]
    assert (every["status"] == "ok").all() and (every["bands_read"] == "g as V").all()
    assert every["notes"].str.contains("period searched in bands V, i, r, u, z").all()

    scorer = lcvade.load("default")
    curves = list(iter_curves(points))  # every band
    found = lcvade.find_periods(curves, scorer.period_search)
    g_band = {c.id: c for c in iter_curves(points[points["band"] == "g"])}
    read = [g_band[c.id].with_period(f.period) for c, f in zip(curves, found, strict=True)]
    scores = scorer.score(read, band_map={"g": "V"})
    for result, curve, f in zip(scores, curves, found, strict=True):
        assert every.loc[curve.id, "period"] == pytest.approx(f.period, rel=1e-12)
        assert every.loc[curve.id, "ias"] == pytest.approx(result.ias, rel=1e-4, abs=1e-4)

    true = catalogue.set_index(catalogue["object_id"].astype(str))["period"]
    within = {
        k: int((abs(r["period"] / true.loc[r.index] - 1) < 0.01).sum()) for k, r in rows.items()
    }
    assert within["all"] >= 7 and within["all"] >= within["g"]
