"""`lcvade gi train` / `lcvade gi evaluate` on the bundled digits with a tiny budget."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lcvade.cli_gi import app
from models.evaluation import COLUMNS

pytestmark = pytest.mark.usefixtures("single_torch_thread")


def cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` is an escaped pipe)."""
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [p.strip().replace("\\|", "|") for p in parts]


TINY = ["--set", "width=2", "--set", "latent_dim=4", "--batch-size", "8"]


def test_train_then_evaluate_mpcc(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "mpcc"
    args = ["train", "--model", "mpcc", "--data", "digits", "--steps", "2", "--out", str(out)]
    extra = ["--set", "n_clusters=10", "--set", "d_steps=1", "--set", "e_steps=1"]
    split = ["--test-fraction", "0.25", "--split-seed", "3"]  # options of TrainConfig fields
    result = runner.invoke(app, [*args, *TINY, *extra, *split, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "trained to step 2" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "mpcc" and manifest["step"] == 2 and manifest["data"] == "digits"
    assert (manifest["training"]["test_fraction"], manifest["training"]["split_seed"]) == (0.25, 3)
    assert (out / "model.safetensors").stat().st_size > 1000

    budget = ["--samples", "40", "--classifier-steps", "3", "--classifier-width", "2"]
    evaluate = ["evaluate", str(out), *budget]
    result = runner.invoke(app, evaluate)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("| Model"))
    assert cells(header)[1:] == list(COLUMNS)
    row = next(line for line in result.output.splitlines() if line.startswith("| mpcc"))
    assert len(cells(row)) == len(COLUMNS) + 1

    result = runner.invoke(app, [*evaluate, "--json"])
    values = json.loads(result.output[result.output.index("{") :])
    assert 0.0 <= values["Clust%"] <= 100.0 and values["FID"] >= 0.0 and values["IS"] >= 1.0


def test_resume_continues_and_bad_input_is_explained(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "vae"
    base = ["train", "--model", "vae", "--out", str(out), "--no-progress", *TINY]
    assert runner.invoke(app, [*base, "--steps", "1"]).exit_code == 0
    result = runner.invoke(app, [*base, "--steps", "3"])
    assert result.exit_code == 0 and "trained to step 3 (from 1)" in result.output
    result = runner.invoke(app, ["train", "--model", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown model 'nope'" in result.output
    result = runner.invoke(app, [*base, "--test-fraction", "2"])  # a field's own bound
    assert result.exit_code == 2 and "test_fraction: Input should be less than 1" in result.output
    result = runner.invoke(app, [*base, "--steps", "4", "--set", "beta"])
    assert result.exit_code != 0 and "KEY=VALUE" in result.output
    result = runner.invoke(app, ["evaluate", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not found" in result.output
