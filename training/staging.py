"""Staging: the photometry rows of a run partitioned by object into buckets on disk.

Inputs arrive in any order -- the alerts of one object spread over a night's files, the rows
of a table unsorted -- but a light curve needs all of its object's points at once.  Staging
is an external hash partition: every row goes to bucket ``hash(object_id) mod K``, so each
object lies whole in one bucket, and a bucket holds about ``1/K`` of the objects.  Rows are
buffered up to a fixed number and then written out, one Parquet file per non-empty bucket, so
memory stays bounded whatever the size of the input; within a bucket the input order is kept.

The hash is pandas' SipHash of the id string with its fixed key, the same in every process
and on every machine, so the partition -- and hence the run's output parts -- are
reproducible, which lets an interrupted run resume part by part.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from training.photometry_rows import SCHEMA, objects_to_arrow, to_arrow

DEFAULT_BUFFER_ROWS = 1_000_000
DONE_FILE = "_SUCCESS"


def bucket_of(object_ids: np.ndarray | pd.Series, n_buckets: int) -> np.ndarray:
    """The bucket (0..n_buckets-1) of every object id."""
    ids = np.asarray(object_ids, dtype=object)
    hashes = pd.util.hash_array(ids, categorize=False)
    return (hashes % np.uint64(n_buckets)).astype(np.int64)


def bucket_dir(directory: str | os.PathLike[str], bucket: int) -> Path:
    return Path(directory) / f"bucket-{bucket:05d}"


def _arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


class StagingWriter:
    """Writes photometry and object rows into the buckets of ``directory``."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        n_buckets: int,
        buffer_rows: int = DEFAULT_BUFFER_ROWS,
    ) -> None:
        if n_buckets < 1:
            raise ValueError("n_buckets must be >= 1")
        self.directory = Path(directory)
        self.n_buckets = n_buckets
        self.buffer_rows = buffer_rows
        self._photometry: list[pd.DataFrame] = []
        self._objects: list[pd.DataFrame] = []
        self._buffered = 0
        self._flushes = 0
        self.rows = 0
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)

    def add_photometry(self, frame: pd.DataFrame) -> None:
        self._add(self._photometry, frame)

    def add_objects(self, frame: pd.DataFrame) -> None:
        self._add(self._objects, frame)

    def _add(self, buffer: list[pd.DataFrame], frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        buffer.append(frame)
        self._buffered += len(frame)
        self.rows += len(frame)
        if self._buffered >= self.buffer_rows:
            self.flush()

    def _write(self, frames: list[pd.DataFrame], prefix: str, convert) -> None:
        if not frames:
            return
        whole = pd.concat(frames, ignore_index=True)
        buckets = bucket_of(whole["object_id"].to_numpy(), self.n_buckets)
        order = np.argsort(buckets, kind="stable")
        bounds = np.searchsorted(buckets[order], np.arange(self.n_buckets + 1))
        for bucket in np.flatnonzero(np.diff(bounds)):
            rows = order[bounds[bucket] : bounds[bucket + 1]]
            target = bucket_dir(self.directory, int(bucket))
            target.mkdir(exist_ok=True)
            table = convert(whole.iloc[rows])
            pq.write_table(table, target / f"{prefix}-{self._flushes:06d}.parquet")

    def flush(self) -> None:
        """Write the buffered rows to their buckets."""
        self._write(self._photometry, "photometry", to_arrow)
        self._write(self._objects, "objects", objects_to_arrow)
        self._photometry, self._objects, self._buffered = [], [], 0
        self._flushes += 1

    def close(self) -> dict[str, object]:
        """Flush, count the objects of every bucket, and mark the staging complete."""
        self.flush()
        counts = [bucket_object_count(self.directory, j) for j in range(self.n_buckets)]
        summary = {"n_buckets": self.n_buckets, "rows": self.rows, "objects": counts}
        tmp = self.directory / f".{DONE_FILE}.tmp"
        tmp.write_text(json.dumps(summary), encoding="utf-8")
        os.replace(tmp, self.directory / DONE_FILE)
        return summary


def staging_summary(directory: str | os.PathLike[str]) -> dict[str, object] | None:
    """The summary written by :meth:`StagingWriter.close`, or None if staging did not finish."""
    marker = Path(directory) / DONE_FILE
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def _files(directory: str | os.PathLike[str], bucket: int, prefix: str) -> list[Path]:
    folder = bucket_dir(directory, bucket)
    return sorted(folder.glob(f"{prefix}-*.parquet")) if folder.is_dir() else []


def bucket_object_count(directory: str | os.PathLike[str], bucket: int) -> int:
    """How many distinct objects bucket ``bucket`` holds (photometry and object rows)."""
    ids = [
        pq.read_table(f, columns=["object_id"]).column(0).to_numpy(zero_copy_only=False)
        for prefix in ("photometry", "objects")
        for f in _files(directory, bucket, prefix)
    ]
    return 0 if not ids else int(pd.unique(np.concatenate(ids)).size)


def read_bucket(
    directory: str | os.PathLike[str], bucket: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The photometry rows and the object rows (None if there are none) of one bucket."""
    photometry = [pq.read_table(f) for f in _files(directory, bucket, "photometry")]
    objects = [pq.read_table(f) for f in _files(directory, bucket, "objects")]
    phot = _arrow_to_pandas(pa.concat_tables(photometry) if photometry else SCHEMA.empty_table())
    obj = _arrow_to_pandas(pa.concat_tables(objects)) if objects else None
    return phot, obj
