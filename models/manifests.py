"""Directories of weights described by a versioned JSON manifest.

Both checkpoint formats (the light-curve model, :mod:`lcvade.checkpoint`, and the image
family, :mod:`models.gi_checkpoint`) keep a ``manifest.json`` with a format name and version
next to their weights in ``model.safetensors``.  A :class:`WeightsFormat` writes and reads
either: the weights file is written first (atomically), then the manifest that records its
SHA-256.  Reading a manifest makes the same checks in the same order: the file exists, it is
JSON, it names the expected format, it has a version this code reads, and it validates
against the format's pydantic model.  Reading the weights checks that the file exists, that
its SHA-256 is the recorded one and that safetensors can parse it.  The first check that
fails raises :class:`~models.errors.CheckpointError` with a message that says what is wrong.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import torch
from pydantic import BaseModel, ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from models.atomic_files import file_sha256, write_atomic, write_text_atomic
from models.errors import CheckpointError
from models.version import __version__

ManifestT = TypeVar("ManifestT", bound=BaseModel)

MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "model.safetensors"


def read_versioned_manifest(
    directory: str | os.PathLike[str],
    filename: str,
    manifest_type: type[ManifestT],
    *,
    format_name: str,
    format_version: int,
    directory_kind: str,
    error: type[Exception],
) -> ManifestT:
    """Parse and check ``directory/filename`` as a manifest of ``format_name``.

    ``directory_kind`` names the directory in messages ("model", "checkpoint"); ``error`` is
    the exception type raised when a check fails.
    """
    path = Path(directory) / filename
    if not path.is_file():
        raise error(f"{path} not found: is {directory} a {directory_kind} directory?")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != format_name:
        raise error(f"{path} is not a {directory_kind} manifest (format != {format_name})")
    if raw.get("format_version") != format_version:
        raise error(
            f"{path} has format_version {raw.get('format_version')!r}; this lcvade "
            f"({__version__}) reads version {format_version} only"
        )
    try:
        return manifest_type.model_validate(raw)
    except ValidationError as exc:
        raise error(f"{path} is malformed: {exc}") from exc


@dataclass(frozen=True)
class WeightsFormat(Generic[ManifestT]):
    """A directory format: ``model.safetensors`` plus a ``manifest.json`` of ``manifest_type``.

    ``name`` and ``version`` are the manifest's ``format`` and ``format_version``;
    ``directory_kind`` names the directory in messages ("model", "checkpoint").
    """

    name: str
    version: int
    directory_kind: str
    manifest_type: type[ManifestT]

    def write(
        self,
        directory: str | os.PathLike[str],
        tensors: dict[str, torch.Tensor],
        manifest: Callable[..., ManifestT],
    ) -> Path:
        """Write ``tensors``, then ``manifest(weights_sha256=...)`` of them, each atomically."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        weights = out / WEIGHTS_FILE
        write_atomic(weights, lambda p: save_file(tensors, str(p), metadata={"format": self.name}))
        text = manifest(weights_sha256=file_sha256(weights)).model_dump_json(indent=2) + "\n"
        write_text_atomic(out / MANIFEST_FILE, text)
        return out

    def read_manifest(self, directory: str | os.PathLike[str]) -> ManifestT:
        """Parse and check the manifest of ``directory``."""
        return read_versioned_manifest(
            directory,
            MANIFEST_FILE,
            self.manifest_type,
            format_name=self.name,
            format_version=self.version,
            directory_kind=self.directory_kind,
            error=CheckpointError,
        )

    def read_weights(
        self, directory: str | os.PathLike[str], weights_sha256: str
    ) -> dict[str, torch.Tensor]:
        """The tensors of ``directory``'s weights file, once its SHA-256 is ``weights_sha256``."""
        weights = Path(directory) / WEIGHTS_FILE
        if not weights.is_file():
            raise CheckpointError(f"{weights} not found")
        if file_sha256(weights) != weights_sha256:
            raise CheckpointError(
                f"{weights} does not match the SHA-256 recorded in its manifest: the file is "
                "truncated, corrupt or was modified"
            )
        try:
            return load_file(str(weights), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{weights} is not a readable safetensors file ({exc})") from exc
