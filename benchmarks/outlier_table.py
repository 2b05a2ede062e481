"""The thesis' outlier-class tables (Tables 9.3 and 9.4) for LC-VaDE and its baselines.

Every class in turn is the outlier of a section 9.2 split, for every seed; on each split
LC-VaDE, the combined score of section 9.5.4, the VAE baseline (S) of Table 9.4, DAGMM, the
feature Isolation Forest and per-class feature Gaussian mixtures are fitted on the training
inliers and scored on the same test curves.  The script prints AUROC and AUPR (mean +-
sample std over seeds) per outlier class and overall (mean +- std over every class and
seed), with the thesis' own numbers beside them where it has some, the inlier accuracy of
the methods that classify, the mean wall time of each method per split and the wall time of
the whole table.

Real labelled sets come as presets (``--preset``, see ``PRESETS`` and
docs/outlier-benchmark.md): ``asas5``, the thesis' five ASAS classes with the set's
Lomb-Scargle period ``period_ls``, and ``crts7``, seven physically distinct Catalina classes
whose periods the harness searches (and caches).  A preset fills in the tables, classes,
period column and outlier classes; an explicit flag overrides it.

Results are appended to a JSON-lines file as they come, so an interrupted run continues where
it stopped when started again with the same ``--results`` file.

Examples::

    python benchmarks/outlier_table.py --preset asas5 --seeds 0,1,2
    python benchmarks/outlier_table.py --preset crts7 --data-dir /data/lightcurves
    python benchmarks/outlier_table.py --data lc.parquet --objects objects.parquet \
        --seeds 0,1,2 --epochs 15 --channels 16
    python benchmarks/outlier_table.py --simulate 150 --seeds 0,1,2 --markdown
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

METHODS = ("lcvade", "combined", "lcvade_k1", "dagmm", "iforest", "gmm_features")
EXTRA_METHODS = ("dagmm_f",)
LABELS = {
    "lcvade": "LC-VaDE",
    "combined": "IAS+rec (9.5.4)",
    "lcvade_k1": "VAE baseline (S)",
    "dagmm": "DAGMM (S)",
    "dagmm_f": "DAGMM (S) + f",
    "iforest": "IForest (light-curve)",
    "gmm_features": "class GMMs (light-curve)",
}
# The shared real sets, relative to the repository root (override with --data-dir).
DEFAULT_DATA_DIR = Path("../shared/data/lightcurves")


@dataclass(frozen=True)
class Preset:
    """A real labelled set and the protocol measured on it."""

    name: str
    set: str  # tables <set>_lightcurves.parquet and <set>_objects.parquet
    classes: tuple[str, ...]
    period_column: str | None  # object-table column used as the period; None = search it
    description: str
    # object-table column naming the star: keep one object per value (the same star under two
    # survey ids would otherwise land in training and test)
    one_per: str | None = None
    # the thesis' LC-VaDE AUROC and AUPR (%) per outlier class: (mean, std) each
    thesis: dict[str, tuple[tuple[float, float], tuple[float, float]]] = field(default_factory=dict)
    thesis_source: str = ""
    # epochs of the neural methods: about 300 optimiser steps on ASAS-5's ~300 training
    # curves, about 900 on CRTS-7's ~4,000 (an epoch is one pass over the training set)
    epochs: int = 60


PRESETS = {
    "asas5": Preset(
        name="asas5",
        set="asas",
        classes=(
            "Classical_Cepheid",
            "Semireg_PV",
            "Beta_Persei",
            "RR_Lyrae_FM",
            "W_Ursae_Maj",
        ),
        period_column="period_ls",
        description="the thesis' five ASAS classes (Richards et al. 2012 training set), "
        "period = the set's Lomb-Scargle estimate period_ls",
        thesis={
            "Classical_Cepheid": ((98.58, 2.41), (98.72, 2.07)),
            "Semireg_PV": ((99.98, 0.15), (99.98, 0.43)),
            "Beta_Persei": ((89.73, 1.59), (84.76, 0.22)),
            "RR_Lyrae_FM": ((94.78, 0.15), (89.91, 0.43)),
            "W_Ursae_Maj": ((81.62, 6.15), (71.51, 4.31)),
        },
        thesis_source="thesis Table 9.3(b), LC-VaDE on ASAS",
    ),
    "crts7": Preset(
        name="crts7",
        set="crts_train",
        classes=("EA", "EW", "RRab", "RRc", "RS_CVn", "LPV", "HADS"),
        period_column=None,
        description="seven physically distinct Catalina (CRTS) classes of Drake et al. 2014, "
        "periods searched by the harness (cached in WORKDIR/period_cache.parquet), one "
        "object per star (pos_group)",
        one_per="pos_group",
        epochs=15,
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="a real labelled set: "
        + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"folder of the preset's tables [{DEFAULT_DATA_DIR}, relative to the repository]",
    )
    parser.add_argument(
        "--one-per",
        default=None,
        help="object-table column naming the star: keep one object per value, the one with "
        "the most points (default: the preset's); the others are reported as rejected",
    )
    parser.add_argument(
        "--period-column",
        default=None,
        help="object-table column to use as the period (default: the preset's, else 'period'; "
        "missing values are searched)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="light-curve table (long format)")
    source.add_argument(
        "--simulate", type=int, metavar="N", help="simulate about N curves per class instead"
    )
    parser.add_argument("--objects", type=Path, help="object table (with --data)")
    parser.add_argument("--sim-seed", type=int, default=0, help="seed of the simulation")
    parser.add_argument("--cadence", default=None, help="simulation cadence (see simulate)")
    parser.add_argument("--classes", default=None, help="comma-separated classes to use")
    parser.add_argument("--outliers", default=None, help="outlier classes (default: all)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs of the neural methods [preset's, or 60]"
    )
    parser.add_argument(
        "--augment-min-fraction",
        type=float,
        default=0.5,
        help="LC-VaDE trains on redraws keeping at least this fraction of each band's points, "
        "with noise at the stated errors (training.augment) [0.5]",
    )
    parser.add_argument("--no-augment", action="store_true", help="train on the curves as they are")
    parser.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an LC-VaDE hyper-parameter (lcvade.config.LCVaDEConfig), e.g. "
        "feature_set=thesis; repeatable",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--feature-prior-learning-rate", type=float, default=1e-2)
    parser.add_argument("--channels", type=int, default=16, help="C (the thesis uses 72)")
    parser.add_argument("--max-points", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="[outlier-table, or outlier-table-PRESET]"
    )
    parser.add_argument("--results", type=Path, default=None, help="JSON lines of runs")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--report-only", action="store_true", help="print the tables of --results, run nothing"
    )
    return apply_preset(parser.parse_args(argv))


def apply_preset(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in what ``--preset`` sets and the user did not give (explicit flags win)."""
    preset = PRESETS.get(args.preset) if args.preset else None
    if args.epochs is None:
        args.epochs = preset.epochs if preset else 60
    if args.workdir is None:
        args.workdir = Path("outlier-table" + (f"-{preset.name}" if preset else ""))
    if preset is None:
        if args.data_dir is not None:
            raise SystemExit("--data-dir needs --preset (or give --data and --objects)")
        return args
    if args.simulate is not None:
        raise SystemExit("--preset and --simulate exclude each other")
    folder = args.data_dir or REPOSITORY / DEFAULT_DATA_DIR
    if args.data is None:
        args.data = folder / f"{preset.set}_lightcurves.parquet"
    if args.objects is None:
        args.objects = folder / f"{preset.set}_objects.parquet"
    for path in (args.data, args.objects):
        if not path.is_file():
            raise SystemExit(
                f"preset {preset.name}: {path} not found; point --data-dir at the folder that "
                f"holds {preset.set}_lightcurves.parquet and {preset.set}_objects.parquet"
            )
    if args.classes is None:
        args.classes = ",".join(preset.classes)
    if args.period_column is None:
        args.period_column = preset.period_column
    if args.one_per is None:
        args.one_per = preset.one_per
    return args


def derived_objects(
    objects: Path, period_column: str | None, one_per: str | None, workdir: Path
) -> Path:
    """A copy of the object table (in ``workdir``) whose ``period`` is ``period_column`` and
    that keeps one object per value of ``one_per`` (the one with the most points)."""
    from lcvade.tables import read_table

    table = read_table(objects)
    for flag, column in (("--period-column", period_column), ("--one-per", one_per)):
        if column is not None and column not in table.columns:
            raise SystemExit(
                f"{flag} {column!r} is not a column of {objects}; its columns are "
                f"{list(table.columns)}"
            )
    columns = ["object_id", "label", "period"]
    if period_column is not None:
        table = table.assign(period=table[period_column])
    if one_per is not None:
        if "n_points" in table.columns:
            table = table.sort_values(["n_points", "object_id"], ascending=[False, True])
        else:
            table = table.sort_values("object_id")
        table = table.drop_duplicates(one_per)
    parts = [f"period-{period_column}"] * (period_column is not None)
    parts += [f"one-per-{one_per}"] * (one_per is not None)
    path = workdir / f"{objects.stem}.{'.'.join(parts)}.parquet"
    table[[c for c in columns if c in table.columns]].to_parquet(path, index=False)
    return path


def load_data(args: argparse.Namespace):
    from training.data import load_labelled

    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.simulate is not None:
        from lcvade.simulation import parse_classes, simulate

        classes = parse_classes(args.classes)
        options = {"classes": list(classes)}
        if args.cadence is not None:
            options["cadence"] = args.cadence
        n = args.simulate * len(classes)
        lightcurves, objects = simulate(n, seed=args.sim_seed, **options)
        data = args.workdir / "simulated_lightcurves.parquet"
        table = args.workdir / "simulated_objects.parquet"
        lightcurves.to_parquet(data, index=False)
        objects[["object_id", "label", "period"]].to_parquet(table, index=False)
    else:
        if args.objects is None:
            raise SystemExit("--objects is required with --data")
        data, table = args.data, args.objects
        period_column = None if args.period_column == "period" else args.period_column
        if period_column is not None or args.one_per is not None:
            table = derived_objects(table, period_column, args.one_per, args.workdir)
    classes = None if args.classes is None else args.classes.split(",")
    return load_labelled(
        data,
        table,
        classes=classes,
        period_cache=args.workdir / "period_cache.parquet",
        progress=True,
    )


def run_split(task, settings, methods: list[str]) -> list[dict]:
    """Fit and score every requested method on one split."""
    from training.baselines.dagmm import dagmm
    from training.baselines.feature_density import feature_density
    from training.baselines.feature_forest import feature_forest
    from training.baselines.lcvade_methods import lcvade_and_combined
    from training.baselines.unimodal import unimodal
    from training.metrics import accuracy, aupr, auroc

    results = []
    if "lcvade" in methods or "combined" in methods:
        results += [r for r in lcvade_and_combined(task, settings) if r.method in methods]
    if "lcvade_k1" in methods:
        results.append(unimodal(task, settings))
    if "dagmm" in methods:
        results.append(dagmm(task, settings))
    if "dagmm_f" in methods:
        results.append(dagmm(task, settings, features=True))
    if "iforest" in methods:
        results.append(feature_forest(task, settings))
    if "gmm_features" in methods:
        results.append(feature_density(task, settings))
    inliers = ~task.test_is_outlier
    rows = []
    for r in results:
        terms = r.details.pop("score_terms", {})
        row = {
            "method": r.method,
            "auroc": auroc(task.test_is_outlier, r.anomaly_score),
            "aupr": aupr(task.test_is_outlier, r.anomaly_score),
            "fit_s": r.fit_s,
            "score_s": r.score_s,
            **r.details,
        }
        for name, score in terms.items():  # diagnostic: each part of the score alone
            row[f"auroc_{name}"] = auroc(task.test_is_outlier, score)
        if r.predicted is not None:
            row["accuracy"] = accuracy(task.test_label_index()[inliers], r.predicted[inliers])
        rows.append(row)
    return rows


def mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    a = 100.0 * np.asarray(values, dtype=float)
    std = a.std(ddof=1) if a.size > 1 else 0.0
    return f"{a.mean():.2f} ± {std:.2f}"


def read_runs(path: Path) -> list[dict]:
    """The runs recorded in a JSON-lines results file so far (none when it does not exist)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table_wall_time(runs: list[dict]) -> float:
    """Seconds the table's splits took: the sum of each split's recorded wall time."""
    splits = {(r["outlier_class"], r["seed"], r.get("split_wall_s", 0.0)) for r in runs}
    return float(sum(wall for _, _, wall in splits))


def thesis_cell(preset: Preset | None, metric: str, cls: str | None, classes: list[str]) -> str:
    """The thesis' value for one class (mean ± std), or the mean over ``classes``."""
    if preset is None or not preset.thesis:
        return "-"
    index = 0 if metric == "auroc" else 1
    if cls is not None:
        if cls not in preset.thesis:
            return "-"
        mean, std = preset.thesis[cls][index]
        return f"{mean:.2f} ± {std:.2f}"
    known = [preset.thesis[c][index][0] for c in classes if c in preset.thesis]
    return f"{np.mean(known):.2f}" if known else "-"


def print_tables(
    runs: list[dict], methods: list[str], markdown: bool, preset: Preset | None = None
) -> None:
    classes = sorted({r["outlier_class"] for r in runs})
    with_thesis = preset is not None and bool(preset.thesis)
    if with_thesis:
        print(f"\nthesis column: {preset.thesis_source} (mean ± std of its runs)")

    def values(metric: str, method: str, cls: str | None = None) -> list[float]:
        return [
            r[metric]
            for r in runs
            if r["method"] == method
            and (cls is None or r["outlier_class"] == cls)
            and r.get(metric) is not None
        ]

    for metric in ("auroc", "aupr"):
        header = ["outlier class", *[LABELS[m] for m in methods]]
        body = [[c, *[mean_std(values(metric, m, c)) for m in methods]] for c in classes]
        body.append(
            ["**overall**" if markdown else "overall"]
            + [mean_std(values(metric, m)) for m in methods]
        )
        if with_thesis:
            header.append("thesis LC-VaDE")
            for row, cls in zip(body, [*classes, None], strict=True):
                row.append(thesis_cell(preset, metric, cls, classes))
        _print(f"{metric.upper()} (%)", header, body, markdown)
    header = ["method", "AUROC (%)", "AUPR (%)", "inlier accuracy (%)", "wall time / split (s)"]
    body = []
    for m in methods:
        walls = [r["fit_s"] + r["score_s"] for r in runs if r["method"] == m]
        body.append(
            [
                LABELS[m],
                mean_std(values("auroc", m)),
                mean_std(values("aupr", m)),
                mean_std(values("accuracy", m)) if values("accuracy", m) else "-",
                f"{np.mean(walls):.1f}" if walls else "-",
            ]
        )
    _print("overall, every class and seed (Table 9.4 analog)", header, body, markdown)
    parts = ["auroc_expected_log_pz", "auroc_entropy_z", "auroc_expected_log_pf"]
    names = ["E_q[log p(z|y)]", "h_q(z|x)", "E_q(y)[log p(f|y)]"]
    if any("auroc_without_entropy" in r for r in runs):
        parts += ["auroc_without_entropy", "auroc_eq_9_12"]
        names += ["IAS_f - h_q(z|x)", "eq. 9.12 (IAS_f - f term)"]
    if any(parts[0] in r for r in runs):
        header = ["outlier class", *names]
        body = [[c, *[mean_std(values(p, "lcvade", c)) for p in parts]] for c in classes]
        body.append(["overall", *[mean_std(values(p, "lcvade")) for p in parts]])
        _print(
            "LC-VaDE diagnostic: AUROC (%) of each part of the score alone and of partial sums",
            header,
            body,
            markdown,
        )


def _print(title: str, header: list[str], body: list[list[str]], markdown: bool) -> None:
    print(f"\n{title}")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in body:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=True)]
    for row in [header, *body]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    print("command:", shlex.join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])]))
    import torch

    from training.baselines.protocol import MethodSettings, OutlierTask
    from training.split import outlier_split

    torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS) - set(EXTRA_METHODS))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {[*METHODS, *EXTRA_METHODS]}")
    results = args.results or args.workdir / "runs.jsonl"
    done = read_runs(results)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.report_only:
        runs = [r for r in done if r["seed"] in seeds and r["method"] in methods]
        print(f"{len(runs)} runs in {results}")
        print_tables(runs, methods, args.markdown, PRESETS.get(args.preset))
        print(f"\nwall time of the table (sum over its splits): {table_wall_time(runs):.0f} s")
        return
    if args.data is None and args.simulate is None:
        raise SystemExit("give --preset, --data and --objects, or --simulate N")
    data = load_data(args)
    counts = data.class_counts()
    print(f"{len(data)} curves, classes {counts}; {len(data.rejections)} rejected")
    for reason, n in Counter(r.reason for r in data.rejections).most_common(5):
        print(f"  {n:5d} rejected: {reason}")  # the five commonest reasons
    outliers = sorted(counts) if args.outliers is None else args.outliers.split(",")
    finished = {(r["outlier_class"], r["seed"], r["method"]) for r in done}
    from training.augment import Augmentation
    from training.config import parse_model_options

    model = {
        "channels": args.channels,
        "max_points": args.max_points,
        **parse_model_options(args.model_option),
    }
    augmentation = None if args.no_augment else Augmentation(min_fraction=args.augment_min_fraction)
    started = time.perf_counter()
    for cls in outliers:
        for seed in seeds:
            todo = [m for m in methods if (cls, seed, m) not in finished]
            if not todo:
                continue
            split = outlier_split(data.ids, data.labels, cls, seed)
            task = OutlierTask.from_split(data, split)
            settings = MethodSettings(
                epochs=args.epochs,
                batch_size=args.batch_size,
                learning_rate=args.learning_rate,
                feature_prior_learning_rate=args.feature_prior_learning_rate,
                seed=seed,
                model=model,
                augmentation=augmentation,
            )
            split_started = time.perf_counter()
            rows = run_split(task, settings, todo)
            split_wall = round(time.perf_counter() - split_started, 2)
            with results.open("a") as fh:
                for row in rows:
                    row |= {
                        "outlier_class": cls,
                        "seed": seed,
                        "n_anomaly": split.n_anomaly,
                        "split_wall_s": split_wall,
                    }
                    fh.write(json.dumps(row) + "\n")
                    done.append(row)
            summary = ", ".join(f"{r['method']} {r['auroc']:.3f}" for r in rows)
            print(f"[{time.perf_counter() - started:7.0f} s] outlier {cls} seed {seed}: {summary}")
    runs = [
        r
        for r in done
        if r["outlier_class"] in outliers and r["seed"] in seeds and r["method"] in methods
    ]
    print_tables(runs, methods, args.markdown, PRESETS.get(args.preset))
    print(
        f"\nwall time of the table (sum over its splits, {args.threads} torch thread(s)): "
        f"{table_wall_time(runs):.0f} s; this invocation: {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
