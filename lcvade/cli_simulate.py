"""The ``lcvade simulate`` command: write simulated light curves with known truth to a directory.

``simulate_command`` is a plain function with typer options; the main ``lcvade`` app mounts it
with ``app.command("simulate")(simulate_command)``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class Cadence(StrEnum):
    """Built-in cadences (see ``lcvade.simulation.cadence``)."""

    uniform = "uniform"
    asas = "asas"
    linear = "linear"
    ztf = "ztf"
    lsst = "lsst"


class TableFormat(StrEnum):
    """Output formats."""

    parquet = "parquet"
    csv = "csv"


def simulate_command(
    n: int = typer.Option(..., "--n", min=1, help="number of objects to simulate"),
    out: Path = typer.Option(
        ..., "--out", file_okay=False, help="output directory (created if missing)"
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="random seed; same seed, same data"),
    cadence: Cadence = typer.Option(
        Cadence.uniform,
        "--cadence",
        help="sampling and photometry: uniform (OGLE-like I band), asas (V), linear (r), "
        "ztf (g, r) or lsst (ugrizy)",
    ),
    classes: str = typer.Option(
        "all",
        "--classes",
        help="comma-separated labels among RRab, RRc, DCEP_F, DCEP_1O, T2CEP, ACEP, DSCT, LPV, "
        "EA, EW (default: all)",
    ),
    format: TableFormat = typer.Option(  # noqa: A002 - the option's natural name
        TableFormat.parquet, "--format", help="table format of the output files"
    ),
    outliers: float = typer.Option(
        0.0, "--outliers", min=0.0, max=0.5, help="fraction of points turned into outliers"
    ),
    chunk_size: int = typer.Option(
        4096, "--chunk-size", min=1, help="objects generated and written at a time"
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace existing output files"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
) -> None:
    """Simulate light curves (long format) and their truth table into OUT.

    Writes OUT/lightcurves.<format> (object_id, time, mag, mag_err, band),
    OUT/objects.<format> (object_id, label, period and more truth) and OUT/simulation.json.
    """
    from lcvade.simulation.labels import parse_classes
    from lcvade.simulation.writer import write_simulation

    try:
        chosen = parse_classes(classes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--classes") from exc
    try:
        summary = write_simulation(
            out,
            n,
            seed=seed,
            cadence=Cadence(cadence).value,
            classes=chosen,
            format=TableFormat(format).value,
            outlier_fraction=outliers,
            chunk_size=chunk_size,
            progress=progress,
            overwrite=overwrite,
        )
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    typer.echo(
        f"wrote {summary.n_objects} objects and {summary.n_points} points to {out}: "
        f"{summary.lightcurves.name}, {summary.objects.name}, {summary.manifest.name}"
    )
