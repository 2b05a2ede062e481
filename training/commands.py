"""The ``lcvade train`` and ``lcvade evaluate`` commands.

Flags mirror the TOML keys of :class:`training.config.TrainConfig` (``--batch-size`` sets
``batch_size``); a flag overrides the file given with ``--config``.  Heavy modules are
imported inside the command bodies so that ``lcvade --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

USER_ERROR_EXIT_CODE = 2


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(USER_ERROR_EXIT_CODE)


def train_command(
    data: Path | None = typer.Option(None, "--data", help="light-curve table (long format)"),
    objects: Path | None = typer.Option(None, "--objects", help="object table with labels"),
    outlier_class: str | None = typer.Option(
        None, "--outlier-class", help="hold this class out of training (section 9.2)"
    ),
    classes: str | None = typer.Option(
        None, "--classes", help="comma-separated labels to use (default: all)"
    ),
    epochs: int | None = typer.Option(None, "--epochs", help="passes over the data [30]"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="curves per batch [64]"),
    learning_rate: float | None = typer.Option(None, "--learning-rate", help="Adam rate [1e-3]"),
    feature_prior_learning_rate: float | None = typer.Option(
        None, "--feature-prior-learning-rate", help="Adam rate of p(f|y) [1e-2]"
    ),
    seed: int | None = typer.Option(None, "--seed", help="seed of split, weights, batches [0]"),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N [auto]"),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads of torch [1]"),
    out: Path | None = typer.Option(None, "--out", help="output model directory"),
    name: str | None = typer.Option(None, "--name", help="model name in the manifest"),
    version: str | None = typer.Option(None, "--version", help="model version in the manifest"),
    description: str | None = typer.Option(
        None, "--description", help="where the data come from (kept in the manifest)"
    ),
    weights_dtype: str | None = typer.Option(
        None, "--weights-dtype", help="float32 or float16 (half the file size) [float32]"
    ),
    min_points: int | None = typer.Option(None, "--min-points", help="points per band [10]"),
    period_cache: Path | None = typer.Option(
        None, "--period-cache", help="Parquet cache of searched periods"
    ),
    augment: bool | None = typer.Option(
        None,
        "--augment/--no-augment",
        help="train on redraws: random subsets of points, noise at the errors [augment]",
    ),
    augment_min_fraction: float | None = typer.Option(
        None, "--augment-min-fraction", help="smallest fraction of points redrawn [0.5]"
    ),
    feature_prior: str | None = typer.Option(
        None,
        "--feature-prior",
        help="p(f|y) saved: learned, or observed (the fit curves' class moments) [learned]",
    ),
    class_prior: str | None = typer.Option(
        None,
        "--class-prior",
        help="p(y) of the saved classifier: uniform, or training (class frequencies) [uniform]",
    ),
    calibration_fraction: float | None = typer.Option(
        None,
        "--calibration-fraction",
        help="share of the training inliers held out of the fit to calibrate p-values [0.2]",
    ),
    calibration_min: int | None = typer.Option(
        None, "--calibration-min", help="fewest curves in the calibration slice [100]"
    ),
    channels: int | None = typer.Option(None, "--channels", help="C; blocks are 4C wide [72]"),
    z_rep: int | None = typer.Option(None, "--z-rep", help="dimensions of z_rep [10]"),
    z_kernel: int | None = typer.Option(None, "--z-kernel", help="dimensions of z_kernel [2]"),
    max_points: int | None = typer.Option(None, "--max-points", help="points kept per curve"),
    feature_set: str | None = typer.Option(
        None,
        "--feature-set",
        help="features f: shape (log10 amplitude, skewness, log10 p; no apparent brightness) "
        "shape_fold (shape plus the fold's significance) or thesis (mean mag, "
        "std, log10 p) [shape]",
    ),
    model_option: list[str] | None = typer.Option(
        None, "--model-option", help="any LC-VaDE hyper-parameter, KEY=VALUE (repeatable)"
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML file with these options"),
    resume: bool = typer.Option(False, "--resume", help="continue from the last checkpoint"),
    no_progress: bool = typer.Option(False, "--no-progress", help="hide the progress bar"),
) -> None:
    """Train an LC-VaDE model on labelled light curves (the offline retraining job)."""
    from models.errors import LCVaDEError
    from training.config import build_config, parse_model_options
    from training.interrupt import INTERRUPTED_EXIT_CODE
    from training.job import TrainingInterrupted, run_training

    overrides = {
        "data": data,
        "objects": objects,
        "outlier_class": outlier_class,
        "classes": None if classes is None else [c.strip() for c in classes.split(",") if c],
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "feature_prior_learning_rate": feature_prior_learning_rate,
        "seed": seed,
        "device": device,
        "threads": threads,
        "out": out,
        "name": name,
        "version": version,
        "description": description,
        "weights_dtype": weights_dtype,
        "min_points": min_points,
        "augment": augment,
        "augment_min_fraction": augment_min_fraction,
        "period_cache": period_cache,
        "feature_prior": feature_prior,
        "class_prior": class_prior,
        "calibration_fraction": calibration_fraction,
        "calibration_min": calibration_min,
        "resume": resume or None,
        "progress": False if no_progress else None,
    }
    try:
        model = parse_model_options(model_option or [])
        flags = {
            "channels": channels,
            "z_rep": z_rep,
            "z_kernel": z_kernel,
            "max_points": max_points,
            "feature_set": feature_set,
        }
        model |= {k: v for k, v in flags.items() if v is not None}
        settings = build_config(config, overrides, model)
        result = run_training(settings, argv=list(sys.argv))
    except TrainingInterrupted as exc:
        typer.echo(f"interrupted: {exc}", err=True)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from exc
    except KeyboardInterrupt as exc:
        typer.echo(
            "interrupted. Searched periods are cached; if OUT/checkpoint exists, add --resume "
            "to continue from it, otherwise run the same command again",
            err=True,
        )
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from exc
    except LCVaDEError as exc:
        raise _fail(exc) from exc
    typer.echo(
        f"model written to {result.model_dir} ({len(result.class_names)} classes: "
        f"{', '.join(result.class_names)}); {len(result.calibration.fit)} curves fitted, "
        f"{len(result.calibration.calibration)} held out for calibration (accuracy there "
        f"{result.train_accuracy:.3f}); fit {result.fit_time_s:.0f} s, "
        f"total {result.wall_time_s:.0f} s"
    )


def evaluate_command(
    model: str = typer.Option(..., "--model", help="model directory or bundled model name"),
    data: Path = typer.Option(..., "--data", help="light-curve table (long format)"),
    objects: Path = typer.Option(..., "--objects", help="object table with labels"),
    outlier_class: str | None = typer.Option(
        None, "--outlier-class", help="outlier class (default: the one the model held out)"
    ),
    out: Path | None = typer.Option(None, "--out", help="report directory [MODEL/evaluation]"),
    period_cache: Path | None = typer.Option(
        None, "--period-cache", help="Parquet cache of searched periods"
    ),
    examples: int = typer.Option(4, "--examples", help="curves per row of the IAS figure"),
    no_progress: bool = typer.Option(False, "--no-progress", help="hide progress bars"),
) -> None:
    """Rebuild the model's section 9.2 split and report AUROC, AUPR and accuracy."""
    from models.errors import LCVaDEError
    from training.evaluation import run_evaluation

    try:
        report = run_evaluation(
            model,
            data,
            objects,
            outlier_class=outlier_class,
            out=out,
            period_cache=period_cache,
            examples=examples,
            progress=not no_progress,
        )
    except LCVaDEError as exc:
        raise _fail(exc) from exc
    metrics = report.metrics

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    typer.echo(
        f"outlier class {metrics['outlier_class']}: AUROC {fmt(metrics['auroc'])}, "
        f"AUPR {fmt(metrics['aupr'])}; inlier accuracy {fmt(metrics['accuracy'])} "
        f"on {metrics['n_test_inliers']} test inliers"
    )
    typer.echo(f"metrics: {report.metrics_path}\nreport:  {report.html_path}")
