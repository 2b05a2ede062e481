"""``lcvade serve``: run the scoring service with uvicorn."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer

from lcvade.cli_options import with_config_flags
from service.settings import SERVE_FLAGS, ServiceSettings


@with_config_flags(SERVE_FLAGS)
def serve(given: dict[str, dict[str, Any]]) -> None:
    """Serve a model over HTTP: scoring API under /v1, the web page at /, docs at /docs.

    Every setting also reads from LCVADE_* environment variables (see docs/service.md); options
    given here win over the environment.
    """
    from pydantic import ValidationError

    from lcvade.options import validation_summary

    try:
        settings = ServiceSettings(**given[SERVE_FLAGS.key])
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
