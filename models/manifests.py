"""Reading the versioned JSON manifest that describes a directory of weights.

Both checkpoint formats (the light-curve model, :mod:`lcvade.checkpoint`, and the image
family, :mod:`models.gi_checkpoint`) keep a ``manifest.json`` with a format name and version
next to their weights.  Reading one makes the same checks in the same order: the file exists,
it is JSON, it names the expected format, it has a version this code reads, and it validates
against the format's pydantic model.  The first check that fails raises the caller's error
type with a message that says what is wrong.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from models.version import __version__

ManifestT = TypeVar("ManifestT", bound=BaseModel)


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
