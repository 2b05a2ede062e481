"""Uploaded files to light curves: long-format tables (CSV, Parquet, VOTable, FITS, ECSV) or JSON.

A table has one row per observation, ``object_id, time, mag, mag_err[, band]`` (the aliases of
:mod:`lcvade.tables` are accepted); a table without an object column is one curve named after
the file.  An optional object table gives periods.  JSON is a score request
(``{"light_curves": [...]}``), a list of curves, or one curve.  Every object that cannot be
used becomes a rejection naming the object and the field, never a silent drop.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np
import pandas as pd
from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import LightCurveError
from lcvade.process_memory import release_memory
from lcvade.table_limits import TableLimits, expand_compressed
from lcvade.tables import (
    ALIASES,
    Rejection,
    TableError,
    TableLimitError,
    iter_curves,
    read_table,
    table_format,
)
from service.errors import ErrorDetail, ServiceError, too_many_curves, too_many_points
from service.schemas import LightCurveIn, RejectedCurve
from service.scoring import check_fits_model, check_sizes, to_light_curve
from service.settings import ServiceSettings

JSON_CURVES = TypeAdapter(list[LightCurveIn])
SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
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
        compressions = (".gz", ".bz2", ".xz")
        suffixes = PurePath(lowered).suffixes
        kept = [s for s in suffixes if s not in compressions]
        return kept[-1] + (suffixes[-1] if suffixes[-1] in compressions else "")
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


def upload_limits(settings: ServiceSettings) -> TableLimits:
    """The row and decompressed-size limits of an uploaded table."""
    return TableLimits(
        max_rows=settings.max_upload_rows,
        max_bytes=settings.max_upload_expanded_bytes,
        max_ratio=settings.max_upload_compression_ratio,
        rows_setting="LCVADE_MAX_UPLOAD_ROWS",
        bytes_setting="LCVADE_MAX_UPLOAD_EXPANDED_BYTES",
        ratio_setting="LCVADE_MAX_UPLOAD_COMPRESSION_RATIO",
    )


def _unreadable(what: str, exc: Exception) -> ServiceError:
    status = 413 if isinstance(exc, TableLimitError) else 422
    code = "upload_too_large" if status == 413 else "unreadable_table"
    label = "uploaded file" if what == "file" else "uploaded object table"
    return ServiceError(
        status,
        code,
        f"the {label} could not be read: {exc}",
        [ErrorDetail(field=what, message=str(exc))],
    )


def _read_table_bytes(
    data: bytes, filename: str | None, suffix: str, what: str, limits: TableLimits
) -> pd.DataFrame:
    """The uploaded table, checked against ``limits`` before its reader expands anything."""
    with tempfile.TemporaryDirectory(prefix="lcvade-upload-") as tmp:
        path = Path(tmp) / f"{SAFE_NAME.sub('_', _stem(filename))[:80] or what}{suffix}"
        path.write_bytes(data)
        try:
            path = expand_compressed(path, limits)
            return read_table(path, limits=limits, only=list(ALIASES))
        except TableError as exc:
            raise _unreadable(what, exc) from exc


def _json_items(data: bytes, limits: TableLimits) -> list[LightCurveIn]:
    """Curves of a JSON upload, parsed by pydantic's own parser (nesting depth bounded)."""
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        raise _unreadable(
            "file",
            TableLimitError(f"it has {len(data)} bytes; at most {limits.max_bytes} are accepted"),
        )
    try:
        raw = from_json(data)
    except ValueError as exc:
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


def _check_table_sizes(photometry: pd.DataFrame, settings: ServiceSettings) -> None:
    """413 when the table holds more objects, or an object more rows, than a request may."""
    codes, uniques = pd.factorize(photometry["object_id"].astype(str), sort=False)
    if len(uniques) > settings.max_curves_per_request:
        raise too_many_curves(
            len(uniques), settings.max_curves_per_request, "file", "the uploaded table"
        )
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    if counts.size and counts.max() > settings.max_points_per_curve:
        k = int(np.argmax(counts))
        raise too_many_points(int(counts[k]), settings.max_points_per_curve, None, str(uniques[k]))


def _from_tables(
    photometry: pd.DataFrame,
    objects: pd.DataFrame | None,
    name: str,
    config: LCVaDEConfig,
    settings: ServiceSettings,
) -> UploadedCurves:
    missing = [c for c in ("time", "mag", "mag_err") if c not in photometry.columns]
    if missing:
        message = (
            f"the light-curve table lacks {missing}; it needs columns time, mag, mag_err "
            f"(and optionally object_id, band), one row per observation; got "
            f"{[str(c) for c in photometry.attrs.get('columns_in_file', photometry.columns)][:20]}"
        )
        raise ServiceError(
            422, "unreadable_table", message, [ErrorDetail(field="file", message=message)]
        )
    if "object_id" not in photometry.columns:  # one curve, named after the file
        photometry = photometry.assign(object_id=name)
    _check_table_sizes(photometry, settings)
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
    settings: ServiceSettings,
) -> UploadedCurves:
    """Parse an upload into validated curves plus rejections (runs in a worker thread).

    Every limit of a JSON request holds for an upload too (curves per request, points per
    curve), and the file is checked against :func:`upload_limits` before it is expanded.
    """
    if not data.strip():
        raise ServiceError(
            422,
            "empty_upload",
            "the uploaded file is empty",
            [ErrorDetail(field="file", message="empty")],
        )
    try:
        limits = upload_limits(settings)
        suffix = _suffix(filename, data[:64])
        if suffix == ".json":
            items = _json_items(data, limits)
            check_sizes(items, settings)
            return _from_json(items, config)
        photometry = _read_table_bytes(data, filename, suffix, "file", limits)
        objects = None
        if objects_data:
            suffix = _suffix(objects_filename, objects_data[:64])
            objects = _read_table_bytes(objects_data, objects_filename, suffix, "objects", limits)
        return _from_tables(photometry, objects, _stem(filename), config, settings)
    finally:
        release_memory()  # an upload's buffers are freed on this worker thread's arena


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
