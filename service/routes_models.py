"""Model endpoints: what is being served, and (admin) reloading a new version."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request

from service.auth import require_admin_key, require_api_key
from service.errors import ERROR_RESPONSES, ErrorDetail, ErrorResponse, ServiceError
from service.registry import ModelRejected
from service.schemas import ModelInfo, ModelList, ReloadResponse

LOGGER = logging.getLogger("lcvade.service.models")

router = APIRouter(prefix="/v1/models", responses=ERROR_RESPONSES)


@router.get(
    "", response_model=ModelList, dependencies=[Depends(require_api_key)], summary="List models"
)
async def list_models(request: Request) -> ModelList:
    """The model being served: classes, bands, hyper-parameters, training digest, device."""
    return ModelList(models=[request.app.state.registry.current.info()])


@router.get(
    "/{name}",
    response_model=ModelInfo,
    dependencies=[Depends(require_api_key)],
    responses={404: {"model": ErrorResponse, "description": "no model of that name"}},
    summary="Describe a model",
)
async def get_model(name: str, request: Request) -> ModelInfo:
    handle = request.app.state.registry.current
    if name != handle.scorer.name:
        raise ServiceError(
            404,
            "unknown_model",
            f"no model named {name!r} is served here; this service serves {handle.scorer.name!r}",
            [ErrorDetail(field="name", message="unknown model")],
        )
    return handle.info()


@router.post(
    "/reload",
    response_model=ReloadResponse,
    dependencies=[Depends(require_admin_key)],
    responses={409: {"model": ErrorResponse, "description": "the new model was refused"}},
    summary="Load the model directory again and swap it in",
)
async def reload_model(request: Request) -> ReloadResponse:
    """Admin: load the (new version in the) model directory, warm it up and swap it in
    atomically.  Requests in flight finish on the old model; a model that cannot be loaded
    is refused with 409 and the old one keeps serving."""
    registry = request.app.state.registry
    pipeline = request.app.state.pipeline
    metrics = request.app.state.metrics
    try:
        previous, current = await registry.reload(pipeline.in_thread, pipeline.model_workers)
    except ModelRejected as exc:
        metrics.reloads.labels(outcome="refused").inc()
        LOGGER.warning("model reload refused: %s", exc)
        raise ServiceError(
            409,
            "model_refused",
            f"the model in {registry.settings.model!r} was not loaded, the current one "
            f"({registry.current.scorer.version}) keeps serving: {exc}",
        ) from exc
    metrics.reloads.labels(outcome="loaded").inc()
    LOGGER.info("model reloaded: %s -> %s", previous.ref, current.ref)
    return ReloadResponse(
        previous=previous.ref, current=current.ref, load_seconds=current.load_seconds
    )
