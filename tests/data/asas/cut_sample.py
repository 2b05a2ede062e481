"""Cut the small ASAS sample of this folder from the shared ASAS training set.

Usage: python tests/data/asas/cut_sample.py SHARED_LIGHTCURVES_DIR

Reads ``asas_lightcurves.parquet`` and ``asas_objects.parquet``, draws (seed 0) 14
Classical_Cepheid, 14 RR_Lyrae_FM and 8 Mira stars, keeps at most 60 points of each curve (a
seeded random subset, in time order) and writes ``lightcurves.parquet`` and
``objects.parquet`` here, the object table's ``period`` being the set's Lomb-Scargle
estimate ``period_ls``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

COUNTS = {"Classical_Cepheid": 14, "RR_Lyrae_FM": 14, "Mira": 8}
MAX_POINTS = 60
HERE = Path(__file__).resolve().parent


def main(source: Path) -> None:
    photometry = pd.read_parquet(source / "asas_lightcurves.parquet")
    objects = pd.read_parquet(source / "asas_objects.parquet").sort_values("object_id")
    rng = np.random.default_rng(0)
    chosen = []
    for label, n in COUNTS.items():
        ids = objects.loc[objects["label"] == label, "object_id"].to_numpy()
        chosen += sorted(rng.choice(ids, size=n, replace=False).tolist())
    parts = []
    for object_id in chosen:
        curve = photometry.loc[photometry["object_id"] == object_id]
        if len(curve) > MAX_POINTS:
            keep = np.sort(rng.choice(len(curve), size=MAX_POINTS, replace=False))
            curve = curve.iloc[keep]
        parts.append(curve)
    pd.concat(parts, ignore_index=True).to_parquet(HERE / "lightcurves.parquet", index=False)
    table = objects.set_index("object_id").loc[chosen].reset_index()
    table = table[["object_id", "label", "period_ls", "ls_power", "n_points"]]
    table = table.rename(columns={"period_ls": "period", "n_points": "n_points_source"})
    table.to_parquet(HERE / "objects.parquet", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
