"""Shared pieces of the batch-scoring tests: small trained models, synthetic photometry, and
alert files written with fastavro.  The session fixtures built from them are in the
conftest.py files (the models in tests/, the Dask cluster in tests/training/scoring/)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import torch

from lcvade import IASCalibration, LCVaDE, LCVaDEConfig, LightCurve, save_model
from lcvade.batching import collate
from training.fitting import fit
from training.trainer import TrainingSet

CLASS_NAMES = ["sine", "sawtooth", "dip"]
CLASS_PERIODS = (0.37, 2.9, 11.0)


def _shape(kind: int, phase: np.ndarray) -> np.ndarray:
    if kind == 0:
        return np.sin(2 * np.pi * phase)
    if kind == 1:
        return 2 * phase - 1
    return -2.0 * np.exp(-0.5 * ((phase - 0.5) / 0.05) ** 2)


def periodic_table(
    n_objects: int,
    seed: int,
    *,
    bands: Sequence[str] | None = None,
    points: tuple[int, int] = (25, 60),
    baseline: float = 60.0,
    prefix: str = "obj",
) -> pd.DataFrame:
    """Long-format photometry of periodic variables of the three classes, shuffled rows."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_objects):
        kind = i % 3
        n = int(rng.integers(points[0], points[1] + 1))
        t = np.sort(rng.uniform(0, baseline, n))
        period = CLASS_PERIODS[kind] * rng.uniform(0.9, 1.1)
        mag = 15 + 0.4 * _shape(kind, np.mod(t, period) / period) + rng.normal(0, 0.03, n)
        frame = pd.DataFrame(
            {"object_id": f"{prefix}{i:04d}", "time": t, "mag": mag, "mag_err": 0.03}
        )
        if bands is not None:
            frame["band"] = [bands[j % len(bands)] for j in range(n)]
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return table.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def table_curves(table: pd.DataFrame, periods: dict[str, float] | None = None) -> list:
    """The table's objects as LightCurves, in order of first appearance."""
    curves = []
    for object_id, rows in table.groupby("object_id", sort=False):
        band = rows["band"].to_numpy() if "band" in rows else None
        curves.append(
            LightCurve(
                rows["time"],
                rows["mag"],
                rows["mag_err"],
                band=band,
                period=(periods or {}).get(object_id),
                id=object_id,
            )
        )
    return curves


def train_model(directory: Path, config: LCVaDEConfig, seed: int) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    try:
        return _train_and_save(directory, config, seed)
    finally:
        torch.set_num_threads(threads)


def _train_and_save(directory: Path, config: LCVaDEConfig, seed: int) -> Path:
    torch.manual_seed(seed)
    bands = config.bands
    table = periodic_table(90, seed, bands=bands, points=(30, 60), prefix="train")
    curves = table_curves(table)
    labels = [int(c.id[-4:]) % 3 for c in curves]
    periods = [CLASS_PERIODS[k] for k in labels]
    model = LCVaDE(config)
    data = TrainingSet.build(model, curves, periods, labels)
    model.prepare_for_training(data.batch.features, data.labels)
    optimizer = torch.optim.Adam(model.parameter_groups(lr=1e-3, feature_prior_lr=1e-2))
    fit(model, data, optimizer, epochs=1, batch_size=30, seed=seed)
    model.eval()
    with torch.no_grad():
        inlier_ias = model.score(collate(curves, periods, config)).ias.double().numpy()
    save_model(
        model,
        directory,
        class_names=CLASS_NAMES,
        name="batch-test",
        version="1",
        calibration=IASCalibration(inlier_ias),
        training={"seed": seed, "epochs": 1},
    )
    return directory


# -- alert packets ---------------------------------------------------------------------------
ZTF_CANDIDATE = {
    "type": "record",
    "name": "candidate",
    "namespace": "ztf.alert",
    "fields": [
        {"name": "jd", "type": "double"},
        {"name": "fid", "type": "int"},
        {"name": "pid", "type": "long"},
        {"name": "candid", "type": "long"},
        {"name": "isdiffpos", "type": "string"},
        {"name": "ra", "type": "double"},
        {"name": "dec", "type": "double"},
        {"name": "magpsf", "type": "float"},
        {"name": "sigmapsf", "type": "float"},
    ],
}
ZTF_PRV_CANDIDATE = {
    "type": "record",
    "name": "prv_candidate",
    "namespace": "ztf.alert",
    "fields": [
        {"name": "jd", "type": "double"},
        {"name": "fid", "type": "int"},
        {"name": "pid", "type": "long"},
        {"name": "diffmaglim", "type": ["float", "null"], "default": 0.0},
        {"name": "candid", "type": ["long", "null"], "default": 0},
        {"name": "isdiffpos", "type": ["null", "string"], "default": None},
        {"name": "magpsf", "type": ["float", "null"], "default": 0.0},
        {"name": "sigmapsf", "type": ["float", "null"], "default": 0.0},
    ],
}
ZTF_CUTOUT = {
    "type": "record",
    "name": "cutout",
    "namespace": "ztf.alert",
    "fields": [
        {"name": "fileName", "type": "string"},
        {"name": "stampData", "type": "bytes"},
    ],
}
ZTF_SCHEMA = {
    "type": "record",
    "name": "alert",
    "namespace": "ztf",
    "fields": [
        {"name": "schemavsn", "type": "string"},
        {"name": "publisher", "type": "string"},
        {"name": "objectId", "type": "string"},
        {"name": "candid", "type": "long"},
        {"name": "candidate", "type": ZTF_CANDIDATE},
        {
            "name": "prv_candidates",
            "type": ["null", {"type": "array", "items": ZTF_PRV_CANDIDATE}],
            "default": None,
        },
        {"name": "cutoutScience", "type": ["null", ZTF_CUTOUT], "default": None},
        {"name": "cutoutTemplate", "type": ["null", "ztf.alert.cutout"], "default": None},
    ],
}

LSST_DIA_SOURCE = {
    "type": "record",
    "name": "diaSource",
    "namespace": "lsst.v7_4",
    "fields": [
        {"name": "diaSourceId", "type": "long"},
        {"name": "visit", "type": "long"},
        {"name": "diaObjectId", "type": ["null", "long"], "default": None},
        {"name": "midpointMjdTai", "type": "double"},
        {"name": "ra", "type": "double"},
        {"name": "dec", "type": "double"},
        {"name": "psfFlux", "type": ["null", "float"], "default": None},
        {"name": "psfFluxErr", "type": ["null", "float"], "default": None},
        {"name": "band", "type": ["null", "string"], "default": None},
    ],
}
LSST_DIA_OBJECT = {
    "type": "record",
    "name": "diaObject",
    "namespace": "lsst.v7_4",
    "fields": [
        {"name": "diaObjectId", "type": "long"},
        {"name": "ra", "type": "double"},
        {"name": "dec", "type": "double"},
    ],
}
LSST_SCHEMA = {
    "type": "record",
    "name": "alert",
    "namespace": "lsst.v7_4",
    "fields": [
        {"name": "alertId", "type": "long"},
        {"name": "diaSource", "type": LSST_DIA_SOURCE},
        {
            "name": "prvDiaSources",
            "type": ["null", {"type": "array", "items": "lsst.v7_4.diaSource"}],
            "default": None,
        },
        {"name": "diaObject", "type": ["null", LSST_DIA_OBJECT], "default": None},
        {"name": "cutoutDifference", "type": ["null", "bytes"], "default": None},
    ],
}


def ztf_detection(jd: float, fid: int, mag: float, err: float, candid: int) -> dict:
    return {"jd": jd, "fid": fid, "pid": 1, "candid": candid, "magpsf": mag, "sigmapsf": err}


def ztf_alert(object_id: str, candidate: dict, history: list[dict]) -> dict:
    """A ZTF alert whose ``history`` entries are detections or (magpsf None) upper limits."""
    prv = [
        {
            "jd": h["jd"],
            "fid": h["fid"],
            "pid": 1,
            "diffmaglim": 20.5,
            "candid": h.get("candid"),
            "isdiffpos": None if h.get("magpsf") is None else "t",
            "magpsf": h.get("magpsf"),
            "sigmapsf": h.get("sigmapsf"),
        }
        for h in history
    ]
    full = {**candidate, "isdiffpos": "t", "ra": 10.0, "dec": -5.0}
    cutout = {"fileName": "science.fits.gz", "stampData": b"\x00" * 256}
    return {
        "schemavsn": "3.3",
        "publisher": "ZTF (www.ztf.caltech.edu)",
        "objectId": object_id,
        "candid": candidate["candid"],
        "candidate": full,
        "prv_candidates": prv or None,
        "cutoutScience": cutout,
        "cutoutTemplate": cutout,
    }


def lsst_source(source_id: int, object_id: int, mjd: float, band: str, flux, flux_err) -> dict:
    return {
        "diaSourceId": source_id,
        "visit": 7,
        "diaObjectId": object_id,
        "midpointMjdTai": mjd,
        "ra": 150.0,
        "dec": 2.0,
        "psfFlux": flux,
        "psfFluxErr": flux_err,
        "band": band,
    }


def lsst_alert(alert_id: int, object_id: int, source: dict, history: list[dict]) -> dict:
    return {
        "alertId": alert_id,
        "diaSource": source,
        "prvDiaSources": history or None,
        "diaObject": {"diaObjectId": object_id, "ra": 150.0, "dec": 2.0},
        "cutoutDifference": b"\x01" * 128,
    }


def write_avro(path: Path, schema: dict, records: list[dict]) -> Path:
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), records)
    return path


def ztf_alerts_from_table(table: pd.DataFrame, *, alerts_per_object: int = 2) -> list[dict]:
    """ZTF alerts carrying the curves of ``table`` (band g/r as fid 1/2): each object's
    last ``alerts_per_object`` detections are alerts whose history is every earlier point,
    plus one upper limit, so the alerts of one object overlap."""
    fid = {"g": 1, "r": 2, "i": 3}
    alerts = []
    candid = 10**15
    for object_id, rows in table.groupby("object_id", sort=False):
        rows = rows.sort_values("time")
        entries = []
        for _, row in rows.iterrows():
            candid += 1
            entries.append(
                ztf_detection(
                    row["time"] + 2400000.5,
                    fid[row.get("band", "g")],
                    row["mag"],
                    row["mag_err"],
                    candid,
                )
            )
        limit = {"jd": entries[0]["jd"] - 1.0, "fid": 1}
        for k in range(alerts_per_object, 0, -1):
            alerts.append(ztf_alert(object_id, entries[-k], [limit, *entries[:-k]]))
    return alerts
