"""Labelled light curves for training and evaluation, read from a pair of tables.

The light-curve table is long format (``object_id, time, mag, mag_err[, band]``); the object
table has one row per object, ``object_id, label[, period]`` (any format
:func:`lcvade.tables.read_table` reads).  Every object ends up either as a labelled curve
with a period (given, cached or searched; :mod:`training.period_cache`) or as a rejection
that says why, so nothing is dropped silently.

The data digest recorded in a model's manifest is the SHA-256 of the tables' canonical
content: the used columns in a fixed order, rows sorted, numbers as little-endian float64
and strings as UTF-8, so it does not depend on the file format or the row order.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcvade.lightcurve import LightCurve
from lcvade.period import DEFAULT_SEARCH, FrequencyGrid, PeriodSearch
from lcvade.period_resolution import resolve_periods
from lcvade.tables import Rejection, TableError, iter_curves, read_table
from training.period_cache import PeriodCache

PHOTOMETRY_COLUMNS = ["object_id", "time", "mag", "mag_err", "band"]
OBJECT_COLUMNS = ["object_id", "label", "period"]
TEXT_COLUMNS = frozenset({"object_id", "label", "band"})


def table_digest(frame: pd.DataFrame, columns: list[str]) -> str:
    """SHA-256 of the canonical content of ``columns`` of ``frame`` (see module docstring)."""
    present = [c for c in columns if c in frame.columns]
    canonical = pd.DataFrame(
        {
            c: frame[c].astype(str).where(frame[c].notna(), "\x00")
            if c in TEXT_COLUMNS
            else pd.to_numeric(frame[c], errors="coerce").astype("float64")
            for c in present
        }
    )
    canonical = canonical.sort_values(present, kind="mergesort", ignore_index=True)
    digest = hashlib.sha256()
    for column in present:
        digest.update(f"\x1e{column}\x1e".encode())
        values = canonical[column]
        if column in TEXT_COLUMNS:
            digest.update("\x1f".join(values.tolist()).encode("utf-8"))
        else:
            array = values.to_numpy(dtype="<f8")
            array = np.where(np.isnan(array), np.nan, array)  # one NaN bit pattern
            digest.update(array.tobytes())
    return digest.hexdigest()


def data_digest(photometry: pd.DataFrame, objects: pd.DataFrame) -> str:
    """The digest of a (light-curve table, object table) pair."""
    combined = table_digest(photometry, PHOTOMETRY_COLUMNS) + table_digest(objects, OBJECT_COLUMNS)
    return hashlib.sha256(combined.encode("ascii")).hexdigest()


@dataclass
class LabelledCurves:
    """Curves with their labels and resolved periods (``curve.period`` is always set)."""

    curves: list[LightCurve]
    labels: np.ndarray
    period_sources: list[str]
    rejections: list[Rejection] = field(default_factory=list)
    digest: str = ""

    def __len__(self) -> int:
        return len(self.curves)

    @property
    def ids(self) -> np.ndarray:
        return np.array([str(c.id) for c in self.curves], dtype=object)

    @property
    def periods(self) -> np.ndarray:
        return np.array([c.period for c in self.curves], dtype=np.float64)

    def class_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels.tolist()).items()))

    def bands(self) -> list[str] | None:
        """The sorted band names of the data, or None when the table has no band column."""
        names = sorted({b for c in self.curves for b in c.bands})
        return names or None

    def subset(self, index: np.ndarray) -> LabelledCurves:
        index = np.asarray(index, dtype=np.int64)
        return LabelledCurves(
            curves=[self.curves[i] for i in index],
            labels=self.labels[index],
            period_sources=[self.period_sources[i] for i in index],
            digest=self.digest,
        )


def _read_objects(path: str | os.PathLike[str]) -> pd.DataFrame:
    objects = read_table(path, columns=["object_id", "label"])
    objects = objects.assign(object_id=objects["object_id"].astype(str))
    duplicated = objects["object_id"].duplicated()
    if duplicated.any():
        first = objects.loc[duplicated, "object_id"].iloc[0]
        raise TableError(
            f"the object table lists object_id {first!r} more than once; give one row per object"
        )
    return objects


def load_labelled(
    data: str | os.PathLike[str],
    objects: str | os.PathLike[str],
    *,
    classes: list[str] | None = None,
    min_points: int = 10,
    period_cache: str | os.PathLike[str] | None = None,
    grid: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH,
    progress: bool = False,
) -> LabelledCurves:
    """Read, validate and label the curves of two tables (see the module docstring).

    ``classes`` keeps only the objects with those labels (each must occur).  Objects without
    a label, without photometry, without an object row, or failing validation are returned
    as rejections.
    """
    photometry = read_table(data, columns=["object_id", "time", "mag", "mag_err"])
    photometry = photometry.assign(object_id=photometry["object_id"].astype(str))
    table = _read_objects(objects)
    digest = data_digest(photometry, table)

    rejections: list[Rejection] = []
    label = table["label"]
    unlabelled = label.isna() | (label.astype(str).str.strip() == "")
    rejections += [
        Rejection(str(i), "no label in the object table", "label")
        for i in table.loc[unlabelled, "object_id"]
    ]
    listed = set(table["object_id"])
    table = table.loc[~unlabelled].assign(label=label[~unlabelled].astype(str).str.strip())
    if classes is not None:
        available = sorted(table["label"].unique())
        unknown = [c for c in classes if c not in available]
        if unknown:
            raise TableError(
                f"class(es) {unknown} do not occur in the object table; its labels are {available}"
            )
        table = table.loc[table["label"].isin(classes)]
    if table.empty:
        raise TableError("no labelled objects to use: the object table has no usable rows")

    in_table = photometry["object_id"].isin(set(table["object_id"]))
    orphans = pd.unique(photometry.loc[~photometry["object_id"].isin(listed), "object_id"])
    rejections += [Rejection(str(i), "no row in the object table") for i in orphans]
    labels_by_id = dict(zip(table["object_id"], table["label"], strict=True))
    curves: list[LightCurve] = []
    for item in iter_curves(photometry.loc[in_table], table, min_points=min_points):
        if isinstance(item, Rejection):
            rejections.append(item)
        else:
            curves.append(item)
    if not curves:
        reasons = Counter(r.reason for r in rejections).most_common(3)
        raise TableError(f"no valid labelled light curve in {Path(data).name}: {reasons}")

    cache = None if period_cache is None else PeriodCache(period_cache)
    searching = progress and any(c.period is None for c in curves)
    with tqdm(desc="period search", unit="curve", disable=not searching) as bar:
        resolved = resolve_periods(curves, grid, store=cache, progress=bar.update)
    rejections += [
        Rejection(str(curves[i].id), why, "period") for i, why in sorted(resolved.failures.items())
    ]
    kept = [i for i in range(len(curves)) if i not in resolved.failures]
    if not kept:
        raise TableError(f"no labelled light curve in {Path(data).name} has a usable period")
    sources = [resolved.sources[i] for i in kept]
    curves = [
        curves[i] if curves[i].period is not None else curves[i].with_period(resolved.periods[i])
        for i in kept
    ]
    labels = np.array([labels_by_id[str(c.id)] for c in curves], dtype=object)
    return LabelledCurves(
        curves=curves, labels=labels, period_sources=sources, rejections=rejections, digest=digest
    )
