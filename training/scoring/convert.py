"""``lcvade convert``: inputs (alert packets above all) as the long-format light-curve table.

The rows are those that batch scoring stages (:mod:`training.scoring.inputs`, the same code
path): one row per entry of every packet, with ``object_id, time, mag, mag_err, band``,
``mag_kind`` (``apparent`` or ``difference``), ``source_id``, ``skip`` (why a point is not
used; empty when it is) and the quality columns
(:data:`training.scoring.photometry_rows.QUALITY_SCHEMA`).
Rows in = rows out: nothing is dropped, so a user sees every point the model will see and
every point it will not, with the reason.  The table is written in any format ``lcvade score``
reads -- CSV (``.csv``, ``.csv.gz``, ``.tsv``), Parquet (a ``.parquet`` file, or a directory),
VOTable (``.xml``/``.vot``), FITS (``.fits``) or ECSV (``.ecsv``) -- and scoring it gives the
same result as scoring the packets.  CSV and Parquet are streamed; the astropy formats are
assembled in memory.

Object-level steps -- merging a detection carried by several alerts, one kind of magnitude
per object, band selection -- happen when an object is scored (:mod:`training.scoring.curves`)
and are reported in the score's ``notes``.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lcvade.tables import TableError, table_format
from models.atomic_files import write_atomic
from training.scoring.alert_quality import AlertCuts
from training.scoring.inputs import discover_inputs
from training.scoring.photometry_rows import to_arrow

PART_NAME = "part-00000.parquet"


@dataclass
class ConvertSummary:
    """What a conversion wrote: rows, by reason of skipping and by kind of magnitude."""

    out: Path
    rows: int = 0
    usable: int = 0
    objects: int = 0
    skipped: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)

    def add(self, frame: pd.DataFrame) -> None:
        self.rows += len(frame)
        self.usable += int(frame["skip"].isna().sum())
        self.skipped.update(frame["skip"].dropna().tolist())
        self.kinds.update(frame.loc[frame["skip"].isna(), "mag_kind"].fillna("table").tolist())


def _output_format(out: Path) -> str:
    if out.suffix == "" or out.is_dir():
        return "directory"
    try:
        return table_format(out)
    except TableError as exc:
        raise TableError(f"--out: {exc}") from exc


def _write_astropy(table: pa.Table, target: Path, fmt: str) -> None:
    from astropy.table import Table

    frame = table.to_pandas()
    for name, column in frame.items():
        if column.dtype == object:
            frame[name] = column.fillna("").astype(str)  # text columns: empty means none
        elif name == "source_id":
            frame[name] = column.astype("Int64")
    Table.from_pandas(frame).write(target, format=fmt, overwrite=True)


def convert_inputs(
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    cuts: AlertCuts | None = None,
    band_map: Mapping[str, str] | None = None,
    rows: int = 200_000,
    overwrite: bool = False,
) -> ConvertSummary:
    """Write the photometry rows of ``inputs`` to ``out`` (see the module docstring)."""
    out = Path(out)
    fmt = _output_format(out)
    sources = discover_inputs(inputs)
    if out.exists() and not overwrite:
        raise TableError(f"{out} already exists; remove it or pass --overwrite")
    summary = ConvertSummary(out)
    objects: set[str] = set()

    def tables():
        for source in sources:
            for frame in source.frames(rows, band_map, cuts or AlertCuts()):
                summary.add(frame)
                objects.update(frame["object_id"].tolist())
                yield to_arrow(frame, quality=True)

    def write(target: Path) -> None:
        batches = tables()
        first = next(batches, None)
        if first is None:
            first = to_arrow(pd.DataFrame(columns=["object_id"]), quality=True)
        if fmt in ("parquet", "directory"):
            with pq.ParquetWriter(target, first.schema) as writer:
                writer.write_table(first)
                for table in batches:
                    writer.write_table(table)
        elif fmt == "csv":
            delimiter = "\t" if out.name.lower().endswith((".tsv", ".tsv.gz")) else ","
            gzipped = out.name.lower().endswith(".gz")
            sink = (
                pa.CompressedOutputStream(str(target), "gzip")
                if gzipped
                else pa.OSFile(str(target), "wb")
            )
            options = pacsv.WriteOptions(delimiter=delimiter)
            with sink, pacsv.CSVWriter(sink, first.schema, write_options=options) as writer:
                writer.write_table(first)
                for table in batches:
                    writer.write_table(table)
        else:
            whole = pa.concat_tables([first, *batches])
            _write_astropy(whole, target, fmt)

    if overwrite and out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    if fmt == "directory":
        out.mkdir(parents=True)
        write_atomic(out / PART_NAME, write)
    else:
        write_atomic(out, write)
    summary.objects = len(objects)
    return summary
