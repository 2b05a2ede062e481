"""Train, time and evaluate the bundled default model, and optionally install it.

No labelled real light curves are available to the project (the real data are ten
unlabelled MACHO curves and the OGLE-III catalog of parameters), so the default model is
trained on curves simulated by :mod:`lcvade.simulation` from real OGLE-III catalog rows
(periods, amplitudes and Fourier shapes of pulsators; eclipsing binaries from a geometric
model), every class an inlier.  The steps:

1. simulate ``--n-per-class`` x 10 objects (``--sim-seed``, ``--cadence``) to Parquet;
2. ``lcvade train`` with ``lcvade/data/models/default/train_config.toml`` (the thesis
   architecture, C = 72), timed;
3. ``lcvade evaluate`` on the held-out inliers of the section 9.2 split (accuracy);
4. with ``--install``: copy ``manifest.json``, ``model.safetensors`` and ``object_ids.json``
   (the objects the fit and the calibration saw, read by ``default_model_real.py``) into
   ``lcvade/data/models/default/`` together with the evaluation metrics.

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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLE = ROOT / "lcvade" / "data" / "models" / "default"
DESCRIPTION = (
    "Simulated light curves (lcvade.simulation, cadence {cadence}, seed {seed}, "
    "{n} objects): pulsators driven by real OGLE-III catalog rows (period, amplitude, "
    "Fourier shape), eclipsing binaries from a geometric model. No real labelled light "
    "curves were available for training."
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-per-class", type=int, default=500)
    parser.add_argument("--sim-seed", type=int, default=2024)
    parser.add_argument("--cadence", default="uniform")
    parser.add_argument("--config", type=Path, default=BUNDLE / "train_config.toml")
    parser.add_argument("--epochs", type=int, default=None, help="override the config")
    parser.add_argument("--workdir", type=Path, default=Path("default-model-run"))
    parser.add_argument("--install", action="store_true", help="copy into the package")
    args = parser.parse_args(argv)
    print(
        "command:", shlex.join(["python", "benchmarks/train_default.py", *(argv or sys.argv[1:])])
    )

    from lcvade.checkpoint import read_manifest
    from lcvade.simulation import LABELS, simulate
    from training.config import build_config
    from training.evaluation import run_evaluation
    from training.job import run_training

    args.workdir.mkdir(parents=True, exist_ok=True)
    n = args.n_per_class * len(LABELS)
    started = time.perf_counter()
    lightcurves, objects = simulate(n, seed=args.sim_seed, cadence=args.cadence)
    data, table = args.workdir / "lightcurves.parquet", args.workdir / "objects.parquet"
    lightcurves.to_parquet(data, index=False)
    objects[["object_id", "label", "period"]].to_parquet(table, index=False)
    simulate_s = time.perf_counter() - started
    print(f"simulated {n} objects in {simulate_s:.0f} s: {objects.label.value_counts().to_dict()}")

    out = args.workdir / "model"
    description = DESCRIPTION.format(cadence=args.cadence, seed=args.sim_seed, n=n)
    config = build_config(
        args.config,
        {
            "data": data,
            "objects": table,
            "out": out,
            "epochs": args.epochs,
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
        f"training: {record['wall_time_s']:.0f} s wall in all ({record['fit_time_s']:.0f} s "
        f"of epochs), {record['cpu_time_s']:.0f} s CPU; accuracy on the calibration slice "
        f"{record.get('calibration_accuracy', record.get('train_accuracy')):.4f}"
    )
    report = run_evaluation(out, data, table, out=args.workdir / "evaluation", progress=True)
    metrics = report.metrics
    print(f"held-out inlier accuracy {metrics['accuracy']:.4f} on {metrics['n_test_inliers']}")
    print(f"simulation + training wall time: {simulate_s + record['wall_time_s']:.0f} s")
    size = (out / "model.safetensors").stat().st_size / 2**20
    print(f"weights file: {size:.1f} MiB")
    if args.install:
        BUNDLE.mkdir(parents=True, exist_ok=True)
        for name in ("manifest.json", "model.safetensors", "object_ids.json"):
            shutil.copy2(out / name, BUNDLE / name)
        summary = {
            "command": "python benchmarks/train_default.py " + " ".join(sys.argv[1:]),
            "simulate_s": round(simulate_s, 1),
            "train_wall_s": record["wall_time_s"],
            "train_cpu_s": record["cpu_time_s"],
            "metrics": metrics | {"model": "default"},
        }
        (BUNDLE / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"installed into {BUNDLE}")


if __name__ == "__main__":
    main()
