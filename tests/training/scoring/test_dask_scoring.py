"""Batch scoring on a real Dask LocalCluster (two workers) and through the ``lcvade score`` CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from batch_data import ZTF_SCHEMA, periodic_table, write_avro, ztf_alerts_from_table
from typer.testing import CliRunner

from lcvade.cli import _register_commands, app
from training.scoring.job import ScoreJobConfig
from training.scoring.run import run_scoring


def _read(path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("object_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def mixed_inputs(tmp_path_factory):
    """A two-band table with some known periods, and ZTF alerts of other objects."""
    folder = tmp_path_factory.mktemp("dask-inputs")
    table = periodic_table(36, seed=31, bands=["g", "r"], points=(24, 50))
    table.to_parquet(folder / "lc.parquet", index=False)
    ids = sorted(table["object_id"].unique())[:10]
    pd.DataFrame({"object_id": ids, "period": 0.37}).to_csv(folder / "objects.csv", index=False)
    alerts = periodic_table(12, seed=32, bands=["g", "r"], points=(24, 40), prefix="ZTF")
    write_avro(folder / "alerts.avro", ZTF_SCHEMA, ztf_alerts_from_table(alerts))
    return [folder / "lc.parquet", folder / "alerts.avro"], folder / "objects.csv"


def test_dask_cluster_result_equals_the_single_process_result(
    mixed_inputs, multi_band_model, dask_client, tmp_path
):
    inputs, objects = mixed_inputs
    config = ScoreJobConfig(chunk_size=8)
    single = run_scoring(
        inputs,
        multi_band_model,
        tmp_path / "single",
        objects=objects,
        config=config,
        progress=False,
    )
    parts = []
    distributed = run_scoring(
        inputs,
        multi_band_model,
        tmp_path / "dask",
        objects=objects,
        config=config,
        client=dask_client,
        progress=False,
        on_part=parts.append,
    )
    assert distributed.parts == single.parts >= 5
    a, b = _read(tmp_path / "single"), _read(tmp_path / "dask")
    assert len(a) == 48 and a["object_id"].is_unique
    assert set(a["period_source"].dropna()) == {"given", "estimated"}
    assert (a["status"] == "ok").sum() >= 40
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)

    # the model is loaded once per worker, not once per part
    assert len(parts) == distributed.parts
    assert {p["worker_model_loads"] for p in parts} == {1}
    assert 1 <= len({p["worker"] for p in parts}) <= 2


def test_cli_scores_on_a_cluster_address_and_writes_one_csv(
    mixed_inputs, multi_band_model, dask_client, tmp_path
):
    inputs, objects = mixed_inputs
    _register_commands()
    out = tmp_path / "scores.csv"
    args = [
        "score",
        *map(str, inputs),
        "--model",
        str(multi_band_model),
        "--out",
        str(out),
        "--objects",
        str(objects),
        "--chunk-size",
        "8",
        "--scheduler",
        dask_client.scheduler.address,
        "--band-policy",
        "require",
        "--no-progress",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "48 objects:" in result.output
    written = pd.read_csv(out)
    assert len(written) == 48
    reference = run_scoring(
        inputs,
        multi_band_model,
        tmp_path / "ref.parquet",
        objects=objects,
        config=ScoreJobConfig(chunk_size=8),
        progress=False,
    )
    assert reference.rows == 48
    expected = _read(tmp_path / "ref.parquet")
    got = written.sort_values("object_id").reset_index(drop=True)
    pd.testing.assert_series_equal(got["ias"], expected["ias"], rtol=1e-6)
    pd.testing.assert_series_equal(got["status"], expected["status"], check_dtype=False)


def test_cli_reports_user_errors_in_words(single_band_model, tmp_path):
    _register_commands()
    runner = CliRunner()

    def score(table: str, out: str, *flags: str):
        """``lcvade score`` of tmp_path/table with the single-band model into tmp_path/out."""
        model = ["--model", str(single_band_model)]
        return runner.invoke(
            app, ["score", str(tmp_path / table), *model, "--out", str(tmp_path / out), *flags]
        )

    missing = score("nope.csv", "o")
    assert missing.exit_code == 2 and "nope.csv does not exist" in missing.output

    (tmp_path / "lc.csv").write_text("object_id,time,mag\na,1,2\n")
    bad_policy = score("lc.csv", "o", "--band-policy", "loudest")
    assert bad_policy.exit_code == 2
    assert "band_policy: Input should be 'best', 'merge' or 'require'" in bad_policy.output

    no_err = score("lc.csv", "o2", "--no-progress")
    assert no_err.exit_code == 2 and "lacks the column(s) ['mag_err']" in no_err.output


def test_scheduler_local_starts_its_own_cluster_and_matches(single_band_model, tmp_path):
    periodic_table(12, seed=33).to_csv(tmp_path / "lc.csv", index=False)
    runs = {}
    for scheduler in ("none", "local"):
        config = ScoreJobConfig(chunk_size=4, scheduler=scheduler, workers=1)
        parts = []
        run_scoring(
            [tmp_path / "lc.csv"],
            single_band_model,
            tmp_path / scheduler,
            config=config,
            progress=False,
            on_part=parts.append,
        )
        runs[scheduler] = (_read(tmp_path / scheduler), parts)
    pd.testing.assert_frame_equal(runs["none"][0], runs["local"][0], rtol=1e-6)
    assert all("worker" in p for p in runs["local"][1])
    assert not any("worker" in p for p in runs["none"][1])
