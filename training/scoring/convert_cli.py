"""``lcvade convert``: alert packets (and tables) as the long-format light-curve table.

See :mod:`training.scoring.convert`.  The photometry and quality-cut options are those of
``lcvade score``, so both commands see the same points.
"""

from __future__ import annotations

from pathlib import Path

import typer

from training.scoring.cli import CUT_HELP, PHOTOMETRY_HELP, command_errors, cut_settings


def convert(
    inputs: list[Path] = typer.Argument(
        ...,
        help="Avro alert files, directories or tar archives (ZTF, Rubin/LSST), Parquet files "
        "of ZTF alerts in the brokers' layout, or light-curve tables",
        show_default=False,
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="output table: .csv, .csv.gz, .tsv, .parquet (or a directory), .xml/.vot "
        "(VOTable), .fits or .ecsv",
        show_default=False,
    ),
    photometry: str | None = typer.Option(None, "--photometry", help=PHOTOMETRY_HELP),
    cut: list[str] | None = typer.Option(None, "--cut", help=CUT_HELP),
    band_map: str | None = typer.Option(
        None, "--band-map", help="rename input bands, e.g. 1=g,2=r,3=i"
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out"),
) -> None:
    """Write the light-curve points of INPUT... as one long-format table, one row per point.

    Columns: object_id, time, mag, mag_err, band, mag_kind (apparent | difference),
    source_id, skip (why a point is not used), and the alert quality columns.  Every point is
    written, used or not; `lcvade score` reads the table and scores it as it would the inputs.
    """
    from training.scoring.alert_quality import AlertCuts
    from training.scoring.convert import convert_inputs
    from training.scoring.inputs import parse_band_map

    with command_errors():
        cuts = AlertCuts(**cut_settings(photometry, cut))
        summary = convert_inputs(
            inputs, out, cuts=cuts, band_map=parse_band_map(band_map), overwrite=overwrite
        )
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.kinds.items())) or "none"
    typer.echo(
        f"{summary.rows} rows of {summary.objects} objects -> {summary.out}: "
        f"{summary.usable} usable ({kinds}), {summary.rows - summary.usable} skipped"
    )
    for reason, n in summary.skipped.most_common():
        typer.echo(f"  skipped, {reason}: {n}")
