"""Uploaded files to light curves: long-format tables (CSV, Parquet, VOTable, FITS, ECSV) or JSON.

A table has one row per observation, ``object_id, time, mag, mag_err[, band]`` (the aliases of
:mod:`lcvade.tables` are accepted); a table without an object column is one curve named after
the file.  An optional object table gives periods.  JSON is a score request
(``{"light_curves": [...]}``), a list of curves, or one curve.  Every object that cannot be
used becomes a rejection naming the object and the field, never a silent drop.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurveError
from lcvade.tables import Rejection, TableError, iter_curves, read_table, table_format
from service.errors import ErrorDetail, ServiceError
from service.schemas import LightCurveIn, RejectedCurve
from service.scoring import check_fits_model, to_light_curve

JSON_CURVES = TypeAdapter(list[LightCurveIn])
SNIFF_SUFFIXES = {b"PAR1": ".parquet", b"SIMPLE": ".fits", b"<?xml": ".xml", b"<VOTABLE": ".xml"}


@dataclass
class UploadedCurves:
    """The curves of an upload (validated against the model) and the objects rejected."""

    curves: list
    rejected: list[RejectedCurve]


def _suffix(filename: str | None, head: bytes) -> str:
    """The file type: from the name when it has a known suffix, else sniffed from the bytes."""
    name = PurePath(filename or "upload").name
    lowered = name.lower()
    if lowered.endswith(".json"):
        return ".json"
    try:
        table_format(name)
        suffixes = [s for s in PurePath(lowered).suffixes if s not in (".gz", ".bz2", ".xz")]
        return suffixes[-1] + (".gz" if lowered.endswith(".gz") else "")
    except TableError:
        pass
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return ".json"
    for magic, suffix in SNIFF_SUFFIXES.items():
        if stripped.startswith(magic):
            return suffix
    return ".csv"


def _stem(filename: str | None) -> str:
    stem = PurePath(filename or "upload").name
    for _ in range(3):
        stem = PurePath(stem).stem if "." in stem else stem
    return stem or "upload"


def _read_table_bytes(data: bytes, suffix: str, what: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory(prefix="lcvade-upload-") as tmp:
        path = Path(tmp) / f"{what}{suffix}"
        path.write_bytes(data)
        try:
            return read_table(path)
        except TableError as exc:
            raise ServiceError(
                422,
                "unreadable_table",
                f"the {what} file could not be read: {exc}",
                [ErrorDetail(field=what, message=str(exc))],
            ) from exc


def _json_items(data: bytes) -> list[LightCurveIn]:
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(
            422,
            "unreadable_table",
            f"the uploaded JSON is not valid ({exc})",
            [ErrorDetail(field="file", message=str(exc))],
        ) from exc
    if isinstance(raw, dict) and "light_curves" in raw:
        raw = raw["light_curves"]
    elif isinstance(raw, dict):
        raw = [raw]
    try:
        return JSON_CURVES.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        index = first["loc"][0] if first["loc"] and isinstance(first["loc"][0], int) else None
        field = str(first["loc"][1]) if len(first["loc"]) > 1 else None
        raise ServiceError(
            422,
            "invalid_light_curve",
            f"the uploaded JSON does not hold light curves: {loc}: {first['msg']}",
            [ErrorDetail(curve_index=index, field=field, message=first["msg"])],
        ) from exc


def _from_json(items: list[LightCurveIn], config: LCVaDEConfig) -> UploadedCurves:
    curves, rejected = [], []
    for index, item in enumerate(items):
        try:
            curves.append(to_light_curve(item, config))
        except LightCurveError as exc:
            name = item.id if item.id is not None else f"light_curves[{index}]"
            rejected.append(RejectedCurve(id=name, field=exc.field, reason=str(exc)))
    return UploadedCurves(curves, rejected)


def _from_tables(
    photometry: pd.DataFrame, objects: pd.DataFrame | None, name: str, config: LCVaDEConfig
) -> UploadedCurves:
    missing = [c for c in ("time", "mag", "mag_err") if c not in photometry.columns]
    if missing:
        message = (
            f"the light-curve table lacks {missing}; it needs columns time, mag, mag_err "
            f"(and optionally object_id, band), one row per observation; got "
            f"{[str(c) for c in photometry.columns]}"
        )
        raise ServiceError(
            422, "unreadable_table", message, [ErrorDetail(field="file", message=message)]
        )
    if "object_id" not in photometry.columns:  # one curve, named after the file
        photometry = photometry.assign(object_id=name)
    try:
        produced = list(iter_curves(photometry, objects, min_points=config.min_points))
    except TableError as exc:
        raise ServiceError(
            422, "unreadable_table", str(exc), [ErrorDetail(field="file", message=str(exc))]
        ) from exc
    curves, rejected = [], []
    for item in produced:
        if isinstance(item, Rejection):
            rejected.append(RejectedCurve(id=item.object_id, field=item.field, reason=item.reason))
            continue
        try:
            check_fits_model(item, config)
        except LightCurveError as exc:
            rejected.append(RejectedCurve(id=str(item.id), field=exc.field, reason=str(exc)))
            continue
        curves.append(item)
    return UploadedCurves(curves, rejected)


def read_upload(
    data: bytes,
    filename: str | None,
    objects_data: bytes | None,
    objects_filename: str | None,
    config: LCVaDEConfig,
) -> UploadedCurves:
    """Parse an upload into validated curves plus rejections (runs in a worker thread)."""
    if not data.strip():
        raise ServiceError(
            422,
            "empty_upload",
            "the uploaded file is empty",
            [ErrorDetail(field="file", message="empty")],
        )
    suffix = _suffix(filename, data[:64])
    if suffix == ".json":
        return _from_json(_json_items(data), config)
    photometry = _read_table_bytes(data, suffix, "file")
    objects = None
    if objects_data:
        objects = _read_table_bytes(
            objects_data, _suffix(objects_filename, objects_data[:64]), "objects"
        )
    return _from_tables(photometry, objects, _stem(filename), config)


def rejection_error(rejected: list[RejectedCurve]) -> ServiceError:
    """The 422 of an upload with unusable objects (``on_invalid=reject``)."""
    details = [
        ErrorDetail(curve_id=r.id, field=r.field, message=f"object {r.id!r}: {r.reason}")
        for r in rejected[:100]
    ]
    shown = "; ".join(d.message for d in details[:3])
    more = f" (and {len(rejected) - 3} more)" if len(rejected) > 3 else ""
    return ServiceError(
        422,
        "invalid_light_curve",
        f"{shown}{more}. Fix these objects or send on_invalid=skip to score the others.",
        details,
    )
