"""Ablation of LC-VaDE's detection quality on real light curves, one row per configuration.

Every row trains LC-VaDE on the inliers of each section 9.2 split (every outlier class of the
set, every seed) and prints the AUROC of the whole score and of each of its parts alone, so
that a change can be traced to the part of the score it moves:

* ``IAS_f``: the model's score (eq. 9.12 with the feature term, :mod:`lcvade.ias`);
* ``eq. 9.12``: sum_k q(y=k|z,f) E_q(z|x)[log p(z|y=k)] + h_q(z|x), the latent part alone;
* ``E[log p(z|y)]`` and ``h_q(z|x)``: its two halves;
* ``E[log p(f|y)]``: the feature term alone;
* ``IAS_f at mu``: IAS_f with q(z|x) replaced by a point mass at its mean,
  sum_k q(y=k|z,f) (log p(mu|y=k) + log p(f|y=k)): the score without the encoder's variance;
* inlier accuracy of argmax q(y|z,f) on the test inliers.

Rows (``--rows``, comma-separated; default all) are named configurations of the model options
(:class:`lcvade.config.LCVaDEConfig`), the number of epochs, and the augmentation
(:mod:`training.augment`).  Results are appended to a JSON-lines file as they come; a rerun
with the same ``--results`` skips what is done.  ``--report-only`` prints the table.

Example (the commands behind the ablation table of docs/quality.md)::

    python benchmarks/quality_ablation.py --preset asas5 --seeds 0
    python benchmarks/quality_ablation.py --preset asas5 --seeds 0 --rows recommended
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

from benchmarks.outlier_table import read_runs  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lightcurves"

# name: (epochs, model options, augmentation options or None, what the row changes)
THESIS_F = {"feature_set": "thesis"}
PLAIN = {"encoder_spectral_norm": False}
ROWS: dict[str, tuple[int, dict, dict | None, str]] = {
    "thesis": (15, THESIS_F, None, "the thesis' model at the former benchmark default"),
    "thesis_100ep": (100, THESIS_F, None, "the same, 100 epochs"),
    "labelled_bound": (
        15,
        {**THESIS_F, "supervision": "labelled_bound"},
        None,
        "labels observed in the bound",
    ),
    "plain_encoder": (15, {**THESIS_F, **PLAIN}, None, "no spectral normalisation in q(z|x)"),
    "plain_60ep": (60, {**THESIS_F, **PLAIN}, None, "plain encoder, 60 epochs"),
    "plain_60ep_latent_ce": (
        60,
        {**THESIS_F, **PLAIN, "latent_label_weight": 1.0},
        None,
        "+ cross-entropy of q(y|z)",
    ),
    "plain_60ep_latent_ce_aug": (
        60,
        {**THESIS_F, **PLAIN, "latent_label_weight": 1.0},
        {"min_fraction": 0.5},
        "+ augmentation",
    ),
    "recommended": (
        60,
        {"feature_set": "shape", **PLAIN, "latent_label_weight": 1.0},
        {"min_fraction": 0.5},
        "+ shape features (the recommended configuration)",
    ),
}

PRESETS = {
    "asas5": (
        "asas_lightcurves.parquet",
        "asas_objects.parquet",
        "period_ls",
        ["Classical_Cepheid", "Semireg_PV", "Beta_Persei", "RR_Lyrae_FM", "W_Ursae_Maj"],
    ),
}
COLUMNS = [
    ("ias", "IAS_f"),
    ("eq912", "eq. 9.12"),
    ("logpz", "E[log p(z|y)]"),
    ("hz", "h_q(z|x)"),
    ("logpf", "E[log p(f|y)]"),
    ("mu_f", "IAS_f at mu"),
    ("acc", "accuracy"),
]


def load(preset: str, data_dir: Path, workdir: Path):
    import pandas as pd

    from training.data import load_labelled

    lightcurves, objects, period_column, classes = PRESETS[preset]
    table = pd.read_parquet(data_dir / objects)
    table["period"] = table[period_column]
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{preset}_objects.parquet"
    table[["object_id", "label", "period"]].to_parquet(path, index=False)
    data = load_labelled(
        data_dir / lightcurves,
        path,
        classes=classes,
        period_cache=workdir / f"{preset}_periods.parquet",
    )
    return data, classes


def run_split(data, cls: str, seed: int, row: str) -> dict:
    import torch

    from lcvade.batching import collate
    from training.augment import Augmentation
    from training.baselines.lcvade_methods import train_model
    from training.baselines.protocol import MethodSettings, OutlierTask
    from training.inference import evaluate_model
    from training.metrics import auroc
    from training.split import outlier_split

    epochs, model_options, augment, _ = ROWS[row]
    split = outlier_split(data.ids, data.labels, cls, seed)
    task = OutlierTask.from_split(data, split)
    settings = MethodSettings(
        epochs=epochs,
        seed=seed,
        model={"channels": 16, **model_options},
        augmentation=None if augment is None else Augmentation(**augment),
    )
    config = settings.lcvade_config(len(task.class_names), task.bands)
    started = time.perf_counter()
    model, _ = train_model(task.train, task.train_label_index(), config, settings)
    fit_s = time.perf_counter() - started
    batch = collate(task.test.curves, task.test.periods, config)
    out = evaluate_model(model, batch, terms=True)
    terms = out.terms or {}
    with torch.no_grad():
        mean, _ = model.encode(batch)
        f = model.standardize(batch.features)
        q_y = model.prior.log_posterior(mean, f).exp()
        at_mean = (q_y * (model.prior.log_pz(mean) + model.prior.log_pf(f))).sum(-1)
    y = task.test_is_outlier
    inliers = ~y
    return {
        "row": row,
        "outlier_class": cls,
        "seed": seed,
        "fit_s": fit_s,
        "ias": auroc(y, -out.ias),
        "eq912": auroc(y, -(terms["expected_log_pz"] + terms["entropy_z"])),
        "logpz": auroc(y, -terms["expected_log_pz"]),
        "hz": auroc(y, -terms["entropy_z"]),
        "logpf": auroc(y, -terms["expected_log_pf"]),
        "mu_f": auroc(y, -at_mean.double().numpy()),
        "acc": float(np.mean(out.predicted[inliers] == task.test_label_index()[inliers])),
    }


def print_table(runs: list[dict], rows: list[str], preset: str) -> None:
    print(f"\nAUROC of each part of the score, mean over outlier classes and seeds ({preset})")
    header = ["row", "epochs", *[name for _, name in COLUMNS], "fit s / split", "changes"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        done = [r for r in runs if r["row"] == row]
        if not done:
            continue
        cells = [
            f"{np.mean([r[key] for r in done]):.3f}" if all(key in r for r in done) else "-"
            for key, _ in COLUMNS
        ]
        fit = f"{np.mean([r['fit_s'] for r in done]):.0f}"
        print(f"| {row} | {ROWS[row][0]} | " + " | ".join(cells) + f" | {fit} | {ROWS[row][3]} |")
    print("\nIAS_f and eq. 9.12 per outlier class (mean over seeds)")
    classes = sorted({r["outlier_class"] for r in runs})
    print("| row | " + " | ".join(classes) + " |")
    print("|" + "---|" * (len(classes) + 1))
    for row in rows:
        done = [r for r in runs if r["row"] == row]
        if not done:
            continue
        cells = []
        for cls in classes:
            mine = [r for r in done if r["outlier_class"] == cls]
            ias = np.mean([r["ias"] for r in mine]) if mine else np.nan
            latent = np.mean([r["eq912"] for r in mine]) if mine else np.nan
            cells.append(f"{ias:.3f} / {latent:.3f}" if mine else "-")
        print(f"| {row} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="asas5")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("quality-ablation"))
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    print(
        "command:",
        shlex.join(["python", "benchmarks/quality_ablation.py", *(argv or sys.argv[1:])]),
    )
    rows = [r for r in args.rows.split(",") if r]
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; choose from {list(ROWS)}")
    results = args.results or args.workdir / "runs.jsonl"
    done = read_runs(results)
    seeds = [int(s) for s in args.seeds.split(",")]
    if not args.report_only:
        import torch

        torch.set_num_threads(args.threads)
        data, classes = load(args.preset, args.data_dir, args.workdir)
        finished = {(r["row"], r["outlier_class"], r["seed"]) for r in done}
        started = time.perf_counter()
        for row in rows:
            for seed in seeds:
                for cls in classes:
                    if (row, cls, seed) in finished:
                        continue
                    result = run_split(data, cls, seed, row)
                    with results.open("a") as fh:
                        fh.write(json.dumps(result) + "\n")
                    done.append(result)
                    print(
                        f"[{time.perf_counter() - started:6.0f} s] {row} {cls} seed {seed}: "
                        f"IAS_f {result['ias']:.3f}, eq. 9.12 {result['eq912']:.3f}",
                        flush=True,
                    )
        print(f"\ntotal wall time: {time.perf_counter() - started:.0f} s")
    runs = [r for r in done if r["seed"] in seeds]
    print_table(runs, rows, args.preset)


if __name__ == "__main__":
    main()
