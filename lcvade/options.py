"""Settings given as text on a command line, and settings errors told in one line.

Every command that takes ``KEY=VALUE`` settings (``lcvade train --model-option``, ``lcvade gi
train --set``) reads them with :func:`parse_key_values`, and every command that validates its
settings with pydantic reports the problems with :func:`validation_summary`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from models.errors import LCVaDEError


class OptionError(LCVaDEError):
    """A command-line setting is not written as the option expects; the message says how."""


def parse_key_values(items: Iterable[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` strings as a dict; a VALUE that is JSON (a number, ``true``, a list) is
    read as JSON, any other VALUE is kept as text.  ``option`` names the option in errors."""
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"{option} {item!r} is not KEY=VALUE")
        try:
            values[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            values[key.strip()] = text
    return values


def validation_summary(exc: Exception, whole: str = "") -> str:
    """A pydantic ``ValidationError`` in one line, ``LOCATION: MESSAGE; ...`` (``whole``
    names a problem of the whole object); any other error as its message."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or whole}: {error['msg']}" for error in errors()
    )
