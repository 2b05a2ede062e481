"""Alert packets of ZTF and Rubin/LSST as photometry rows: Avro files and the brokers' Parquet.

An alert carries the light curve of one object: the new detection and the object's recent
history.  What is read (the survey is told from the file's own schema):

* Apache Avro container files of ZTF or Rubin/LSST alerts (``.avro``), or a tar archive
  (``.tar``, ``.tar.gz``, ``.tgz``) of them, as ZTF publishes its nightly alerts;
* ZTF alerts in the Parquet layout of the brokers (Fink): a ``.parquet`` file with the
  columns ``objectId``, ``candidate`` (a struct) and ``prv_candidates`` (a list of structs);
  the image cutouts are not read.

How the entries become rows -- apparent magnitudes for objects on a reference source,
difference magnitudes for transients, quality cuts -- is
:mod:`training.scoring.alert_rows`, set by :class:`training.scoring.alert_quality.AlertCuts`.
Unusable points are kept as rows flagged with the reason (see
:mod:`training.scoring.photometry_rows`).  (Avro records are decoded whole: resolving them
against a reader schema pruned to the fields used is slower in fastavro than decoding
everything, image cutouts included.)
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

import fastavro
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models.errors import LCVaDEError
from training.scoring.alert_photometry import flux_to_ab_mag
from training.scoring.alert_quality import AlertCuts
from training.scoring.alert_rows import ZTF_FIELDS, rubin_frame, ztf_columns, ztf_frame
from training.scoring.avro_limits import AvroLimitError, check_avro_blocks
from training.scoring.photometry_rows import photometry_frame

__all__ = ["AlertError", "AlertKind", "flux_to_ab_mag", "read_alerts", "count_alerts"]

AlertKind = Literal["ztf", "lsst"]

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
PARQUET_SUFFIXES = (".parquet", ".pq")
ZTF_PARQUET_COLUMNS = ("objectId", "candidate", "prv_candidates")


class AlertError(LCVaDEError):
    """A file is not a ZTF or Rubin/LSST alert file; the message says why."""


def is_alert_path(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an Avro file or a tar archive of them (by its name), or is a
    Parquet file of ZTF alerts in the brokers' layout (by its schema)."""
    name = Path(path).name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return is_alert_parquet(path)
    return name.endswith(".avro") or name.endswith(TAR_SUFFIXES)


def is_alert_parquet(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a Parquet file whose columns are those of ZTF alerts."""
    p = Path(path)
    if not p.is_file() or not p.name.lower().endswith(PARQUET_SUFFIXES):
        return False
    try:
        names = set(pq.read_schema(p).names)
    except (OSError, pa.ArrowException):
        return False
    return {"objectId", "candidate"} <= names


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


def alerts_frame(
    alerts: list[dict[str, Any]], kind: AlertKind, cuts: AlertCuts | None = None
) -> pd.DataFrame:
    """Photometry rows (see :mod:`training.scoring.photometry_rows`) of decoded alert records."""
    cuts = cuts or AlertCuts()
    if not alerts:
        return photometry_frame([], [], [], [])
    if kind == "lsst":
        return rubin_frame(alerts, cuts)
    ids, columns = ztf_columns(alerts)
    detected = np.array([m is not None for m in columns["magpsf"]], dtype=bool)
    return ztf_frame(ids, columns, detected, cuts)


def _arrow_ztf_frame(batch: pa.RecordBatch, cuts: AlertCuts) -> pd.DataFrame:
    """Photometry rows of a batch of ZTF alerts in the Parquet layout, column by column."""
    candidate = batch.column("candidate")
    names = batch.schema.names
    history = batch.column("prv_candidates") if "prv_candidates" in names else None
    n = len(batch)
    alert = np.arange(n)
    parts: list[pa.StructArray] = [candidate]
    owners = [alert]
    if history is not None and n:
        parts.append(history.flatten())
        owners.append(pc.list_parent_indices(history).to_numpy())
    # the order of training.scoring.alert_rows.ztf_columns: the candidates, then the histories
    owner = np.concatenate(owners)
    object_ids = batch.column("objectId").to_numpy(zero_copy_only=False).astype(str)[owner]
    columns: dict[str, Any] = {}
    for name in ZTF_FIELDS:
        present = [part for part in parts if part.type.get_field_index(name) >= 0]
        if not present:
            continue  # a field this layout lacks: missing everywhere
        kind = present[0].type.field(name).type
        values = pa.concat_arrays(
            [
                part.field(name).cast(kind)
                if part.type.get_field_index(name) >= 0
                else pa.nulls(len(part), kind)  # e.g. drb, in candidates but not history
                for part in parts
            ]
        )
        if name == "candid":
            filled = values.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
            null = values.is_null().to_numpy(zero_copy_only=False)
            columns[name] = pd.arrays.IntegerArray(filled, null)
        elif name == "isdiffpos":
            columns[name] = values.to_numpy(zero_copy_only=False)
        else:
            columns[name] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    detected = np.ones(len(owner), dtype=bool)
    if "magpsf" in columns:
        magpsf = pa.concat_arrays([p.field("magpsf") for p in parts])
        detected = ~magpsf.is_null().to_numpy(zero_copy_only=False)
    missing = [f for f in ("jd", "fid", "magpsf", "sigmapsf", "isdiffpos") if f not in columns]
    if missing:
        raise AlertError(f"the alerts' candidate structs lack the field(s) {missing}")
    return ztf_frame(object_ids, columns, detected, cuts)


def _read_parquet(path: Path, batch: int, cuts: AlertCuts) -> Iterator[pd.DataFrame]:
    try:
        handle = pq.ParquetFile(path)
        columns = [c for c in ZTF_PARQUET_COLUMNS if c in handle.schema_arrow.names]
        batches = handle.iter_batches(batch_size=batch, columns=columns)
        for record_batch in batches:
            yield _arrow_ztf_frame(record_batch, cuts)
    except (OSError, pa.ArrowException) as exc:
        raise AlertError(f"{path.name}: cannot read the alerts ({exc})") from exc


def _read_stream(
    stream: IO[bytes], name: str, batch: int, cuts: AlertCuts
) -> Iterator[pd.DataFrame]:
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
                yield alerts_frame(alerts, kind, cuts)
                alerts = []
    except (ValueError, EOFError, KeyError) as exc:
        raise AlertError(f"{name}: a corrupt or truncated alert record ({exc})") from exc
    if alerts:
        yield alerts_frame(alerts, kind, cuts)


def read_alerts(
    path: str | os.PathLike[str], batch: int = 5000, cuts: AlertCuts | None = None
) -> Iterator[pd.DataFrame]:
    """Photometry frames of the alerts in an Avro file, a tar archive of them or a Parquet
    file of ZTF alerts, ``batch`` alerts each, with the photometry and cuts of ``cuts``."""
    cuts = cuts or AlertCuts()
    p = Path(path)
    if p.name.lower().endswith(PARQUET_SUFFIXES):
        yield from _read_parquet(p, batch, cuts)
        return
    if p.name.lower().endswith(TAR_SUFFIXES):
        with tarfile.open(p, mode="r:*") as archive:
            for member in archive:
                if member.isfile() and member.name.lower().endswith(".avro"):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        with handle:
                            member_name = f"{p.name}:{member.name}"
                            yield from _read_stream(handle, member_name, batch, cuts)
        return
    with p.open("rb") as handle:
        yield from _read_stream(handle, p.name, batch, cuts)


def count_alerts(path: str | os.PathLike[str]) -> int:
    """The number of alerts in an Avro file (from its block headers), a tar archive (its
    members) or a Parquet file of alerts (its footer)."""
    p = Path(path)
    if p.name.lower().endswith(PARQUET_SUFFIXES):
        return pq.ParquetFile(p).metadata.num_rows
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
