"""``lcvade train`` -> ``lcvade evaluate`` -> ``lcvade.load``: the whole offline loop."""

from __future__ import annotations

import base64
import io
import json
import re
import tarfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from labelled_curves import write_tables
from safetensors.torch import load_file
from typer.testing import CliRunner

import lcvade
from lcvade import cli
from lcvade.lightcurve import LightCurve
from training.data import load_labelled
from training.evaluation import EvaluationError, run_evaluation
from training.split import id_set_digest, outlier_split

MACHO = Path(__file__).resolve().parents[1] / "data" / "macho"
FIGURES = ("ias-histogram", "roc-pr", "reconstructions", "ias-extremes", "confusion")


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    cli._register_commands()
    return CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, runner):
    """A tiny model trained by the command line, holding out the eclipsing class."""
    threads = torch.get_num_threads()
    directory = tmp_path_factory.mktemp("loop")
    data, objects = write_tables(directory, n_per_class=24, seed=8, with_period=False)
    out = directory / "model"
    result = runner.invoke(
        cli.app,
        [
            "train", "--data", data, "--objects", objects, "--outlier-class", "eclipse",
            "--epochs", "2", "--batch-size", "8", "--channels", "4", "--max-points", "80",
            "--out", str(out), "--no-progress", "--weights-dtype", "float16",
            "--calibration-min", "6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == threads  # the job restores the thread count
    return data, objects, out, result.output


def macho_curves(band: str = "R") -> list[LightCurve]:
    """The real MACHO curves of one band (tests/data/macho, see its README)."""
    curves = []
    for archive in sorted(MACHO.glob("*.tar.bz2")):
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(f".{band}.mjd"))
            text = tar.extractfile(member).read().decode()
        rows = np.loadtxt(io.StringIO(text), comments="#")
        curves.append(LightCurve(rows[:, 0], rows[:, 1], rows[:, 2], id=archive.name[3:-8]))
    return curves


def test_train_writes_a_loadable_calibrated_model(trained):
    _, _, out, output = trained
    assert "model written to" in output and "2 classes" in output
    manifest = lcvade.read_manifest(out)
    record = manifest.training
    assert manifest.class_names == ["sawtooth", "sine"]
    assert record["outlier_class"] == "eclipse" and record["seed"] == 0
    assert record["split"]["test_counts"]["eclipse"] == 24
    assert record["period_sources"] == {"estimated": 72}
    assert len(record["data_digest"]) == 64
    command = record["command"]
    assert command[:2] == ["lcvade", "train"] and "--outlier-class" in command
    assert command[command.index("--channels") + 1] == "4"
    assert len(record["history"]) == record["epochs"] == 2
    # the calibration is a class-stratified slice of the training inliers held out of the fit
    held = record["calibration"]
    train_total = sum(record["split"]["train_counts"].values())
    assert manifest.calibration_size == held["size"] == max(6, int(np.ceil(0.2 * train_total)))
    assert held["counts"] == {"sawtooth": 3, "sine": 3}
    ids = json.loads((out / "object_ids.json").read_text())
    assert len(ids["fit"]) + len(ids["calibration"]) == train_total
    assert not set(ids["fit"]) & set(ids["calibration"])
    assert not (set(ids["fit"]) | set(ids["calibration"])) & set(ids["test"])
    assert held["fit_ids_sha256"] == id_set_digest(np.array(ids["fit"]))
    assert held["calibration_ids_sha256"] == id_set_digest(np.array(ids["calibration"]))
    assert f"{len(ids['fit'])} curves fitted, 6 held out for calibration" in output
    # and its values are the IAS of exactly those curves under the stored (float16) weights
    scorer = lcvade.load(out, device="cpu")
    data = load_labelled(trained[0], trained[1], period_cache=out / "period_cache.parquet")
    split = outlier_split(data.ids, data.labels, "eclipse", record["seed"])
    assert sorted(data.ids[split.train].astype(str)) == sorted(ids["fit"] + ids["calibration"])
    chosen = np.isin(data.ids.astype(str), ids["calibration"])
    held_ias = np.sort([r.ias for r in scorer.score(data.subset(np.flatnonzero(chosen)).curves)])
    assert np.allclose(held_ias, scorer.calibration.values, rtol=0, atol=1e-4)
    assert set(manifest.term_statistics) == {"latent", *manifest.feature_names}
    stored = load_file(str(out / "model.safetensors"))
    assert {v.dtype for k, v in stored.items() if k.startswith("encoder.")} == {torch.float16}


def test_the_model_scores_real_macho_curves(trained):
    scorer = lcvade.load(trained[2], device="cpu")
    curves = macho_curves("R")
    results = scorer.score(curves)
    assert [r.id for r in results] == [c.id for c in curves]
    for r in results:
        assert r.period_source == "estimated" and r.period > 0
        assert np.isfinite(r.ias) and 0.0 <= r.percentile <= 100.0
        assert 0.0 < r.p_value <= 1.0
        assert sum(r.class_probabilities.values()) == pytest.approx(1.0, abs=1e-5)  # float32
        # a model from lcvade train keeps the terms' typical values: a dominant term is named
        assert r.explanation.dominant_term in r.explanation.terms


def test_evaluate_rebuilds_the_split_and_writes_metrics_and_report(trained, runner, tmp_path):
    data, objects, out, _ = trained
    report = tmp_path / "report"
    result = runner.invoke(
        cli.app,
        ["evaluate", "--model", str(out), "--data", data, "--objects", objects,
         "--out", str(report), "--period-cache", str(out / "period_cache.parquet"),
         "--examples", "2"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["split_matches_training"] is True and metrics["data_digest_matches"] is True
    assert metrics["n_test_outliers"] == metrics["n_test_inliers"] == 24
    for key in ("auroc", "aupr", "accuracy"):
        assert 0.0 <= metrics[key] <= 1.0
    assert f"AUROC {metrics['auroc']:.4f}" in result.output
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.sum() == 24 and np.trace(matrix) / 24 == pytest.approx(metrics["accuracy"])

    page = (report / "report.html").read_text()
    for key in FIGURES:
        match = re.search(
            rf'<figure id="{key}"><img alt="[^"]*" src="data:image/png;base64,([^"]+)"', page
        )
        assert match, f"figure {key} missing"
        image = matplotlib.image.imread(io.BytesIO(base64.b64decode(match.group(1))), "png")
        assert image.shape[0] > 100 and image.shape[1] > 100
    assert "Fig. 9.5" in page and "Fig. 9.8" in page and "induction points" in page


def test_evaluate_refuses_another_outlier_class(trained, tmp_path):
    data, objects, out, _ = trained
    with pytest.raises(EvaluationError, match="held out 'eclipse'"):
        run_evaluation(out, data, objects, outlier_class="sine", out=tmp_path)


def test_a_model_of_every_class_is_evaluated_against_an_unseen_class(tmp_path, runner):
    data, objects = write_tables(tmp_path, n_per_class=16, seed=9)
    out = tmp_path / "model"
    result = runner.invoke(
        cli.app,
        ["train", "--data", data, "--objects", objects, "--classes", "sine,sawtooth",
         "--epochs", "1", "--batch-size", "8", "--channels", "4", "--max-points", "60",
         "--out", str(out), "--no-progress", "--calibration-min", "4"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = lcvade.read_manifest(out).training
    assert record["outlier_class"] is None and record["split"]["n_anomaly"] == 16
    report = run_evaluation(
        out, data, objects, outlier_class="eclipse", out=tmp_path / "ev", examples=1
    )
    metrics = report.metrics
    assert metrics["n_train"] == sum(record["split"]["train_counts"].values())
    assert metrics["n_test_outliers"] == 16 and metrics["n_test_inliers"] == 16
    assert metrics["split_matches_training"] is True
    only_inliers = run_evaluation(out, data, objects, out=tmp_path / "ev2", examples=1).metrics
    assert only_inliers["auroc"] is None and only_inliers["accuracy"] is not None
    assert only_inliers["n_test_inliers"] == 16 and only_inliers["n_test_outliers"] == 0
    assert only_inliers["split_matches_training"] is True


def test_command_line_mistakes_are_explained(runner, tmp_path):
    missing = runner.invoke(cli.app, ["train", "--out", str(tmp_path / "m"), "--no-progress"])
    assert missing.exit_code == 2 and "--data" in missing.output
    data, objects = write_tables(tmp_path, n_per_class=3, seed=1)
    unknown = runner.invoke(
        cli.app,
        ["train", "--data", data, "--objects", objects, "--outlier-class", "RRab",
         "--out", str(tmp_path / "m2"), "--no-progress"],
    )  # fmt: skip
    assert unknown.exit_code == 2 and "RRab" in unknown.output
    not_a_model = runner.invoke(
        cli.app, ["evaluate", "--model", str(tmp_path), "--data", data, "--objects", objects]
    )
    assert not_a_model.exit_code == 2 and "manifest.json" in not_a_model.output
