"""From the photometry rows of a group of objects to light curves the model can score.

Every object becomes exactly one :class:`PreparedObject`: a validated
:class:`~lcvade.lightcurve.LightCurve`, or the reason it cannot be scored.  Steps, all
vectorised over the group:

1. merge repeated detections: rows with the same ``(object_id, source_id)`` -- the same
   detection carried by several alerts of one object -- count once (a usable copy wins);
2. keep one kind of magnitude per object: where an object's usable points mix apparent and
   difference magnitudes (``mag_kind``; e.g. a ZTF detection off-centre from its reference
   source), the kind of most points is kept and the others are set aside with the reason;
3. set aside unusable points (non-detections, non-finite magnitudes, non-positive fluxes,
   failed quality cuts), counting them per reason for the object's report;
4. fit the object's bands to the model's ``config.bands`` (:func:`lcvade.batching.band_channels`)
   following a :class:`BandPolicy`;
5. refuse objects of more than ``max_points`` usable points (the model keeps a few hundred;
   the period search of millions would stall the run);
6. validate with :func:`lcvade.tables.iter_curves` (finite values, positive errors, at least
   ``config.min_points`` points per band), attach the object's period, if given, and check
   that the curve can be folded (:func:`lcvade.lightcurve.check_foldable`);
7. where step 4 left bands out and no period is given, keep the object's points in every
   band with ``config.min_points`` to ``max_points`` of them as the curve of its period search
   (:attr:`PreparedObject.period_curve`): the model reads its bands, the search uses all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lcvade.config import LCVaDEConfig
from lcvade.lightcurve import DEFAULT_MAX_POINTS, LightCurve, LightCurveError, check_foldable
from lcvade.tables import Rejection, iter_curves
from training.scoring.photometry_rows import APPARENT, DIFFERENCE

MultiBandPolicy = Literal["best", "merge", "require"]
UnknownBandPolicy = Literal["drop", "reject"]
SparseBandPolicy = Literal["drop", "reject"]


@dataclass(frozen=True)
class BandPolicy:
    """What to do when an object's bands do not match the model's.

    ``multi_band`` (models of one unnamed band, given several bands): ``best`` keeps the
    band with the most points, ``merge`` scores all points as one band, ``require`` rejects.
    ``unknown_bands`` (points in bands the model does not know): ``drop`` them or ``reject``
    the object.  ``sparse_bands`` (a band with fewer than ``min_points`` points while another
    band has enough): ``drop`` that band or ``reject`` the object.
    """

    multi_band: MultiBandPolicy = "best"
    unknown_bands: UnknownBandPolicy = "drop"
    sparse_bands: SparseBandPolicy = "drop"


@dataclass(frozen=True)
class PreparedObject:
    """One object ready to score (``curve``) or rejected (``reason``).

    ``notes`` tells what was set aside on the way (skipped points, dropped bands).
    ``search_curve`` holds the object's usable points in every band with at least
    ``min_points`` of them, where the model's ``curve`` leaves bands out and no period is
    given: the period is a property of the star, and is searched in all of its bands, as
    :meth:`lcvade.Scorer.score` does (see :attr:`period_curve`).
    """

    object_id: str
    curve: LightCurve | None
    reason: str | None
    n_points: int
    bands: str
    notes: str | None = None
    search_curve: LightCurve | None = None

    @property
    def period_curve(self) -> LightCurve | None:
        """The curve whose period is searched: ``search_curve`` when there is one."""
        return self.search_curve if self.search_curve is not None else self.curve


def _joined(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def deduplicate(photometry: pd.DataFrame) -> pd.DataFrame:
    """Drop repeated detections and repeated unusable points of an object (order kept).

    Detections are matched by ``source_id``; unusable points without one by time, band and
    reason.  Table rows (no ``source_id``, usable) are never merged.
    """
    skipped = photometry["skip"].notna().to_numpy()
    with_id = photometry["source_id"].notna().to_numpy()
    if not with_id.any() and not skipped.any():
        return photometry
    ordered = photometry.iloc[np.argsort(skipped, kind="stable")]
    keyed = ordered[ordered["source_id"].notna().to_numpy()]
    keyed = keyed.drop_duplicates(["object_id", "source_id"])
    loose = ordered[ordered["source_id"].isna().to_numpy()]
    loose_skipped = loose[loose["skip"].notna().to_numpy()]
    loose_skipped = loose_skipped.drop_duplicates(["object_id", "time", "band", "skip"])
    loose_usable = loose[loose["skip"].isna().to_numpy()]
    return pd.concat([keyed, loose_skipped, loose_usable]).sort_index()


class _Notes:
    """Per-object rejection reasons and remarks collected along the steps."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.remarks: dict[str, list[str]] = defaultdict(list)

    def reject(self, object_ids: Iterable[str], reason) -> None:
        for object_id in object_ids:
            if object_id not in self.reasons:
                self.reasons[object_id] = reason(object_id) if callable(reason) else reason

    def remark(self, object_id: str, text: str) -> None:
        self.remarks[object_id].append(text)

    def summary(self, object_id: str) -> str | None:
        remarks = self.remarks.get(object_id)
        return "; ".join(remarks) if remarks else None

    def explain(self, object_id: str, reason: str) -> str:
        remarks = self.remarks.get(object_id)
        return "; ".join([reason, *remarks]) if remarks else reason


def other_kind_reason(kept: str) -> str:
    """The skip reason of a point whose magnitude kind differs from its object's."""
    other = DIFFERENCE if kept == APPARENT else APPARENT
    return f"{other} magnitude in a light curve of {kept} magnitudes"


def one_kind_per_object(photometry: pd.DataFrame) -> pd.DataFrame:
    """Skip the usable points whose ``mag_kind`` is not their object's majority kind (ties:
    apparent), so no curve mixes apparent and difference magnitudes."""
    kinds = photometry["mag_kind"]
    usable = photometry["skip"].isna().to_numpy() & kinds.notna().to_numpy()
    if not usable.any():
        return photometry
    counts = (
        photometry[usable]
        .groupby(["object_id", "mag_kind"], sort=False)
        .size()
        .unstack(fill_value=0)
    )
    if counts.shape[1] < 2:
        return photometry
    apparent = counts.get(APPARENT, 0)
    difference = counts.get(DIFFERENCE, 0)
    kept = pd.Series(np.where(apparent >= difference, APPARENT, DIFFERENCE), index=counts.index)
    wanted = photometry["object_id"].map(kept).to_numpy(dtype=object)
    odd = usable & (kinds.to_numpy(dtype=object) != wanted)
    if not odd.any():
        return photometry
    marked = photometry.copy()
    marked.loc[odd, "skip"] = [other_kind_reason(k) for k in wanted[odd]]
    return marked


def _set_aside_unusable(photometry: pd.DataFrame, notes: _Notes) -> pd.DataFrame:
    skipped = photometry["skip"].notna().to_numpy()
    if not skipped.any():
        return photometry
    counts = photometry[skipped].groupby(["object_id", "skip"], sort=False).size()
    per_object: dict[str, list[str]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for (object_id, why), n in counts.items():
        per_object[object_id].append(f"{why}: {n}")
        totals[object_id] += int(n)
    for object_id, parts in per_object.items():
        notes.remark(object_id, f"skipped {totals[object_id]} points ({', '.join(parts)})")
    return photometry[~skipped]


def _bands_by_object(photometry: pd.DataFrame) -> pd.Series:
    banded = photometry[photometry["band"].notna().to_numpy()]
    return banded.groupby("object_id", sort=False)["band"].agg(lambda b: tuple(sorted(set(b))))


def _fit_named_bands(
    photometry: pd.DataFrame, config: LCVaDEConfig, policy: BandPolicy, notes: _Notes
) -> pd.DataFrame:
    model_bands = list(config.bands or [])
    has_band = photometry["band"].notna().to_numpy()
    if config.n_bands > 1 and not has_band.all():
        missing = pd.unique(photometry["object_id"][~has_band])
        notes.reject(
            missing,
            f"the model takes bands {_joined(model_bands)} and this object's points have no "
            "band name; give a band column (or --band-map to rename bands)",
        )
    unknown = has_band & ~photometry["band"].isin(model_bands).to_numpy()
    if not unknown.any():
        return photometry
    foreign = (
        photometry[unknown]
        .groupby("object_id", sort=False)["band"]
        .agg(lambda b: (len(b), tuple(sorted(set(b)))))
    )
    for object_id, (count, names) in foreign.items():
        if policy.unknown_bands == "reject":
            notes.reject(
                [object_id],
                f"bands {_joined(names)} are not among the model's bands "
                f"{_joined(model_bands)} (pass --unknown-bands drop to ignore their points)",
            )
        else:
            notes.remark(
                object_id,
                f"dropped {count} points in bands the model does not use: {_joined(names)}",
            )
    return photometry[~unknown]


def _fit_single_band(
    photometry: pd.DataFrame, policy: BandPolicy, notes: _Notes, labels: dict[str, str]
) -> pd.DataFrame:
    bands = _bands_by_object(photometry)
    several = bands[bands.map(len) > 1]
    if several.empty:
        return photometry
    in_several = photometry["object_id"].isin(several.index).to_numpy()
    if policy.multi_band == "require":
        for object_id, names in several.items():
            notes.reject(
                [object_id],
                f"the model takes one band and this object has bands {_joined(names)} "
                "(pass --band-policy best or merge)",
            )
        return photometry
    if policy.multi_band == "merge":
        for object_id, names in several.items():
            labels[object_id] = "+".join(names)
        merged = photometry.copy()
        merged.loc[in_several, "band"] = None
        return merged
    counts = (
        photometry[in_several]
        .groupby(["object_id", "band"], sort=True)
        .size()
        .reset_index(name="n")
    )
    counts = counts.sort_values(["object_id", "n", "band"], ascending=[True, False, True])
    best = counts.drop_duplicates("object_id").set_index("object_id")["band"]
    chosen = photometry["object_id"].map(best)
    keep = ~in_several | (photometry["band"] == chosen).to_numpy()
    dropped = photometry[~keep].groupby("object_id", sort=False).size()
    for object_id, n in dropped.items():
        notes.remark(
            object_id,
            f"used band {best[object_id]}, the one with most points; dropped {n} "
            "points in other bands",
        )
    return photometry[keep]


def _drop_sparse_bands(
    photometry: pd.DataFrame, min_points: int, policy: BandPolicy, notes: _Notes
) -> pd.DataFrame:
    banded = photometry["band"].notna().to_numpy()
    if not banded.any():
        return photometry
    counts = photometry[banded].groupby(["object_id", "band"], sort=False).size()
    richest = counts.groupby(level=0).max()
    sparse = counts[(counts < min_points) & (richest.reindex(counts.index, level=0) >= min_points)]
    if sparse.empty:
        return photometry
    for (object_id, band), n in sparse.items():
        if policy.sparse_bands == "reject":
            notes.reject(
                [object_id],
                f"band {band} has {n} points; the model needs at least {min_points} per band "
                "(pass --sparse-bands drop to score the other bands)",
            )
        else:
            notes.remark(object_id, f"dropped band {band} ({n} points, fewer than {min_points})")
    pairs = pd.MultiIndex.from_arrays([photometry["object_id"], photometry["band"]])
    return photometry[~pairs.isin(sparse.index)]


def _search_curves(
    every_band: pd.DataFrame,
    built: dict[str, LightCurve | Rejection],
    min_points: int,
    max_points: int,
) -> dict[str, LightCurve]:
    """The period-search curves of step 7: for every built curve without a period whose
    object has usable points in bands the curve leaves out, those points and the curve's, in
    every band of ``min_points`` to ``max_points`` points."""
    lengths = {
        key: len(curve)
        for key, curve in built.items()
        if isinstance(curve, LightCurve) and curve.period is None
    }
    if not lengths:
        return {}
    rows = every_band[every_band["object_id"].isin(list(lengths)).to_numpy()]
    rows = rows[rows["band"].notna().to_numpy()]
    sizes = rows.groupby(["object_id", "band"], sort=False)["band"].transform("size")
    rows = rows[sizes.between(min_points, max_points).to_numpy()]
    totals = rows.groupby("object_id", sort=False).size()
    wider = [key for key, n in totals.items() if n > lengths[key]]
    if not wider:
        return {}
    rows = rows[rows["object_id"].isin(wider).to_numpy()]
    curves = iter_curves(rows, None, min_points=min_points)
    return {str(c.id): c for c in curves if isinstance(c, LightCurve)}


def prepare_objects(
    photometry: pd.DataFrame,
    objects: pd.DataFrame | None,
    config: LCVaDEConfig,
    policy: BandPolicy = BandPolicy(),
    max_points: int = DEFAULT_MAX_POINTS,
) -> list[PreparedObject]:
    """One :class:`PreparedObject` per object of ``photometry`` and ``objects``, in order of
    first appearance (photometry first); see the module docstring for the steps."""
    id_lists = [photometry["object_id"].to_numpy(dtype=object)]
    if objects is not None:
        id_lists.append(objects["object_id"].to_numpy(dtype=object))
    order = pd.unique(np.concatenate(id_lists))
    notes = _Notes()
    labels: dict[str, str] = {}

    unique = deduplicate(photometry.reset_index(drop=True))
    rows = _set_aside_unusable(one_kind_per_object(unique), notes)
    usable_counts = rows.groupby("object_id", sort=False).size()
    usable_bands = _bands_by_object(rows)
    has_band = rows["band"].notna()
    mixed = has_band.groupby(rows["object_id"], sort=False).agg(["any", "all"])
    mixed = mixed[mixed["any"] & ~mixed["all"]]
    notes.reject(
        mixed.index,
        "some of this object's points have a band name and others have none; give every "
        "point a band",
    )
    every_band = rows
    if config.bands is not None:
        rows = _fit_named_bands(rows, config, policy, notes)
    else:
        rows = _fit_single_band(rows, policy, notes, labels)
    rows = _drop_sparse_bands(rows, config.min_points, policy, notes)
    sizes = rows.groupby("object_id", sort=False).size()
    too_long = sizes[sizes > max_points]
    notes.reject(
        too_long.index,
        lambda object_id: (
            f"{int(too_long[object_id])} points; at most {max_points} per curve "
            "are scored (the model keeps a few hundred): thin the light curve"
        ),
    )
    rows = rows[~rows["object_id"].isin(list(notes.reasons)).to_numpy()]

    periods = None
    if objects is not None:
        periods = objects[objects["object_id"].isin(rows["object_id"]).to_numpy()]
    built: dict[str, LightCurve | Rejection] = {}
    has_band = rows["band"].notna()
    banded = has_band.groupby(rows["object_id"], sort=False).transform("all").to_numpy(bool)
    for subset, keep_band in ((rows[banded], True), (rows[~banded], False)):
        if subset.empty:
            continue
        table = subset if keep_band else subset.drop(columns="band")
        table_periods = None
        if periods is not None:
            table_periods = periods[periods["object_id"].isin(subset["object_id"]).to_numpy()]
        for item in iter_curves(table, table_periods, min_points=config.min_points):
            key = item.id if isinstance(item, LightCurve) else item.object_id
            if isinstance(item, LightCurve):
                try:
                    check_foldable(item, min_points=config.min_points)
                except LightCurveError as exc:
                    item = Rejection(str(key), str(exc), exc.field)
            built[str(key)] = item

    search = _search_curves(every_band, built, config.min_points, max_points)
    for object_id, curve in search.items():
        notes.remark(object_id, f"period searched in bands {_joined(curve.bands)}")

    prepared = []
    for object_id in order:
        n_points = int(usable_counts.get(object_id, 0))
        bands = ",".join(usable_bands.get(object_id, ()))
        item = built.get(object_id)
        if isinstance(item, LightCurve):
            label = labels.get(object_id, ",".join(item.bands))
            prepared.append(
                PreparedObject(
                    object_id,
                    item,
                    None,
                    len(item),
                    label,
                    notes.summary(object_id),
                    search.get(object_id),
                )
            )
            continue
        if object_id in notes.reasons:
            reason = notes.reasons[object_id]
        elif isinstance(item, Rejection):
            reason = item.reason
        elif object_id in notes.remarks:
            reason = "no usable points"
        else:
            reason = "no photometry rows for this object"
        explained = notes.explain(object_id, reason)
        prepared.append(
            PreparedObject(object_id, None, explained, n_points, bands, notes.summary(object_id))
        )
    return prepared
