"""Files replaced whole or not at all, and the SHA-256 that proves a file is the one recorded.

A file is written to a hidden temporary sibling (``.NAME.tmp-PID``) and renamed over the
target with :func:`os.replace`, which is atomic on one file system: a reader sees the old
file or the new one, never a partial one, and an interrupted writer leaves no temporary file
behind.  Model checkpoints, their manifests and the parts and records of batch-scoring runs
are all written this way.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

READ_CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    """The hexadecimal SHA-256 of a file's bytes, read in chunks of 1 MiB."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(READ_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file in ``path``'s directory, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` encoded as UTF-8."""
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json_atomic(path: Path, value: Any) -> None:
    """Replace ``path`` with ``value`` as indented JSON and a final newline."""
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")
