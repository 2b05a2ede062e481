"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from service.schemas import Health, Readiness

router = APIRouter()


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "the model is still loading"}},
    summary="A model is loaded and warmed up",
)
async def readyz(request: Request):
    registry = request.app.state.registry
    if not registry.ready:
        body = Readiness(status="loading", message="the model is loading and warming up")
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return Readiness(status="ready", model=registry.current.ref)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.content_type)
