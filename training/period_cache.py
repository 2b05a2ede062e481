"""Periods of the training curves: given in the object table, cached, or searched once.

Folding (eq. 9.1) needs every curve's period.  Curves whose object row has no period get the
core's period resolution (:func:`lcvade.period_resolution.resolve_periods`, with this cache as
its store); the results are kept in a
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
from pathlib import Path

import numpy as np
import pandas as pd

from lcvade.lightcurve import LightCurve
from models.atomic_files import write_atomic

CACHE_COLUMNS = ["object_id", "curve_digest", "period_method", "period", "confidence"]


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

    def lookup(self, curve: LightCurve, method: str) -> tuple[float, float] | None:
        """The stored ``(period, confidence)`` of this curve's points under ``method``."""
        return self.entries.get((str(curve.id), curve_digest(curve), method))

    def add(self, curve: LightCurve, method: str, period: float, confidence: float) -> None:
        self.entries[(str(curve.id), curve_digest(curve), method)] = (
            float(period),
            float(confidence),
        )

    def save(self) -> None:
        """Write the cache atomically (temporary file, then rename)."""
        rows = [(oid, dig, m, p, c) for (oid, dig, m), (p, c) in self.entries.items()]
        frame = pd.DataFrame(rows, columns=CACHE_COLUMNS)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, lambda p: frame.to_parquet(p, index=False))
