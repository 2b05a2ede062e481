"""Build, train, time and evaluate the bundled default model, and optionally install it.

The default model is trained on real labelled light curves (``--data-dir``, the folder the
shared data README describes), with periods from the scorer's own search, every class an
inlier.  The steps:

1. **Assemble** one training table from two surveys, both read as band ``V``:

   * the Catalina (CRTS) periodic variables of Drake et al. (2014), one star per position
     group (the copy with the most points; groups whose copies disagree on the label are
     left out);
   * the ASAS variables of Richards et al. (2012).

   Each catalogue label becomes the class shared by both catalogues
   (:data:`training.class_families.COMMON_CLASS`: ASAS ``RR_Lyrae_FM`` and CRTS ``Blazhko``
   are ``RRab``, every long-period kind is ``LPV``, ...).  A class is kept when it has at
   least ``--min-objects`` stars (25) in all; labels with no common class (ASAS RCB, T Tauri,
   Be stars, ...) and smaller classes are left out.  A seeded, class-stratified
   ``--holdout`` fraction (0.15) of every class is held back from training altogether, so
   that ``benchmarks/default_model_real.py`` can count flags on curves neither the fit nor
   the calibration saw; the web page's bundled examples are always held back.  Every
   simulator class has real examples here, so no simulated curve is used.
2. **Train** with ``lcvade train`` and ``lcvade/data/models/default/train_config.toml``:
   no periods are given, so the training job searches them with the scorer's own search
   (cached in ``WORKDIR/model/period_cache.parquet``), and calibrates the p-values on a
   held-out slice of the training inliers (split conformal).  The search and the fit are
   timed together.
3. **Evaluate** the section 9.2 test inliers (accuracy).
4. With ``--install``: copy ``manifest.json``, ``model.safetensors`` and ``object_ids.json``
   (the objects the fit and the calibration saw) into ``lcvade/data/models/default/``,
   with ``evaluation.json`` (timings, class counts, held-out ids).

Run again on the same ``--workdir``, it resumes an interrupted training, and evaluates (and
installs) a finished one without training it again.

Example (the command that made the bundled model)::

    python benchmarks/train_default.py --install
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLE = ROOT / "lcvade" / "data" / "models" / "default"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lightcurves"
EXAMPLES = ROOT / "service" / "static" / "examples"
BAND = "V"
SURVEYS = {"crts_train": "CRTS", "asas": "ASAS"}
DESCRIPTION = (
    "Real light curves, one band read as V: {counts}. Catalina (CRTS) periodic variables of "
    "Drake et al. 2014 (one star per position group) and ASAS variables of Richards et al. "
    "2012, catalogue labels mapped to common classes (training.class_families.COMMON_CLASS); "
    "classes with at least {min_objects} stars; {holdout:.0%} of every class held out. "
    "Periods from the scorer's own search."
)


def assemble(
    data_dir: Path, min_objects: int, holdout: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The training photometry, its object table, and the held-out object table."""
    from training.class_families import common_class

    objects, photometry = [], []
    for name, survey in SURVEYS.items():
        table = pd.read_parquet(data_dir / f"{name}_objects.parquet")
        if "pos_group" in table.columns:
            conflicted = table["pos_group_label_conflict"].astype(bool)
            table = table.loc[~conflicted].sort_values(
                ["n_points", "object_id"], ascending=[False, True]
            )
            table = table.drop_duplicates("pos_group")
        table = pd.DataFrame(
            {
                "object_id": table["object_id"].astype(str),
                "label": table["label"].map(common_class),
                "catalogue_label": table["label"].astype(str),
                "survey": survey,
            }
        )
        objects.append(table.dropna(subset=["label"]))
        rows = pd.read_parquet(
            data_dir / f"{name}_lightcurves.parquet",
            columns=["object_id", "time", "mag", "mag_err"],
        )
        photometry.append(rows.assign(object_id=rows["object_id"].astype(str), band=BAND))
    objects = pd.concat(objects, ignore_index=True)
    if objects["object_id"].duplicated().any():
        raise SystemExit("object ids collide between the surveys; prefix them")
    counts = objects["label"].value_counts()
    objects = objects[objects["label"].isin(counts.index[counts >= min_objects])]
    rng = np.random.default_rng(seed)
    held = [pd.read_csv(path)["object_id"].iloc[0] for path in EXAMPLES.glob("*.csv")]
    for _, group in objects.groupby("label", sort=True):
        ids = np.sort(group["object_id"].to_numpy())
        drawn = rng.permutation(ids)[: int(round(holdout * ids.size))]
        held.extend(drawn.tolist())
    is_held = objects["object_id"].isin(set(held))
    train, held_out = objects[~is_held], objects[is_held]
    photometry = pd.concat(photometry, ignore_index=True)
    photometry = photometry[photometry["object_id"].isin(set(train["object_id"]))]
    return photometry, train.assign(period=np.nan), held_out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--min-objects", type=int, default=25, help="stars per class kept")
    parser.add_argument("--holdout", type=float, default=0.15, help="fraction held back")
    parser.add_argument("--holdout-seed", type=int, default=2026)
    parser.add_argument("--config", type=Path, default=BUNDLE / "train_config.toml")
    parser.add_argument("--epochs", type=int, default=None, help="override the config")
    parser.add_argument("--threads", type=int, default=None, help="override the config")
    parser.add_argument("--workdir", type=Path, default=Path("default-model-run"))
    parser.add_argument("--install", action="store_true", help="copy into the package")
    args = parser.parse_args(argv)
    print(
        "command:", shlex.join(["python", "benchmarks/train_default.py", *(argv or sys.argv[1:])])
    )

    from lcvade.checkpoint import read_manifest
    from training.config import build_config
    from training.evaluation import run_evaluation
    from training.job import run_training

    args.workdir.mkdir(parents=True, exist_ok=True)
    photometry, objects, held_out = assemble(
        args.data_dir, args.min_objects, args.holdout, args.holdout_seed
    )
    data, table = args.workdir / "lightcurves.parquet", args.workdir / "objects.parquet"
    photometry.to_parquet(data, index=False)
    objects[["object_id", "label", "period", "catalogue_label", "survey"]].to_parquet(
        table, index=False
    )
    held_out.to_parquet(args.workdir / "held_out.parquet", index=False)
    counts = objects.groupby(["label", "survey"]).size().unstack(fill_value=0)
    print(f"training objects {len(objects)}, held out {len(held_out)}; per class and survey:")
    print(counts.to_string())

    out = args.workdir / "model"
    per_class = objects["label"].value_counts().sort_index()
    description = DESCRIPTION.format(
        counts=", ".join(f"{k} {v}" for k, v in per_class.items()),
        min_objects=args.min_objects,
        holdout=args.holdout,
    )
    config = build_config(
        args.config,
        {
            "data": data,
            "objects": table,
            "out": out,
            "epochs": args.epochs,
            "threads": args.threads,
            "description": description,
            "resume": (out / "checkpoint" / "latest.json").exists() or None,
        },
    )
    finished = (out / "manifest.json").exists()
    if finished and read_manifest(out).training.get("epochs", 0) >= config.epochs:
        print(f"{out} holds a finished run: evaluating (and installing) it as it is")
    else:
        run_training(config, argv=["python", "benchmarks/train_default.py", *sys.argv[1:]])
    record = read_manifest(out).training
    print(
        f"training: {record['wall_time_s']:.0f} s wall in all, period search included "
        f"({record['fit_time_s']:.0f} s of epochs), {record['cpu_time_s']:.0f} s CPU; "
        f"accuracy on the calibration slice "
        f"{record.get('calibration_accuracy', record.get('train_accuracy')):.4f}"
    )
    report = run_evaluation(
        out,
        data,
        table,
        out=args.workdir / "evaluation",
        period_cache=out / "period_cache.parquet",
        progress=True,
    )
    metrics = report.metrics
    print(f"section 9.2 test inlier accuracy {metrics['accuracy']:.4f}")
    size = (out / "model.safetensors").stat().st_size / 2**20
    print(f"weights file: {size:.1f} MiB")
    print(
        "held-out flags and accuracy, other surveys: python benchmarks/default_model_real.py "
        f"--model {out}"
    )
    if args.install:
        BUNDLE.mkdir(parents=True, exist_ok=True)
        for name in ("manifest.json", "model.safetensors", "object_ids.json"):
            shutil.copy2(out / name, BUNDLE / name)
        summary = {
            "command": "python benchmarks/train_default.py " + " ".join(sys.argv[1:]),
            "train_wall_s": record["wall_time_s"],
            "train_cpu_s": record["cpu_time_s"],
            "fit_s": record["fit_time_s"],
            "objects_per_class_and_survey": {
                label: {k: int(v) for k, v in row.items() if v} for label, row in counts.iterrows()
            },
            "held_out": sorted(held_out["object_id"].tolist()),
            "metrics": metrics | {"model": "default"},
        }
        (BUNDLE / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"installed into {BUNDLE}")


if __name__ == "__main__":
    main()
