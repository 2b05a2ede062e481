"""Alert packets of ZTF and Rubin/LSST (Apache Avro container files) as photometry rows.

An alert carries the light curve of one object: the new detection and the object's recent
history.  Both surveys' schemas are read (the kind is told from the file's own schema):

* **ZTF**: ``objectId``; ``candidate`` (the new detection) and ``prv_candidates`` (history),
  each with ``jd``, ``fid``, ``magpsf``, ``sigmapsf`` and ``candid``.  Filter ids 1, 2, 3 are
  the bands ``g``, ``r``, ``i``; Julian dates become MJD.  History entries without ``magpsf``
  are non-detections (upper limits).
* **Rubin/LSST**: ``diaObject.diaObjectId`` (else ``diaSource.diaObjectId``); ``diaSource``
  and ``prvDiaSources``, each with ``diaSourceId``, ``midpointMjdTai``, ``band``, ``psfFlux``
  and ``psfFluxErr`` in nJy, converted to AB magnitudes by :func:`flux_to_ab_mag`.

Unusable points are kept as rows flagged with the reason (see
:mod:`training.photometry_rows`).  A path may also be a tar archive (``.tar``, ``.tar.gz``,
``.tgz``) of ``.avro`` files, as ZTF publishes its nightly alerts.  (Records are decoded whole:
resolving them against a reader schema pruned to the fields above is slower in fastavro than
decoding everything, image cutouts included.)
"""

from __future__ import annotations

import math
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import fastavro
import numpy as np
import pandas as pd

from training.avro_limits import AvroLimitError, check_avro_blocks
from training.photometry_rows import (
    SKIP_BAD_FLUX_ERR,
    SKIP_BAD_MAG_ERR,
    SKIP_NON_DETECTION,
    SKIP_NON_FINITE_FLUX,
    SKIP_NON_FINITE_MAG,
    SKIP_NON_POSITIVE_FLUX,
    photometry_frame,
)

AlertKind = Literal["ztf", "lsst"]

ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
LSST_BANDS = ("u", "g", "r", "i", "z", "y")
NJY_AB_ZERO_POINT = 31.4
MJD_OFFSET = 2400000.5
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class AlertError(ValueError):
    """An Avro file is not a ZTF or Rubin/LSST alert file; the message says why."""


def flux_to_ab_mag(flux: np.ndarray, flux_err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AB magnitude and its error from a flux in nJy: m = -2.5 log10(f) + 31.4.

    The error is first-order propagation, sigma_m = 2.5 / ln(10) * sigma_f / f.  Non-positive
    fluxes have no magnitude and give NaN.
    """
    f = np.asarray(flux, dtype=np.float64)
    e = np.asarray(flux_err, dtype=np.float64)
    positive = f > 0
    safe = np.where(positive, f, 1.0)
    mag = np.where(positive, -2.5 * np.log10(safe) + NJY_AB_ZERO_POINT, np.nan)
    err = np.where(positive, 2.5 / math.log(10.0) * e / safe, np.nan)
    return mag, err


def is_alert_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an Avro file or a tar archive of them (by its name)."""
    name = Path(path).name.lower()
    return name.endswith(".avro") or name.endswith(TAR_SUFFIXES)


def alert_kind(schema: dict[str, Any]) -> AlertKind:
    """``"ztf"`` or ``"lsst"`` from the top-level field names of an alert schema."""
    names = {f["name"] for f in schema.get("fields", [])} if isinstance(schema, dict) else set()
    if {"objectId", "candidate"} <= names:
        return "ztf"
    if "diaSource" in names:
        return "lsst"
    raise AlertError(
        "not an alert schema: a ZTF alert has fields objectId and candidate, a Rubin/LSST "
        f"alert has diaSource (found {sorted(names)})"
    )


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _ztf_frame(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    ids, jd, fid, mag, err, candid = [], [], [], [], [], []
    for alert in alerts:
        entries = [alert["candidate"], *(alert.get("prv_candidates") or [])]
        for entry in entries:
            ids.append(str(alert["objectId"]))
            jd.append(_number(entry.get("jd")))
            fid.append(entry.get("fid"))
            mag.append(entry.get("magpsf"))
            err.append(entry.get("sigmapsf"))
            candid.append(entry.get("candid"))
    detected = np.array([m is not None for m in mag], dtype=bool)
    mag_a = np.array([_number(m) for m in mag])
    err_a = np.array([_number(e) for e in err])
    skip = np.full(len(ids), None, dtype=object)
    bad_err = ~(np.isfinite(err_a) & (err_a > 0))
    skip[bad_err] = SKIP_BAD_MAG_ERR
    skip[~np.isfinite(mag_a)] = SKIP_NON_FINITE_MAG
    skip[~detected] = SKIP_NON_DETECTION
    bands = [ZTF_BANDS.get(f, f"fid{f}") if f is not None else None for f in fid]
    return photometry_frame(
        ids, np.asarray(jd) - MJD_OFFSET, mag_a, err_a, bands, source_id=candid, skip=skip
    )


def _lsst_object_id(alert: dict[str, Any]) -> str:
    obj = alert.get("diaObject")
    if obj is not None and obj.get("diaObjectId") is not None:
        return str(obj["diaObjectId"])
    source_object = alert["diaSource"].get("diaObjectId")
    if source_object is not None:
        return str(source_object)
    return f"alert-{alert.get('alertId')}"


def _lsst_frame(alerts: list[dict[str, Any]]) -> pd.DataFrame:
    ids, mjd, band, flux, flux_err, source = [], [], [], [], [], []
    for alert in alerts:
        object_id = _lsst_object_id(alert)
        for entry in [alert["diaSource"], *(alert.get("prvDiaSources") or [])]:
            ids.append(object_id)
            mjd.append(_number(entry.get("midpointMjdTai")))
            band.append(entry.get("band"))
            flux.append(_number(entry.get("psfFlux")))
            flux_err.append(_number(entry.get("psfFluxErr")))
            source.append(entry.get("diaSourceId"))
    flux_a, err_a = np.asarray(flux, dtype=float), np.asarray(flux_err, dtype=float)
    mag, mag_err = flux_to_ab_mag(flux_a, err_a)
    skip = np.full(len(ids), None, dtype=object)
    skip[flux_a <= 0] = SKIP_NON_POSITIVE_FLUX
    skip[~(np.isfinite(err_a) & (err_a > 0))] = SKIP_BAD_FLUX_ERR
    skip[~np.isfinite(flux_a)] = SKIP_NON_FINITE_FLUX
    return photometry_frame(ids, mjd, mag, mag_err, band, source_id=source, skip=skip)


def alerts_frame(alerts: list[dict[str, Any]], kind: AlertKind) -> pd.DataFrame:
    """Photometry rows (see :mod:`training.photometry_rows`) of decoded alert records."""
    if not alerts:
        return photometry_frame([], [], [], [])
    return _ztf_frame(alerts) if kind == "ztf" else _lsst_frame(alerts)


def _read_stream(stream: IO[bytes], name: str, batch: int) -> Iterator[pd.DataFrame]:
    try:
        check_avro_blocks(stream, name)
        stream.seek(0)
        reader = fastavro.reader(stream)
        kind = alert_kind(reader.writer_schema)
    except AlertError as exc:
        raise AlertError(f"{name}: {exc}") from exc
    except AvroLimitError as exc:
        raise AlertError(str(exc)) from exc
    except (ValueError, EOFError, TypeError) as exc:
        raise AlertError(f"{name} is not an Avro container file ({exc})") from exc
    alerts: list[dict[str, Any]] = []
    try:
        for record in reader:
            alerts.append(record)
            if len(alerts) >= batch:
                yield alerts_frame(alerts, kind)
                alerts = []
    except (ValueError, EOFError, KeyError) as exc:
        raise AlertError(f"{name}: a corrupt or truncated alert record ({exc})") from exc
    if alerts:
        yield alerts_frame(alerts, kind)


def read_alerts(path: str | os.PathLike[str], batch: int = 5000) -> Iterator[pd.DataFrame]:
    """Photometry frames of the alerts in an Avro file or tar archive, ``batch`` alerts each."""
    p = Path(path)
    if p.name.lower().endswith(TAR_SUFFIXES):
        with tarfile.open(p, mode="r:*") as archive:
            for member in archive:
                if member.isfile() and member.name.lower().endswith(".avro"):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        with handle:
                            yield from _read_stream(handle, f"{p.name}:{member.name}", batch)
        return
    with p.open("rb") as handle:
        yield from _read_stream(handle, p.name, batch)


def count_alerts(path: str | os.PathLike[str]) -> int:
    """The number of alerts in an Avro file (from its block headers) or tar archive."""
    p = Path(path)
    if p.name.lower().endswith(TAR_SUFFIXES):
        with tarfile.open(p, mode="r:*") as archive:
            return sum(1 for m in archive if m.isfile() and m.name.lower().endswith(".avro"))
    try:
        with p.open("rb") as handle:
            check_avro_blocks(handle, p.name)
            handle.seek(0)
            return sum(block.num_records for block in fastavro.block_reader(handle))
    except (ValueError, EOFError) as exc:
        raise AlertError(f"{p.name} is not an Avro container file ({exc})") from exc
