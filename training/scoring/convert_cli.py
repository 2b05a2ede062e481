"""``lcvade convert``: alert packets (and tables) as the long-format light-curve table.

See :mod:`training.scoring.convert`.  The photometry and quality-cut options are those of
``lcvade score``, so both commands see the same points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from lcvade.cli_options import with_config_flags
from training.scoring.alert_quality import AlertCuts
from training.scoring.cli import (
    CUT_HELP,
    PHOTOMETRY_FLAGS,
    SCORE_FLAGS,
    command_errors,
    cut_settings,
)


@with_config_flags(PHOTOMETRY_FLAGS, SCORE_FLAGS.only("band_map"))
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
    *,
    given: dict[str, dict[str, Any]],
    cut: list[str] | None = typer.Option(None, "--cut", help=CUT_HELP),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace an existing --out"),
) -> None:
    """Write the light-curve points of INPUT... as one long-format table, one row per point.

    Columns: object_id, time, mag, mag_err, band, mag_kind (apparent | difference),
    source_id, skip (why a point is not used), and the alert quality columns.  Every point is
    written, used or not; `lcvade score` reads the table and scores it as it would the inputs.
    """
    from training.scoring.convert import convert_inputs

    with command_errors():
        cuts = AlertCuts(**cut_settings(given, cut or []))
        band_map = given[SCORE_FLAGS.key].get("band_map", {})
        summary = convert_inputs(inputs, out, cuts=cuts, band_map=band_map, overwrite=overwrite)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.kinds.items())) or "none"
    typer.echo(
        f"{summary.rows} rows of {summary.objects} objects -> {summary.out}: "
        f"{summary.usable} usable ({kinds}), {summary.rows - summary.usable} skipped"
    )
    for reason, n in summary.skipped.most_common():
        typer.echo(f"  skipped, {reason}: {n}")
