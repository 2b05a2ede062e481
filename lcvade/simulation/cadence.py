"""Observing cadences: when, and in which band, each simulated object is observed.

A cadence is a small generative model of a survey's sampling, vectorised over many objects:

1. every object gets a number of observed nights ("epochs"), log-uniform in ``epochs``;
2. survey cadences have observing seasons: each object (its sky position) has a season of
   ``season_days`` (uniform in the range) starting at a random day of the year; an epoch falls
   on a random night of a random season within ``years`` years from ``mjd_start``; within the
   night the observation is taken near local midnight (``night_centre``, as a fraction of the
   UT day at the site) with a Gaussian scatter of ``hour_angle_scatter`` days.  Nights are
   drawn independently, so weather gaps and irregular revisits come out naturally.  A
   cadence without seasons (``season_days=None``) spreads epochs uniformly at random over the
   whole ``years``;
3. each epoch has ``visits_per_epoch`` visits (uniform integer range) ``visit_spacing`` days
   apart, each in a band drawn with ``band_weights``;
4. every band gets at least ``min_per_band`` points (the project's minimum per band): missing
   visits are added shortly after random existing ones.

Built-in cadences (times are MJD; the band names are those of the long-format table):

=========  =======  ==========================================================================
name       bands    model
=========  =======  ==========================================================================
uniform    I        OGLE-like single band: 50-300 points uniform at random over 8 years (2001-)
asas       V        ASAS-3-like: 80-600 nights over 9 seasons of 200-280 days (2000-),
                    one visit a night
linear     r        LINEAR-like (unfiltered, calibrated to SDSS r): 30-120 nights over 6
                    seasons (2002-), 1-5 visits 15 min apart a night, typically 90-360 points
ztf        g, r     ZTF-like: 80-450 nights over 5 seasons of 210-270 days (2018-), 1-2 visits
                    a night in g (45%) or r (55%), about 50-500 points per band
lsst       ugrizy   LSST-like wide-fast-deep: 200-420 nights over 10 seasons of 150-210 days
                    (2025-), visit pairs 33 min apart, bands u 7%, g 10%, r 22%, i 22%, z 20%,
                    y 19% (about 30-60 points in u, 90-185 in r)
=========  =======  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

import numpy as np

YEAR: Final = 365.25

SpecT = TypeVar("SpecT")


@dataclass(frozen=True)
class CadenceSpec:
    """Parameters of a cadence model (see the module docstring)."""

    name: str
    bands: tuple[str, ...]
    reference_band: str
    mjd_start: float
    years: int
    epochs: tuple[int, int]
    visits_per_epoch: tuple[int, int] = (1, 1)
    visit_spacing: float = 0.0
    band_weights: tuple[float, ...] | None = None
    season_days: tuple[float, float] | None = None
    night_centre: float = 0.0
    hour_angle_scatter: float = 0.08
    min_per_band: int = 10
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.bands or len(set(self.bands)) != len(self.bands):
            raise ValueError("a cadence needs distinct band names")
        if self.reference_band not in self.bands:
            raise ValueError(f"reference band {self.reference_band!r} is not in {self.bands}")
        if self.band_weights is not None and len(self.band_weights) != len(self.bands):
            raise ValueError("band_weights needs one weight per band")
        if not 1 <= self.epochs[0] <= self.epochs[1]:
            raise ValueError("epochs must be a range (low, high) with 1 <= low <= high")
        if not 1 <= self.visits_per_epoch[0] <= self.visits_per_epoch[1]:
            raise ValueError("visits_per_epoch must be a range with 1 <= low <= high")
        if self.years < 1:
            raise ValueError("a cadence spans at least one year")
        if self.season_days is not None and not 0 < self.season_days[0] <= self.season_days[1]:
            raise ValueError("season_days must be a range (low, high) of positive lengths")

    @property
    def weights(self) -> np.ndarray:
        w = np.ones(len(self.bands)) if self.band_weights is None else np.array(self.band_weights)
        return w / w.sum()

    def with_(self, **changes) -> CadenceSpec:
        """A copy with some parameters changed (e.g. ``epochs=(300, 400)``)."""
        return replace(self, **changes)


CADENCES: Final[dict[str, CadenceSpec]] = {
    "uniform": CadenceSpec(
        name="uniform",
        bands=("I",),
        reference_band="I",
        mjd_start=52000.0,
        years=8,
        epochs=(50, 300),
        description="OGLE-like I band, uniform random times",
    ),
    "asas": CadenceSpec(
        name="asas",
        bands=("V",),
        reference_band="V",
        mjd_start=51850.0,
        years=9,
        epochs=(80, 600),
        season_days=(200.0, 280.0),
        night_centre=0.19,
        description="ASAS-3-like V band",
    ),
    "linear": CadenceSpec(
        name="linear",
        bands=("r",),
        reference_band="r",
        mjd_start=52600.0,
        years=6,
        epochs=(30, 120),
        visits_per_epoch=(1, 5),
        visit_spacing=0.0104,
        season_days=(180.0, 240.0),
        night_centre=0.30,
        description="LINEAR-like unfiltered (SDSS r calibrated)",
    ),
    "ztf": CadenceSpec(
        name="ztf",
        bands=("g", "r"),
        reference_band="r",
        mjd_start=58200.0,
        years=5,
        epochs=(80, 450),
        visits_per_epoch=(1, 2),
        visit_spacing=0.021,
        band_weights=(0.45, 0.55),
        season_days=(210.0, 270.0),
        night_centre=0.33,
        description="ZTF-like g and r",
    ),
    "lsst": CadenceSpec(
        name="lsst",
        bands=("u", "g", "r", "i", "z", "y"),
        reference_band="r",
        mjd_start=60950.0,
        years=10,
        epochs=(200, 420),
        visits_per_epoch=(2, 2),
        visit_spacing=0.023,
        band_weights=(0.07, 0.10, 0.22, 0.22, 0.20, 0.19),
        season_days=(150.0, 210.0),
        night_centre=0.20,
        description="LSST-like wide-fast-deep ugrizy",
    ),
}


def built_in(
    value: str | SpecT, table: Mapping[str, SpecT], spec_type: type[SpecT], unknown: str
) -> SpecT:
    """``value`` itself when it is a ``spec_type``, else ``table[value]`` by name (any case).

    An unknown name raises ``ValueError("<unknown> <name>; choose from <names>")``.
    """
    if isinstance(value, spec_type):
        return value
    try:
        return table[str(value).lower()]
    except KeyError:
        raise ValueError(f"{unknown} {value!r}; choose from {', '.join(table)}") from None


def get_cadence(cadence: str | CadenceSpec) -> CadenceSpec:
    """A built-in cadence by name, or ``cadence`` itself."""
    return built_in(cadence, CADENCES, CadenceSpec, "unknown cadence")


@dataclass(frozen=True)
class Sampling:
    """Observation times and bands of ``n`` objects, sorted by (object, time).

    ``star`` is the object index of each point; the points of object k are
    ``offsets[k]:offsets[k + 1]``; ``band`` indexes ``bands``.
    """

    bands: tuple[str, ...]
    star: np.ndarray
    time: np.ndarray
    band: np.ndarray
    offsets: np.ndarray

    @property
    def n_objects(self) -> int:
        return int(self.offsets.size - 1)

    def counts(self) -> np.ndarray:
        """Points per object."""
        return np.diff(self.offsets)

    def band_counts(self) -> np.ndarray:
        """Points per object and band, (n_objects, n_bands)."""
        n, nb = self.n_objects, len(self.bands)
        flat = np.bincount(self.star * nb + self.band, minlength=n * nb)
        return flat.reshape(n, nb)

    def select(self, keep: np.ndarray) -> Sampling:
        """The points where ``keep`` is true (objects left without points stay, empty)."""
        star = self.star[keep]
        offsets = np.zeros_like(self.offsets)
        np.cumsum(np.bincount(star, minlength=self.n_objects), out=offsets[1:])
        return Sampling(self.bands, star, self.time[keep], self.band[keep], offsets)

    def head(self, k: int) -> Sampling:
        """The sampling of the first ``k`` objects."""
        stop = int(self.offsets[k])
        return Sampling(
            self.bands,
            self.star[:stop],
            self.time[:stop],
            self.band[:stop],
            self.offsets[: k + 1].copy(),
        )


def _log_uniform_int(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    if low == high:
        return np.full(n, low, dtype=np.int64)
    values = np.exp(rng.uniform(np.log(low), np.log(high + 1), n))
    return np.clip(np.floor(values).astype(np.int64), low, high)


def _ranks_within(groups: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """0, 1, ... within each consecutive run of ``sizes`` (``groups`` only for the length)."""
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.arange(groups.size) - starts


def sample_cadence(spec: CadenceSpec, n: int, rng: np.random.Generator) -> Sampling:
    """Draw the observation times and bands of ``n`` objects (see the module docstring)."""
    n_bands = len(spec.bands)
    span = spec.years * YEAR
    n_epochs = _log_uniform_int(rng, spec.epochs[0], spec.epochs[1], n)
    epoch_star = np.repeat(np.arange(n), n_epochs)
    if spec.season_days is None:
        epoch_time = spec.mjd_start + rng.uniform(0.0, span, epoch_star.size)
    else:
        season_length = rng.uniform(spec.season_days[0], spec.season_days[1], n)
        season_start = rng.uniform(0.0, YEAR, n)
        season = rng.integers(0, spec.years, epoch_star.size)
        within = rng.uniform(0.0, 1.0, epoch_star.size) * season_length[epoch_star]
        # nights run from the second to the last-but-one day of the survey, so that the
        # scatter around midnight stays inside it
        day = 1.0 + np.mod(season_start[epoch_star] + YEAR * season + within, span - 2.0)
        night = np.floor(spec.mjd_start + day)
        scatter = rng.normal(0.0, spec.hour_angle_scatter, epoch_star.size)
        epoch_time = night + spec.night_centre + np.clip(scatter, -0.25, 0.25)

    lo, hi = spec.visits_per_epoch
    n_visits = rng.integers(lo, hi + 1, epoch_star.size)
    star = np.repeat(epoch_star, n_visits)
    rank = _ranks_within(star, n_visits)
    time = np.repeat(epoch_time, n_visits) + rank * spec.visit_spacing
    band = rng.choice(n_bands, size=star.size, p=spec.weights).astype(np.int64)

    # top up the bands with too few points
    counts = np.bincount(star * n_bands + band, minlength=n * n_bands)
    deficit = np.maximum(spec.min_per_band - counts, 0)
    if deficit.any():
        cell = np.repeat(np.arange(n * n_bands), deficit)
        extra_star = cell // n_bands
        extra_band = cell % n_bands
        per_star = np.bincount(star, minlength=n)
        first = np.cumsum(per_star) - per_star
        pick = first[extra_star] + np.floor(
            rng.uniform(0.0, 1.0, cell.size) * per_star[extra_star]
        ).astype(np.int64)
        extra_time = time[pick] + rng.uniform(0.01, 0.05, cell.size)
        star = np.concatenate([star, extra_star])
        band = np.concatenate([band, extra_band])
        time = np.concatenate([time, extra_time])

    order = np.lexsort((band, time, star))
    star, time, band = star[order], time[order], band[order]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(star, minlength=n), out=offsets[1:])
    return Sampling(spec.bands, star, time, band, offsets)
