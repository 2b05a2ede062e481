"""The ``lcvade`` command line.

This module is the composition root of the project: it mounts the commands that live beside
the code they drive (training and evaluation in ``training``, the server in ``service``).
Command modules import their heavy dependencies inside the command functions, so
``lcvade --help`` stays fast.
"""

from __future__ import annotations

import json

import typer

from lcvade.cli_options import command_group

app = command_group("lcvade", "Anomaly detection for astronomical light curves with LC-VaDE.")


@app.command()
def info(
    model: str = typer.Argument("default", help="model directory or bundled model name"),
) -> None:
    """Print a model's manifest: classes, bands, hyper-parameters, calibration, training."""
    from lcvade.checkpoint import CheckpointError, read_manifest
    from lcvade.scorer import resolve_model_path

    try:
        manifest = read_manifest(resolve_model_path(model))
    except CheckpointError as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from exc
    typer.echo(json.dumps(manifest.model_dump(mode="json"), indent=2))


def _register_commands() -> None:
    """Mount the commands defined in the other packages."""
    from lcvade.cli_gi import app as gi_app
    from lcvade.cli_simulate import simulate_command
    from service.cli import serve
    from training.commands import evaluate_command, train_command
    from training.scoring.cli import score
    from training.scoring.convert_cli import convert

    app.command("simulate")(simulate_command)
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.add_typer(gi_app, name="gi", help="The image generative-inference family (VAE ... MPCC).")
    app.command()(serve)
    app.command("score")(score)
    app.command("convert")(convert)


def main() -> None:
    _register_commands()
    app()
