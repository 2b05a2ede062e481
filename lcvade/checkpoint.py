"""Model checkpoints: weights in safetensors plus a JSON manifest; nothing is ever unpickled.

A model directory holds

* ``model.safetensors``: every parameter and buffer of :class:`~lcvade.model.LCVaDE`, plus
  the IAS calibration values under ``calibration.ias`` when the model is calibrated;
* ``manifest.json``: format name and version, code version, model name and version, the
  :class:`~lcvade.config.LCVaDEConfig`, class names, feature names and statistics, a summary
  of the calibration, free-form training metadata (seed, data digest, command...) and the
  SHA-256 of the weights file.

Loading checks, in order: the manifest parses and has a known format version; the weights
file exists and its SHA-256 matches the manifest (a truncated or tampered file is refused);
the tensors match the architecture the config describes.  Every failure raises
:class:`CheckpointError` saying what is wrong.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, field_validator

from lcvade.calibration import IASCalibration
from lcvade.config import LCVaDEConfig
from lcvade.features import feature_names
from lcvade.model import LCVaDE
from models.errors import CheckpointError
from models.manifests import MANIFEST_FILE as MANIFEST_FILE  # re-exported
from models.manifests import WEIGHTS_FILE as WEIGHTS_FILE  # re-exported
from models.manifests import WeightsFormat
from models.version import __version__

FORMAT_NAME = "lcvade-model"
FORMAT_VERSION = 1
CALIBRATION_KEY = "calibration.ias"
# Options added after the first format version, at the values every older model was built with.
THESIS_OPTIONS = {
    "feature_set": "thesis",
    "encoder_spectral_norm": True,
    "latent_label_weight": 0.0,
}


class Manifest(BaseModel):
    """The JSON manifest of a model directory."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    code_version: str = __version__
    name: str
    version: str
    created: str
    config: LCVaDEConfig
    class_names: list[str]
    feature_names: list[str]
    feature_mean: list[float]
    feature_std: list[float]
    calibration_size: int = 0
    # median and robust spread of each term of the score on the calibration inliers
    # (lcvade.explanation); None for models calibrated before the terms were kept
    term_statistics: dict[str, dict[str, float]] | None = None
    training: dict[str, Any] = {}
    weights_sha256: str

    @field_validator("config", mode="before")
    @classmethod
    def _older_options(cls, value: Any) -> Any:
        """Manifests written before an option existed describe the model as the thesis has it."""
        if isinstance(value, dict):
            return {**THESIS_OPTIONS, **value}
        return value


MODEL_FORMAT: WeightsFormat[Manifest] = WeightsFormat(
    FORMAT_NAME, FORMAT_VERSION, "model", Manifest
)


def save_model(
    model: LCVaDE,
    directory: str | os.PathLike[str],
    *,
    class_names: list[str],
    name: str = "lcvade",
    version: str = "1",
    calibration: IASCalibration | None = None,
    training: dict[str, Any] | None = None,
    weights_dtype: torch.dtype | None = None,
    term_statistics: dict[str, dict[str, float]] | None = None,
) -> Path:
    """Write ``model`` to ``directory`` (created if needed); both files are replaced atomically.

    ``weights_dtype`` (e.g. ``torch.float16``) stores the floating-point weights in a smaller
    type; :func:`load_model` casts them back into the float32 model.  ``term_statistics``
    (term name -> ``{"median", "spread"}`` on the calibration inliers) lets results say which
    term of the score is unusual (:mod:`lcvade.explanation`).
    """
    config = model.config
    if len(class_names) != config.n_classes:
        raise CheckpointError(
            f"{len(class_names)} class names given for a model of {config.n_classes} classes"
        )
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    if weights_dtype is not None:
        tensors = {
            k: v.to(weights_dtype) if v.is_floating_point() else v for k, v in tensors.items()
        }
    if calibration is not None:
        tensors[CALIBRATION_KEY] = torch.from_numpy(calibration.values.copy())
    manifest = partial(
        Manifest,
        name=name,
        version=str(version),
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        config=config,
        class_names=list(class_names),
        feature_names=feature_names(config),
        feature_mean=model.feature_mean.tolist(),
        feature_std=model.feature_std.tolist(),
        calibration_size=0 if calibration is None else len(calibration),
        term_statistics=term_statistics,
        training=training or {},
    )
    return MODEL_FORMAT.write(directory, tensors, manifest)


def read_manifest(directory: str | os.PathLike[str]) -> Manifest:
    """Parse and check the manifest of a model directory."""
    return MODEL_FORMAT.read_manifest(directory)


def load_model(
    directory: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[LCVaDE, Manifest, IASCalibration | None]:
    """Load a model directory written by :func:`save_model`; see the module docstring."""
    manifest = read_manifest(directory)
    tensors = MODEL_FORMAT.read_weights(directory, manifest.weights_sha256)
    values = tensors.pop(CALIBRATION_KEY, None)
    calibration = None if values is None else IASCalibration(values.numpy().astype(np.float64))
    model = LCVaDE(manifest.config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        weights = Path(directory) / WEIGHTS_FILE
        raise CheckpointError(
            f"{weights} does not fit the architecture in its manifest ({exc})"
        ) from exc
    model.eval()
    return model.to(map_location), manifest, calibration
