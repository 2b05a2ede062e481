"""Periods of the training curves: given in the object table, cached, or searched once.

Folding (eq. 9.1) needs every curve's period.  Curves whose object row has no period get the
core's period search (:func:`lcvade.period.find_periods`); the results are kept in a
Parquet file of ``(object_id, curve_digest, period_method, period, confidence)`` rows, where
``curve_digest`` is the SHA-256 of the curve's points and ``period_method`` the search's
settings (:attr:`lcvade.period.PeriodSearch.method`), so a rerun on the same data with the same
settings searches nothing, and a curve whose points or search settings changed is searched
again.  The cache is written every few
hundred curves (atomically), so an interrupted search keeps what it found.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from lcvade.lightcurve import LightCurve
from lcvade.period import DEFAULT_SEARCH, FrequencyGrid, PeriodSearch, as_search, find_periods
from models.atomic_files import write_atomic

CACHE_COLUMNS = ["object_id", "curve_digest", "period_method", "period", "confidence"]
SEARCH_CHUNK = 256


def curve_digest(curve: LightCurve) -> str:
    """SHA-256 of a curve's points (times, magnitudes, errors and bands, canonical order)."""
    digest = hashlib.sha256()
    for array in (curve.time, curve.mag, curve.mag_err):
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    if curve.band is not None:
        digest.update("\x1f".join(curve.band.tolist()).encode("utf-8"))
    return digest.hexdigest()


class PeriodCache:
    """Searched periods keyed by (object id, curve digest, search settings), as Parquet."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.entries: dict[tuple[str, str, str], tuple[float, float]] = {}
        if self.path.is_file():
            frame = pd.read_parquet(self.path)
            if list(frame.columns) == CACHE_COLUMNS:
                for row in frame.itertuples(index=False):
                    key = (str(row.object_id), str(row.curve_digest), str(row.period_method))
                    self.entries[key] = (float(row.period), float(row.confidence))

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, curve: LightCurve, digest: str, method: str) -> tuple[float, float] | None:
        return self.entries.get((str(curve.id), digest, method))

    def add(
        self, curve: LightCurve, digest: str, method: str, period: float, confidence: float
    ) -> None:
        self.entries[(str(curve.id), digest, method)] = (float(period), float(confidence))

    def save(self) -> None:
        """Write the cache atomically (temporary file, then rename)."""
        rows = [(oid, dig, m, p, c) for (oid, dig, m), (p, c) in self.entries.items()]
        frame = pd.DataFrame(rows, columns=CACHE_COLUMNS)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, lambda p: frame.to_parquet(p, index=False))


def resolve_periods(
    curves: Sequence[LightCurve],
    cache: PeriodCache | None,
    search: PeriodSearch | FrequencyGrid = DEFAULT_SEARCH,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Every curve's period and its source: ``given``, ``cached`` or ``estimated``."""
    search = as_search(search)
    periods = np.full(len(curves), np.nan)
    sources = ["given"] * len(curves)
    pending: list[tuple[int, str]] = []
    for i, curve in enumerate(curves):
        if curve.period is not None:
            periods[i] = curve.period
            continue
        digest = curve_digest(curve)
        hit = None if cache is None else cache.lookup(curve, digest, search.method)
        if hit is None:
            pending.append((i, digest))
        else:
            periods[i], sources[i] = hit[0], "cached"
    bar = tqdm(
        total=len(pending), desc="period search", unit="curve", disable=not progress or not pending
    )
    for start in range(0, len(pending), SEARCH_CHUNK):
        chunk = pending[start : start + SEARCH_CHUNK]
        results = find_periods([curves[i] for i, _ in chunk], search)
        for (i, digest), result in zip(chunk, results, strict=True):
            periods[i], sources[i] = result.period, "estimated"
            if cache is not None:
                cache.add(curves[i], digest, search.method, result.period, result.confidence)
        if cache is not None:
            cache.save()
        bar.update(len(chunk))
    bar.close()
    return periods, sources
