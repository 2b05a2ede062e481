"""Does the project's period search recover the simulated periods?  Per class and cadence.

Simulates ``--n`` objects per cadence, searches every period with ``lcvade.period.find_periods``
(default frequency grid) and prints per class the fraction recovered to 0.1% and to 5% (for
the stochastic LPVs), the fraction found at half or twice the true period (the usual aliases
of eclipsing binaries and nearly sinusoidal curves), and the search time.

    python benchmarks/simulator_period_recovery.py --cadence ztf --n 1000 --classes RRab,RRc
    python benchmarks/simulator_period_recovery.py --cadence uniform asas linear ztf lsst
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lcvade.period import find_periods  # noqa: E402
from lcvade.simulation import LABELS, simulate, to_lightcurves  # noqa: E402

TOLERANCE = 1e-3


def recovery(cadence: str, n: int, classes: str, seed: int) -> pd.DataFrame:
    lightcurves, objects = simulate(n, seed=seed, cadence=cadence, classes=classes)
    curves = to_lightcurves(lightcurves, objects, with_period=False)
    start = time.perf_counter()
    found = np.array([r.period for r in find_periods(curves)])
    per_curve = (time.perf_counter() - start) / len(curves)
    ratio = found / objects["period"].to_numpy()
    frame = pd.DataFrame(
        {
            "label": objects["label"],
            "ok": np.abs(ratio - 1) < TOLERANCE,
            "near": np.abs(ratio - 1) < 0.05,
            "alias": (np.abs(ratio - 0.5) < TOLERANCE / 2) | (np.abs(ratio - 2) < 2 * TOLERANCE),
        }
    )
    table = frame.groupby("label", sort=False).agg(
        n=("ok", "size"),
        recovered=("ok", "mean"),
        within_5pct=("near", "mean"),
        half_or_double=("alias", "mean"),
    )
    table = table.reindex([c for c in LABELS if c in table.index])
    table.insert(0, "cadence", cadence)
    table["ms_per_curve"] = 1000 * per_curve
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cadence", nargs="+", default=["ztf"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--classes", default="all")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    tables = [recovery(c, args.n, args.classes, args.seed) for c in args.cadence]
    out = pd.concat(tables)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 120):
        print(out.to_string())


if __name__ == "__main__":
    main()
