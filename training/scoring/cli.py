"""``lcvade score``: score light-curve tables and alert packets in batch (see training.scoring.run).

The options that set :class:`training.scoring.job.ScoreJobConfig` fields are generated from
them (:mod:`lcvade.cli_options`).  The running modules (dask, the scorer's workers) are
imported inside the command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from lcvade.cli_options import ConfigFlag, FlagGroup, with_config_flags
from lcvade.options import validation_summary
from training.scoring.alert_quality import AlertCuts, parse_cuts
from training.scoring.inputs import parse_band_map
from training.scoring.job import ScoreJobConfig

CUT_HELP = (
    "alert quality cut or photometry setting NAME=VALUE, repeatable: min_rb, min_drb, "
    "max_nbad, max_magdiff (ZTF), min_reliability, pixel_flags (Rubin; names joined by +), "
    "reference_radius, template_snr; VALUE off switches a cut off (see docs/alerts.md)"
)
# The options of ``lcvade score`` that set ScoreJobConfig and AlertCuts fields.
SCORE_FLAGS = FlagGroup.every_field(
    ScoreJobConfig,
    ConfigFlag("band_map", parse=parse_band_map, metavar="NAME=BAND,..."),
    ConfigFlag("p_value_threshold", flag="--p-threshold"),
    key="job",
    exclude=["cuts"],  # --photometry and --cut NAME=VALUE
)
PHOTOMETRY_FLAGS = FlagGroup.of(AlertCuts, "photometry", key="cuts")


@contextmanager
def command_errors() -> Iterator[None]:
    """Exit with status 2 and a one-line message when a setting or an input is invalid."""
    from pydantic import ValidationError

    from models.errors import LCVaDEError
    from training.scoring.alert_quality import AlertCutsError

    try:
        yield
    except (ValidationError, AlertCutsError) as exc:
        typer.echo(f"error: invalid settings: {validation_summary(exc)}", err=True)
        raise typer.Exit(2) from exc
    except (LCVaDEError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def cut_settings(given: dict[str, dict[str, Any]], cut: list[str]) -> dict[str, Any]:
    """The AlertCuts fields set by ``--cut NAME=VALUE`` and ``--photometry`` (which wins)."""
    return parse_cuts(cut) | given[PHOTOMETRY_FLAGS.key]


def job_settings(
    given: dict[str, dict[str, Any]], cut: list[str], config: Path | None
) -> ScoreJobConfig:
    """The run's settings: the ``--config`` file's, overridden by the options given."""
    job = (
        ScoreJobConfig.from_toml(config, **given[SCORE_FLAGS.key])
        if config is not None
        else ScoreJobConfig(**given[SCORE_FLAGS.key])
    )
    cuts = cut_settings(given, cut)
    if not cuts:
        return job
    merged = AlertCuts(**{**job.cuts.model_dump(), **cuts})
    return ScoreJobConfig(**{**job.model_dump(), "cuts": merged})


@with_config_flags(SCORE_FLAGS, PHOTOMETRY_FLAGS)
def score(
    inputs: list[Path] = typer.Argument(
        ...,
        help="long-format light-curve tables (CSV, Parquet file or directory, VOTable, FITS, "
        "ECSV) and/or Avro alert files, directories or tar archives (ZTF, Rubin/LSST), or "
        "Parquet files of ZTF alerts in the brokers' layout",
        show_default=False,
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="output directory of Parquet parts (resumable), or one .parquet/.csv/.csv.gz file",
        show_default=False,
    ),
    model: str = typer.Option("default", "--model", "-m", help="model directory or name"),
    objects: Path | None = typer.Option(
        None, "--objects", help="object table: object_id[, period] (periods not searched)"
    ),
    *,
    given: dict[str, dict[str, Any]],
    cut: list[str] | None = typer.Option(None, "--cut", help=CUT_HELP),
    config: Path | None = typer.Option(
        None, "--config", help="TOML file with these settings (a score table); flags win"
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="discard an existing output instead of resuming it"
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars"),
) -> None:
    """Score every object of INPUT... into one row each (rejected objects with a reason).

    Reruns into the same --out resume: finished parts are kept.
    """
    from training.scoring.run import run_scoring

    with command_errors():
        job = job_settings(given, cut or [], config)
        summary = run_scoring(
            inputs,
            model,
            out,
            objects=objects,
            config=job,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(
        f"{summary.rows} objects: {summary.ok} scored, {summary.rejected} rejected, "
        f"{summary.anomalies} anomalies; {summary.parts_scored} of {summary.parts} parts "
        f"scored now, in {summary.seconds:.1f} s -> {summary.out}"
    )
