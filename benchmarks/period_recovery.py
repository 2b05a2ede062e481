"""Period recovery and speed: lcvade against astropy's LombScargle and LombScargleMultiband.

In one run, on the same curves and the same frequency grid (periods 0.05-1000 d, 5 samples per
peak over each curve's baseline), prints per class the fraction of periods recovered within
``--tolerance`` (default 1%) of the true one, the fraction at half or twice it (what counts for
eclipsing binaries on real surveys), and the wall time per curve, for

* ``lcvade``: :func:`lcvade.find_period` with the default :class:`lcvade.PeriodSearch`, all bands;
* ``astropy LombScargle fast``: the highest peak of ``LombScargle(...).power(method="fast")`` on
  the curve's most populated band (a single-band search);
* ``astropy LombScargleMultiband fast``: the highest peak of
  ``LombScargleMultiband(...).power(method="fast", sb_method="fast")`` (1 term), all bands;

on two sets:

* the 483 SDSS Stripe 82 RR Lyrae of Sesar et al. (2010) with their catalogue periods
  (``--stripe82-dir``; see ``/work/shared/data/README.md``), all of them for lcvade, the first
  ``--single-subset`` (default all) of a seeded permutation for the single-band search and the
  first ``--multiband-subset`` of it for LombScargleMultiband (seconds per curve);
* simulated curves of every class for every cadence (``lcvade.simulation``, ``--n-sim`` objects
  of each class per cadence, seed ``--seed``), the astropy searches on the first
  ``--astropy-sim`` of each class.

A last table times the three on the same Stripe 82 curves, so that the speed-ups are on equal
inputs, the ``--multiband-subset`` curves: their r band alone (lcvade and LombScargle) and
all five bands (lcvade and LombScargleMultiband).  Every search runs in this process on one
thread, one curve at a time, and is timed in CPU seconds of the process (so that other work on
the machine does not enter the comparison).

    python benchmarks/period_recovery.py
    python benchmarks/period_recovery.py --n-sim 50 --astropy-sim 10 --multiband-subset 30
    python benchmarks/period_recovery.py --ablation 200     # settings, first 200 Stripe 82

``--ablation N`` prints instead the recovery of lcvade on the first ``N`` Stripe 82 curves with
one setting of :class:`lcvade.PeriodSearch` changed at a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from astropy.timeseries import LombScargle, LombScargleMultiband  # noqa: E402

from lcvade.lightcurve import LightCurve  # noqa: E402
from lcvade.period import DEFAULT_SEARCH, PeriodSearch, find_period, find_periods  # noqa: E402
from lcvade.simulation import CADENCES, LABELS, simulate, to_lightcurves  # noqa: E402
from lcvade.tables import iter_curves  # noqa: E402

GRID = DEFAULT_SEARCH.grid
STRIPE82 = Path("/work/shared/data/lightcurves")


def frequency_range(curve: LightCurve) -> tuple[float, float, int]:
    f_min, df, n = GRID.for_baseline(float(np.ptp(curve.time)))
    return f_min, df, n


def main_band(curve: LightCurve) -> LightCurve:
    """The curve's most populated band alone (the curve itself when it has one band)."""
    if curve.band is None or len(curve.bands) == 1:
        return curve
    counts = {b: int(np.sum(curve.band == b)) for b in curve.bands}
    keep = curve.band == max(counts, key=counts.get)
    return LightCurve(curve.time[keep], curve.mag[keep], curve.mag_err[keep], id=curve.id)


def astropy_single(curve: LightCurve) -> float:
    f_min, df, n = frequency_range(curve)
    frequency = f_min + df * np.arange(n)
    power = LombScargle(curve.time, curve.mag, curve.mag_err).power(frequency, method="fast")
    return float(1.0 / frequency[int(np.nanargmax(power))])


def astropy_multiband(curve: LightCurve) -> float:
    f_min, df, n = frequency_range(curve)
    frequency = f_min + df * np.arange(n)
    bands = curve.band if curve.band is not None else np.full(len(curve), "x")
    model = LombScargleMultiband(curve.time, curve.mag, bands, curve.mag_err)
    power = model.power(frequency, method="fast", sb_method="fast")
    return float(1.0 / frequency[int(np.nanargmax(power))])


def lcvade_search(curve: LightCurve) -> float:
    return find_period(curve).period


METHODS = {
    "lcvade": lcvade_search,
    "astropy LombScargle fast (one band)": lambda c: astropy_single(main_band(c)),
    "astropy LombScargleMultiband fast": astropy_multiband,
}


def run(method: str, curves: list[LightCurve]) -> tuple[np.ndarray, float]:
    """Periods found and CPU seconds per curve (this process; every search is one thread)."""
    search = METHODS[method]
    start = time.process_time()
    found = np.array([search(c) for c in curves])
    return found, (time.process_time() - start) / max(1, len(curves))


def score(found: np.ndarray, truth: np.ndarray, tolerance: float) -> pd.DataFrame:
    ratio = found / truth
    return pd.DataFrame(
        {
            "at_p": np.abs(ratio - 1.0) < tolerance,
            "half_or_double": (np.abs(2.0 * ratio - 1.0) < tolerance)
            | (np.abs(0.5 * ratio - 1.0) < tolerance),
        }
    )


def table_rows(
    dataset: str, method: str, labels: np.ndarray, hits: pd.DataFrame, seconds: float
) -> list[dict]:
    rows = []
    frame = hits.assign(label=labels)
    for label, group in [("all", frame), *frame.groupby("label", sort=False)]:
        rows.append(
            {
                "set": dataset,
                "class": label,
                "method": method,
                "n": len(group),
                "within tol": group["at_p"].mean(),
                "P/2 or 2P": group["half_or_double"].mean(),
                "CPU ms/curve": 1000.0 * seconds,
            }
        )
    return rows


def stripe82_curves(directory: Path) -> tuple[list[LightCurve], pd.DataFrame]:
    """The shared data's 483 curves, or the tests' 40 (``tests/data/stripe82``)."""
    shared = (directory / "sdss_s82_rrlyrae_objects.parquet").is_file()
    prefix = "sdss_s82_rrlyrae" if shared else "stripe82"
    points = pd.read_parquet(directory / f"{prefix}_lightcurves.parquet")
    objects = pd.read_parquet(directory / f"{prefix}_objects.parquet")
    by_id = {c.id: c for c in iter_curves(points)}
    curves = [by_id[o] for o in objects["object_id"]]
    return curves, objects


def only_band(curve: LightCurve, band: str) -> LightCurve:
    keep = curve.band == band
    return LightCurve(curve.time[keep], curve.mag[keep], curve.mag_err[keep], id=curve.id)


ABLATIONS = {
    "default": {},
    "1 harmonic": {"n_harmonics": 1},
    "3 harmonics": {"n_harmonics": 3},
    "5 harmonics": {"n_harmonics": 5},
    "8 harmonics": {"n_harmonics": 8},
    "no aliases (top peaks only)": {"alias_orders": 0},
    "aliases at 1 c/d only": {"alias_orders": 1},
    "1 peak per window": {"window_peaks": 1},
    "no summed-harmonic candidates": {"summed_harmonics": 0},
    "no doubling test": {"test_doubling": False},
    "highest peak only (the plain periodogram)": {
        "n_peaks": 1,
        "alias_orders": 0,
        "window_peaks": 1,
        "test_doubling": False,
        "summed_harmonics": 0,
    },
}


def ablation(curves: list[LightCurve], truth: np.ndarray, tolerance: float) -> None:
    print(f"lcvade on the first {len(curves)} Stripe 82 curves, one setting changed at a time")
    print("| setting | within tol | doubled | CPU ms/curve |\n|---|---:|---:|---:|")
    for name, change in ABLATIONS.items():
        search = PeriodSearch(**change)
        start = time.process_time()
        results = find_periods(curves, search, n_jobs=1)
        seconds = (time.process_time() - start) / len(curves)
        found = np.array([r.period for r in results])
        hits = np.abs(found / truth - 1.0) < tolerance
        doubled = np.mean([r.doubled for r in results])
        print(f"| {name} | {hits.mean():.3f} | {doubled:.3f} | {1000 * seconds:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stripe82-dir", type=Path, default=STRIPE82)
    parser.add_argument("--multiband-subset", type=int, default=60)
    parser.add_argument("--single-subset", type=int, default=483)
    parser.add_argument("--n-sim", type=int, default=100, help="objects per class and cadence")
    parser.add_argument("--astropy-sim", type=int, default=20, help="of them for astropy")
    parser.add_argument("--cadences", nargs="+", default=list(CADENCES))
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--ablation", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.ablation:
        curves, objects = stripe82_curves(args.stripe82_dir)
        n = args.ablation
        ablation(curves[:n], objects["period"].to_numpy()[:n], args.tolerance)
        return
    rng = np.random.default_rng(args.seed)
    rows: list[dict] = []

    curves, objects = stripe82_curves(args.stripe82_dir)
    truth = objects["period"].to_numpy()
    labels = objects["label"].to_numpy()
    order = rng.permutation(len(curves))
    subset = np.sort(order[: args.multiband_subset])
    single_subset = np.sort(order[: args.single_subset])
    timing: dict[str, float] = {}
    for method in METHODS:
        take = {
            "lcvade": np.arange(len(curves)),
            "astropy LombScargle fast (one band)": single_subset,
        }.get(method, subset)
        found, seconds = run(method, [curves[i] for i in take])
        name = method if take.size == len(curves) else f"{method} [{take.size} seeded]"
        rows += table_rows(
            "Stripe 82", name, labels[take], score(found, truth[take], args.tolerance), seconds
        )
        if method.endswith("Multiband fast"):
            timing["multiband astropy"] = seconds
            _, timing["multiband lcvade"] = run("lcvade", [curves[i] for i in take])
        print(f"done: Stripe 82, {method}", file=sys.stderr, flush=True)

    one_band = [only_band(curves[i], "r") for i in subset]
    _, timing["r lcvade"] = run("lcvade", one_band)
    _, timing["r astropy"] = run("astropy LombScargle fast (one band)", one_band)

    if not args.skip_sim:
        for cadence in args.cadences:
            sim_curves, sim_truth, sim_labels = [], [], []
            for k, label in enumerate(LABELS):
                lightcurves, sim_objects = simulate(
                    args.n_sim, seed=args.seed + 100 * k, cadence=cadence, classes=label
                )
                sim_curves += to_lightcurves(lightcurves, sim_objects, with_period=False)
                sim_truth.append(sim_objects["period"].to_numpy())
                sim_labels.append(sim_objects["label"].to_numpy())
            truth_s, labels_s = np.concatenate(sim_truth), np.concatenate(sim_labels)
            first = np.concatenate(
                [np.flatnonzero(labels_s == lab)[: args.astropy_sim] for lab in LABELS]
            )
            for method in METHODS:
                take = np.arange(len(sim_curves)) if method == "lcvade" else first
                found, seconds = run(method, [sim_curves[i] for i in take])
                hits = score(found, truth_s[take], args.tolerance)
                rows += table_rows(f"sim {cadence}", method, labels_s[take], hits, seconds)
            print(f"done: simulated {cadence}", file=sys.stderr, flush=True)

    out = pd.DataFrame(rows)
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 160):
        for dataset, block in out.groupby("set", sort=False):
            wide = block.pivot_table(
                index="class", columns="method", values=["within tol", "P/2 or 2P"], sort=False
            )
            print(
                f"\n{dataset}: fraction within {args.tolerance:.0%} of the true period "
                "(and at P/2 or 2P)"
            )
            print(wide.to_string())
            times = block[block["class"] == "all"].set_index("method")[["n", "CPU ms/curve"]]
            print(times.to_string())
    print("\nspeed on the same Stripe 82 curves (CPU ms per curve, one thread)")
    print("| input | lcvade | astropy | speed-up |\n|---|---:|---:|---:|")
    r_up = timing["r astropy"] / timing["r lcvade"]
    m_up = timing["multiband astropy"] / timing["multiband lcvade"]
    print(
        f"| r band, {subset.size} curves (LombScargle fast) | {1000 * timing['r lcvade']:.1f} | "
        f"{1000 * timing['r astropy']:.1f} | {r_up:.1f}x |"
    )
    print(
        f"| ugriz, {subset.size} curves (LombScargleMultiband fast) | "
        f"{1000 * timing['multiband lcvade']:.1f} | {1000 * timing['multiband astropy']:.1f} | "
        f"{m_up:.1f}x |"
    )


if __name__ == "__main__":
    main()
