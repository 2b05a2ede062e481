"""Staging: the photometry rows of a run partitioned by object into buckets on disk.

Inputs arrive in any order -- the alerts of one object spread over a night's files, the rows
of a table unsorted -- but a light curve needs all of its object's points at once.  Staging
is an external hash partition: every row goes to bucket ``hash(object_id) mod K``, so each
object lies whole in one bucket, and a bucket holds about ``1/K`` of the objects.  Rows are
buffered up to a fixed number and then appended to the buckets' Parquet files (one row group
per bucket and flush), so memory stays bounded whatever the size of the input; within a
bucket the input order is kept (files and row groups are read back in the order written).

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

from lcvade.process_memory import release_memory
from models.atomic_files import write_text_atomic
from training.scoring.photometry_rows import SCHEMA, objects_to_arrow, to_arrow

DEFAULT_BUFFER_ROWS = 250_000
ROW_GROUPS_PER_FILE = 32
DONE_FILE = "_SUCCESS"
PHOTOMETRY = "photometry"
OBJECTS = "objects"


def bucket_of(object_ids: np.ndarray | pd.Series, n_buckets: int) -> np.ndarray:
    """The bucket (0..n_buckets-1) of every object id."""
    ids = np.asarray(object_ids, dtype=object)
    hashes = pd.util.hash_array(ids, categorize=False)
    return (hashes % np.uint64(n_buckets)).astype(np.int64)


def bucket_dir(directory: str | os.PathLike[str], bucket: int) -> Path:
    return Path(directory) / f"bucket-{bucket:05d}"


def _arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def _allow_open_files(needed: int) -> None:
    """Raise the soft limit of open files towards the hard one if ``needed`` exceeds it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            raise OSError(
                f"staging {needed - 64} bucket files needs more open files than this system "
                f"allows ({hard}); use a larger --chunk-size"
            )


class StagingWriter:
    """Writes photometry and object rows into the buckets of ``directory``.

    Each bucket has an open Parquet file per kind of row, appended one row group per flush;
    after ``ROW_GROUPS_PER_FILE`` row groups the file is closed (its footer, which a writer
    keeps in memory, written out) and the next one opened.  Open files and footers in memory
    are thus bounded by the number of buckets, not by the size of the input.
    """

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
        self._buffers: dict[str, list[pd.DataFrame]] = {PHOTOMETRY: [], OBJECTS: []}
        self._writers: dict[tuple[str, int], pq.ParquetWriter] = {}
        self._row_groups: dict[tuple[str, int], int] = {}
        self._files: dict[tuple[str, int], int] = {}
        self._buffered = 0
        self.rows = 0
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)
        _allow_open_files(2 * n_buckets + 64)

    def add_photometry(self, frame: pd.DataFrame) -> None:
        self._add(PHOTOMETRY, frame)

    def add_objects(self, frame: pd.DataFrame) -> None:
        self._add(OBJECTS, frame)

    def _add(self, kind: str, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        self._buffers[kind].append(frame)
        self._buffered += len(frame)
        self.rows += len(frame)
        if self._buffered >= self.buffer_rows:
            self.flush()

    def _append(self, kind: str, bucket: int, table: pa.Table) -> None:
        key = (kind, bucket)
        if key not in self._writers:
            folder = bucket_dir(self.directory, bucket)
            folder.mkdir(exist_ok=True)
            number = self._files.get(key, 0)
            self._files[key] = number + 1
            path = folder / f"{kind}-{number:05d}.parquet"
            self._writers[key] = pq.ParquetWriter(path, table.schema, write_statistics=False)
            self._row_groups[key] = 0
        self._writers[key].write_table(table)
        self._row_groups[key] += 1
        if self._row_groups[key] >= ROW_GROUPS_PER_FILE:
            self._writers.pop(key).close()

    def flush(self) -> None:
        """Append the buffered rows to their buckets."""
        for kind, frames in self._buffers.items():
            if not frames:
                continue
            convert = to_arrow if kind == PHOTOMETRY else objects_to_arrow
            table = convert(pd.concat(frames, ignore_index=True))
            buckets = bucket_of(
                table.column("object_id").to_numpy(zero_copy_only=False), self.n_buckets
            )
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(self.n_buckets + 1))
            for bucket in np.flatnonzero(np.diff(bounds)):
                rows = order[bounds[bucket] : bounds[bucket + 1]]
                self._append(kind, int(bucket), table.take(pa.array(rows)))
            frames.clear()
        self._buffered = 0
        release_memory()

    def close(self) -> dict[str, object]:
        """Flush, close the bucket files, count their objects, and mark the staging complete."""
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        counts = [bucket_object_count(self.directory, j) for j in range(self.n_buckets)]
        summary = {"n_buckets": self.n_buckets, "rows": self.rows, "objects": counts}
        write_text_atomic(self.directory / DONE_FILE, json.dumps(summary))
        return summary


def staging_summary(directory: str | os.PathLike[str]) -> dict[str, object] | None:
    """The summary written by :meth:`StagingWriter.close`, or None if staging did not finish."""
    marker = Path(directory) / DONE_FILE
    if not marker.is_file():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def _files(directory: str | os.PathLike[str], bucket: int, kind: str) -> list[Path]:
    folder = bucket_dir(directory, bucket)
    return sorted(folder.glob(f"{kind}-*.parquet")) if folder.is_dir() else []


def bucket_object_count(directory: str | os.PathLike[str], bucket: int) -> int:
    """How many distinct objects bucket ``bucket`` holds (photometry and object rows)."""
    ids = [
        pq.read_table(path, columns=["object_id"]).column(0).to_numpy(zero_copy_only=False)
        for kind in (PHOTOMETRY, OBJECTS)
        for path in _files(directory, bucket, kind)
    ]
    return 0 if not ids else int(pd.unique(np.concatenate(ids)).size)


def read_bucket(
    directory: str | os.PathLike[str], bucket: int
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The photometry rows and the object rows (None if there are none) of one bucket."""
    photometry = [pq.read_table(f) for f in _files(directory, bucket, PHOTOMETRY)]
    objects = [pq.read_table(f) for f in _files(directory, bucket, OBJECTS)]
    phot = _arrow_to_pandas(pa.concat_tables(photometry) if photometry else SCHEMA.empty_table())
    obj = _arrow_to_pandas(pa.concat_tables(objects)) if objects else None
    return phot, obj
