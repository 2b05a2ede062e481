"""The light-curve data model: one object's photometric time series, validated.

A light curve is the set of tuples (t_j, mu_j, sigma_j) of thesis section 9.2 -- observation
time in days, magnitude and its error -- optionally with a photometric band per point and the
object's period.  Construction validates everything a model needs and raises
:class:`LightCurveError` naming the field and the first offending index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_MIN_POINTS = 10


class LightCurveError(ValueError):
    """A light curve failed validation.

    ``field`` names the offending field (``time``, ``mag``, ``mag_err``, ``band``,
    ``period`` or ``points``) and ``index`` the first bad element when there is one.
    """

    def __init__(self, message: str, *, field: str, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


def _as_float_array(values: object, field: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LightCurveError(
            f"{field} must be a sequence of numbers ({exc})", field=field
        ) from exc
    if array.ndim != 1:
        raise LightCurveError(
            f"{field} must be one-dimensional, got shape {array.shape}", field=field
        )
    return array


def _first_index(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


@dataclass(frozen=True, eq=False)
class LightCurve:
    """A validated light curve.

    Parameters
    ----------
    time, mag, mag_err:
        Observation times (days), magnitudes and their 1-sigma errors, one value per point.
        Times need not be sorted; points are stored sorted by (band, time, mag, mag_err),
        so the order in which points arrive never matters.  Duplicate times are allowed.
    band:
        Optional photometric band name per point (e.g. ``"g"``/``"r"``).  ``None`` means a
        single unnamed band.
    period:
        The object's period in days, if known.
    id:
        Optional identifier carried through to results.
    min_points:
        Minimum number of points required in every band (default 10).
    """

    time: np.ndarray
    mag: np.ndarray
    mag_err: np.ndarray
    band: np.ndarray | None = None
    period: float | None = None
    id: str | None = None

    def __init__(
        self,
        time: Sequence[float] | np.ndarray,
        mag: Sequence[float] | np.ndarray,
        mag_err: Sequence[float] | np.ndarray,
        band: Sequence[str] | np.ndarray | None = None,
        period: float | None = None,
        id: str | None = None,  # noqa: A002 - the field users know
        *,
        min_points: int = DEFAULT_MIN_POINTS,
    ) -> None:
        t = _as_float_array(time, "time")
        m = _as_float_array(mag, "mag")
        e = _as_float_array(mag_err, "mag_err")
        for name, arr in (("mag", m), ("mag_err", e)):
            if arr.shape != t.shape:
                raise LightCurveError(
                    f"{name} has {arr.size} values but time has {t.size}; "
                    "every point needs a time, a mag and a mag_err",
                    field=name,
                )
        b: np.ndarray | None = None
        if band is not None:
            b = np.asarray(band, dtype=object)
            if b.ndim != 1 or b.shape != t.shape:
                raise LightCurveError(
                    f"band has {b.size} values but time has {t.size}; give one band per point",
                    field="band",
                )
            bad = np.array([not isinstance(v, str) or v == "" for v in b], dtype=bool)
            if bad.any():
                i = _first_index(bad)
                raise LightCurveError(
                    f"band[{i}] = {b[i]!r} is not a band name; use a non-empty string",
                    field="band",
                    index=i,
                )
            b = b.astype(str)
        for name, arr in (("time", t), ("mag", m), ("mag_err", e)):
            bad = ~np.isfinite(arr)
            if bad.any():
                i = _first_index(bad)
                raise LightCurveError(
                    f"{name}[{i}] = {arr[i]} is not a finite number", field=name, index=i
                )
        bad = e <= 0
        if bad.any():
            i = _first_index(bad)
            raise LightCurveError(
                f"mag_err[{i}] = {e[i]} must be > 0 (a photometric error is a positive "
                "standard deviation)",
                field="mag_err",
                index=i,
            )
        if period is not None:
            try:
                p = float(period)
            except (TypeError, ValueError) as exc:
                raise LightCurveError(
                    f"period must be a number of days, got {period!r}", field="period"
                ) from exc
            if not np.isfinite(p) or p <= 0:
                raise LightCurveError(
                    f"period = {p} must be a positive, finite number of days", field="period"
                )
            period = p
        self._check_counts(t.size, b, min_points)

        order = np.lexsort((e, m, t) if b is None else (e, m, t, b))
        object.__setattr__(self, "time", t[order])
        object.__setattr__(self, "mag", m[order])
        object.__setattr__(self, "mag_err", e[order])
        object.__setattr__(self, "band", None if b is None else b[order])
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "id", None if id is None else str(id))
        for arr in (self.time, self.mag, self.mag_err):
            arr.setflags(write=False)

    @staticmethod
    def _check_counts(n: int, band: np.ndarray | None, min_points: int) -> None:
        if band is None:
            if n < min_points:
                raise LightCurveError(
                    f"the light curve has {n} points; at least {min_points} are needed",
                    field="points",
                )
            return
        names, counts = np.unique(band, return_counts=True)
        for name, count in zip(names, counts, strict=True):
            if count < min_points:
                raise LightCurveError(
                    f"band {str(name)!r} has {count} points; at least {min_points} per band are "
                    "needed (drop the band or add observations)",
                    field="points",
                )

    def __len__(self) -> int:
        return int(self.time.size)

    @property
    def bands(self) -> tuple[str, ...]:
        """The distinct band names, sorted (empty for a single unnamed band)."""
        if self.band is None:
            return ()
        return tuple(np.unique(self.band).tolist())

    def with_period(self, period: float | None) -> LightCurve:
        """A copy of this curve with another period."""
        return LightCurve(
            self.time, self.mag, self.mag_err, self.band, period=period, id=self.id, min_points=1
        )

    def with_bands(self, band_map: Mapping[str, str] | None) -> LightCurve:
        """A copy of this curve with its band names renamed by ``band_map`` (others kept)."""
        if not band_map or self.band is None:
            return self
        return LightCurve(
            self.time,
            self.mag,
            self.mag_err,
            map_band_names(self.band, band_map),
            period=self.period,
            id=self.id,
            min_points=1,
        )

    def __repr__(self) -> str:
        bands = ",".join(self.bands) or "-"
        return (
            f"LightCurve(id={self.id!r}, points={len(self)}, bands={bands}, period={self.period!r})"
        )


def map_band_names(bands: np.ndarray, band_map: Mapping[str, str]) -> np.ndarray:
    """Band names renamed by ``band_map`` (names not in it, and missing names, are kept)."""
    return np.array([band_map.get(b, b) if b is not None else None for b in bands], dtype=object)
