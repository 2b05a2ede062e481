"""Simulated tables to :class:`~lcvade.lightcurve.LightCurve` objects, through the project's reader.

Going through :func:`lcvade.tables.iter_curves` (the same grouping the ``train`` and ``score``
commands use) both converts and checks that the simulated tables are what those commands read.
"""

from __future__ import annotations

import pandas as pd

from lcvade.lightcurve import LightCurve
from lcvade.tables import Rejection, iter_curves


def to_lightcurves(
    lightcurves: pd.DataFrame, objects: pd.DataFrame, *, with_period: bool = True
) -> list[LightCurve]:
    """One validated light curve per object, in object-table order.

    ``with_period=False`` leaves the periods out (to exercise the period search).  Raises
    ``ValueError`` if any object fails validation.
    """
    table = objects if with_period else objects.drop(columns=["period"])
    curves: list[LightCurve] = []
    rejected: list[Rejection] = []
    for item in iter_curves(lightcurves, table):
        (rejected if isinstance(item, Rejection) else curves).append(item)
    if rejected:
        first = rejected[0]
        raise ValueError(
            f"{len(rejected)} simulated object(s) failed validation, e.g. "
            f"{first.object_id}: {first.reason}"
        )
    order = {oid: i for i, oid in enumerate(objects["object_id"].astype(str))}
    curves.sort(key=lambda c: order[c.id])
    return curves
