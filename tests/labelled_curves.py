"""Small labelled light-curve tables for the training tests.

Three shapes that a model separates easily, each with its own period range: a sinusoid, a
sawtooth (fast rise, slow decline, like an RR Lyrae) and a detached eclipsing binary (flat
light with two dips).  Times are irregular over ~300 days, errors heteroscedastic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PERIOD_RANGES = {"sine": (0.3, 0.5), "sawtooth": (0.55, 0.8), "eclipse": (1.5, 3.0)}


def _shape(kind: str, phase: np.ndarray) -> np.ndarray:
    if kind == "sine":
        return 0.4 * np.sin(2 * np.pi * phase)
    if kind == "sawtooth":
        rise = phase < 0.15
        return np.where(rise, 0.5 - phase / 0.15, -0.5 + (phase - 0.15) / 0.85) * 0.8
    if kind == "eclipse":
        primary = 0.8 * np.exp(-0.5 * ((phase - 0.25) / 0.03) ** 2)
        secondary = 0.3 * np.exp(-0.5 * ((phase - 0.75) / 0.03) ** 2)
        return primary + secondary
    raise ValueError(kind)


def labelled_tables(
    n_per_class: int | dict[str, int] = 20,
    seed: int = 0,
    classes: tuple[str, ...] = ("sine", "sawtooth", "eclipse"),
    points: tuple[int, int] = (40, 90),
    with_period: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(photometry, objects) tables in the long format ``lcvade train`` reads."""
    rng = np.random.default_rng(seed)
    counts = n_per_class if isinstance(n_per_class, dict) else dict.fromkeys(classes, n_per_class)
    rows, objects = [], []
    for kind in classes:
        low, high = PERIOD_RANGES[kind]
        for i in range(counts[kind]):
            object_id = f"{kind}-{seed}-{i:04d}"
            period = rng.uniform(low, high)
            n = int(rng.integers(*points))
            time = np.sort(rng.uniform(0.0, 300.0, n))
            err = rng.uniform(0.01, 0.04, n)
            phase = np.mod(time / period + rng.uniform(), 1.0)
            mag = 16.0 + rng.normal(0, 0.3) + _shape(kind, phase) + rng.normal(0.0, err)
            rows.append(
                pd.DataFrame({"object_id": object_id, "time": time, "mag": mag, "mag_err": err})
            )
            objects.append(
                {"object_id": object_id, "label": kind, "period": period if with_period else None}
            )
    return pd.concat(rows, ignore_index=True), pd.DataFrame(objects)


def write_tables(directory, **kwargs) -> tuple[str, str]:
    """Write :func:`labelled_tables` as CSV files in ``directory``; their paths."""
    photometry, objects = labelled_tables(**kwargs)
    data, labels = directory / "lightcurves.csv", directory / "objects.csv"
    photometry.to_csv(data, index=False)
    objects.to_csv(labels, index=False)
    return str(data), str(labels)
