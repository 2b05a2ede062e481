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

from models.errors import LCVaDEError

DEFAULT_MIN_POINTS = 10
MAGNITUDE_LIMIT = 100.0
"""Largest |mag| accepted: the Sun is at -26.7 and the deepest images reach about +35, so a
larger value is a flux, a flag or a unit error rather than a magnitude."""
DEFAULT_MAX_POINTS = 100_000
"""Most points of one curve that the service and ``lcvade score`` accept: the model keeps a
few hundred (deterministically subsampled), and the period search grows with the count."""


class LightCurveError(LCVaDEError):
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
        bad = np.abs(m) > MAGNITUDE_LIMIT
        if bad.any():
            i = _first_index(bad)
            raise LightCurveError(
                f"mag[{i}] = {m[i]:g} is not a magnitude (|mag| must be at most "
                f"{MAGNITUDE_LIMIT:g}); send magnitudes, not fluxes",
                field="mag",
                index=i,
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


DEFAULT_MIN_BASELINE = 0.05
"""Shortest time span (days) over which a period can be searched: the shortest period of
:class:`lcvade.period.FrequencyGrid`, one cycle of it."""


def check_foldable(
    curve: LightCurve,
    *,
    min_points: int = DEFAULT_MIN_POINTS,
    min_baseline: float = DEFAULT_MIN_BASELINE,
) -> None:
    """Raise :class:`LightCurveError` if ``curve`` cannot be folded into a meaningful shape.

    Folding maps t to phi = mod(t, p) / p (thesis eq. 9.1) and normalisation divides by the
    magnitudes' standard deviation s, so a curve is refused, with its reason, when

    * its magnitudes are constant in every band (s = 0: there is no shape to fold);
    * it has no period and its times span T < ``min_baseline`` days (or an overflowing span):
      a periodogram resolves frequencies only to df ~ 1 / T, so no period of the searched
      range can be told from any other;
    * a band has fewer than ``min_points`` distinct times: repeated observations at one time
      add no new phases, so the information does not grow with the point count.

    Every scoring path (the service, ``lcvade score`` and :meth:`lcvade.Scorer.score`) calls
    this one function; ``field`` is ``mag``, ``period`` or ``time``.
    """
    groups = (
        [(None, np.arange(len(curve)))]
        if curve.band is None
        else [(name, np.flatnonzero(curve.band == name)) for name in curve.bands]
    )
    if all(np.ptp(curve.mag[rows]) == 0.0 for _, rows in groups if rows.size):
        raise LightCurveError(
            "the magnitudes are constant (every point of a band has the same mag): there is "
            "no variation to fold or score",
            field="mag",
        )
    if curve.period is None:
        with np.errstate(over="ignore", invalid="ignore"):
            baseline = float(np.ptp(curve.time))
        if not np.isfinite(baseline) or baseline < min_baseline:
            raise LightCurveError(
                f"the times span {baseline:g} days and no period is given; a period can only be "
                f"searched over a span of at least {min_baseline:g} days (finite): send the "
                "period",
                field="period",
            )
    for name, rows in groups:
        distinct = int(np.unique(curve.time[rows]).size)
        if distinct < min_points:
            where = "" if name is None else f" in band {name!r}"
            raise LightCurveError(
                f"{rows.size} points{where} fall on only {distinct} distinct times; "
                f"at least {min_points} distinct times are needed (repeated observations at "
                "one time add no phase coverage)",
                field="time",
            )


def map_band_names(bands: np.ndarray, band_map: Mapping[str, str]) -> np.ndarray:
    """Band names renamed by ``band_map`` (names not in it, and missing names, are kept)."""
    return np.array([band_map.get(b, b) if b is not None else None for b in bands], dtype=object)
