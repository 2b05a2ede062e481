"""A real sample trains and evaluates end to end through the command line.

The sample (``tests/data/asas``, see its README) holds 36 real ASAS curves: 14 Classical
Cepheids, 14 fundamental-mode RR Lyrae and 8 Miras, the Miras held out as the outlier class.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "asas"
TABLES = [
    "--data",
    str(SAMPLE / "lightcurves.parquet"),
    "--objects",
    str(SAMPLE / "objects.parquet"),
]


def lcvade(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "lcvade", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("asas")
    model = root / "model"
    train = lcvade(
        "train", *TABLES, "--outlier-class", "Mira", "--epochs", "4", "--batch-size", "16",
        "--channels", "8", "--max-points", "60", "--seed", "0", "--threads", "1",
        "--calibration-min", "4", "--no-progress", "--out", str(model),
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    evaluate = lcvade(
        "evaluate", "--model", str(model), *TABLES, "--no-progress", "--out", str(root / "eval")
    )
    assert evaluate.returncode == 0, evaluate.stderr
    assert "outlier class Mira: AUROC" in evaluate.stdout
    return root, json.loads((root / "eval" / "metrics.json").read_text())


def test_training_uses_the_sample_periods_and_the_section_9_2_split(evaluated):
    root, _ = evaluated
    manifest = json.loads((root / "model" / "manifest.json").read_text())
    training = manifest["training"]
    assert manifest["class_names"] == ["Classical_Cepheid", "RR_Lyrae_FM"]
    # the object table's period (the set's Lomb-Scargle estimate) is used, nothing searched
    assert training["period_sources"] == {"given": 36}
    # N_anomaly = 8 (the Miras): 8 inliers tested, in proportion 4 + 4, the rest trains
    assert training["split"]["train_counts"] == {"Classical_Cepheid": 10, "RR_Lyrae_FM": 10}
    assert training["split"]["test_counts"] == {
        "Classical_Cepheid": 4, "Mira": 8, "RR_Lyrae_FM": 4
    }  # fmt: skip


def test_evaluation_separates_the_held_out_miras(evaluated):
    root, metrics = evaluated
    assert metrics["split_matches_training"] and metrics["data_digest_matches"]
    assert (metrics["n_train"], metrics["n_test_outliers"], metrics["n_test_inliers"]) == (20, 8, 8)
    # long-period, large-amplitude Miras are far from every Cepheid and RR Lyrae
    assert metrics["auroc"] >= 0.9 and metrics["aupr"] >= 0.85
    # Cepheids (days to weeks) and RR Lyrae (about half a day) are told apart
    assert metrics["accuracy"] >= 0.75
    assert sum(map(sum, metrics["confusion_matrix"])) == 8
    assert set(metrics["auroc_by_term"]) >= {"expected_log_pz", "entropy_z", "expected_log_pf"}
    assert (root / "eval" / "report.html").stat().st_size > 10_000
