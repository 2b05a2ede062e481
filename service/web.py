"""The web page (``/``), its static files, and the bundled examples it offers."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse

from service.auth import require_api_key
from service.errors import ERROR_RESPONSES, ErrorDetail, ErrorResponse, ServiceError
from service.examples import example_for_model, example_names, summaries
from service.schemas import ExampleCurve, ExampleList

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get(
    "/v1/examples",
    response_model=ExampleList,
    dependencies=[Depends(require_api_key)],
    responses=ERROR_RESPONSES,
    summary="List the bundled example curves",
)
async def list_examples() -> ExampleList:
    return ExampleList(examples=summaries())


@router.get(
    "/v1/examples/{name}",
    response_model=ExampleCurve,
    dependencies=[Depends(require_api_key)],
    responses={**ERROR_RESPONSES, 404: {"model": ErrorResponse, "description": "no such example"}},
    summary="One bundled example curve, in the bands of the model being served",
)
async def get_example(name: str, request: Request) -> ExampleCurve:
    config = request.app.state.registry.current.scorer.config
    example = example_for_model(name, config)
    if example is None:
        raise ServiceError(
            404,
            "unknown_example",
            f"there is no example named {name!r}; there are {', '.join(example_names())}",
            [ErrorDetail(field="name", message="unknown example")],
        )
    return example
