"""``lcvade score``: score light-curve tables and alert packets in batch (see training.scoring.run).

Heavy modules (torch, pandas, dask) are imported inside the command, so ``lcvade --help``
stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from lcvade.calibration import DEFAULT_P_VALUE_THRESHOLD
from lcvade.options import validation_summary

CUT_HELP = (
    "alert quality cut or photometry setting NAME=VALUE, repeatable: min_rb, min_drb, "
    "max_nbad, max_magdiff (ZTF), min_reliability, pixel_flags (Rubin; names joined by +), "
    "reference_radius, template_snr; VALUE off switches a cut off (see docs/alerts.md)"
)
PHOTOMETRY_HELP = (
    "alerts: auto = apparent magnitudes for objects on a reference source, difference "
    "magnitudes for transients; difference = difference magnitudes everywhere (default: auto)"
)


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


def cut_settings(photometry: str | None, cut: list[str] | None) -> dict[str, object]:
    """AlertCuts fields from ``--photometry`` and ``--cut`` (nothing given: empty)."""
    from training.scoring.alert_quality import parse_cuts

    settings = parse_cuts(cut or [])
    if photometry is not None:
        settings["photometry"] = photometry
    return settings


BAND_POLICY_HELP = (
    "model of one band, object with several: best = the band with most points, merge = all "
    "points as one band, require = reject the object"
)


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
    band_policy: str | None = typer.Option(
        None, "--band-policy", help=f"{BAND_POLICY_HELP} (default: best)"
    ),
    unknown_bands: str | None = typer.Option(
        None,
        "--unknown-bands",
        help="points in bands the model does not know: drop or reject (default: drop)",
    ),
    sparse_bands: str | None = typer.Option(
        None,
        "--sparse-bands",
        help="a band with too few points while another has enough: drop or reject (default: drop)",
    ),
    band_map: str | None = typer.Option(
        None, "--band-map", help="rename input bands, e.g. 1=g,2=r,3=i for ZTF filter ids"
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", help="objects per output part, about (default: 10000)"
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="none (this process), local (a Dask LocalCluster) or a Dask scheduler address "
        "such as tcp://host:8786 (default: none)",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="workers of --scheduler local (default: 2)"
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        help="PyTorch threads with --scheduler none (default: 1, as on Dask workers, so both "
        "give identical scores; the period search always uses every core)",
    ),
    fdr: float | None = typer.Option(
        None,
        "--fdr",
        help="flag anomalies by Benjamini-Hochberg at this false-discovery rate over the run",
    ),
    p_threshold: float | None = typer.Option(
        None,
        "--p-threshold",
        help=f"without --fdr: is_anomaly = p_value < this (default: {DEFAULT_P_VALUE_THRESHOLD})",
    ),
    batch_size: int | None = typer.Option(
        None, "--batch-size", help="curves per model forward pass (default: 256)"
    ),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:1 ..."),
    photometry: str | None = typer.Option(None, "--photometry", help=PHOTOMETRY_HELP),
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
    from training.scoring.alert_quality import AlertCuts
    from training.scoring.inputs import parse_band_map
    from training.scoring.job import ScoreJobConfig
    from training.scoring.run import run_scoring

    flags = {
        "band_policy": band_policy,
        "unknown_bands": unknown_bands,
        "sparse_bands": sparse_bands,
        "chunk_size": chunk_size,
        "scheduler": scheduler,
        "workers": workers,
        "threads": threads,
        "fdr": fdr,
        "p_value_threshold": p_threshold,
        "batch_size": batch_size,
        "device": device,
    }
    with command_errors():
        if band_map is not None:
            flags["band_map"] = parse_band_map(band_map)
        given = {k: v for k, v in flags.items() if v is not None}
        job = (
            ScoreJobConfig.from_toml(config, **given)
            if config is not None
            else ScoreJobConfig(**given)
        )
        cuts = cut_settings(photometry, cut)
        if cuts:
            merged = AlertCuts(**{**job.cuts.model_dump(), **cuts})
            job = ScoreJobConfig(**{**job.model_dump(), "cuts": merged})
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
