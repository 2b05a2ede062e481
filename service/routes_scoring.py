"""The scoring endpoints: score (JSON or an uploaded table), reconstruct, parse a table."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile

from service.auth import require_api_key
from service.errors import ERROR_RESPONSES, ErrorDetail, ServiceError, too_many_curves
from service.json_bodies import json_body_openapi, read_json_body
from service.schemas import (
    LightCurveIn,
    ParseResponse,
    ReconstructRequest,
    ReconstructResponse,
    ScoreRequest,
    ScoreResponse,
)
from service.scoring import ScoringPipeline
from service.uploads import UploadedCurves, read_upload, rejection_error

router = APIRouter(prefix="/v1", dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES)


def pipeline_of(request: Request) -> ScoringPipeline:
    return request.app.state.pipeline


@contextlib.asynccontextmanager
async def time_limit(request: Request) -> AsyncIterator[None]:
    """408 when the work of a request takes longer than ``request_timeout_s``."""
    limit = request.app.state.settings.request_timeout_s
    try:
        async with asyncio.timeout(limit):
            yield
    except TimeoutError as exc:
        raise ServiceError(
            408,
            "request_timeout",
            f"scoring took longer than the limit of {limit:g} s; send fewer curves per "
            "request, or give periods (searching them is the slow part)",
            [ErrorDetail(field="light_curves", message="request time limit reached")],
        ) from exc


@router.post(
    "/score",
    response_model=ScoreResponse,
    summary="Score light curves",
    openapi_extra=json_body_openapi(ScoreRequest),
)
async def score(request: Request) -> ScoreResponse:
    """IAS (thesis eq. 9.12), calibrated percentile and p-value, anomaly flag and class
    posteriors q(y|z,f) for every curve, in request order."""
    body = await read_json_body(request, ScoreRequest)
    request.state.curves = len(body.light_curves)
    async with time_limit(request):
        return await pipeline_of(request).score(body.light_curves, body.fdr, body.band_map)


async def _read_upload(
    request: Request, file: UploadFile, objects: UploadFile | None
) -> UploadedCurves:
    pipeline = pipeline_of(request)
    handle = pipeline.registry.current
    data = await file.read()
    objects_data = await objects.read() if objects is not None else None
    uploaded = await pipeline.in_thread(
        read_upload,
        data,
        file.filename,
        objects_data,
        None if objects is None else objects.filename,
        handle.scorer.config,
        request.app.state.settings,
    )
    total = len(uploaded.curves) + len(uploaded.rejected)
    request.state.curves = total
    limit = request.app.state.settings.max_curves_per_request
    if total > limit:  # objects listed only in the object table count too
        raise too_many_curves(total, limit, "file", "the upload")
    for rejected in uploaded.rejected:
        pipeline.metrics.curve_rejected(rejected.field, "table")
    return uploaded


UPLOAD_FILE = File(description="long-format photometry: object_id, time, mag, mag_err[, band]")
OBJECTS_FILE = File(None, description="optional object table: object_id, period")


@router.post("/score/upload", response_model=ScoreResponse, summary="Score an uploaded table")
async def score_upload(
    request: Request,
    file: UploadFile = UPLOAD_FILE,
    objects: UploadFile | None = OBJECTS_FILE,
    fdr: float | None = Query(None, gt=0.0, lt=1.0, description="false-discovery rate"),
    on_invalid: Literal["reject", "skip"] = Query(
        "reject", description="reject: any unusable object fails the request; skip: list it"
    ),
) -> ScoreResponse:
    """Score a CSV, Parquet, VOTable, FITS or ECSV table of many curves (or a JSON file)."""
    async with time_limit(request):
        uploaded = await _read_upload(request, file, objects)
        if uploaded.rejected and on_invalid == "reject":
            raise rejection_error(uploaded.rejected)
        pipeline = pipeline_of(request)
        response = await pipeline.score_curves(pipeline.registry.current, uploaded.curves, fdr)
    response.rejected = uploaded.rejected
    return response


@router.post("/parse", response_model=ParseResponse, summary="Read an uploaded table")
async def parse(
    request: Request,
    file: UploadFile = UPLOAD_FILE,
    objects: UploadFile | None = OBJECTS_FILE,
) -> ParseResponse:
    """The curves of an uploaded file as the body of ``/v1/score``, checked against the
    model, with the objects that cannot be scored and why."""
    uploaded = await _read_upload(request, file, objects)
    curves = [
        LightCurveIn(
            id=c.id,
            time=c.time.tolist(),
            mag=c.mag.tolist(),
            mag_err=c.mag_err.tolist(),
            band=None if c.band is None else c.band.tolist(),
            period=c.period,
        )
        for c in uploaded.curves
    ]
    return ParseResponse(light_curves=curves, rejected=uploaded.rejected)


@router.post("/reconstruct", response_model=ReconstructResponse, summary="Reconstruct a curve")
async def reconstruct(body: ReconstructRequest, request: Request) -> ReconstructResponse:
    """The folded points, the decoder's induction points and the GP mean and standard
    deviation at ``phases`` (thesis eqs. 9.2-9.5), in magnitudes, for plots."""
    request.state.curves = 1
    async with time_limit(request):
        return await pipeline_of(request).reconstruct(body.light_curve, body.phases, body.band_map)
