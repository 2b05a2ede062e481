"""Reading light-curve tables: long-format photometry plus an optional object table.

The photometry table has one row per observation, ``object_id, time, mag, mag_err[, band]``;
the object table one row per object, ``object_id[, label][, period]``.  Files may be CSV (also
``.csv.gz``), Parquet (a single file or a directory of part files), or anything astropy's
unified table reader understands (VOTable ``.xml``/``.vot``, FITS ``.fits``/``.fit``, ECSV
``.ecsv``).  A few common column spellings are accepted (``mjd``/``jd`` for ``time``,
``magerr``/``e_mag`` for ``mag_err``, ``filter``/``passband`` for ``band``, ``objectId``/``id``
for ``object_id``).

Grouping a table into :class:`~lcvade.lightcurve.LightCurve` objects never drops an object
silently: an object that fails validation is returned as a rejection with its reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lcvade.lightcurve import DEFAULT_MIN_POINTS, LightCurve, LightCurveError
from models.errors import LCVaDEError

if TYPE_CHECKING:
    from lcvade.table_limits import TableLimits

#: The columns every long-format photometry table needs (``band`` is optional).
LONG_FORMAT_COLUMNS = ("object_id", "time", "mag", "mag_err")
ALIASES = {
    "object_id": ("object_id", "objectid", "oid", "id", "source_id", "objid", "name"),
    "time": ("time", "mjd", "jd", "hjd", "bjd", "t"),
    "mag": ("mag", "magnitude", "magpsf"),
    "mag_err": ("mag_err", "magerr", "mag_error", "e_mag", "err", "sigmapsf", "error"),
    "band": ("band", "filter", "passband", "fid", "filtername"),
    "label": ("label", "class", "type", "class_name"),
    "period": ("period", "p", "period_days"),
}
ASTROPY_FORMATS = {
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".fits": "fits",
    ".fit": "fits",
    ".fts": "fits",
    ".ecsv": "ascii.ecsv",
}


class TableError(LCVaDEError):
    """A table cannot be read or lacks what is needed; the message says what to fix."""


class TableLimitError(TableError):
    """A table is larger than a limit allows (rows, decompressed bytes); the message names
    the limit and how to raise it."""


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zip") and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def table_format(path: str | os.PathLike[str]) -> str:
    """``csv``, ``parquet`` or an astropy format name, from the file name."""
    p = Path(path)
    if p.is_dir():
        return "parquet"
    suffix = _suffix(p)
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in ASTROPY_FORMATS:
        return ASTROPY_FORMATS[suffix]
    raise TableError(
        f"cannot tell the format of {p.name!r}: use .csv, .parquet (or a directory of "
        "Parquet files), .xml/.vot (VOTable), .fits or .ecsv"
    )


def read_table(
    path: str | os.PathLike[str],
    columns: list[str] | None = None,
    *,
    limits: TableLimits | None = None,
    only: list[str] | None = None,
) -> pd.DataFrame:
    """Read a table file into a DataFrame with canonical column names (see module docs).

    The file is first checked by :func:`lcvade.table_limits.check_table_file` (with
    ``limits``, or only structurally); ``only``, if given, names the canonical columns to load
    from CSV and Parquet files (a column under any of its aliases).
    """
    from lcvade.table_limits import TableLimits, check_table_file

    p = Path(path)
    if not p.exists():
        raise TableError(f"{p} does not exist")
    fmt = table_format(p)
    check_table_file(p, limits or TableLimits())
    try:
        in_file: list[str] | None = None
        if fmt == "csv":
            sep = "\t" if _suffix(p) == ".tsv" else ","
            usecols = None if only is None else (lambda name: _is_alias_of(name, only))
            if only is not None:
                in_file = [str(c) for c in pd.read_csv(p, sep=sep, nrows=0).columns]
            frame = pd.read_csv(p, sep=sep, usecols=usecols)
        elif fmt == "parquet" and limits is not None and not p.is_dir():
            from lcvade.table_limits import read_parquet_bounded

            in_file = _parquet_dataset(p).schema.names
            names = [n for n in in_file if only is None or _is_alias_of(n, only)]
            frame = read_parquet_bounded(p, names, limits)
        elif fmt == "parquet":
            names = None
            if only is not None:
                in_file = _parquet_dataset(p).schema.names
                names = [n for n in in_file if _is_alias_of(n, only)]
            frame = pd.read_parquet(p, columns=names)
        else:
            from astropy.table import Table

            table = Table.read(p, format=fmt)
            table.convert_bytestring_to_unicode()  # FITS text columns: str, not bytes
            frame = table.to_pandas()
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise TableError(f"could not read {p.name} as {fmt}: {exc}") from exc
    if limits is not None and limits.max_rows is not None and len(frame) > limits.max_rows:
        raise TableLimitError(
            f"{p.name} holds {len(frame)} rows; at most {limits.max_rows} are accepted: split "
            f"the table (or raise {limits.rows_setting})"
        )
    frame = canonical_columns(frame)
    frame.attrs["columns_in_file"] = in_file if in_file is not None else list(frame.columns)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise TableError(
                f"{p.name} lacks the column(s) {missing}; it has {list(frame.columns)}"
            )
    return frame


def _parquet_dataset(path: Path):
    """A pyarrow dataset over a Parquet file or a (possibly Hive-partitioned) directory."""
    import pyarrow.dataset as ds

    partitioning = "hive" if path.is_dir() else None
    return ds.dataset(path, format="parquet", partitioning=partitioning)


def _is_alias_of(name: object, canonical: list[str]) -> bool:
    lower = str(name).lower()
    return any(lower == c or lower in ALIASES.get(c, ()) for c in canonical)


def iter_table(
    path: str | os.PathLike[str],
    rows: int = 100_000,
    columns: list[str] | None = None,
    only: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read a table file in frames of at most ``rows`` rows, with canonical column names.

    CSV and Parquet (a file or a directory of part files, Hive-style ``key=value``
    sub-directories becoming columns) are streamed, so memory does not grow with the file
    (a Parquet row group is decoded whole, so it is bounded by the file's row-group size);
    astropy formats (VOTable, FITS, ECSV) are read whole and then sliced.  ``columns``, if
    given, must all be present in the first frame.  ``only``, if given, names the canonical
    columns to load (a column under any of its aliases); the others are not parsed.
    """
    p = Path(path)
    if not p.exists():
        raise TableError(f"{p} does not exist")
    if rows < 1:
        raise ValueError("rows must be >= 1")
    fmt = table_format(p)
    if fmt != "csv":  # astropy formats are read whole; Parquet row groups are decoded whole
        from lcvade.table_limits import check_table_file

        check_table_file(p)
    try:
        if fmt == "csv":
            sep = "\t" if _suffix(p) == ".tsv" else ","
            usecols = None if only is None else (lambda name: _is_alias_of(name, only))
            # survey ids of detections (64-bit) as text: as floats they would lose digits
            frames: Iterator[pd.DataFrame] = iter(
                pd.read_csv(p, sep=sep, chunksize=rows, usecols=usecols, dtype={"source_id": str})
            )
        elif fmt == "parquet":
            dataset = _parquet_dataset(p)
            names = None
            if only is not None:
                names = [n for n in dataset.schema.names if _is_alias_of(n, only)]
            # no read-ahead beyond one batch and no pre-buffering of a file's other row
            # groups: memory is set by ``rows`` (and the row-group size), not by the input
            import pyarrow.dataset as ds

            batches = dataset.to_batches(
                columns=names,
                batch_size=rows,
                batch_readahead=1,
                fragment_readahead=1,
                fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
            )
            frames = (batch.to_pandas() for batch in batches)
        else:
            whole = read_table(p)
            frames = (whole.iloc[i : i + rows] for i in range(0, max(len(whole), 1), rows))
        first = True
        for frame in frames:
            frame = canonical_columns(frame)
            if first and columns is not None:
                missing = [c for c in columns if c not in frame.columns]
                if missing:
                    raise TableError(
                        f"{p.name} lacks the column(s) {missing}; it has {list(frame.columns)}"
                    )
            first = False
            yield frame
    except TableError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise TableError(f"could not read {p.name} as {fmt}: {exc}") from exc


def count_table_rows(path: str | os.PathLike[str]) -> int:
    """The number of data rows of a table file (CSV: its lines after the header)."""
    p = Path(path)
    fmt = table_format(p)
    if fmt == "parquet":
        return int(_parquet_dataset(p).count_rows())
    if fmt == "csv":
        import bz2
        import gzip
        import lzma

        openers = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
        opener = openers.get(p.suffix.lower(), open)
        lines, last = 0, b"\n"
        with opener(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"
        return max(lines - 1, 0)
    return len(read_table(p))


def canonical_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Rename known aliases to the canonical names (first match wins, case-insensitive)."""
    lower = {str(c).lower(): c for c in frame.columns}
    rename = {}
    for canonical, aliases in ALIASES.items():
        if canonical in frame.columns:
            continue
        for alias in aliases:
            if alias in lower and lower[alias] not in rename:
                rename[lower[alias]] = canonical
                break
    return frame.rename(columns=rename)


@dataclass(frozen=True)
class Rejection:
    """An object that could not be turned into a light curve, and why."""

    object_id: str
    reason: str
    field: str | None = None


def _band_values(values: np.ndarray) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def missing_long_columns(photometry: pd.DataFrame) -> list[str]:
    """The columns of :data:`LONG_FORMAT_COLUMNS` that ``photometry`` lacks, in that order."""
    return [c for c in LONG_FORMAT_COLUMNS if c not in photometry.columns]


def iter_curves(
    photometry: pd.DataFrame,
    objects: pd.DataFrame | None = None,
    *,
    min_points: int = DEFAULT_MIN_POINTS,
) -> Iterator[LightCurve | Rejection]:
    """One :class:`LightCurve` or :class:`Rejection` per object, in order of first appearance.

    Periods come from the object table when it has a ``period`` column (missing or
    non-positive values mean "search the period").  Objects listed in the object table but
    without photometry are rejected.
    """
    missing = missing_long_columns(photometry)
    if missing:
        raise TableError(
            f"the light-curve table lacks {missing}; long format needs columns "
            f"object_id, time, mag, mag_err[, band] (got {list(photometry.columns)})"
        )
    ids = photometry["object_id"].astype(str).to_numpy()
    periods: dict[str, float] = {}
    if objects is not None:
        if "object_id" not in objects.columns:
            raise TableError("the object table lacks an object_id column")
        if "period" in objects.columns:
            obj_ids = objects["object_id"].astype(str).to_numpy()
            values = pd.to_numeric(objects["period"], errors="coerce").to_numpy(dtype=float)
            periods = {
                i: float(v)
                for i, v in zip(obj_ids, values, strict=True)
                if np.isfinite(v) and v > 0
            }
    codes, uniques = pd.factorize(ids, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    columns = {
        name: pd.to_numeric(photometry[name], errors="coerce").to_numpy(dtype=float)
        for name in ("time", "mag", "mag_err")
    }
    band = photometry["band"].to_numpy() if "band" in photometry.columns else None
    for k, object_id in enumerate(uniques):
        rows = order[bounds[k] : bounds[k + 1]]
        try:
            yield LightCurve(
                columns["time"][rows],
                columns["mag"][rows],
                columns["mag_err"][rows],
                band=None if band is None else _band_values(band[rows]),
                period=periods.get(object_id),
                id=object_id,
                min_points=min_points,
            )
        except LightCurveError as exc:
            yield Rejection(object_id=str(object_id), reason=str(exc), field=exc.field)
    if objects is not None:
        seen = set(uniques.tolist())
        for object_id in objects["object_id"].astype(str):
            if object_id not in seen:
                yield Rejection(object_id=object_id, reason="no photometry rows for this object")
