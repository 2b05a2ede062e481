"""The simulator proper: objects with known truth, observed with a cadence and a survey's errors.

For every object: draw its class (uniformly among the requested ones), its sampling
(:mod:`.cadence`), its mean magnitude in the reference band (:mod:`.photometry`) and its
colour; then its noiseless light curve

* Fourier pulsators -- one catalog row of the class (:mod:`.catalog`) gives period, I-band
  amplitude and Fourier parameters (:func:`.shapes.ogle_fourier_series`);
* long-period variables -- one catalog row gives the periods and amplitudes of the
  stochastic model of :func:`.shapes.lpv_magnitude`;
* eclipsing binaries -- the geometric model of :mod:`.eclipsing`;

with per-band amplitudes scaled by the ratios and mean magnitudes offset by the colours of
:mod:`.bands`; finally errors, noise and optional outliers (:func:`.photometry.observe`).

Colours: V - I from the catalog row for Magellanic Cloud stars, else the class median; for
eclipsing binaries uniform in 0-1.2 (EA) or 0.4-1.2 (EW) mag.

Reproducibility: objects are made in blocks of :data:`BLOCK_SIZE`; block ``b`` uses its own
random stream, ``SeedSequence(seed, spawn_key=(b,))``.  So object ``k`` of a run is the same
whatever the total number of objects, the chunk size of the writer, or how many other objects
are made -- only ``seed``, cadence, photometry, classes and outlier fraction matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from lcvade.simulation.bands import amplitude_ratio, band_offsets
from lcvade.simulation.cadence import CadenceSpec, Sampling, get_cadence, sample_cadence
from lcvade.simulation.catalog import Catalog, load_catalog
from lcvade.simulation.eclipsing import binary_curves, binary_magnitude, draw_binaries
from lcvade.simulation.labels import ECLIPSING_LABELS, FOURIER_LABELS, LPV, parse_classes
from lcvade.simulation.photometry import PhotometrySpec, get_photometry, observe
from lcvade.simulation.shapes import TWO_PI, LPVStars, catalog_fourier_series, lpv_magnitude

BLOCK_SIZE: Final = 256
EB_COLOUR: Final = {"EA": (0.0, 1.2), "EW": (0.4, 1.2)}

LIGHTCURVE_SCHEMA: Final = pa.schema(
    [
        ("object_id", pa.string()),
        ("time", pa.float64()),
        ("mag", pa.float64()),
        ("mag_err", pa.float64()),
        ("band", pa.string()),
    ]
)
OBJECT_SCHEMA: Final = pa.schema(
    [
        ("object_id", pa.string()),
        ("label", pa.string()),
        ("period", pa.float64()),
        ("amplitude", pa.float64()),
        ("mean_mag", pa.float64()),
        ("reference_band", pa.string()),
        ("colour_vi", pa.float64()),
        ("epoch", pa.float64()),
        ("subtype", pa.string()),
        ("catalog_id", pa.string()),
        ("cadence", pa.string()),
        ("n_points", pa.int32()),
        ("n_outliers", pa.int32()),
    ]
)


@dataclass(frozen=True)
class SimulationSpec:
    """Everything that determines a simulated data set, apart from the number of objects."""

    seed: int
    classes: tuple[str, ...]
    cadence: CadenceSpec
    photometry: PhotometrySpec
    outlier_fraction: float = 0.0
    id_prefix: str = "sim"

    def object_id(self, index: np.ndarray) -> list[str]:
        return [f"{self.id_prefix}{self.seed}-{int(i):09d}" for i in index]


def make_spec(
    seed: int = 0,
    cadence: str | CadenceSpec = "uniform",
    classes: str | list[str] | tuple[str, ...] | None = None,
    outlier_fraction: float = 0.0,
    photometry: str | PhotometrySpec | None = None,
    id_prefix: str = "sim",
) -> SimulationSpec:
    """Validate the user's choices into a :class:`SimulationSpec`."""
    spec = get_cadence(cadence)
    phot = get_photometry(spec.name if photometry is None else photometry)
    missing = [b for b in spec.bands if b not in phot.errors.depth]
    if missing:
        raise ValueError(f"the photometry model has no depth for band(s) {missing}")
    if not 0.0 <= outlier_fraction < 1.0:
        raise ValueError("outlier_fraction must lie in [0, 1)")
    if int(seed) < 0:
        raise ValueError("seed must be a non-negative integer")
    return SimulationSpec(
        seed=int(seed),
        classes=parse_classes(classes),
        cadence=spec,
        photometry=phot,
        outlier_fraction=float(outlier_fraction),
        id_prefix=id_prefix,
    )


@dataclass
class _Truth:
    """Per-object truth of one block, filled class by class."""

    n: int

    def __post_init__(self) -> None:
        self.period = np.full(self.n, np.nan)
        self.amplitude = np.full(self.n, np.nan)
        self.epoch = np.full(self.n, np.nan)
        self.colour = np.full(self.n, np.nan)
        self.subtype = np.empty(self.n, dtype=object)
        self.catalog_id = np.full(self.n, "", dtype=object)


@dataclass(frozen=True)
class Block:
    """The light curves and object rows of consecutive objects, as Arrow tables."""

    lightcurves: pa.Table
    objects: pa.Table


def _block_rng(seed: int, block: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))


def simulate_block(spec: SimulationSpec, block: int, catalog: Catalog | None = None) -> Block:
    """Objects ``block * BLOCK_SIZE ... + BLOCK_SIZE - 1`` of the data set ``spec``."""
    catalog = catalog or load_catalog()
    rng = _block_rng(spec.seed, block)
    n = BLOCK_SIZE
    cad = spec.cadence
    classes = np.array(spec.classes, dtype=object)
    code = rng.integers(0, len(classes), n)
    sampling = sample_cadence(cad, n, rng)
    mean_mag = spec.photometry.magnitudes.sample(n, rng)
    star, time, band = sampling.star, sampling.time, sampling.band
    t_rel = time - cad.mjd_start
    truth = _Truth(n)
    delta = np.zeros(time.size)
    point_code = code[star]

    for c, label in enumerate(spec.classes):
        members = np.flatnonzero(code == c)
        if members.size == 0:
            continue
        local = np.full(n, -1, dtype=np.int64)
        local[members] = np.arange(members.size)
        pts = np.flatnonzero(point_code == c)
        who = local[star[pts]]
        if label in FOURIER_LABELS:
            _fourier_class(
                label, members, pts, who, t_rel, band, sampling, truth, delta, catalog, rng, cad
            )
        elif label == LPV:
            _lpv_class(members, pts, who, t_rel, band, sampling, truth, delta, catalog, rng, cad)
        elif label in ECLIPSING_LABELS:
            _eclipsing_class(
                label, members, pts, who, t_rel, band, sampling, truth, delta, rng, cad
            )
        else:  # pragma: no cover - parse_classes guards this
            raise ValueError(f"unknown class {label!r}")

    offsets = band_offsets(cad.bands, cad.reference_band, truth.colour)
    true_mag = mean_mag[star] + offsets[star, band] + delta
    seen = observe(
        true_mag,
        band,
        cad.bands,
        spec.photometry.errors,
        rng,
        spec.outlier_fraction,
        spec.photometry.snr_limit,
    )
    keep = _kept_points(sampling, seen.detected, cad)
    return _tables(
        spec,
        block,
        code,
        sampling.select(keep),
        mean_mag,
        truth,
        seen.mag[keep],
        seen.mag_err[keep],
        seen.outlier[keep],
    )


def _kept_points(sampling: Sampling, detected: np.ndarray, cad: CadenceSpec) -> np.ndarray:
    """Detections of bands with enough of them; the reference band is always kept whole."""
    n_bands = len(cad.bands)
    cell = sampling.star * n_bands + sampling.band
    counts = np.bincount(cell, weights=detected, minlength=sampling.n_objects * n_bands)
    enough = (counts >= cad.min_per_band)[cell]
    reference = sampling.band == cad.bands.index(cad.reference_band)
    return (detected & enough) | (reference & ~enough)


def _ratios(family: str, bands: tuple[str, ...]) -> np.ndarray:
    return np.array([amplitude_ratio(family, b) for b in bands])


def _fourier_class(
    label, members, pts, who, t_rel, band, sampling, truth, delta, catalog, rng, cad
) -> None:
    rows = catalog.draw(label, members.size, rng)
    phi1 = rng.uniform(0.0, TWO_PI, members.size)
    series = catalog_fourier_series(rows, phi1)
    period = rows["P_1"]
    ratio = _ratios("pulsating", sampling.bands)
    phase = t_rel[pts] / period[who]
    delta[pts] = series.evaluate(phase, who) * ratio[band[pts]]
    truth.period[members] = period
    truth.amplitude[members] = rows["A_1"] * amplitude_ratio("pulsating", cad.reference_band)
    truth.epoch[members] = cad.mjd_start + series.max_light_phase() * period
    truth.colour[members] = np.where(
        np.isfinite(rows["V_I"]), rows["V_I"], catalog.default_colour(label)
    )
    truth.subtype[members] = rows.subtype
    truth.catalog_id[members] = rows.id


def _lpv_class(members, pts, who, t_rel, band, sampling, truth, delta, catalog, rng, cad) -> None:
    rows = catalog.draw(LPV, members.size, rng)
    stars = LPVStars(
        period=rows["P_1"],
        amplitude=rows["A_1"],
        period2=rows["P_2"],
        amplitude2=rows["A_2"],
        subtype=rows.subtype,
        phi1=rng.uniform(0.0, TWO_PI, members.size),
        phi2=rng.uniform(0.0, TWO_PI, members.size),
    )
    ratio = _ratios("lpv", sampling.bands)
    delta[pts] = lpv_magnitude(t_rel[pts], who, stars, rng) * ratio[band[pts]]
    truth.period[members] = stars.period
    truth.amplitude[members] = stars.amplitude * amplitude_ratio("lpv", cad.reference_band)
    # maximum light of the mean periodic term: 2 pi t / P + phi1 = pi (mod 2 pi)
    truth.epoch[members] = cad.mjd_start + np.mod((np.pi - stars.phi1) / TWO_PI, 1.0) * (
        stars.period
    )
    truth.colour[members] = np.where(
        np.isfinite(rows["V_I"]), rows["V_I"], catalog.default_colour(LPV)
    )
    truth.subtype[members] = rows.subtype
    truth.catalog_id[members] = rows.id


def _eclipsing_class(
    label, members, pts, who, t_rel, band, sampling, truth, delta, rng, cad
) -> None:
    systems = draw_binaries(label, members.size, rng)
    curves = binary_curves(systems)
    phase0 = rng.uniform(0.0, 1.0, members.size)
    phase = t_rel[pts] / systems.period[who] - phase0[who]
    delta[pts] = binary_magnitude(phase, systems, who, curves)  # grey: same in every band
    truth.period[members] = systems.period
    truth.amplitude[members] = curves.amplitude
    truth.epoch[members] = cad.mjd_start + phase0 * systems.period
    lo, hi = EB_COLOUR[label]
    truth.colour[members] = rng.uniform(lo, hi, members.size)
    truth.subtype[members] = label
    truth.catalog_id[members] = ""


def _tables(
    spec, block, code, sampling: Sampling, mean_mag, truth: _Truth, mag, mag_err, outlier
) -> Block:
    n = code.size
    ids = pa.array(spec.object_id(block * BLOCK_SIZE + np.arange(n)), type=pa.string())
    star = pa.array(sampling.star.astype(np.int32))
    lightcurves = pa.Table.from_arrays(
        [
            ids.take(star),
            pa.array(sampling.time),
            pa.array(mag),
            pa.array(mag_err),
            pa.array(list(sampling.bands), type=pa.string()).take(
                pa.array(sampling.band.astype(np.int32))
            ),
        ],
        schema=LIGHTCURVE_SCHEMA,
    )
    counts = sampling.counts().astype(np.int32)
    n_out = np.bincount(sampling.star[outlier], minlength=n).astype(np.int32)
    labels = np.array(spec.classes, dtype=object)[code]
    objects = pa.Table.from_arrays(
        [
            ids,
            pa.array(labels.tolist(), type=pa.string()),
            pa.array(truth.period),
            pa.array(truth.amplitude),
            pa.array(mean_mag),
            pa.array([spec.cadence.reference_band] * n, type=pa.string()),
            pa.array(truth.colour),
            pa.array(truth.epoch),
            pa.array(truth.subtype.tolist(), type=pa.string()),
            pa.array(truth.catalog_id.tolist(), type=pa.string()),
            pa.array([spec.cadence.name] * n, type=pa.string()),
            pa.array(counts),
            pa.array(n_out),
        ],
        schema=OBJECT_SCHEMA,
    )
    return Block(lightcurves=lightcurves, objects=objects)


def _truncate(block: Block, k: int) -> Block:
    """The first ``k`` objects of a block."""
    if k >= block.objects.num_rows:
        return block
    objects = block.objects.slice(0, k)
    n_points = int(np.sum(objects.column("n_points").to_numpy()))
    return Block(block.lightcurves.slice(0, n_points), objects)


def iter_blocks(
    spec: SimulationSpec, n: int, catalog: Catalog | None = None, start_block: int = 0
) -> Iterator[Block]:
    """Blocks covering objects ``0 .. n - 1`` (the last one truncated), from ``start_block``."""
    if n < 0:
        raise ValueError("the number of objects must be >= 0")
    catalog = catalog or load_catalog()
    n_blocks = -(-n // BLOCK_SIZE)
    for b in range(start_block, n_blocks):
        yield _truncate(simulate_block(spec, b, catalog), n - b * BLOCK_SIZE)


def simulate_tables(n: int, spec: SimulationSpec) -> tuple[pa.Table, pa.Table]:
    """All ``n`` objects as two Arrow tables (light curves, objects)."""
    blocks = list(iter_blocks(spec, n))
    if not blocks:
        return LIGHTCURVE_SCHEMA.empty_table(), OBJECT_SCHEMA.empty_table()
    return (
        pa.concat_tables([b.lightcurves for b in blocks]),
        pa.concat_tables([b.objects for b in blocks]),
    )


def simulate(
    n: int,
    seed: int = 0,
    cadence: str | CadenceSpec = "uniform",
    classes: str | list[str] | tuple[str, ...] | None = None,
    outlier_fraction: float = 0.0,
    photometry: str | PhotometrySpec | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``n`` objects in memory: ``(lightcurves, objects)`` DataFrames.

    ``lightcurves`` is the long-format table ``object_id, time, mag, mag_err, band`` sorted by
    object and time; ``objects`` has one row per object with ``object_id, label, period`` and
    further truth columns (see docs/simulation.md).  ``cadence`` is a name of
    :data:`~lcvade.simulation.cadence.CADENCES` or a :class:`CadenceSpec`; ``photometry``
    defaults to the cadence's survey.  For large runs use
    :func:`lcvade.simulation.writer.write_simulation`, which streams to disk.
    """
    spec = make_spec(seed, cadence, classes, outlier_fraction, photometry)
    lightcurves, objects = simulate_tables(n, spec)
    return lightcurves.to_pandas(), objects.to_pandas()
