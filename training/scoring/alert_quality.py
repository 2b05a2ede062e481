"""Which alert photometry to use, and the quality cuts on it: one configurable set of settings.

:class:`AlertCuts` holds every choice made while turning alert packets into light-curve
points, so a run records it (``_run.json``) and ``lcvade score`` and ``lcvade convert`` make
the same choices:

* ``photometry``: ``auto`` -- apparent magnitudes for objects on a reference source (ZTF:
  ``distnr`` < ``reference_radius``; Rubin: template flux S/N >= ``template_snr``),
  difference magnitudes for the others (transients); ``difference`` -- difference magnitudes
  everywhere, as the packets give them.
* ZTF cuts, each ``None`` to switch it off: ``min_rb`` (real/bogus score ``rb``), ``min_drb``
  (deep-learning real/bogus ``drb``), ``max_nbad`` (bad pixels within 5x5 pixels of the
  detection), ``max_magdiff`` (|``magap`` - ``magpsf``|, aperture minus PSF magnitude).
* Rubin cuts: ``min_reliability`` (``diaSource.reliability``) and ``pixel_flags`` (a
  ``diaSource`` with any of these flags set is cut).

A cut applies where the packet carries the value (a missing score does not cut a point);
forced photometry has no scores or flags and is cut by none.  A cut point is not dropped:
its row carries the reason (``skip``), and the reasons are counted per object.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from models.errors import LCVaDEError

DEFAULT_PIXEL_FLAGS = (
    "pixelFlags",
    "pixelFlags_offimage",
    "pixelFlags_edge",
    "pixelFlags_nodataCenter",
    "pixelFlags_saturatedCenter",
    "pixelFlags_crCenter",
    "pixelFlags_suspectCenter",
    "pixelFlags_interpolatedCenter",
    "pixelFlags_streakCenter",
    "pixelFlags_injectedCenter",
)
OFF = ("off", "none", "")


class AlertCutsError(LCVaDEError):
    """A ``--cut`` setting cannot be read; the message says what to write."""


class AlertCuts(BaseModel):
    """Photometry choice and quality cuts for alert packets (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    photometry: Literal["auto", "difference"] = Field(
        default="auto",
        description="alerts: auto = apparent magnitudes for objects on a reference source, "
        "difference magnitudes for transients; difference = difference magnitudes everywhere",
    )
    reference_radius: float = Field(
        default=1.4,
        gt=0,
        description="ZTF: distnr (arcsec) below which a detection is on its reference source",
    )
    template_snr: float = Field(
        default=5.0,
        gt=0,
        description="Rubin: median templateFlux / templateFluxErr of an "
        "alert's diaSources at or above which the object is on a template source",
    )
    min_rb: float | None = Field(default=0.3, ge=0, le=1)
    min_drb: float | None = Field(default=None, ge=0, le=1)
    max_nbad: int | None = Field(default=0, ge=0)
    max_magdiff: float | None = Field(default=0.5, gt=0)
    min_reliability: float | None = Field(default=0.5, ge=0, le=1)
    pixel_flags: tuple[str, ...] = DEFAULT_PIXEL_FLAGS

    def ztf_reasons(
        self, rb: np.ndarray, drb: np.ndarray, nbad: np.ndarray, magdiff: np.ndarray
    ) -> np.ndarray:
        """The first ZTF cut each point fails (None: passes), in the order of the fields."""
        return first_reason(
            len(rb),
            [
                (_below(rb, self.min_rb), f"rb below {self.min_rb}"),
                (_below(drb, self.min_drb), f"drb below {self.min_drb}"),
                (_above(nbad, self.max_nbad), f"nbad above {self.max_nbad}"),
                (_above(np.abs(magdiff), self.max_magdiff), f"|magdiff| above {self.max_magdiff}"),
            ],
        )

    def rubin_reasons(self, reliability: np.ndarray, flag: np.ndarray) -> np.ndarray:
        """The first Rubin cut each point fails; ``flag`` names its first set pixel flag."""
        reasons = np.array([None if f is None else f"pixel flag {f}" for f in flag], dtype=object)
        low = _below(reliability, self.min_reliability)
        reasons[low] = f"reliability below {self.min_reliability}"
        return reasons


def _below(values: np.ndarray, bound: float | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if bound is None:
        return np.zeros(len(values), dtype=bool)
    return values < bound  # NaN (missing) compares False: not cut


def _above(values: np.ndarray, bound: float | None) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if bound is None:
        return np.zeros(len(values), dtype=bool)
    return values > bound


def first_reason(n: int, checks: Sequence[tuple[np.ndarray, str]]) -> np.ndarray:
    """Per row, the reason of the first check (in the given order) whose mask is true."""
    reasons = np.full(n, None, dtype=object)
    for mask, reason in reversed(checks):
        reasons[np.asarray(mask, dtype=bool)] = reason
    return reasons


def parse_cuts(items: Iterable[str]) -> dict[str, object]:
    """``--cut NAME=VALUE`` settings as AlertCuts fields.

    ``off`` (or ``none``) switches a cut off; ``pixel_flags`` takes flag names joined by
    ``+`` (``pixel_flags=pixelFlags_bad+pixelFlags_saturatedCenter``, or ``off``).
    """
    fields = AlertCuts.model_fields
    settings: dict[str, object] = {}
    for item in items:
        name, sep, value = (part.strip() for part in item.partition("="))
        if not sep or name not in fields:
            raise AlertCutsError(
                f"--cut {item!r}: write NAME=VALUE with NAME one of {', '.join(fields)} "
                "(e.g. --cut min_rb=0.55, --cut max_magdiff=off)"
            )
        if name == "pixel_flags":
            settings[name] = () if value.lower() in OFF else tuple(value.split("+"))
        elif value.lower() in OFF:
            if not name.startswith(("min_", "max_")):
                raise AlertCutsError(f"--cut {name} cannot be switched off; give a value")
            settings[name] = None
        else:
            settings[name] = value
    return settings
