"""The training configuration: defaults < TOML file < command-line flags."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from lcvade.cli_options import with_config_flags
from lcvade.config import LCVaDEConfig
from training.config import (
    MODEL_FLAGS,
    TRAIN_FLAGS,
    ConfigError,
    TrainConfig,
    build_config,
    equivalent_command,
    to_toml,
)
from training.scoring.cli import PHOTOMETRY_FLAGS, SCORE_FLAGS
from training.scoring.job import ScoreJobConfig


def test_defaults_follow_the_thesis():
    config = TrainConfig()
    assert config.learning_rate == 1e-3  # Adam 1e-3, section 9.5.2
    model = config.model_config_for(5, None)
    assert model.channels == 72 and model.latent_dim == 12 and model.n_induction == 24


def test_flags_override_the_file_which_overrides_defaults(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        'epochs = 7\nseed = 4\noutlier_class = "DSCT"\n\n[model]\nchannels = 16\nmax_points = 120\n'
    )
    config = build_config(path, {"epochs": 9, "seed": None}, {"channels": None, "z_rep": 6})
    assert config.epochs == 9  # flag beats file
    assert config.seed == 4  # file kept when the flag is not given
    assert config.outlier_class == "DSCT"
    assert config.model == {"channels": 16, "max_points": 120, "z_rep": 6}
    model = config.model_config_for(3, ["I"])
    assert (model.channels, model.max_points, model.z_rep, model.bands) == (16, 120, 6, ["I"])


def test_round_trip_through_toml(tmp_path):
    config = build_config(None, {"epochs": 3, "classes": ["a", "b"], "out": tmp_path / "m"})
    config = config.model_copy(update={"model": {"channels": 8}})
    again = TrainConfig(**tomllib.loads(to_toml(config)))
    assert again.identity() == config.identity()
    assert again.epochs == 3 and again.out == tmp_path / "m"


def test_identity_ignores_how_long_and_where():
    a = TrainConfig(epochs=3, device="cpu")
    b = TrainConfig(epochs=30, device="auto", threads=2)
    assert a.identity_digest() == b.identity_digest()
    assert a.identity_digest() != TrainConfig(seed=1).identity_digest()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("epochs = 0\n", "epochs"),
        ("epoch = 3\n", "epoch"),
        ("[model]\nchanels = 8\n", "chanels"),
        ("[model]\nn_classes = 3\n", "set by the data"),
    ],
)
def test_mistakes_are_named(tmp_path, toml, message):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        build_config(path)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        build_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("epochs = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        build_config(broken)


def test_every_setting_has_its_generated_option():
    assert set(TRAIN_FLAGS.flags_by_name) == set(TrainConfig.model_fields) - {"model"}
    assert set(SCORE_FLAGS.flags_by_name) == set(ScoreJobConfig.model_fields) - {"cuts"}
    assert set(PHOTOMETRY_FLAGS.flags_by_name) == {"photometry"}  # other cuts: --cut NAME=VALUE
    assert set(MODEL_FLAGS.flags_by_name) <= set(LCVaDEConfig.model_fields)


def test_the_equivalent_command_parses_back_to_the_same_configuration(tmp_path):
    config = build_config(
        None,
        {"classes": ["RRab", "EW"], "epochs": 4, "augment": False, "out": tmp_path / "m",
         "feature_prior": "observed", "learning_rate": 3e-4, "period_cache": tmp_path / "c"},
        {"channels": 16, "feature_set": "shape_fold"},
    )  # fmt: skip
    seen: dict[str, Any] = {}
    app = typer.Typer()

    @app.command()
    @with_config_flags(TRAIN_FLAGS, MODEL_FLAGS)
    def train(given: dict[str, dict[str, Any]]) -> None:
        seen.update(given)

    argv = equivalent_command(config)
    assert argv[:2] == ["lcvade", "train"]
    result = CliRunner().invoke(app, argv[2:])
    assert result.exit_code == 0, result.output
    again = build_config(None, seen["options"], seen["model"])
    assert again == config
