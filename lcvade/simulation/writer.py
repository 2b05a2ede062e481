"""Streaming a simulation to disk in bounded memory.

Output layout of ``write_simulation(out_dir, n, ...)``:

``out_dir/lightcurves.parquet``
    the long-format light-curve table ``object_id, time, mag, mag_err, band``, one row per
    observation, sorted by object and time; one Parquet row group per chunk of objects;
``out_dir/objects.parquet``
    the object table ``object_id, label, period`` plus truth columns (``amplitude``,
    ``mean_mag``, ``reference_band``, ``colour_vi``, ``epoch``, ``subtype``, ``catalog_id``,
    ``cadence``, ``n_points``, ``n_outliers``);
``out_dir/simulation.json``
    what was simulated: seed, number of objects and points, cadence, classes, outlier fraction,
    chunk size, the catalog extract used and the package version.

With ``format="csv"`` the two tables are ``lightcurves.csv`` and ``objects.csv`` instead.
Only one chunk of objects is in memory at a time, so the peak memory does not grow with ``n``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from lcvade.simulation.cadence import CadenceSpec
from lcvade.simulation.catalog import EXTRACT_PATH, Catalog, load_catalog
from lcvade.simulation.generator import (
    BLOCK_SIZE,
    LIGHTCURVE_SCHEMA,
    OBJECT_SCHEMA,
    Block,
    iter_blocks,
    make_spec,
)
from lcvade.simulation.photometry import PhotometrySpec

DEFAULT_CHUNK_SIZE = 4096
FORMATS = ("parquet", "csv")
LIGHTCURVES = "lightcurves"
OBJECTS = "objects"
MANIFEST = "simulation.json"


@dataclass(frozen=True)
class SimulationSummary:
    """Where a simulation was written and how big it is."""

    lightcurves: Path
    objects: Path
    manifest: Path
    n_objects: int
    n_points: int


class _TableSink:
    """Appends Arrow tables to one Parquet or CSV file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: str) -> None:
        self.path = path
        if fmt == "parquet":
            self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            self._writer = pacsv.CSVWriter(path, schema)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def _chunks(blocks, blocks_per_chunk: int):
    """Group consecutive blocks into chunks."""
    pending: list[Block] = []
    for block in blocks:
        pending.append(block)
        if len(pending) == blocks_per_chunk:
            yield pending
            pending = []
    if pending:
        yield pending


def write_simulation(
    out_dir: str | os.PathLike[str],
    n: int,
    seed: int = 0,
    cadence: str | CadenceSpec = "uniform",
    classes: str | list[str] | tuple[str, ...] | None = None,
    format: Literal["parquet", "csv"] = "parquet",  # noqa: A002 - the CLI option's name
    outlier_fraction: float = 0.0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    photometry: str | PhotometrySpec | None = None,
    progress: bool = True,
    overwrite: bool = False,
    catalog: Catalog | None = None,
) -> SimulationSummary:
    """Simulate ``n`` objects into ``out_dir`` chunk by chunk (layout: module docstring).

    ``chunk_size`` objects are generated and written at a time (rounded up to a multiple of
    the generator's block of 256); the content does not depend on it.  Existing output files
    are replaced only with ``overwrite=True``.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if n < 1:
        raise ValueError("simulate at least one object (n >= 1)")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    spec = make_spec(seed, cadence, classes, outlier_fraction, photometry)
    catalog = catalog or load_catalog()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".parquet" if format == "parquet" else ".csv"
    lc_path, obj_path = out / f"{LIGHTCURVES}{suffix}", out / f"{OBJECTS}{suffix}"
    manifest_path = out / MANIFEST
    existing = [p for p in (lc_path, obj_path, manifest_path) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{', '.join(str(p) for p in existing)} already exist; choose another directory "
            "or pass overwrite=True (--overwrite)"
        )
    blocks_per_chunk = max(1, -(-chunk_size // BLOCK_SIZE))
    lc_tmp = lc_path.with_name(lc_path.name + ".partial")
    obj_tmp = obj_path.with_name(obj_path.name + ".partial")
    lc_sink = _TableSink(lc_tmp, LIGHTCURVE_SCHEMA, format)
    obj_sink = _TableSink(obj_tmp, OBJECT_SCHEMA, format)
    n_points = 0
    try:
        with tqdm(total=n, unit="obj", desc="simulate", disable=not progress) as bar:
            for chunk in _chunks(iter_blocks(spec, n, catalog), blocks_per_chunk):
                lightcurves = pa.concat_tables([b.lightcurves for b in chunk])
                objects = pa.concat_tables([b.objects for b in chunk])
                lc_sink.write(lightcurves)
                obj_sink.write(objects)
                n_points += lightcurves.num_rows
                bar.update(objects.num_rows)
                del lightcurves, objects, chunk
    except BaseException:
        lc_sink.close()
        obj_sink.close()
        lc_tmp.unlink(missing_ok=True)
        obj_tmp.unlink(missing_ok=True)
        raise
    lc_sink.close()
    obj_sink.close()
    lc_tmp.replace(lc_path)
    obj_tmp.replace(obj_path)
    manifest_path.write_text(
        json.dumps(_manifest(spec, n, n_points, format, chunk_size), indent=2) + "\n"
    )
    return SimulationSummary(lc_path, obj_path, manifest_path, n, n_points)


def _manifest(spec, n: int, n_points: int, fmt: str, chunk_size: int) -> dict:
    from models.version import __version__

    cadence = asdict(spec.cadence)
    photometry = asdict(spec.photometry)
    return {
        "n_objects": n,
        "n_points": n_points,
        "seed": spec.seed,
        "classes": list(spec.classes),
        "cadence": cadence,
        "photometry": photometry,
        "outlier_fraction": spec.outlier_fraction,
        "format": fmt,
        "chunk_size": chunk_size,
        "files": {
            LIGHTCURVES: f"{LIGHTCURVES}.{fmt}",
            OBJECTS: f"{OBJECTS}.{fmt}",
        },
        "catalog_extract": EXTRACT_PATH.name,
        "lcvade_version": __version__,
    }
