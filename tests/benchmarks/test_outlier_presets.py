"""The real-data presets of ``benchmarks/outlier_table.py`` on the ASAS sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from benchmark_modules import load_benchmark

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "asas"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The sample laid out like the shared ASAS set: ``period`` empty, ``period_ls`` filled."""
    folder = tmp_path / "lightcurves"
    folder.mkdir()
    pd.read_parquet(SAMPLE / "lightcurves.parquet").to_parquet(folder / "asas_lightcurves.parquet")
    objects = pd.read_parquet(SAMPLE / "objects.parquet")
    objects = objects.assign(period_ls=objects["period"], period=np.nan)
    objects.to_parquet(folder / "asas_objects.parquet")
    return folder


def test_a_preset_sets_tables_classes_and_period_column_and_flags_override(data_dir):
    table = load_benchmark("outlier_table")
    args = table.parse_args(["--preset", "asas5", "--data-dir", str(data_dir)])
    assert args.data == data_dir / "asas_lightcurves.parquet"
    assert args.objects == data_dir / "asas_objects.parquet"
    assert args.classes.split(",") == list(table.PRESETS["asas5"].classes)
    assert args.period_column == "period_ls"
    assert args.workdir == Path("outlier-table-asas5")
    args = table.parse_args(
        ["--preset", "asas5", "--data-dir", str(data_dir), "--classes", "Mira,RR_Lyrae_FM"]
        + ["--period-column", "period"]
    )
    assert (args.classes, args.period_column) == ("Mira,RR_Lyrae_FM", "period")


def test_crts7_searches_its_periods(tmp_path):
    table = load_benchmark("outlier_table")
    with pytest.raises(SystemExit, match="crts_train_lightcurves.parquet not found"):
        table.parse_args(["--preset", "crts7", "--data-dir", str(tmp_path)])
    for kind in ("lightcurves", "objects"):
        (tmp_path / f"crts_train_{kind}.parquet").touch()
    args = table.parse_args(["--preset", "crts7", "--data-dir", str(tmp_path)])
    assert args.period_column is None and args.one_per == "pos_group"
    assert args.classes.split(",") == ["EA", "EW", "RRab", "RRc", "RS_CVn", "LPV", "HADS"]


def test_asas5_table_uses_period_ls_and_prints_the_thesis_beside_ours(data_dir, tmp_path, capsys):
    table = load_benchmark("outlier_table")
    work = tmp_path / "work"
    argv = ["--preset", "asas5", "--data-dir", str(data_dir), "--workdir", str(work)]
    argv += ["--classes", "Classical_Cepheid,RR_Lyrae_FM,Mira", "--seeds", "0"]
    argv += ["--outliers", "Classical_Cepheid,Mira", "--methods", "iforest,gmm_features"]
    table.main(argv)
    out = capsys.readouterr().out
    assert "36 curves" in out and "0 rejected" in out
    auroc = out[out.index("AUROC (%)") : out.index("AUPR (%)")].splitlines()
    assert "thesis LC-VaDE" in auroc[1]
    cepheid = next(line for line in auroc if line.startswith("Classical_Cepheid"))
    mira = next(line for line in auroc if line.startswith("Mira"))
    assert cepheid.rstrip().endswith("98.58 ± 2.41")  # thesis Table 9.3(b)
    assert mira.rstrip().endswith("-")  # not one of the thesis' classes
    runs = [json.loads(line) for line in (work / "runs.jsonl").read_text().splitlines()]
    assert {r["method"] for r in runs} == {"iforest", "gmm_features"}
    walls = {(r["outlier_class"], r["split_wall_s"]) for r in runs}
    assert len(walls) == 2 and all(w > 0 for _, w in walls)
    total = sum(w for _, w in walls)
    assert f"wall time of the table (sum over its splits, 1 torch thread(s)): {total:.0f} s" in out
    # the period column was period_ls: the copy of the object table that was read says so
    copied = pd.read_parquet(work / "asas_objects.period-period_ls.parquet")
    source = pd.read_parquet(data_dir / "asas_objects.parquet")
    np.testing.assert_array_equal(copied["period"], source["period_ls"])
    # the Miras, at ten times the period of any inlier, are found by both feature methods
    for row in runs:
        if row["outlier_class"] == "Mira":
            assert row["auroc"] > 0.9


def test_one_object_per_star_keeps_the_longest_curve(tmp_path):
    table = load_benchmark("outlier_table")
    objects = pd.DataFrame(
        {
            "object_id": ["a", "b", "c", "d"],
            "label": ["EA", "EA", "EW", "RRab"],
            "period_ls_fats": [0.5, 0.6, 0.3, 0.55],
            "pos_group": [1, 1, 2, 3],
            "n_points": [100, 250, 80, 90],
        }
    )
    objects.to_parquet(tmp_path / "objects.parquet")
    path = table.derived_objects(
        tmp_path / "objects.parquet", "period_ls_fats", "pos_group", tmp_path
    )
    kept = pd.read_parquet(path).sort_values("object_id")
    assert kept["object_id"].tolist() == ["b", "c", "d"]
    assert kept["period"].tolist() == [0.6, 0.3, 0.55]
    with pytest.raises(SystemExit, match="--one-per 'star' is not a column"):
        table.derived_objects(tmp_path / "objects.parquet", None, "star", tmp_path)
