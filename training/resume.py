"""Resumable training state: weights, optimizer moments and loop position, without pickle.

A run's ``OUT/checkpoint/`` holds one snapshot directory per save and a pointer file:

* ``<snapshot>/model.safetensors``: the model's state dict (parameters, batch-norm
  statistics, spectral-norm power-iteration vectors);
* ``<snapshot>/optimizer.safetensors``: every Adam state tensor (``state.<param>.<name>``)
  and, mid-epoch, the reparameterisation-noise generator state (``rng.noise``);
* ``<snapshot>/state.json``: the loop position (epoch, batch), the seed, the digest of the
  run's configuration, Adam's parameter-group hyper-parameters, the loss history and the
  elapsed time;
* ``latest.json``: the name of the newest complete snapshot.

A snapshot is written to a temporary directory, renamed into place, and only then does the
pointer -- itself replaced atomically -- name it; older snapshots are deleted afterwards.  A
process killed at any moment (SIGKILL included) leaves the previous snapshot intact.  Batch
order and noise are functions of (seed, epoch) (:func:`training.trainer.epoch_generators`), so
resuming replays exactly what an uninterrupted run computes.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from models.atomic_files import write_text_atomic
from models.errors import LCVaDEError

CHECKPOINT_DIR = "checkpoint"
POINTER_FILE = "latest.json"
NOISE_KEY = "rng.noise"


class ResumeError(LCVaDEError):
    """A checkpoint cannot be resumed; the message says why."""


@dataclass
class LoopState:
    """Where a training loop stands: ``batch`` batches of ``epoch`` (0-based) are done."""

    epoch: int = 0
    batch: int = 0
    seed: int = 0
    config_digest: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    partial_totals: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    noise_state: torch.Tensor | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("noise_state")
        return data


def optimizer_to_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Adam's state as flat tensors plus its JSON-able parameter groups."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            tensor = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"state.{pid}.{name}"] = tensor.detach().cpu().contiguous().clone()
    groups = [
        {k: list(v) if isinstance(v, tuple) else v for k, v in group.items()}
        for group in state["param_groups"]
    ]
    return tensors, groups


def optimizer_from_tensors(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict]
) -> None:
    """Load what :func:`optimizer_to_tensors` wrote into ``optimizer``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if not key.startswith("state."):
            continue
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    param_groups = [
        {k: tuple(v) if k == "betas" else v for k, v in group.items()} for group in groups
    ]
    optimizer.load_state_dict({"state": state, "param_groups": param_groups})


class CheckpointStore:
    """The ``checkpoint/`` directory of a training run; see the module docstring."""

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.root = Path(out_dir) / CHECKPOINT_DIR

    def exists(self) -> bool:
        return (self.root / POINTER_FILE).is_file()

    def save(self, model: nn.Module, optimizer: torch.optim.Optimizer, state: LoopState) -> Path:
        """Write a snapshot of ``model``, ``optimizer`` and ``state`` atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"epoch{state.epoch:05d}-batch{state.batch:06d}"
        tmp = self.root / f".{name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        weights = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(weights, str(tmp / "model.safetensors"))
        tensors, groups = optimizer_to_tensors(optimizer)
        if state.noise_state is not None:
            tensors[NOISE_KEY] = state.noise_state.clone()
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        document = {**state.to_json(), "param_groups": groups}
        (tmp / "state.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
        target = self.root / name
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        write_text_atomic(self.root / POINTER_FILE, json.dumps({"snapshot": name}))
        for old in self.root.iterdir():
            if old.is_dir() and old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return target

    def latest(self) -> Path:
        pointer = self.root / POINTER_FILE
        if not pointer.is_file():
            raise ResumeError(f"no checkpoint to resume in {self.root.parent}")
        try:
            name = json.loads(pointer.read_text(encoding="utf-8"))["snapshot"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ResumeError(f"{pointer} is corrupt ({exc}); start without --resume") from exc
        snapshot = self.root / str(name)
        if not snapshot.is_dir():
            raise ResumeError(f"{pointer} names {name}, which is missing; start again")
        return snapshot

    def read_state(self) -> LoopState:
        """The loop state of the newest snapshot (without loading any tensor)."""
        document = json.loads((self.latest() / "state.json").read_text(encoding="utf-8"))
        document.pop("param_groups", None)
        return LoopState(**document)

    def load(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> LoopState:
        """Restore ``model`` and ``optimizer`` from the newest snapshot; its loop state."""
        snapshot = self.latest()
        document = json.loads((snapshot / "state.json").read_text(encoding="utf-8"))
        groups = document.pop("param_groups")
        weights = load_file(str(snapshot / "model.safetensors"))
        try:
            model.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise ResumeError(
                f"the checkpoint in {snapshot} does not fit this model ({exc}); resume with "
                "the configuration it was started with"
            ) from exc
        tensors = load_file(str(snapshot / "optimizer.safetensors"))
        noise = tensors.pop(NOISE_KEY, None)
        optimizer_from_tensors(optimizer, tensors, groups)
        return LoopState(**document, noise_state=noise)
