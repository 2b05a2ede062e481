"""The inputs of a batch-scoring run, found on disk and read as photometry rows, in frames.

An input path is

* a long-format light-curve table (:mod:`lcvade.tables`): CSV, Parquet, VOTable, FITS, ECSV;
* a directory of Parquet part files (Hive-style ``key=value`` sub-directories allowed);
* an Avro file of alert packets, or a tar archive of them (:mod:`training.scoring.alerts`);
* a Parquet file of ZTF alerts in the brokers' layout (``objectId``, ``candidate``,
  ``prv_candidates``), told from a light-curve table by its columns;
* a directory of Avro files (every ``.avro`` below it, in sorted order), or of Parquet alert
  files.

Alert photometry -- apparent or difference magnitudes, quality cuts -- follows an
:class:`~training.scoring.alert_quality.AlertCuts`.  A table written by ``lcvade convert``
(told by its ``mag_kind`` column) keeps its ``mag_kind``, ``source_id`` and ``skip``
columns when read back, so it is scored exactly as the alerts it came from.

Every input is read in frames of bounded size and converted to the rows of
:mod:`training.scoring.photometry_rows`, so nothing here holds a whole file in memory (except the
astropy formats, which astropy reads whole).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lcvade.lightcurve import map_band_names
from lcvade.process_memory import release_memory
from lcvade.tables import TableError, iter_table, missing_long_columns, table_format
from models.errors import LCVaDEError
from training.scoring.alert_quality import AlertCuts
from training.scoring.alerts import count_alerts, is_alert_parquet, is_alert_path, read_alerts
from training.scoring.photometry_rows import APPARENT, DIFFERENCE, photometry_frame, string_column

DEFAULT_FRAME_ROWS = 200_000
DISTINCT_SKETCH_SIZE = 4096
ALERTS_PER_FRAME = 5000
SAMPLED_ALERT_FILES = 200


class BatchInputError(LCVaDEError):
    """An input cannot be used; the message says what to fix."""


def _visible_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.parts[-1:])
    )


@dataclass(frozen=True)
class InputSource:
    """One input: an alert file/archive, or a table (file or Parquet directory)."""

    path: Path
    kind: Literal["alerts", "table"]

    def fingerprint(self) -> dict[str, object]:
        """Path, size and modification time: a changed input must not be resumed over."""
        files = _visible_files(self.path) if self.path.is_dir() else [self.path]
        stats = [f.stat() for f in files]
        return {
            "path": str(self.path.resolve()),
            "kind": self.kind,
            "bytes": int(sum(s.st_size for s in stats)),
            "mtime_ns": int(max((s.st_mtime_ns for s in stats), default=0)),
        }

    def frames(
        self,
        rows: int = DEFAULT_FRAME_ROWS,
        band_map: Mapping[str, str] | None = None,
        cuts: AlertCuts | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Photometry-row frames of this input (alerts read with ``cuts``)."""
        if self.kind == "alerts":
            batch = max(1, min(ALERTS_PER_FRAME, rows // 20))
            frames = read_alerts(self.path, batch=batch, cuts=cuts)
        else:
            frames = (
                table_photometry(frame, self.path.name)
                for frame in iter_table(self.path, rows=rows)
            )
        for frame in frames:
            if band_map:
                frame["band"] = map_bands(frame["band"].to_numpy(), band_map)
            yield frame

    def estimated_objects(self, rows: int = DEFAULT_FRAME_ROWS) -> int:
        """About how many objects this input holds.

        Tables: a distinct count of the ``object_id`` column (:func:`count_distinct`, one
        pass reading that column only); alerts: one object per alert, from the Avro block
        headers (an upper bound: repeated alerts of an object count once in the run).
        """
        if self.kind == "alerts":
            return count_alerts(self.path)
        frames = iter_table(self.path, rows=rows, columns=["object_id"], only=["object_id"])
        return count_distinct(frame["object_id"].to_numpy(dtype=object) for frame in frames)


def count_distinct(chunks: Iterable[np.ndarray], k: int = DISTINCT_SKETCH_SIZE) -> int:
    """The number of distinct values in ``chunks``: exact up to ``k`` values, else estimated.

    The k-minimum-values sketch keeps the ``k`` smallest 64-bit hashes seen; with h_k the
    largest of them as a fraction of 2^64, (k - 1) / h_k estimates the count (relative
    error about 1 / sqrt(k), 1.6 % for k = 4096) in memory that does not grow with the input.
    """
    kept = np.empty(0, dtype=np.uint64)
    for values in chunks:
        hashes = pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)
        kept = np.unique(np.concatenate([kept, hashes]))[:k]
        release_memory()
    if kept.size < k:
        return int(kept.size)
    return round((k - 1) / (float(kept[-1]) / 2.0**64))


def discover_inputs(paths: Sequence[str | os.PathLike[str]]) -> list[InputSource]:
    """The input sources named by ``paths`` (see the module docstring), in the given order."""
    if not paths:
        raise BatchInputError("give at least one input file or directory")
    sources: list[InputSource] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise BatchInputError(f"input {path} does not exist")
        if path.is_dir():
            files = _visible_files(path)
            parquet = [f for f in files if f.suffix.lower() in (".parquet", ".pq")]
            alerts = [f for f in files if is_alert_path(f) and f not in parquet]
            if parquet and is_alert_parquet(parquet[0]):
                alerts = sorted(alerts + parquet)
                parquet = []
            if alerts and parquet:
                raise BatchInputError(
                    f"{path} holds both Avro alert files and Parquet files; give them as "
                    "separate inputs"
                )
            if alerts:
                sources.extend(InputSource(f, "alerts") for f in alerts)
            elif parquet:
                sources.append(InputSource(path, "table"))
            else:
                raise BatchInputError(
                    f"{path} holds no .avro alert files and no .parquet files to score"
                )
        elif is_alert_path(path):
            sources.append(InputSource(path, "alerts"))
        else:
            try:
                table_format(path)
            except TableError as exc:
                raise BatchInputError(f"{exc}, or .avro for alert packets") from exc
            sources.append(InputSource(path, "table"))
    return sources


def estimate_objects(sources: Sequence[InputSource], rows: int = DEFAULT_FRAME_ROWS) -> int:
    """About how many objects the sources hold; many alert files are sampled, not all read.

    ``rows`` bounds the frames in which tables are read.
    """
    alerts = [s for s in sources if s.kind == "alerts"]
    tables = [s for s in sources if s.kind == "table"]
    total = sum(s.estimated_objects(rows) for s in tables)
    if len(alerts) > SAMPLED_ALERT_FILES:
        picks = np.linspace(0, len(alerts) - 1, SAMPLED_ALERT_FILES).round().astype(int)
        sampled = sum(alerts[i].estimated_objects() for i in picks)
        total += round(sampled * len(alerts) / SAMPLED_ALERT_FILES)
    else:
        total += sum(s.estimated_objects() for s in alerts)
    return total


def _text(values: pd.Series) -> np.ndarray:
    """A text column as strings, missing and empty values as None (formats without nulls,
    such as FITS, write an empty string for none)."""
    text = string_column(values)
    text[text == ""] = None
    return text


def table_photometry(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Photometry rows from a long-format table frame with canonical column names."""
    missing = missing_long_columns(frame)
    if missing:
        raise BatchInputError(
            f"{name} lacks the column(s) {missing}; a light-curve table needs one row per "
            f"observation with object_id, time, mag, mag_err[, band] (found {list(frame.columns)})"
        )
    numbers = {
        c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64)
        for c in ("time", "mag", "mag_err")
    }
    missing_ids = frame["object_id"].isna().to_numpy()
    if missing_ids.any():
        raise BatchInputError(
            f"{name}: {int(missing_ids.sum())} row(s) have no object_id (first at row "
            f"{int(np.flatnonzero(missing_ids)[0])} of this part of the file); every "
            "observation needs the id of its object"
        )
    band = frame["band"].to_numpy() if "band" in frame.columns else None
    # a table written by lcvade convert (it has mag_kind): its detection ids and skip reasons
    # count as the alerts' did; in other tables such columns may mean something else
    converted = "mag_kind" in frame.columns
    kept = {c: frame[c] for c in ("source_id", "skip") if converted and c in frame.columns}
    if converted:
        kinds = _text(frame["mag_kind"])
        unknown = ~pd.Series(kinds).isin([APPARENT, DIFFERENCE, None]).to_numpy()
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            raise BatchInputError(
                f"{name}: mag_kind {kinds[first]!r} at row {first} of this part of the file; "
                f"it is {APPARENT}, {DIFFERENCE} or empty"
            )
        kept["mag_kind"] = kinds
    if "skip" in kept:
        kept["skip"] = _text(frame["skip"])
    if "source_id" in kept:
        ids = pd.to_numeric(frame["source_id"], errors="coerce", dtype_backend="numpy_nullable")
        kept["source_id"] = ids.astype("Int64").to_numpy()
    return photometry_frame(
        frame["object_id"].to_numpy(),
        numbers["time"],
        numbers["mag"],
        numbers["mag_err"],
        band,
        **kept,
    )


def parse_band_map(text: str | None) -> dict[str, str]:
    """``"1=g,2=r,3=i"`` as ``{"1": "g", "2": "r", "3": "i"}``."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for item in text.split(","):
        source, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not source or not target:
            raise BatchInputError(
                f"band map entry {item!r} is not NAME=BAND; write e.g. --band-map 1=g,2=r,3=i"
            )
        mapping[source] = target
    return mapping


def map_bands(bands: np.ndarray, mapping: Mapping[str, str]) -> np.ndarray:
    """Band names renamed by ``mapping`` (names not in it are kept)."""
    return map_band_names(bands, mapping)


def read_objects(
    path: str | os.PathLike[str], rows: int = DEFAULT_FRAME_ROWS
) -> Iterator[pd.DataFrame]:
    """Frames of an object table as ``object_id`` (str) and ``period`` (float, NaN: search)."""
    for frame in iter_table(path, rows=rows, columns=["object_id"]):
        period = (
            pd.to_numeric(frame["period"], errors="coerce").to_numpy(dtype=np.float64)
            if "period" in frame.columns
            else np.full(len(frame), np.nan)
        )
        yield pd.DataFrame({"object_id": string_column(frame["object_id"]), "period": period})
