"""The FastAPI application: ``create_app(settings)`` wires settings, model, batcher and routes.

Start-up loads the model (on the GPU when there is one and ``device=auto``) and runs the
warm-up passes before ``/readyz`` answers 200; shutdown lets the micro-batcher finish every
job already submitted (the server stops taking connections first and waits for requests in
flight, up to ``graceful_shutdown_s``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from lcvade.process_memory import limit_heap_growth
from models.version import __version__
from service import routes_models, routes_ops, routes_scoring, web
from service.errors import install_error_handlers
from service.json_bodies import document_json_bodies
from service.metrics import ServiceMetrics
from service.middleware import RequestEnvelope
from service.registry import ModelHandle, ModelRegistry
from service.schemas import ScoreRequest
from service.scoring import ScoringPipeline
from service.settings import ServiceSettings

LOGGER = logging.getLogger("lcvade.service")

DESCRIPTION = """Anomaly scores for light curves of periodic variable stars with LC-VaDE.

Send light curves (time, mag, mag_err[, band][, period]) and get, for each, the Information
Anomaly Score (IAS, higher = more typical), its percentile and p-value against the model's
training inliers, an anomaly flag, and the class posteriors. Curves without a period get a
Lomb-Scargle estimate. Errors are JSON naming the curve and the field to fix.
"""


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """A new service application (each with its own model registry and metrics)."""
    settings = settings or ServiceSettings()
    metrics = ServiceMetrics()
    registry = ModelRegistry(settings)
    pipeline = ScoringPipeline(settings, registry, metrics)

    def announce(handle: ModelHandle) -> None:
        metrics.set_model(handle.scorer.name, handle.scorer.version, handle.device)

    registry.on_swap.append(announce)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limit_heap_growth()  # request and upload buffers of every size: map, do not pile up
        await pipeline.start()
        handle = registry.current
        LOGGER.info(
            "serving model %s version %s from %s on %s (warm-up %.2f s)",
            handle.scorer.name,
            handle.scorer.version,
            handle.path,
            handle.device,
            handle.load_seconds,
        )
        del handle  # this frame lives as long as the app: a reload must be able to free it
        # The model, torch and the app live as long as the process: keep them out of the
        # cyclic garbage collector's full passes, which would otherwise walk them again and
        # again under load (and stall every request in flight while they do).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await pipeline.stop()
            LOGGER.info("stopped: every request in flight was answered")

    app = FastAPI(
        title="lcvade",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = registry
    app.state.pipeline = pipeline
    install_error_handlers(app)
    app.include_router(routes_scoring.router)
    document_json_bodies(app, ScoreRequest)
    app.include_router(routes_models.router)
    app.include_router(routes_ops.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    if settings.cors_origins:  # off unless configured: no CORS headers at all
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestEnvelope, max_body_bytes=settings.max_body_bytes, metrics=metrics)
    return app
