"""The points of ZTF and Rubin/LSST alert packets as photometry rows, apparent or difference.

**ZTF** (``candidate`` and ``prv_candidates``, from Avro records or the brokers' Parquet
layout): a detection with ``distnr`` < ``reference_radius`` (1.4", the ALeRCE and Fink
convention) and a reference magnitude ``magnr`` is on a reference source -- a variable star,
most often -- and gets its apparent magnitude from the reference flux plus the difference flux
signed by ``isdiffpos`` (:func:`training.scoring.alert_photometry.ztf_apparent_magnitude`).  Other
detections (transients) keep ``magpsf``, the difference magnitude; one with a negative
difference (``isdiffpos`` ``f``/``0``) has no magnitude and is skipped.  Filter ids 1, 2, 3
are ``g``, ``r``, ``i``; Julian dates become MJD; history entries without ``magpsf`` are
non-detections.

**Rubin/LSST** (schema ``lsst.v11_0`` and earlier; ``diaSource``, ``prvDiaSources``,
``prvDiaForcedSources``): an alert whose diaSources have a template flux of median S/N >=
``template_snr`` is on a template source and its light curve is the direct-image flux
``scienceFlux`` (of diaSources and forced sources alike) as AB magnitudes; other objects
(transients, and schemas without ``scienceFlux``) take the difference flux ``psfFlux``.  A
forced measurement of a visit that also has a diaSource of the object repeats that point and
is skipped.  Fluxes in nJy become AB magnitudes
(:func:`~training.scoring.alert_photometry.flux_to_ab_mag`); non-positive fluxes are skipped.

Every entry of a packet becomes one row; an unusable one carries its reason in ``skip``
(:mod:`training.scoring.photometry_rows`), so rows in = rows out.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from training.scoring.alert_photometry import flux_to_ab_mag, ztf_apparent_magnitude
from training.scoring.alert_quality import AlertCuts, first_reason
from training.scoring.photometry_rows import (
    APPARENT,
    DIFFERENCE,
    SKIP_BAD_FLUX_ERR,
    SKIP_BAD_MAG_ERR,
    SKIP_FORCED_AT_DETECTION,
    SKIP_NEGATIVE_DIFFERENCE,
    SKIP_NO_DIFF_SIGN,
    SKIP_NON_DETECTION,
    SKIP_NON_FINITE_FLUX,
    SKIP_NON_FINITE_MAG,
    SKIP_NON_POSITIVE_APPARENT,
    SKIP_NON_POSITIVE_FLUX,
    photometry_frame,
)

ZTF_BANDS = {1: "g", 2: "r", 3: "i"}
MJD_OFFSET = 2400000.5
ZTF_NUMBERS = (
    "jd",
    "fid",
    "magpsf",
    "sigmapsf",
    "distnr",
    "magnr",
    "sigmagnr",
    "rb",
    "drb",
    "nbad",
    "magdiff",
)
ZTF_FIELDS = (*ZTF_NUMBERS, "candid", "isdiffpos")
DIFF_SIGN = {"t": 1.0, "1": 1.0, "f": -1.0, "0": -1.0, 1: 1.0, 0: -1.0}


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None becomes NaN


def _entry_table(entries: Sequence[dict[str, Any]], fields: Sequence[str]) -> np.ndarray:
    """``fields`` of ``entries`` (records of one schema) as an object array, a row per entry
    and a column per field, read in one pass over the entries; a field the records lack is a
    column of None."""
    n = len(entries)
    table = np.full((n, len(fields)), None, dtype=object)
    present = [k for k, name in enumerate(fields) if n and name in entries[0]]
    if not present:
        return table
    names = [fields[k] for k in present]
    try:
        rows = list(map(itemgetter(*names), entries))
    except KeyError:  # records of several shapes: one field at a time
        rows = [tuple(entry.get(name) for name in names) for entry in entries]
    values = np.array(rows, dtype=object)
    if values.shape != (n, len(names)) and not (len(names) == 1 and values.shape == (n,)):
        raise ValueError(f"the fields {names} of the alert entries are not single values")
    table[:, present] = values.reshape(n, len(names))
    return table


def ztf_columns(
    alerts: Sequence[dict[str, Any]],
) -> tuple[list[str], dict[str, Sequence[Any]], np.ndarray]:
    """The object id and the :data:`ZTF_FIELDS` of every entry of decoded ZTF alerts (the
    numbers as float arrays), and whether it is a detection (has a ``magpsf``): the alerts'
    candidates first, then their histories, each in the order of the alerts."""
    candidates = [alert["candidate"] for alert in alerts]
    ids = [str(alert["objectId"]) for alert in alerts]
    history: list[dict[str, Any]] = []
    for alert, object_id in zip(alerts, list(ids), strict=True):
        entries = alert.get("prv_candidates") or []
        history.extend(entries)
        ids.extend([object_id] * len(entries))
    table = np.concatenate([_entry_table(part, ZTF_FIELDS) for part in (candidates, history)])
    columns: dict[str, Sequence[Any]] = {
        name: table[:, k].astype(np.float64) for k, name in enumerate(ZTF_NUMBERS)
    }  # None becomes NaN
    columns["candid"] = table[:, ZTF_FIELDS.index("candid")]
    columns["isdiffpos"] = table[:, ZTF_FIELDS.index("isdiffpos")]
    detected = table[:, ZTF_FIELDS.index("magpsf")] != None  # noqa: E711 (elementwise)
    return ids, columns, detected


def _signs(isdiffpos: Sequence[Any]) -> np.ndarray:
    """+1 for ``t``/``1``, -1 for ``f``/``0``, 0 for anything else (missing)."""
    return pd.Series(isdiffpos, dtype=object).map(DIFF_SIGN).fillna(0.0).to_numpy(np.float64)


def _ztf_bands(fid: np.ndarray) -> np.ndarray:
    """Band names of ZTF filter ids (``fid7`` for an id without a name, None if missing)."""
    bands = np.full(len(fid), None, dtype=object)
    known = np.isin(fid, list(ZTF_BANDS))
    names = np.array([None, *ZTF_BANDS.values()], dtype=object)
    bands[known] = names[fid[known].astype(int)]
    other = np.isfinite(fid) & ~known
    bands[other] = [f"fid{int(f)}" for f in fid[other]]
    return bands


def ztf_frame(
    object_ids: Sequence[str],
    columns: dict[str, Sequence[Any]],
    detected: np.ndarray,
    cuts: AlertCuts,
) -> pd.DataFrame:
    """Photometry rows of ZTF entries given as columns (see the module docstring).

    ``columns`` holds :data:`ZTF_FIELDS` (missing values None or NaN; a field a schema
    lacks may be absent); ``detected`` marks the entries that have a ``magpsf``.
    """
    n = len(object_ids)
    missing = np.full(n, np.nan)
    num = {name: _floats(columns[name]) if name in columns else missing for name in ZTF_NUMBERS}
    sign = _signs(columns["isdiffpos"])
    magpsf, sigmapsf = num["magpsf"], num["sigmapsf"]
    on_reference = (
        (num["distnr"] < cuts.reference_radius)
        & np.isfinite(num["magnr"])
        & (num["magnr"] > 0)
        & (num["sigmagnr"] >= 0)  # also False for NaN (and ZTF's -999 placeholders)
    ) & (cuts.photometry == "auto")
    mag, err = magpsf.copy(), sigmapsf.copy()
    if on_reference.any():
        app_mag, app_err = ztf_apparent_magnitude(
            num["magnr"][on_reference],
            num["sigmagnr"][on_reference],
            magpsf[on_reference],
            sigmapsf[on_reference],
            sign[on_reference],
        )
        mag[on_reference], err[on_reference] = app_mag, app_err
    skip = first_reason(
        n,
        [
            (~detected, SKIP_NON_DETECTION),
            (~np.isfinite(magpsf), SKIP_NON_FINITE_MAG),
            (~(np.isfinite(sigmapsf) & (sigmapsf > 0)), SKIP_BAD_MAG_ERR),
            (sign == 0, SKIP_NO_DIFF_SIGN),
        ],
    )
    quality = cuts.ztf_reasons(num["rb"], num["drb"], num["nbad"], num["magdiff"])
    unset = pd.isna(skip)
    skip[unset] = quality[unset]
    unset &= pd.isna(quality)
    skip[unset & on_reference & ~np.isfinite(mag)] = SKIP_NON_POSITIVE_APPARENT
    skip[unset & ~on_reference & (sign < 0)] = SKIP_NEGATIVE_DIFFERENCE
    return photometry_frame(
        object_ids,
        num["jd"] - MJD_OFFSET,
        mag,
        err,
        _ztf_bands(num["fid"]),
        source_id=columns["candid"],
        skip=skip,
        mag_kind=np.where(detected, np.where(on_reference, APPARENT, DIFFERENCE), None),
        quality={k: num[k] for k in ("distnr", "rb", "drb", "nbad", "magdiff")},
    )


def _rubin_object_id(alert: dict[str, Any]) -> str:
    obj = alert.get("diaObject")
    if obj is not None and obj.get("diaObjectId") is not None:
        return str(obj["diaObjectId"])
    source_object = alert["diaSource"].get("diaObjectId")
    if source_object is not None:
        return str(source_object)
    return f"alert-{alert.get('alertId', alert.get('diaSourceId'))}"


RUBIN_NUMBERS = (
    "midpointMjdTai",
    "psfFlux",
    "psfFluxErr",
    "scienceFlux",
    "scienceFluxErr",
    "reliability",
)
RUBIN_FIELDS = (*RUBIN_NUMBERS, "band", "visit")
TEMPLATE_FIELDS = ("templateFlux", "templateFluxErr")


def alert_fields(kind: str, cuts: AlertCuts) -> dict[str, tuple[str, ...] | None]:
    """The fields of a ``kind`` (``ztf`` or ``lsst``) alert record that its rows are made of:
    each top-level field read, with the fields read of the records below it (None: the value
    whole).  Decoding only these leaves out the rest, image cutouts above all."""
    if kind == "ztf":
        return {"objectId": None, "candidate": ZTF_FIELDS, "prv_candidates": ZTF_FIELDS}
    source = (*RUBIN_FIELDS, *TEMPLATE_FIELDS, "diaSourceId", "diaObjectId", *cuts.pixel_flags)
    return {
        "alertId": None,
        "diaSourceId": None,
        "diaSource": source,
        "prvDiaSources": source,
        "prvDiaForcedSources": (*RUBIN_FIELDS, "diaForcedSourceId"),
        "diaObject": ("diaObjectId",),
    }


def _on_template(owner: np.ndarray, flux: np.ndarray, err: np.ndarray, n: int, snr: float):
    """Per alert, whether the median template S/N of its diaSources is at least ``snr``
    (alerts without a measured template flux: False)."""
    ratio = np.where(err > 0, flux / np.where(err > 0, err, 1.0), np.nan)
    measured = np.isfinite(ratio)
    medians = pd.Series(ratio[measured]).groupby(owner[measured]).median()
    on = np.zeros(n, dtype=bool)
    on[medians.index.to_numpy(dtype=int)] = medians.to_numpy() >= snr
    return on


def _first_flag(set_flags: np.ndarray, flags: Sequence[str]) -> np.ndarray:
    """Per entry (a row of ``set_flags``, a column per flag), the first of ``flags`` that is
    set (None: none)."""
    first = np.full(len(set_flags), None, dtype=object)
    if flags:
        names = np.array(flags, dtype=object)
        any_set = set_flags.any(axis=1)
        first[any_set] = names[set_flags[any_set].argmax(axis=1)]
    return first


def rubin_frame(alerts: Sequence[dict[str, Any]], cuts: AlertCuts) -> pd.DataFrame:
    """Photometry rows of decoded Rubin/LSST alerts (see the module docstring): the alerts'
    diaSources (the new one, then the earlier ones), then their forced sources."""
    ids = np.array([_rubin_object_id(alert) for alert in alerts], dtype=object)
    sources: list[dict[str, Any]] = []
    forced: list[dict[str, Any]] = []
    source_owner: list[int] = []
    forced_owner: list[int] = []
    for k, alert in enumerate(alerts):
        history = alert.get("prvDiaSources") or []
        sources.append(alert["diaSource"])
        sources.extend(history)
        source_owner.extend([k] * (1 + len(history)))
        extra = alert.get("prvDiaForcedSources") or []
        forced.extend(extra)
        forced_owner.extend([k] * len(extra))
    owner = np.array(source_owner + forced_owner, dtype=np.int64)
    n_sources = len(sources)
    flags = list(cuts.pixel_flags)
    m = len(RUBIN_FIELDS)
    own = _entry_table(sources, [*RUBIN_FIELDS, *TEMPLATE_FIELDS, "diaSourceId", *flags])
    forced_table = _entry_table(forced, [*RUBIN_FIELDS, "diaForcedSourceId"])
    table = np.concatenate([own[:, :m], forced_table[:, :m]])
    columns: dict[str, Any] = {name: table[:, k] for k, name in enumerate(RUBIN_FIELDS)}
    for name in RUBIN_NUMBERS:
        columns[name] = columns[name].astype(np.float64)  # None becomes NaN
    template_flux, template_err = own[:, m : m + 2].astype(np.float64).T
    source_ids, forced_ids = own[:, m + 2], forced_table[:, -1]
    set_flags = own[:, m + 3 :].astype(bool)  # None (not measured) is False
    on_template = np.zeros(len(alerts), dtype=bool)
    if cuts.photometry == "auto":
        on_template = _on_template(
            owner[:n_sources], template_flux, template_err, len(alerts), cuts.template_snr
        )
    use_science = on_template[owner]
    # forced ids are another id space: negated, they cannot meet a diaSourceId
    source_id = [*source_ids, *(None if i is None else -int(i) for i in forced_ids)]
    visits = pd.MultiIndex.from_arrays([owner, pd.array(columns["visit"], dtype="Int64")])
    repeat = visits.isin(visits[:n_sources])
    repeat[:n_sources] = False
    flag = np.concatenate([_first_flag(set_flags, flags), np.full(len(forced), None)])
    flux = np.where(use_science, columns["scienceFlux"], columns["psfFlux"])
    flux_err = np.where(use_science, columns["scienceFluxErr"], columns["psfFluxErr"])
    mag, mag_err = flux_to_ab_mag(flux, flux_err)
    skip = first_reason(
        len(owner),
        [
            (~np.isfinite(flux), SKIP_NON_FINITE_FLUX),
            (~(np.isfinite(flux_err) & (flux_err > 0)), SKIP_BAD_FLUX_ERR),
            (repeat, SKIP_FORCED_AT_DETECTION),
        ],
    )
    reliability = columns["reliability"]
    quality = cuts.rubin_reasons(reliability, flag)
    unset = pd.isna(skip)
    skip[unset] = quality[unset]
    unset &= pd.isna(quality)
    skip[unset & (flux <= 0)] = SKIP_NON_POSITIVE_FLUX
    return photometry_frame(
        ids[owner],
        columns["midpointMjdTai"],
        mag,
        mag_err,
        columns["band"],
        source_id=source_id,
        skip=skip,
        mag_kind=np.where(use_science, APPARENT, DIFFERENCE).astype(object),
        quality={"reliability": reliability, "pixel_flag": flag},
    )
