"""Label-preserving augmentation of training light curves.

A survey observes the same star at other epochs, with other noise draws; a curve's class does
not change with either.  Each time a training curve enters a batch it is redrawn:

1. **a random subset of its points**: in each band of n_b points, keep
   k_b = max(min(n_b, min_points), round(u n_b)) of them, u ~ U(min_fraction, 1), chosen
   without replacement -- other cadences, other curve lengths;
2. **noise at the stated errors**: mu_j' = mu_j + e_j sigma_j with e_j ~ N(0, 1) -- another
   realisation of the photometry the errors describe.

Folding and anchoring then run as for any curve, so the period and the class are untouched.
The draws come from a generator seeded per (seed, epoch, batch), so a run is reproducible and
a resumed run replays the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lcvade.lightcurve import LightCurve


class Augmentation(BaseModel):
    """How training curves are redrawn (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_fraction: float = Field(
        default=0.5, gt=0.0, le=1.0, description="smallest fraction of a band's points kept"
    )
    noise: bool = Field(default=True, description="add noise drawn at the stated errors")


def augment_curve(
    curve: LightCurve, rng: np.random.Generator, augmentation: Augmentation, min_points: int
) -> LightCurve:
    """One redraw of ``curve`` (a random subset of its points, noise at its errors)."""
    bands = np.zeros(len(curve), dtype=np.int64) if curve.band is None else curve.band
    keep = []
    for name in np.unique(bands):
        members = np.flatnonzero(bands == name)
        n = members.size
        u = rng.uniform(augmentation.min_fraction, 1.0)
        k = max(min(n, min_points), int(round(u * n)))
        keep.append(rng.choice(members, size=k, replace=False))
    index = np.sort(np.concatenate(keep))
    mag = curve.mag[index]
    if augmentation.noise:
        mag = mag + rng.standard_normal(index.size) * curve.mag_err[index]
    return LightCurve(
        curve.time[index],
        mag,
        curve.mag_err[index],
        None if curve.band is None else curve.band[index],
        period=curve.period,
        id=curve.id,
        min_points=1,
    )


def augment_curves(
    curves: Sequence[LightCurve],
    seed: Sequence[int],
    augmentation: Augmentation,
    min_points: int,
) -> list[LightCurve]:
    """Redraws of ``curves`` from one generator seeded with ``seed`` (e.g. seed, epoch, batch)."""
    rng = np.random.default_rng(list(seed))
    return [augment_curve(c, rng, augmentation, min_points) for c in curves]
