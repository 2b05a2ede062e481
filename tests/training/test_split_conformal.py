"""Split-conformal calibration: the held-out slice, and the validity of its p-values."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from lcvade import cli
from lcvade.calibration import IASCalibration
from training.config import build_config, equivalent_command
from training.split import SplitError, calibration_slice


def labelled(counts: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.concatenate([[name] * n for name, n in counts.items()])
    ids = np.array([f"obj{i:05d}" for i in range(labels.size)], dtype=object)
    return ids, labels


def test_the_slice_is_stratified_disjoint_and_seeded():
    ids, labels = labelled({"A": 400, "B": 100, "C": 20})
    train = np.arange(ids.size)
    held = calibration_slice(ids, labels, train, fraction=0.2, minimum=50, seed=1)
    assert held.calibration.size == 104  # ceil(0.2 * 520)
    assert not set(held.fit) & set(held.calibration)
    assert set(held.fit) | set(held.calibration) == set(train)
    counts = {k: int(np.sum(labels[held.calibration] == k)) for k in "ABC"}
    assert counts == {"A": 80, "B": 20, "C": 4}
    # the same objects in another order give the same slice; another seed another one
    order = np.random.default_rng(5).permutation(ids.size)
    shuffled = calibration_slice(ids[order], labels[order], train, 0.2, 50, seed=1)
    assert set(ids[order][shuffled.calibration]) == set(ids[held.calibration])
    other = calibration_slice(ids, labels, train, 0.2, 50, seed=2)
    assert set(ids[other.calibration]) != set(ids[held.calibration])


def test_the_minimum_size_wins_and_every_class_keeps_curves_in_the_fit():
    ids, labels = labelled({"A": 200, "B": 3})
    held = calibration_slice(ids, labels, np.arange(ids.size), 0.05, 120, seed=0)
    assert held.calibration.size == 120
    assert np.sum(labels[held.fit] == "B") >= 2
    with pytest.raises(SplitError, match="--calibration-min"):
        calibration_slice(ids, labels, np.arange(ids.size), 0.2, 250, seed=0)


def test_only_training_inliers_are_drawn():
    ids, labels = labelled({"A": 50, "B": 50})
    train = np.arange(0, 100, 2)  # e.g. the section 9.2 split's training objects
    held = calibration_slice(ids, labels, train, 0.3, 10, seed=0)
    assert set(held.calibration) <= set(train) and set(held.fit) <= set(train)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_conformal_p_values_are_valid_under_exchangeable_scores(alpha):
    """New inliers from the calibration's population: P(p <= alpha) is alpha, up to the
    1/(n+1) granularity and the binomial noise of the draws."""
    rng = np.random.default_rng(11)
    n_cal, n_new, repeats = 499, 400, 250
    flagged = 0
    for _ in range(repeats):
        # a skewed score distribution, as an IAS is; any continuous one is exchangeable
        population = lambda size: -rng.gamma(2.0, 3.0, size=size)  # noqa: E731
        calibration = IASCalibration(population(n_cal))
        flagged += int(np.sum(calibration.p_value(population(n_new)) <= alpha))
    fraction = flagged / (n_new * repeats)
    expected = np.floor(alpha * (n_cal + 1)) / (n_cal + 1)
    noise = 4.0 * np.sqrt(alpha * (1 - alpha) / repeats / n_new) + 4.0 * np.sqrt(
        alpha * (1 - alpha) / n_cal / repeats
    )
    assert abs(fraction - expected) < noise
    assert fraction < alpha + noise


def test_p_values_of_a_shifted_population_are_not_valid():
    """A change of population (another survey) breaks the guarantee: here, many more flags."""
    rng = np.random.default_rng(12)
    calibration = IASCalibration(rng.normal(0.0, 1.0, 999))
    shifted = calibration.p_value(rng.normal(-1.0, 1.0, 5000))
    assert np.mean(shifted <= 0.01) > 0.04


def test_feature_set_and_calibration_options_reach_the_command_line():
    config = build_config(
        None,
        {"calibration_fraction": 0.3, "calibration_min": 40},
        {"feature_set": "thesis"},
    )
    command = equivalent_command(config)
    assert command[command.index("--feature-set") + 1] == "thesis"
    assert command[command.index("--calibration-fraction") + 1] == "0.3"
    assert command[command.index("--calibration-min") + 1] == "40"
    assert config.model_config_for(3, ["V"]).feature_set == "thesis"


def test_a_bad_feature_set_flag_is_named():
    cli._register_commands()
    result = CliRunner().invoke(
        cli.app, ["train", "--data", "x", "--objects", "y", "--feature-set", "colour"]
    )
    assert result.exit_code == 2
    assert "feature_set" in result.output
