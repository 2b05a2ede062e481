"""Checkpoints of the image family: safetensors plus a JSON manifest; nothing is unpickled.

A checkpoint directory holds

* ``model.safetensors``: the model's parameters and buffers under ``model.*``, the state
  tensors of every optimizer under ``optim.<name>.<index>.<key>`` and the random number
  generator states under ``rng.<name>`` (so training resumes exactly);
* ``manifest.json``: format name and version, model name and configuration, step, seed,
  data set name and digest, the optimizers' hyper-parameters (their param groups), free-form
  training metadata and the SHA-256 of the weights file.

Loading checks that the manifest parses and has a known format, that the weights file
matches its recorded SHA-256 and that the tensors fit the architecture the configuration
describes; every failure raises :class:`CheckpointError` saying what is wrong.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict

from models.base import GIModel
from models.errors import CheckpointError
from models.manifests import MANIFEST_FILE as MANIFEST_FILE  # re-exported
from models.manifests import WEIGHTS_FILE as WEIGHTS_FILE  # re-exported
from models.manifests import WeightsFormat
from models.registry import build_model

FORMAT_NAME = "lcvade-gi-checkpoint"
FORMAT_VERSION = 1


class GIManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    created: str
    model: str
    config: dict[str, Any]
    step: int
    seed: int
    data: str
    data_digest: str = ""
    optimizers: dict[str, list[dict[str, Any]]]
    rng: list[str] = []
    training: dict[str, Any] = {}
    weights_sha256: str


GI_FORMAT: WeightsFormat[GIManifest] = WeightsFormat(
    FORMAT_NAME, FORMAT_VERSION, "checkpoint", GIManifest
)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (optimizers restored), its manifest and RNG states."""

    model: GIModel
    manifest: GIManifest
    rng: dict[str, torch.Tensor] = field(default_factory=dict)


def _optimizer_tensors(
    model: GIModel,
) -> tuple[dict[str, torch.Tensor], dict[str, list[dict[str, Any]]]]:
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for name, opt in model.optimizers().items():
        state = opt.state_dict()
        for index, entries in state["state"].items():
            for key, value in entries.items():
                value = value if torch.is_tensor(value) else torch.tensor(value)
                tensors[f"optim.{name}.{index}.{key}"] = value.detach().cpu().clone()
        groups[name] = [
            {k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
            for g in state["param_groups"]
        ]
    return tensors, groups


def save_checkpoint(
    directory: str | os.PathLike[str],
    model: GIModel,
    *,
    step: int,
    seed: int,
    data: str,
    data_digest: str = "",
    rng: dict[str, torch.Tensor] | None = None,
    training: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (with optimizer and RNG states) to ``directory``, atomically per file."""
    tensors = {
        f"model.{k}": v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()
    }
    optim_tensors, groups = _optimizer_tensors(model)
    tensors.update(optim_tensors)
    rng = rng or {}
    for name, state in rng.items():
        tensors[f"rng.{name}"] = state.detach().cpu().clone()
    manifest = partial(
        GIManifest,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        model=model.name,
        config=model.config.model_dump(mode="json"),
        step=step,
        seed=seed,
        data=data,
        data_digest=data_digest,
        optimizers=groups,
        rng=sorted(rng),
        training=training or {},
    )
    return GI_FORMAT.write(directory, tensors, manifest)


def read_manifest(directory: str | os.PathLike[str]) -> GIManifest:
    """Parse and check the manifest of a checkpoint directory."""
    return GI_FORMAT.read_manifest(directory)


def _restore_optimizers(model: GIModel, manifest: GIManifest, tensors: dict) -> None:
    optimizers = model.optimizers()
    if set(optimizers) != set(manifest.optimizers):
        raise CheckpointError(
            f"optimizers {sorted(manifest.optimizers)} in the checkpoint, "
            f"{sorted(optimizers)} in the model"
        )
    for name, opt in optimizers.items():
        state: dict[int, dict[str, torch.Tensor]] = {}
        prefix = f"optim.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, entry = key[len(prefix) :].split(".", 1)
                state.setdefault(int(index), {})[entry] = value
        groups = [
            {k: tuple(v) if k == "betas" else v for k, v in g.items()}
            for g in manifest.optimizers[name]
        ]
        try:
            opt.load_state_dict({"state": state, "param_groups": groups})
        except (ValueError, KeyError) as exc:
            raise CheckpointError(f"optimizer {name!r} does not fit the model: {exc}") from exc


def load_checkpoint(directory: str | os.PathLike[str]) -> Checkpoint:
    """Rebuild the model a checkpoint describes and load its weights and optimizer states."""
    manifest = read_manifest(directory)
    tensors = GI_FORMAT.read_weights(directory, manifest.weights_sha256)
    try:
        model = build_model(manifest.model, manifest.config)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"the weights do not fit a {manifest.model} model: {exc}") from exc
    _restore_optimizers(model, manifest, tensors)
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    return Checkpoint(model=model, manifest=manifest, rng=rng)
