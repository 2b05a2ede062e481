"""Rubin/LSST alert packets under the published schema ``lsst.v11_0`` (package
``lsst-alert-packet``): the schema is the package's, every field is filled from it, and the
tests set only the fields they are about.  Used by the tests and by
``benchmarks/batch_scoring.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastavro

SCHEMA_VERSION = (11, 0)


def v11_schema() -> dict[str, Any]:
    """The full ``lsst.v11_0.alert`` schema (nested records resolved) from lsst-alert-packet."""
    from lsst.alert.packet import Schema, get_schema_path

    major, minor = SCHEMA_VERSION
    path = Path(get_schema_path(major, minor)) / f"lsst.v{major}_{minor}.alert.avsc"
    return Schema.from_file(str(path)).definition


def _records(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every named record of ``schema`` by its short name (``diaSource``, ...)."""
    found: dict[str, dict[str, Any]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "record":
                found[node["name"].rsplit(".", 1)[-1]] = node
                for f in node["fields"]:
                    visit(f["type"])
            elif node.get("type") == "array":
                visit(node["items"])
        elif isinstance(node, list):
            for branch in node:
                visit(branch)

    visit(schema)
    return found


_BLANK = {"long": 0, "int": 0, "double": 0.0, "float": 0.0, "string": "", "boolean": False}


_blanks: dict[tuple[int, str], dict[str, Any]] = {}


def blank(schema: dict[str, Any], record: str) -> dict[str, Any]:
    """A ``record`` (e.g. ``diaSource``) of ``schema`` with every field set: null where the
    field may be null, else zero, empty or false."""
    key = (id(schema), record)
    if key not in _blanks:
        _blanks[key] = _blank(schema, record)
    return dict(_blanks[key])


def _blank(schema: dict[str, Any], record: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in _records(schema)[record]["fields"]:
        kind = f["type"]
        nullable = isinstance(kind, list) and "null" in kind
        values[f["name"]] = None if nullable or not isinstance(kind, str) else _BLANK.get(kind)
    return values


def _measurement(schema: dict[str, Any], record: str, own_id: int, object_id: int, visit: int):
    """A ``record`` (a diaSource or diaForcedSource) of ``object_id`` at ``visit``, in r, at
    MJD 60000 + visit, its id (``<record>Id``) ``own_id``."""
    return {
        **blank(schema, record),
        f"{record}Id": own_id,
        "diaObjectId": object_id,
        "visit": visit,
        "midpointMjdTai": 60000.0 + visit,
        "band": "r",
    }


def dia_source(schema: dict[str, Any], source_id: int, object_id: int, visit: int, **fields):
    """A diaSource of ``object_id`` at ``visit`` (MJD 60000 + visit) with ``fields`` set."""
    return {**_measurement(schema, "diaSource", source_id, object_id, visit), **fields}


def forced_source(schema: dict[str, Any], forced_id: int, object_id: int, visit: int, **fields):
    """A diaForcedSource of ``object_id`` at ``visit`` with ``fields`` set."""
    return {**_measurement(schema, "diaForcedSource", forced_id, object_id, visit), **fields}


def alert(
    schema: dict[str, Any],
    object_id: int,
    sources: list[dict[str, Any]],
    forced: list[dict[str, Any]] | None = None,
    cutout: bytes | None = None,
) -> dict[str, Any]:
    """An alert whose triggering diaSource is ``sources[-1]`` and history the others."""
    return {
        **blank(schema, "alert"),
        "diaSourceId": sources[-1]["diaSourceId"],
        "diaSource": sources[-1],
        "prvDiaSources": sources[:-1] or None,
        "prvDiaForcedSources": forced or None,
        "diaObject": {**blank(schema, "diaObject"), "diaObjectId": object_id},
        "cutoutDifference": cutout,
        "cutoutScience": cutout,
        "cutoutTemplate": cutout,
    }


def write(path: Path, schema: dict[str, Any], records) -> Path:
    """An Avro container file of ``records`` under ``schema``."""
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), records)
    return path
