"""Staging rows into hash buckets, reading inputs in frames, and the job settings file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from batch_data import periodic_table

from lcvade.tables import count_table_rows, iter_table
from training.scoring.inputs import (
    BatchInputError,
    discover_inputs,
    estimate_objects,
    parse_band_map,
    table_photometry,
)
from training.scoring.job import ScoreJobConfig
from training.scoring.staging import StagingWriter, bucket_of, read_bucket, staging_summary


def test_every_object_lands_whole_in_one_bucket_with_bounded_buffers(tmp_path):
    table = periodic_table(50, seed=1)
    rows = table_photometry(table, "lc")
    writer = StagingWriter(tmp_path / "stage", n_buckets=4, buffer_rows=1000)
    for start in range(0, len(rows), 300):  # frames as a reader would deliver them
        writer.add_photometry(rows.iloc[start : start + 300])
    summary = writer.close()
    assert summary == staging_summary(tmp_path / "stage")
    assert summary["rows"] == len(rows) and sum(summary["objects"]) == 50
    files = list((tmp_path / "stage").rglob("*.parquet"))
    row_groups = [pq.ParquetFile(f).num_row_groups for f in files]
    assert len(files) == 4  # one file per bucket until it holds ROW_GROUPS_PER_FILE flushes
    assert max(row_groups) > 1  # several flushes: the buffer, not the input, sets the memory

    seen = []
    for bucket in range(4):
        photometry, objects = read_bucket(tmp_path / "stage", bucket)
        assert objects is None
        assert set(bucket_of(photometry["object_id"].to_numpy(), 4)) <= {bucket}
        seen.append(photometry)
        # rows keep their input order within the bucket
        expected = rows[rows["object_id"].isin(photometry["object_id"])]
        np.testing.assert_array_equal(photometry["time"], expected["time"])
    assert sum(len(s) for s in seen) == len(rows)


def test_a_bucket_rolls_over_to_a_new_file_and_keeps_its_order(tmp_path, monkeypatch):
    monkeypatch.setattr("training.scoring.staging.ROW_GROUPS_PER_FILE", 2)
    rows = table_photometry(periodic_table(6, seed=3), "lc")
    writer = StagingWriter(tmp_path / "stage", n_buckets=1, buffer_rows=1000)
    for start in range(0, len(rows), 40):
        writer.add_photometry(rows.iloc[start : start + 40])
        writer.flush()
    writer.close()
    files = sorted((tmp_path / "stage").rglob("photometry-*.parquet"))
    assert len(files) == int(np.ceil(np.ceil(len(rows) / 40) / 2))
    photometry, _ = read_bucket(tmp_path / "stage", 0)
    np.testing.assert_array_equal(photometry["time"], rows["time"])


def test_bucket_assignment_is_the_same_in_another_process():
    # a resumed run, or a Dask worker, must put every object in the same bucket
    ids = [f"ZTF18abc{i:04d}" for i in range(200)]
    code = (
        "import sys, json, numpy as np; from training.scoring.staging import bucket_of; "
        "ids = np.array(json.loads(sys.stdin.read()), dtype=object); "
        "print(json.dumps(bucket_of(ids, 37).tolist()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(ids),
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    here = bucket_of(np.array(ids, dtype=object), 37)
    assert json.loads(other.stdout) == here.tolist()
    assert len(set(here.tolist())) > 25  # and the hash spreads the ids over the buckets


def test_tables_are_read_in_frames_and_counted(tmp_path):
    table = periodic_table(20, seed=2)
    table.to_csv(tmp_path / "lc.csv.gz", index=False)
    table.to_parquet(tmp_path / "lc.parquet", index=False)
    for name in ("lc.csv.gz", "lc.parquet"):
        frames = list(iter_table(tmp_path / name, rows=97))
        assert max(len(f) for f in frames) == 97
        assert sum(len(f) for f in frames) == len(table) == count_table_rows(tmp_path / name)
    sources = discover_inputs([tmp_path / "lc.parquet"])
    assert estimate_objects(sources) == 20


def test_input_problems_are_reported_in_words(tmp_path):
    with pytest.raises(BatchInputError, match="does not exist"):
        discover_inputs([tmp_path / "missing.csv"])
    (tmp_path / "notes.txt.bak").write_text("x")
    with pytest.raises(BatchInputError, match=r"\.avro for alert packets"):
        discover_inputs([tmp_path / "notes.txt.bak"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchInputError, match="no .avro alert files and no .parquet"):
        discover_inputs([tmp_path / "empty"])
    frame = pd.DataFrame(
        {"object_id": ["a", None], "time": [1, 2], "mag": [1, 2], "mag_err": [0.1, 0.1]}
    )
    with pytest.raises(BatchInputError, match="have no object_id"):
        table_photometry(frame, "lc.csv")
    assert parse_band_map("1=g, 2=r") == {"1": "g", "2": "r"}
    with pytest.raises(BatchInputError, match="NAME=BAND"):
        parse_band_map("1:g")


def test_job_settings_load_from_toml_and_flags_win(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text('[score]\nchunk_size = 5\nband_policy = "merge"\nband_map = {"1" = "g"}\n')
    config = ScoreJobConfig.from_toml(path, chunk_size=7)
    assert config.chunk_size == 7 and config.band_policy == "merge"
    assert config.policy.multi_band == "merge" and config.band_map == {"1": "g"}
    path.write_text("[score]\nchunk_sise = 5\n")
    with pytest.raises(ValueError, match="chunk_sise"):
        ScoreJobConfig.from_toml(path)
    with pytest.raises(ValueError, match="is not a scheduler"):
        ScoreJobConfig(scheduler="cluster")
    assert ScoreJobConfig(scheduler="tcp://10.0.0.1:8786").scheduler.startswith("tcp://")
