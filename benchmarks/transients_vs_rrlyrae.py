"""Real transients as anomalies: ZTF type Ia supernovae against a model of RR Lyrae stars.

1. Train LC-VaDE with the production job (:func:`training.job.run_training`, the code behind
   ``lcvade train``) on the SDSS Stripe 82 RR Lyrae of Sesar et al. (2010) in the g and r
   bands, two classes (RR_Lyrae_FM = ab, RR_Lyrae_FO = c) with their catalogue periods.
   The section 9.2 split without an outlier class holds a seeded slice of the RR Lyrae out of
   training (as many as the smaller class has objects, drawn in the class proportions); the
   model's IAS calibration comes from its training curves, as for any model.
2. Score, as a user would -- :func:`lcvade.load` then ``Scorer.score`` with no period, so
   every period is searched -- the held-out RR Lyrae and every ZTF Bright Transient Survey
   SN Ia in g and r.
3. Print the AUROC of SNe Ia (positive) against the held-out RR Lyrae (anomaly score -IAS),
   the fractions each group flags at p < 0.01 and p < 0.05, how many SNe could be scored and
   why the others could not (reasons counted).

Band mapping: SDSS g, r <-> ZTF g, r; the model's bands are named ``g`` and ``r``, the ZTF
table writes ZTF r as ``R`` (renamed to ``r``), and its few points in other bands (one object
has a single ``i`` point) are left out and counted.  SDSS u, i, z are not used.  The
magnitudes are used as given (SDSS PSF magnitudes; ZTF difference-image photometry from the
ANTARES broker); a model's feature set is standardised with its training statistics.

Run again on the same ``--workdir``, a finished model is reused (delete the folder to
retrain).

Example (the defaults, about 10 min on 2 cores)::

    python benchmarks/transients_vs_rrlyrae.py
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

DEFAULT_DATA_DIR = Path("../shared/data/lightcurves")
RRLYRAE = "sdss_s82_rrlyrae"
SNIA = "ztf_bts_snia"
BANDS = ("g", "r")
ZTF_BANDS = {"g": "g", "R": "r"}  # ZTF band name in the table -> the model's band
LEVELS = (0.01, 0.05)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=REPOSITORY / DEFAULT_DATA_DIR,
        help=f"folder of the shared tables [{DEFAULT_DATA_DIR}, relative to the repository]",
    )
    parser.add_argument("--workdir", type=Path, default=Path("transients-vs-rrlyrae"))
    parser.add_argument("--seed", type=int, default=0, help="seed of split, weights, batches")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--channels", type=int, default=16, help="C (the thesis uses 72)")
    parser.add_argument("--max-points", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args(argv)


def read_set(folder: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The light-curve and object tables of one shared set."""
    paths = [folder / f"{name}_{kind}.parquet" for kind in ("lightcurves", "objects")]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"{path} not found; point --data-dir at the shared light curves")
    return pd.read_parquet(paths[0]), pd.read_parquet(paths[1])


def training_tables(folder: Path, workdir: Path) -> tuple[Path, Path]:
    """The Stripe 82 RR Lyrae in g and r, with catalogue periods, written to ``workdir``."""
    photometry, objects = read_set(folder, RRLYRAE)
    data, table = workdir / "rrlyrae_gr_lightcurves.parquet", workdir / "rrlyrae_objects.parquet"
    photometry.loc[photometry["band"].isin(BANDS)].to_parquet(data, index=False)
    objects[["object_id", "label", "period"]].to_parquet(table, index=False)
    return data, table


def reason_kind(reason: str) -> str:
    """A rejection reason with its numbers generalised (N), for counting."""
    return re.sub(r"\d+", "N", reason)


def supernova_curves(folder: Path, min_points: int):
    """SN Ia curves in the model's bands, the rejections, and the points of other bands."""
    from lcvade.lightcurve import LightCurve
    from lcvade.tables import Rejection, iter_curves

    photometry, objects = read_set(folder, SNIA)
    known = photometry["band"].isin(list(ZTF_BANDS))
    other = Counter(photometry.loc[~known, "band"].astype(str))
    elsewhere = set(photometry.loc[~known, "object_id"]) - set(photometry.loc[known, "object_id"])
    photometry = photometry.loc[known]
    photometry = photometry.assign(band=photometry["band"].map(ZTF_BANDS).to_numpy())
    items = list(iter_curves(photometry, objects[["object_id", "label"]], min_points=min_points))
    curves = [c for c in items if isinstance(c, LightCurve)]
    rejections = [
        Rejection(r.object_id, "no g or r points, only other bands")
        if r.object_id in elsewhere
        else r
        for r in items
        if isinstance(r, Rejection)
    ]
    return curves, rejections, len(objects), other


def train_or_reuse(args: argparse.Namespace, data: Path, objects: Path) -> tuple[Path, float]:
    """The trained model directory (trained now, or by an earlier run) and the training time."""
    from lcvade.checkpoint import MANIFEST_FILE
    from training.config import TrainConfig
    from training.job import run_training

    out = args.workdir / "model"
    if (out / MANIFEST_FILE).is_file():
        print(f"reusing the model in {out}")
        return out, float("nan")
    config = TrainConfig(
        data=data,
        objects=objects,
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        out=out,
        device="cpu",
        progress=False,
        description="SDSS Stripe 82 RR Lyrae (Sesar et al. 2010), bands g and r",
        model={"channels": args.channels, "max_points": args.max_points},
    )
    result = run_training(config)
    print(
        f"trained on {len(result.split.train)} RR Lyrae in {result.wall_time_s:.0f} s "
        f"(training accuracy {result.train_accuracy:.3f})"
    )
    return out, result.wall_time_s


def held_out_rrlyrae(data: Path, objects: Path, seed: int):
    """The RR Lyrae the model's split kept out of training, with and without their periods."""
    from training.data import load_labelled
    from training.split import outlier_split

    labelled = load_labelled(data, objects)
    split = outlier_split(labelled.ids, labelled.labels, None, seed)
    held = labelled.subset(split.test)
    return held.curves, [c.with_period(None) for c in held.curves]


def flagged(results, level: float) -> float:
    return float(np.mean([r.p_value < level for r in results]))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print(
        "command:",
        shlex.join(["python", "benchmarks/transients_vs_rrlyrae.py", *(argv or sys.argv[1:])]),
    )
    import torch

    import lcvade
    from training.metrics import aupr, auroc

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data, objects = training_tables(args.data_dir, args.workdir)
    model_dir, train_s = train_or_reuse(args, data, objects)
    scorer = lcvade.load(model_dir, device="cpu")
    print(f"model bands {scorer.config.bands}, classes {scorer.class_names}")

    with_period, searched = held_out_rrlyrae(data, objects, args.seed)
    sne, rejections, n_sne, other_bands = supernova_curves(args.data_dir, scorer.config.min_points)
    score_started = time.perf_counter()
    rr_searched = scorer.score(searched)
    rr_given = scorer.score(with_period)
    sn_results = scorer.score(sne)
    score_s = time.perf_counter() - score_started

    sn_scores = np.array([r.anomaly_score for r in sn_results])
    rows = []
    for name, rr in (
        ("held-out RR Lyrae, periods searched", rr_searched),
        ("held-out RR Lyrae, catalogue periods", rr_given),
    ):
        rr_scores = np.array([r.anomaly_score for r in rr])
        labels = np.r_[np.ones(len(sn_scores), bool), np.zeros(len(rr_scores), bool)]
        scores = np.r_[sn_scores, rr_scores]
        rows.append((name, len(rr), auroc(labels, scores), aupr(labels, scores), rr))

    print(f"\nSNe Ia (ZTF BTS) against held-out RR Lyrae (SDSS Stripe 82), seed {args.seed}")
    print("| inliers | RR Lyrae | SNe Ia | AUROC | AUPR |")
    print("|---|---|---|---|---|")
    for name, n_rr, roc, pr, _ in rows:
        print(f"| {name} | {n_rr} | {len(sn_results)} | {roc:.3f} | {pr:.3f} |")

    print("\nflagged fraction (calibrated p-value of the IAS against the training RR Lyrae)")
    print("| group | n | " + " | ".join(f"p < {level}" for level in LEVELS) + " |")
    print("|---|---|" + "---|" * len(LEVELS))
    groups = [("SNe Ia", sn_results), *[(name, rr) for name, _, _, _, rr in rows]]
    for name, results in groups:
        cells = " | ".join(f"{flagged(results, level):.3f}" for level in LEVELS)
        print(f"| {name} | {len(results)} | {cells} |")

    print(f"\nSNe Ia: {n_sne} in the table, {len(sn_results)} scored, {len(rejections)} not")
    for reason, count in Counter(reason_kind(r.reason) for r in rejections).most_common():
        print(f"  {count:5d}  {reason}")
    if other_bands:
        points = ", ".join(f"{n} in {b}" for b, n in sorted(other_bands.items()))
        print(f"  points outside g and r left out: {points}")
    periods = np.array([r.period for r in rr_searched])
    given = np.array([c.period for c in with_period])
    recovered = np.mean(np.abs(periods / given - 1.0) < 0.01)
    print(
        f"\nheld-out RR Lyrae whose searched period is within 1% of the catalogue's: "
        f"{recovered:.3f}"
    )
    print(
        f"training {train_s:.0f} s, scoring {score_s:.0f} s (period searches included), "
        f"total {time.perf_counter() - started:.0f} s, {args.threads} torch thread(s)"
    )


if __name__ == "__main__":
    main()
