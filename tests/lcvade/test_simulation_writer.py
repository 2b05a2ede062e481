"""Streaming the simulation to disk, reading it back with the project's readers, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from lcvade.cli_simulate import simulate_command
from lcvade.lightcurve import LightCurve
from lcvade.simulation import simulate, write_simulation
from lcvade.tables import Rejection, iter_curves, read_table


def test_parquet_output_is_chunk_invariant_and_equals_the_in_memory_run(tmp_path: Path) -> None:
    a = write_simulation(tmp_path / "a", 700, seed=9, cadence="ztf", chunk_size=256, progress=False)
    b = write_simulation(
        tmp_path / "b", 700, seed=9, cadence="ztf", chunk_size=5000, progress=False
    )
    assert a.lightcurves == tmp_path / "a" / "lightcurves.parquet"
    assert a.objects == tmp_path / "a" / "objects.parquet"
    assert pq.ParquetFile(a.lightcurves).num_row_groups == 3
    assert pq.ParquetFile(b.lightcurves).num_row_groups == 1
    assert pq.read_table(a.lightcurves).equals(pq.read_table(b.lightcurves))
    assert pq.read_table(a.objects).equals(pq.read_table(b.objects))
    lc, obj = simulate(700, seed=9, cadence="ztf")
    pd.testing.assert_frame_equal(pd.read_parquet(a.lightcurves), lc)
    pd.testing.assert_frame_equal(pd.read_parquet(a.objects), obj)
    assert a.n_objects == 700 and a.n_points == len(lc)
    manifest = json.loads(a.manifest.read_text())
    assert manifest["n_objects"] == 700 and manifest["seed"] == 9
    assert manifest["n_points"] == len(lc)
    assert manifest["cadence"]["name"] == "ztf" and len(manifest["classes"]) == 10
    assert not list((tmp_path / "a").glob("*.partial"))


def test_output_is_what_the_project_readers_take(tmp_path: Path) -> None:
    summary = write_simulation(tmp_path, 300, seed=1, cadence="lsst", progress=False)
    photometry = read_table(summary.lightcurves)
    objects = read_table(summary.objects)
    items = list(iter_curves(photometry, objects))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert rejected == []
    assert len(items) == 300
    assert all(isinstance(c, LightCurve) and c.period is not None for c in items)
    assert {"label", "period"} <= set(objects.columns)
    assert set().union(*(set(c.bands) for c in items)) <= set("ugrizy")


def test_csv_output_round_trips(tmp_path: Path) -> None:
    pq_dir, csv_dir = tmp_path / "pq", tmp_path / "csv"
    write_simulation(pq_dir, 120, seed=3, cadence="asas", progress=False)
    summary = write_simulation(
        csv_dir, 120, seed=3, cadence="asas", format="csv", chunk_size=100, progress=False
    )
    assert summary.lightcurves.name == "lightcurves.csv"
    from_csv = read_table(summary.lightcurves)
    from_pq = read_table(pq_dir / "lightcurves.parquet")
    assert list(from_csv.columns) == ["object_id", "time", "mag", "mag_err", "band"]
    assert (from_csv["object_id"].astype(str) == from_pq["object_id"].astype(str)).all()
    for column in ("time", "mag", "mag_err"):
        assert np.allclose(from_csv[column], from_pq[column], rtol=1e-12, atol=0)
    objects = read_table(summary.objects)
    assert len(objects) == 120 and (objects["period"] > 0).all()


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    write_simulation(tmp_path, 20, seed=0, progress=False)
    with pytest.raises(FileExistsError, match="overwrite"):
        write_simulation(tmp_path, 20, seed=1, progress=False)
    summary = write_simulation(tmp_path, 30, seed=1, progress=False, overwrite=True)
    assert len(pd.read_parquet(summary.objects)) == 30
    with pytest.raises(ValueError, match="format"):
        write_simulation(tmp_path / "x", 10, format="hdf5")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        write_simulation(tmp_path / "y", 0)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)

    @app.callback()
    def main() -> None:
        """Test root."""

    return app


def test_cli_writes_the_tables(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        _app(),
        [
            "simulate",
            "--n",
            "64",
            "--seed",
            "5",
            "--out",
            str(out),
            "--cadence",
            "ztf",
            "--classes",
            "RRab,ew",
            "--outliers",
            "0.02",
            "--chunk-size",
            "32",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "64 objects" in result.output
    objects = pd.read_parquet(out / "objects.parquet")
    lightcurves = pd.read_parquet(out / "lightcurves.parquet")
    assert len(objects) == 64 and set(objects["label"]) == {"RRab", "EW"}
    assert set(lightcurves["band"]) == {"g", "r"}
    assert objects["n_outliers"].sum() > 0
    assert json.loads((out / "simulation.json").read_text())["seed"] == 5
    _, expected = simulate(64, seed=5, cadence="ztf", classes="RRab,EW", outlier_fraction=0.02)
    pd.testing.assert_frame_equal(objects, expected)


def test_cli_csv_and_errors(tmp_path: Path) -> None:
    app, runner = _app(), CliRunner()
    ok = runner.invoke(
        app, ["simulate", "--n", "10", "--out", str(tmp_path), "--format", "csv", "--no-progress"]
    )
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "lightcurves.csv").is_file() and (tmp_path / "objects.csv").is_file()
    again = runner.invoke(
        app, ["simulate", "--n", "10", "--out", str(tmp_path), "--format", "csv", "--no-progress"]
    )
    assert again.exit_code == 2 and "overwrite" in again.output
    bad = runner.invoke(
        app, ["simulate", "--n", "10", "--out", str(tmp_path / "z"), "--classes", "Mira"]
    )
    assert bad.exit_code == 2 and "unknown class" in bad.output
    bad = runner.invoke(
        app, ["simulate", "--n", "10", "--out", str(tmp_path / "z"), "--cadence", "tess"]
    )
    assert bad.exit_code == 2
    assert not (tmp_path / "z").exists()
