"""Simulated light curves with known truth, driven by real OGLE-III pulsation parameters.

Quick start::

    from lcvade.simulation import simulate, write_simulation, to_lightcurves

    lightcurves, objects = simulate(1000, seed=1, cadence="ztf")       # in memory
    curves = to_lightcurves(lightcurves, objects)                        # LightCurve objects
    write_simulation("sims/ztf", 1_000_000, seed=1, cadence="ztf")      # streamed to disk

See docs/simulation.md for the models, labels and output layout.
"""

from lcvade.simulation.cadence import CADENCES, CadenceSpec, Sampling, get_cadence
from lcvade.simulation.catalog import Catalog, load_catalog
from lcvade.simulation.convert import to_lightcurves
from lcvade.simulation.generator import (
    BLOCK_SIZE,
    LIGHTCURVE_SCHEMA,
    OBJECT_SCHEMA,
    SimulationSpec,
    make_spec,
    simulate,
    simulate_tables,
)
from lcvade.simulation.labels import DESCRIPTIONS, LABELS, parse_classes
from lcvade.simulation.photometry import PHOTOMETRY, ErrorModel, MagnitudeRange, PhotometrySpec
from lcvade.simulation.shapes import fit_fourier
from lcvade.simulation.writer import SimulationSummary, write_simulation

__all__ = [
    "BLOCK_SIZE",
    "CADENCES",
    "DESCRIPTIONS",
    "LABELS",
    "LIGHTCURVE_SCHEMA",
    "OBJECT_SCHEMA",
    "PHOTOMETRY",
    "CadenceSpec",
    "Catalog",
    "ErrorModel",
    "MagnitudeRange",
    "PhotometrySpec",
    "Sampling",
    "SimulationSpec",
    "SimulationSummary",
    "fit_fourier",
    "get_cadence",
    "load_catalog",
    "make_spec",
    "parse_classes",
    "simulate",
    "simulate_tables",
    "to_lightcurves",
    "write_simulation",
]
