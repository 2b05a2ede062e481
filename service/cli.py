"""``lcvade serve``: run the scoring service with uvicorn."""

from __future__ import annotations

import logging
import sys

import typer


def serve(
    model: str | None = typer.Option(
        None,
        help="model directory or bundled model name (env LCVADE_MODEL, default: the bundled "
        "model 'default')",
    ),
    host: str | None = typer.Option(
        None, help="interface to listen on (env LCVADE_HOST, default 127.0.0.1)"
    ),
    port: int | None = typer.Option(None, help="TCP port (env LCVADE_PORT, default 8000)"),
    device: str | None = typer.Option(
        None, help="auto, cpu or cuda:N (env LCVADE_DEVICE, default auto)"
    ),
) -> None:
    """Serve a model over HTTP: scoring API under /v1, the web page at /, docs at /docs.

    Every setting also reads from LCVADE_* environment variables (see docs/service.md); options
    given here win over the environment.
    """
    from pydantic import ValidationError

    from lcvade.options import validation_summary
    from service.settings import ServiceSettings

    given = {"model": model, "host": host, "port": port, "device": device}
    try:
        settings = ServiceSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise typer.BadParameter(validation_summary(exc)) from exc

    import uvicorn

    from lcvade.checkpoint import CheckpointError, read_manifest
    from lcvade.scorer import resolve_device, resolve_model_path
    from service.app import create_app

    try:
        read_manifest(resolve_model_path(settings.model))
    except CheckpointError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model / LCVADE_MODEL") from exc
    try:
        resolve_device(settings.device)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--device / LCVADE_DEVICE") from exc

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr, force=True
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=settings.graceful_shutdown_s,
    )
