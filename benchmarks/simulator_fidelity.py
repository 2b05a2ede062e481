"""How a trained LC-VaDE model scores simulated light curves, class by class.

For a model directory (anything ``lcvade.load`` accepts), simulate curves of every simulator
class with a cadence that matches the model's bands, score them, and print per class:

* ``n`` -- simulated curves scored;
* ``own class`` -- fraction predicted as their own class (classes the model does not know
  show ``-``: for the model they are outliers);
* ``median IAS`` and ``median pct`` -- the median IAS and the median IAS percentile against
  the model's training inliers (``-`` for an uncalibrated model); simulated inliers that look
  like the training data sit near 50, anomalies near 0;
* ``flagged`` -- fraction with ``is_anomaly`` (p-value below the scorer's threshold).

    python benchmarks/simulator_fidelity.py --model path/to/model --n 2000
    python benchmarks/simulator_fidelity.py --model default --cadence ztf --estimate-periods

The table is printed in Markdown, ready for docs/simulation.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lcvade import load  # noqa: E402
from lcvade.simulation import CADENCES, LABELS, simulate, to_lightcurves  # noqa: E402


def cadence_for_bands(bands: list[str] | None) -> str:
    """The built-in cadence whose bands match a model's (single-band models: uniform, I)."""
    if bands is None:
        return "uniform"
    for name, spec in CADENCES.items():
        if set(spec.bands) == set(bands):
            return name
    raise SystemExit(
        f"no built-in cadence has the model's bands {bands}; pass --cadence explicitly"
    )


def fidelity_table(results: pd.DataFrame, model_classes: list[str]) -> pd.DataFrame:
    """Per-class summary of scored simulated curves (see the module docstring)."""
    rows = []
    for label, group in results.groupby("label", sort=False):
        known = label in model_classes
        pct = group["percentile"].dropna()
        flagged = group["is_anomaly"].dropna()
        rows.append(
            {
                "class": label,
                "n": len(group),
                "own class": f"{(group['predicted'] == label).mean():.2f}" if known else "-",
                "median IAS": f"{group['ias'].median():.1f}",
                "median pct": f"{pct.median():.0f}" if len(pct) else "-",
                "flagged": f"{flagged.astype(bool).mean():.2f}" if len(flagged) else "-",
            }
        )
    order = {label: i for i, label in enumerate(LABELS)}
    return pd.DataFrame(rows).sort_values("class", key=lambda s: s.map(order))


def markdown(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table."""
    cells = [list(map(str, table.columns))] + [list(map(str, row)) for row in table.to_numpy()]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model directory or bundled model name")
    parser.add_argument("--n", type=int, default=2000, help="simulated curves in all")
    parser.add_argument("--cadence", default="auto", help="auto (from the model's bands) or a name")
    parser.add_argument("--classes", default="all", help="comma-separated simulator labels")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--estimate-periods",
        action="store_true",
        help="let the scorer search the periods instead of giving the true ones",
    )
    args = parser.parse_args()

    scorer = load(args.model, device=args.device)
    bands = scorer.config.bands
    cadence = cadence_for_bands(bands) if args.cadence == "auto" else args.cadence
    lightcurves, objects = simulate(args.n, seed=args.seed, cadence=cadence, classes=args.classes)
    curves = to_lightcurves(lightcurves, objects, with_period=not args.estimate_periods)
    start = time.perf_counter()
    scored = scorer.score(curves)
    elapsed = time.perf_counter() - start
    results = pd.DataFrame(
        {
            "label": objects["label"].to_numpy(),
            "ias": [r.ias for r in scored],
            "predicted": [r.predicted_class for r in scored],
            "percentile": [np.nan if r.percentile is None else r.percentile for r in scored],
            "is_anomaly": [None if r.is_anomaly is None else r.is_anomaly for r in scored],
        }
    )
    table = fidelity_table(results, scorer.class_names)
    periods = "searched by the scorer" if args.estimate_periods else "given (true)"
    print(
        f"model {scorer.name} v{scorer.version} ({', '.join(scorer.class_names)}); "
        f"{len(curves)} simulated curves, cadence {cadence}, seed {args.seed}, periods "
        f"{periods}; scored in {elapsed:.1f} s on {scorer.device}\n"
    )
    print(markdown(table))


if __name__ == "__main__":
    main()
