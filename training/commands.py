"""The ``lcvade train`` and ``lcvade evaluate`` commands.

The options of ``lcvade train`` are generated from the fields of
:class:`training.config.TrainConfig` and of the model's :class:`lcvade.config.LCVaDEConfig`
(``--batch-size`` sets ``batch_size``; see :mod:`lcvade.cli_options`); a flag overrides the
file given with ``--config``.  Heavy modules are imported inside the command bodies so that
``lcvade --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from lcvade.cli_options import with_config_flags
from training.config import MODEL_FLAGS, TRAIN_FLAGS

USER_ERROR_EXIT_CODE = 2


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(USER_ERROR_EXIT_CODE)


@with_config_flags(TRAIN_FLAGS, MODEL_FLAGS)
def train_command(
    given: dict[str, dict[str, Any]],
    model_option: list[str] | None = typer.Option(
        None, "--model-option", help="any LC-VaDE hyper-parameter, KEY=VALUE (repeatable)"
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML file with these options"),
) -> None:
    """Train an LC-VaDE model on labelled light curves (the offline retraining job)."""
    from models.errors import LCVaDEError
    from training.config import build_config, parse_model_options
    from training.interrupt import INTERRUPTED_EXIT_CODE
    from training.job import TrainingInterrupted, run_training

    try:
        model = parse_model_options(model_option or []) | given[MODEL_FLAGS.key]
        settings = build_config(config, given[TRAIN_FLAGS.key], model)
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
