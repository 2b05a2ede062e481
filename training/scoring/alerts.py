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
:mod:`training.scoring.photometry_rows`).

Avro records are decoded against a reader schema projected from the file's own schema onto
the fields the rows are made of (:func:`training.scoring.alert_rows.alert_fields`): the
decoder skips the rest -- image cutouts, and the hundred-odd other fields of every ZTF
candidate or Rubin diaSource -- rather than building Python objects of them.  The decoder is
``cavro`` when it is installed (the ``fast`` extra; it decodes three to five times faster)
and ``fastavro`` otherwise, or for a codec cavro lacks; both give the same records.  Every
file is first checked by :func:`training.scoring.avro_limits.check_avro_blocks`, whichever
decoder reads it.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import fastavro
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models.errors import LCVaDEError
from training.scoring.alert_photometry import flux_to_ab_mag
from training.scoring.alert_quality import AlertCuts
from training.scoring.alert_rows import (
    ZTF_FIELDS,
    alert_fields,
    rubin_frame,
    ztf_columns,
    ztf_frame,
)
from training.scoring.avro_limits import (
    DECOMPRESSORS,
    AvroLimitError,
    check_avro_blocks,
    iter_blocks,
)
from training.scoring.photometry_rows import photometry_frame

try:
    import cavro
except ImportError:  # the optional ``fast`` extra
    cavro = None

__all__ = ["AlertError", "AlertKind", "flux_to_ab_mag", "read_alerts", "count_alerts"]

AlertKind = Literal["ztf", "lsst"]
AvroDecoder = Literal["cavro", "fastavro"]

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
    ids, columns, detected = ztf_columns(alerts)
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


def default_decoder() -> AvroDecoder:
    """``cavro`` when it is installed, else ``fastavro``."""
    return "fastavro" if cavro is None else "cavro"


NAMED = ("record", "error", "enum", "fixed")


def _named_types(node: Any, found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every named type defined in a parsed schema (full names), by name."""
    if isinstance(node, list):
        for branch in node:
            _named_types(branch, found)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in NAMED:
            found.setdefault(node["name"], node)
            for f in node.get("fields", ()):
                _named_types(f["type"], found)
        elif kind == "array":
            _named_types(node["items"], found)
        elif kind == "map":
            _named_types(node["values"], found)
        elif isinstance(kind, (dict, list)):
            _named_types(kind, found)
    return found


def _resolve(node: Any, types: Mapping[str, dict[str, Any]]) -> Any:
    return types.get(node, node) if isinstance(node, str) else node


def _needed_fields(node, fields, types, needs) -> None:
    """Record in ``needs`` (record name -> field names, None: all) what is read of the records
    reached from ``node`` when the first of them is read for ``fields``."""
    node = _resolve(node, types)
    if isinstance(node, list):
        for branch in node:
            _needed_fields(branch, fields, types, needs)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind in ("record", "error"):
        name = node["name"]
        before = needs.get(name, frozenset())
        merged = None if fields is None or before is None else before | frozenset(fields)
        if name in needs and merged == before:
            return
        needs[name] = merged
        for f in node["fields"]:
            if merged is None or f["name"] in merged:
                _needed_fields(f["type"], None, types, needs)
    elif kind == "array":
        _needed_fields(node["items"], fields, types, needs)
    elif kind == "map":
        _needed_fields(node["values"], fields, types, needs)
    elif isinstance(kind, (dict, list)):
        _needed_fields(kind, fields, types, needs)


def _projected(node, types, needs, emitted: set[str]) -> Any:
    """``node`` with its records cut to ``needs``; a named type is defined where it is first
    met and named after that."""
    if isinstance(node, str) and node not in types:
        return node  # a primitive type
    node = _resolve(node, types)
    if isinstance(node, list):
        return [_projected(branch, types, needs, emitted) for branch in node]
    kind = node.get("type")
    if kind in NAMED:
        if node["name"] in emitted:
            return node["name"]
        emitted.add(node["name"])
        if kind in ("enum", "fixed"):
            return {k: v for k, v in node.items() if not k.startswith("__")}
        keep = needs[node["name"]]
        return {
            "type": "record",
            "name": node["name"],
            "fields": [
                {"name": f["name"], "type": _projected(f["type"], types, needs, emitted)}
                for f in node["fields"]
                if keep is None or f["name"] in keep
            ],
        }
    if kind == "array":
        return {"type": "array", "items": _projected(node["items"], types, needs, emitted)}
    if kind == "map":
        return {"type": "map", "values": _projected(node["values"], types, needs, emitted)}
    if isinstance(kind, (dict, list)):
        return _projected(kind, types, needs, emitted)
    return {k: v for k, v in node.items() if not k.startswith("__")}  # e.g. a logical type


def project_schema(
    writer: dict[str, Any], fields: Mapping[str, Iterable[str] | None]
) -> dict[str, Any]:
    """The reader schema that reads, of records under the parsed ``writer`` schema, only the
    top-level ``fields`` and, of the records below each, the fields it names (None: all).

    Avro schema resolution (specification, "Schema Resolution") skips a writer's field that
    the reader's record lacks, so decoding against this schema gives the records with these
    fields only; the fields keep the writer's types and order.  Defaults are left out: every
    field read is one the writer wrote.
    """
    types = _named_types(writer, {})
    needs: dict[str, frozenset[str] | None] = {writer["name"]: frozenset(fields)}
    for f in writer["fields"]:
        if f["name"] in fields:
            inner = fields[f["name"]]
            _needed_fields(f["type"], None if inner is None else tuple(inner), types, needs)
    return _projected(writer, types, needs, set())


class _Plan(NamedTuple):
    """How the records of one writer schema are read: the alert kind and the reader schema,
    parsed for the decoder (for cavro: resolved against the writer schema)."""

    kind: AlertKind
    reader: Any


_PLANS: dict[tuple[bytes, str, tuple[str, ...]], _Plan] = {}
CAVRO_OPTIONS = (
    None
    if cavro is None
    else cavro.DEFAULT_OPTIONS.replace(
        record_decodes_to_dict=True, allow_union_default_any_member=True
    )
)


def _plan(stream: IO[bytes], schema_json: bytes, decoder: AvroDecoder, cuts: AlertCuts) -> _Plan:
    """The kind and reader schema of the stream's writer schema (kept for the next file of
    the same schema, as in a tar archive of one alert per file)."""
    key = (schema_json, decoder, cuts.pixel_flags)
    if key not in _PLANS:
        writer = fastavro.reader(stream).writer_schema
        kind = alert_kind(writer)
        reader = project_schema(writer, alert_fields(kind, cuts))
        if decoder == "cavro":
            written = cavro.Schema(schema_json.decode(), options=CAVRO_OPTIONS)
            parsed = cavro.Schema(reader, options=CAVRO_OPTIONS).reader_for_writer(written)
        else:
            parsed = fastavro.parse_schema(reader)
        if len(_PLANS) >= 64:
            _PLANS.clear()
        _PLANS[key] = _Plan(kind, parsed)
    return _PLANS[key]


def _records(stream: IO[bytes], plan: _Plan, decoder: AvroDecoder) -> Iterator[dict[str, Any]]:
    if decoder == "cavro":
        return _cavro_records(stream, plan.reader)
    return iter(fastavro.reader(stream, reader_schema=plan.reader))


def _cavro_records(stream: IO[bytes], resolved: Any) -> Iterator[dict[str, Any]]:
    """The records of the container, block by block, with the schema parsed once per writer
    schema (cavro's own container reader parses it again for every file)."""
    for count, data in iter_blocks(stream):
        block = cavro.MemoryReader(data)
        for _ in range(count):
            yield resolved.binary_read(block)


CORRUPT = (ValueError, EOFError, KeyError, IndexError, TypeError, OverflowError)
if cavro is not None:
    CORRUPT = (*CORRUPT, cavro.CavroException)


def avro_records(
    stream: IO[bytes], name: str, decoder: AvroDecoder, cuts: AlertCuts
) -> tuple[AlertKind, bytes, Iterator[dict[str, Any]]]:
    """The alert kind and the writer schema (JSON) of the Avro container ``stream`` (called
    ``name`` in messages), and an iterator of its records, checked by
    :func:`check_avro_blocks` and decoded by ``decoder`` with the fields the rows of ``cuts``
    are made of (see the module docstring)."""
    try:
        metadata = check_avro_blocks(stream, name)
        if decoder == "cavro" and metadata.get(b"avro.codec", b"null") not in DECOMPRESSORS:
            decoder = "fastavro"  # a codec read by fastavro only (snappy, zstandard)
        stream.seek(0)
        schema = metadata.get(b"avro.schema", b"")
        plan = _plan(stream, schema, decoder, cuts)
        stream.seek(0)
        return plan.kind, schema, _records(stream, plan, decoder)
    except AlertError as exc:
        raise AlertError(f"{name}: {exc}") from exc
    except AvroLimitError as exc:
        raise AlertError(str(exc)) from exc
    except CORRUPT as exc:
        raise AlertError(f"{name} is not an Avro container file ({exc})") from exc


def _checked(records: Iterator[dict[str, Any]], name: str) -> Iterator[dict[str, Any]]:
    """``records`` (decoded as they are taken); a decoding error is an AlertError naming
    ``name``."""
    try:
        yield from records
    except CORRUPT as exc:
        raise AlertError(f"{name}: a corrupt or truncated alert record ({exc})") from exc


def _frame(alerts: list[dict[str, Any]], kind: AlertKind, cuts: AlertCuts, name: str):
    try:
        return alerts_frame(alerts, kind, cuts)
    except CORRUPT as exc:  # e.g. a field of an unexpected type
        raise AlertError(f"{name}: a corrupt or truncated alert record ({exc})") from exc


def _frames(
    streams: Iterable[tuple[str, AlertKind, bytes, Iterator[dict[str, Any]]]],
    batch: int,
    cuts: AlertCuts,
) -> Iterator[pd.DataFrame]:
    """Frames of ``batch`` alerts from the records of Avro streams read in turn, each stream
    (name, kind, writer schema, records) read to its end before the next is asked for; the
    alerts of consecutive streams of one schema share frames (a tar archive holds a file per
    alert)."""
    pending: list[dict[str, Any]] = []
    kind: AlertKind = "ztf"
    schema = b""
    name = ""
    for stream_name, stream_kind, stream_schema, records in streams:
        if pending and stream_schema != schema:  # records of one shape in a frame
            yield _frame(pending, kind, cuts, name)
            pending = []
        kind, schema, name = stream_kind, stream_schema, stream_name
        checked = _checked(records, stream_name)
        while True:
            pending.extend(islice(checked, batch - len(pending)))
            if len(pending) < batch:
                break  # the stream is read
            yield _frame(pending, kind, cuts, name)
            pending = []
    if pending:
        yield _frame(pending, kind, cuts, name)


MEMBER_IN_MEMORY_BYTES = 16 * 1024 * 1024


def _tar_streams(path: Path, decoder: AvroDecoder, cuts: AlertCuts):
    """The Avro files of a tar archive as (name, kind, writer schema, records), each open
    until the next is asked for; a file of at most :data:`MEMBER_IN_MEMORY_BYTES` is read
    into memory first (the checks read it in small pieces)."""
    with tarfile.open(path, mode="r:*") as archive:
        for member in archive:
            if member.isfile() and member.name.lower().endswith(".avro"):
                handle = archive.extractfile(member)
                if handle is not None:
                    with handle:
                        name = f"{path.name}:{member.name}"
                        if member.size <= MEMBER_IN_MEMORY_BYTES:  # one alert or a few
                            handle = io.BytesIO(handle.read())
                        yield (name, *avro_records(handle, name, decoder, cuts))


def read_alerts(
    path: str | os.PathLike[str],
    batch: int = 5000,
    cuts: AlertCuts | None = None,
    decoder: AvroDecoder | None = None,
) -> Iterator[pd.DataFrame]:
    """Photometry frames of the alerts in an Avro file, a tar archive of them or a Parquet
    file of ZTF alerts, ``batch`` alerts each, with the photometry and cuts of ``cuts``;
    Avro is decoded by ``decoder`` (default: :func:`default_decoder`)."""
    cuts = cuts or AlertCuts()
    decoder = decoder or default_decoder()
    if decoder not in ("cavro", "fastavro") or (decoder == "cavro" and cavro is None):
        raise AlertError(
            f"decoder {decoder!r}: use 'fastavro', or 'cavro' once it is installed "
            "(pip install 'lcvade[fast]')"
        )
    p = Path(path)
    if p.name.lower().endswith(PARQUET_SUFFIXES):
        yield from _read_parquet(p, batch, cuts)
        return
    if p.name.lower().endswith(TAR_SUFFIXES):
        yield from _frames(_tar_streams(p, decoder, cuts), batch, cuts)
        return
    with p.open("rb") as handle:
        yield from _frames([(p.name, *avro_records(handle, p.name, decoder, cuts))], batch, cuts)


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
