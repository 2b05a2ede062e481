"""The thesis' outlier-class tables (Tables 9.3 and 9.4) for LC-VaDE and its baselines.

Every class in turn is the outlier of a section 9.2 split, for every seed; on each split
LC-VaDE, the combined score of section 9.5.4, LC-VaDE with K = 1, DAGMM and the feature
Isolation Forest are fitted on the training inliers and scored on the same test curves.
The script prints AUROC and AUPR (mean +- sample std over seeds) per outlier class and
overall (mean +- std over every class and seed), LC-VaDE's inlier accuracy, and the mean wall
time of each method per split.

Results are appended to a JSON-lines file as they come, so an interrupted run continues where
it stopped when started again with the same ``--results`` file.

Examples::

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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METHODS = ("lcvade", "combined", "lcvade_k1", "dagmm", "iforest")
EXTRA_METHODS = ("dagmm_f",)
LABELS = {
    "lcvade": "LC-VaDE",
    "combined": "IAS+rec (9.5.4)",
    "lcvade_k1": "LC-VaDE K=1",
    "dagmm": "DAGMM (S)",
    "dagmm_f": "DAGMM (S) + f",
    "iforest": "IForest (light-curve)",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--feature-prior-learning-rate", type=float, default=1e-2)
    parser.add_argument("--channels", type=int, default=16, help="C (the thesis uses 72)")
    parser.add_argument("--max-points", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--workdir", type=Path, default=Path("outlier-table"))
    parser.add_argument("--results", type=Path, default=None, help="JSON lines of runs")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--report-only", action="store_true", help="print the tables of --results, run nothing"
    )
    return parser.parse_args(argv)


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
    from training.baselines.feature_forest import feature_forest
    from training.baselines.lcvade_methods import lcvade_and_combined, unimodal
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


def print_tables(runs: list[dict], methods: list[str], markdown: bool) -> None:
    classes = sorted({r["outlier_class"] for r in runs})

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
    done = []
    if results.is_file():
        done = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.report_only:
        runs = [r for r in done if r["seed"] in seeds and r["method"] in methods]
        print(f"{len(runs)} runs in {results}")
        print_tables(runs, methods, args.markdown)
        return
    if args.data is None and args.simulate is None:
        raise SystemExit("give --data and --objects, or --simulate N")
    data = load_data(args)
    counts = data.class_counts()
    print(f"{len(data)} curves, classes {counts}; {len(data.rejections)} rejected")
    outliers = sorted(counts) if args.outliers is None else args.outliers.split(",")
    finished = {(r["outlier_class"], r["seed"], r["method"]) for r in done}
    model = {"channels": args.channels, "max_points": args.max_points}
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
            )
            rows = run_split(task, settings, todo)
            with results.open("a") as fh:
                for row in rows:
                    row |= {"outlier_class": cls, "seed": seed, "n_anomaly": split.n_anomaly}
                    fh.write(json.dumps(row) + "\n")
                    done.append(row)
            summary = ", ".join(f"{r['method']} {r['auroc']:.3f}" for r in rows)
            print(f"[{time.perf_counter() - started:7.0f} s] outlier {cls} seed {seed}: {summary}")
    runs = [r for r in done if r["outlier_class"] in outliers and r["seed"] in seeds]
    print_tables(runs, methods, args.markdown)
    print(f"\ntotal wall time of this invocation: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
