"""The configuration of one training job, from defaults, a TOML file and command-line flags.

Every option has one name, used both as a TOML key and, with dashes, as a command-line flag
(``batch_size`` <-> ``--batch-size``); the flags are generated from the fields
(:data:`TRAIN_FLAGS`, :data:`MODEL_FLAGS`, :mod:`lcvade.cli_options`).  Precedence:
built-in defaults < the TOML file < flags.
The model's hyper-parameters (any field of :class:`~lcvade.config.LCVaDEConfig` except
``n_classes``, which the data decide) go under a ``[model]`` table, e.g.::

    epochs = 40
    outlier_class = "DSCT"
    seed = 3

    [model]
    channels = 72
    max_points = 200

Optimisation follows section 9.5.2 (Adam, beta = (0.9, 0.999), learning rate 1e-3); the
feature prior p(f|y) gets its own, larger rate (``feature_prior_learning_rate``, cf. the
prior rate eta_p of the thesis' Algorithm 1).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lcvade.cli_options import ConfigFlag, FlagGroup, comma_list
from lcvade.config import LCVaDEConfig
from lcvade.options import parse_key_values, validation_summary
from models.errors import LCVaDEError
from training.augment import Augmentation

# Options that change how a run is executed but not what it computes.
RUNTIME_OPTIONS = frozenset(
    {
        "epochs",
        "device",
        "threads",
        "out",
        "resume",
        "progress",
        "period_cache",
        "description",
        "weights_dtype",
    }
)


class ConfigError(LCVaDEError):
    """A training configuration is invalid; the message says which option to fix."""


class TrainConfig(BaseModel):
    """Everything one ``lcvade train`` run needs; see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    data: Path | None = Field(default=None, description="long-format light-curve table")
    objects: Path | None = Field(default=None, description="object table with labels")
    classes: list[str] | None = Field(
        default=None, description="labels to use (default: every label in the object table)"
    )
    outlier_class: str | None = Field(
        default=None, description="class held out of training as the outlier (section 9.2)"
    )
    epochs: int = Field(default=30, ge=1, description="passes over the training set")
    batch_size: int = Field(default=64, ge=2, description="curves per class-balanced batch")
    learning_rate: float = Field(default=1e-3, gt=0, description="Adam rate of the networks")
    feature_prior_learning_rate: float = Field(
        default=1e-2, gt=0, description="Adam rate of the feature prior p(f|y)"
    )
    seed: int = Field(default=0, ge=0, description="seed of the split, weights and batches")
    device: str = Field(default="auto", description="'auto', 'cpu', 'cuda' or 'cuda:N'")
    threads: int = Field(
        default=1,
        ge=1,
        description="CPU threads of torch; one is fastest on a shared or small machine",
    )
    out: Path = Field(default=Path("lcvade-model"), description="output model directory")
    name: str = Field(default="lcvade", description="model name written to the manifest")
    version: str = Field(default="1", description="model version written to the manifest")
    description: str = Field(
        default="", description="where the training data come from (written to the manifest)"
    )
    weights_dtype: Literal["float32", "float16"] = Field(
        default="float32",
        description="type of the saved weights; float16 halves the file (calibrated after "
        "rounding, so scores match the stored model)",
    )
    min_points: int = Field(default=10, ge=3, description="points required per band")
    augment: bool = Field(
        default=True,
        description="train on redraws of the curves: a random subset of each band's points "
        "and noise at the stated errors (training.augment)",
    )
    augment_min_fraction: float = Field(
        default=0.5, gt=0.0, le=1.0, description="smallest fraction of a band's points redrawn"
    )
    feature_prior: Literal["learned", "observed"] = Field(
        default="learned",
        description="p(f|y) of the saved model: 'learned' with the networks (on the augmented "
        "redraws when augment is on), or 'observed', reset after the fit to the class moments "
        "of the fit curves as observed, as p(f|y) starts",
    )
    class_prior: Literal["uniform", "training"] = Field(
        default="uniform",
        description="p(y) of the saved model's classifier: 'uniform' (the thesis) or "
        "'training', the class frequencies of the training split (model option class_weights)",
    )
    calibration_fraction: float = Field(
        default=0.2,
        gt=0.0,
        lt=1.0,
        description="share of the training inliers held out of the fit to calibrate the IAS "
        "(split conformal; class-stratified, drawn with the seed)",
    )
    calibration_min: int = Field(
        default=100,
        ge=1,
        description="fewest curves in the calibration slice; with n curves the smallest "
        "p-value is 1/(n+1), so p < 0.01 needs n >= 100",
    )
    period_cache: Path | None = Field(
        default=None,
        description="Parquet cache of searched periods (default: OUT/period_cache.parquet)",
    )
    resume: bool = Field(default=False, description="continue from OUT's last checkpoint")
    progress: bool = Field(default=True, description="show a progress bar")
    model: dict[str, Any] = Field(
        default_factory=dict, description="LC-VaDE hyper-parameters (LCVaDEConfig fields)"
    )

    @field_validator("model")
    @classmethod
    def _known_model_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "n_classes" in value:
            raise ValueError("n_classes is set by the data (the number of training classes)")
        LCVaDEConfig(n_classes=1, **value)  # raises on unknown names or bad values
        return value

    def model_config_for(self, n_classes: int, bands: list[str] | None) -> LCVaDEConfig:
        """The :class:`LCVaDEConfig` of this run for the given classes and bands."""
        options = {"min_points": self.min_points, **self.model}
        options.setdefault("bands", bands)
        return LCVaDEConfig(n_classes=n_classes, **options)

    def augmentation(self) -> Augmentation | None:
        """The augmentation of this run, or None."""
        return Augmentation(min_fraction=self.augment_min_fraction) if self.augment else None

    def cache_path(self) -> Path:
        return self.period_cache or self.out / "period_cache.parquet"

    def identity(self) -> dict[str, Any]:
        """The options that define what the run computes (not how long or where)."""
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if k not in RUNTIME_OPTIONS}

    def identity_digest(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_toml(path: str | Path) -> dict[str, Any]:
    """The options of a TOML file (top-level keys plus a ``[model]`` table)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from exc


def build_config(
    toml_path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    model_overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Merge defaults, a TOML file and flag values (``None`` values are "not given")."""
    options: dict[str, Any] = {} if toml_path is None else load_toml(toml_path)
    model = dict(options.pop("model", {}) or {})
    options.update({k: v for k, v in (overrides or {}).items() if v is not None})
    model.update({k: v for k, v in (model_overrides or {}).items() if v is not None})
    try:
        return TrainConfig(**options, model=model)
    except ValidationError as exc:
        problems = validation_summary(exc, whole="config")
        raise ConfigError(f"invalid training configuration: {problems}") from exc


def to_toml(config: TrainConfig) -> str:
    """The TOML text that reproduces ``config`` (paths as strings, unset options omitted)."""
    data = config.model_dump(mode="json", exclude={"resume", "progress"})
    model = data.pop("model")
    lines = [f"{key} = {_toml_value(value)}" for key, value in data.items() if value is not None]
    if model:
        lines += ["", "[model]"]
        lines += [
            f"{key} = {_toml_value(value)}" for key, value in model.items() if value is not None
        ]
    return "\n".join(lines) + "\n"


# The options of ``lcvade train``: every TrainConfig field but the [model] table, and the
# model hyper-parameters that have an option of their own (any other goes through
# --model-option KEY=VALUE).
TRAIN_FLAGS = FlagGroup.every_field(
    TrainConfig,
    ConfigFlag("classes", parse=comma_list, metavar="A,B,..."),
    key="options",
    exclude=["model"],
)
MODEL_FLAGS = FlagGroup.of(
    LCVaDEConfig, "channels", "z_rep", "z_kernel", "max_points", "feature_set", key="model"
)


def equivalent_command(config: TrainConfig) -> list[str]:
    """An ``lcvade train`` command line that reproduces ``config`` (non-default options)."""
    defaults = TrainConfig().model_dump(mode="json")
    current = config.model_dump(mode="json", exclude={"resume", "progress"})
    command = ["lcvade", "train"]
    for key, value in current.items():
        if key == "model" or value == defaults[key] or value is None:
            continue
        command += TRAIN_FLAGS.argv(key, value)
    for key, value in current["model"].items():
        if key in MODEL_FLAGS.flags_by_name:
            command += MODEL_FLAGS.argv(key, value)
        else:
            command += ["--model-option", f"{key}={json.dumps(value)}"]
    return command


def parse_model_options(items: list[str]) -> dict[str, Any]:
    """``--model-option KEY=VALUE`` strings (VALUE as JSON, else a plain string) to a dict."""
    return parse_key_values(items, "--model-option")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")
