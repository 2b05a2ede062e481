"""Errors a client can cause, and the one JSON shape every 4xx answer has.

``{"error": {"code", "message", "details": [{"curve_index", "curve_id", "field",
"point_index", "message"}]}}``: ``message`` says what to fix; each detail names the curve
(its position in the request and its id when it has one) and the field at fault.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lcvade.lightcurve import LightCurveError

LOGGER = logging.getLogger("lcvade.service")


class ErrorDetail(BaseModel):
    """One problem with one curve (or with the request as a whole)."""

    curve_index: int | None = Field(None, description="position of the curve in the request")
    curve_id: str | None = Field(None, description="the curve's id, when it has one")
    field: str | None = Field(None, description="the field at fault, e.g. mag_err or period")
    point_index: int | None = Field(None, description="first offending element of the field")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="machine-readable error kind")
    message: str = Field(description="what is wrong and what to fix")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


class ServiceError(StarletteHTTPException):
    """An error answered with ``status`` and an :class:`ErrorResponse`.

    It is an ``HTTPException`` so that raised while FastAPI reads a body (the size limit)
    it passes through the body parser unchanged.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[ErrorDetail] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers

    def response(self) -> JSONResponse:
        body = ErrorResponse(
            error=ErrorBody(code=self.code, message=self.message, details=self.details)
        )
        return JSONResponse(body.model_dump(mode="json"), self.status, headers=self.headers)


def curve_label(index: int | None, curve_id: str | None) -> str:
    """``light_curves[3] (id 'abc')`` -- how messages name a curve."""
    label = "the light curve" if index is None else f"light_curves[{index}]"
    return label if curve_id is None else f"{label} (id {curve_id!r})"


def curve_error_detail(
    exc: LightCurveError, index: int | None, curve_id: str | None
) -> ErrorDetail:
    return ErrorDetail(
        curve_index=index,
        curve_id=curve_id,
        field=exc.field,
        point_index=exc.index,
        message=f"{curve_label(index, curve_id)}: {exc}",
    )


def invalid_curves(details: Sequence[ErrorDetail]) -> ServiceError:
    """A 422 for one or more bad curves; the message lists the first few problems."""
    shown = "; ".join(d.message for d in details[:3])
    more = f" (and {len(details) - 3} more problems)" if len(details) > 3 else ""
    return ServiceError(422, "invalid_light_curve", shown + more, details)


# -- FastAPI's own validation errors, renamed into the service's shape ---------------------------
def _raw_curve_id(body: Any, index: int) -> str | None:
    try:
        value = body["light_curves"][index]["id"] if index >= 0 else body["light_curve"]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _validation_detail(error: dict[str, Any], body: Any) -> ErrorDetail:
    loc = [part for part in error.get("loc", ()) if part != "body"]
    curve_index: int | None = None
    curve_id: str | None = None
    rest = loc
    if len(loc) >= 2 and loc[0] == "light_curves" and isinstance(loc[1], int):
        curve_index, rest = loc[1], loc[2:]
        curve_id = _raw_curve_id(body, curve_index)
    elif loc and loc[0] == "light_curve":
        rest = loc[1:]
        curve_id = _raw_curve_id(body, -1)
    field = str(rest[0]) if rest else (str(loc[0]) if loc else None)
    point_index = rest[1] if len(rest) >= 2 and isinstance(rest[1], int) else None
    path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
    where = curve_label(curve_index, curve_id) if curve_index is not None else "the request"
    text = f"{where}: {path or 'body'}: {error.get('msg', 'invalid value')}"
    return ErrorDetail(
        curve_index=curve_index,
        curve_id=curve_id,
        field=field,
        point_index=point_index,
        message=text,
    )


JSON_LIMITS = {
    "recursion limit": (
        "json_too_deep",
        (
            "nests arrays and objects too deeply",
            "a score request nests 4 levels ({light_curves: [{time: [...]}]}): send that shape",
        ),
    ),
    "number out of range": (
        "number_out_of_range",
        (
            "has a number beyond the range of a 64-bit float",
            "send times, magnitudes and errors as ordinary decimal numbers",
        ),
    ),
}
"""Limits of the JSON parser (by a marker of its message): the code and the words of a 400."""


def too_many_curves(count: int, limit: int, field: str, what: str) -> ServiceError:
    """The 413 of a request (or an upload) with more than ``limit`` curves."""
    return ServiceError(
        413,
        "too_many_curves",
        f"{what} holds {count} light curves; at most {limit} are accepted per request: split it",
        [ErrorDetail(field=field, message=f"more than {limit} light curves")],
    )


def too_many_points(
    count: int, limit: int, index: int | None, curve_id: str | None
) -> ServiceError:
    """The 413 of a curve (or an uploaded object) with more than ``limit`` points."""
    return ServiceError(
        413,
        "too_many_points",
        f"{curve_label(index, curve_id)} has {count} points; at most {limit} per curve are "
        "accepted (the model keeps at most a few hundred: thin the curve)",
        [
            ErrorDetail(
                curve_index=index,
                curve_id=curve_id,
                field="time",
                message=f"more than {limit} points",
            )
        ],
    )


async def _request_validation_handler(request: Request, exc: RequestValidationError):
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {})
        problem = str(ctx.get("error", "parse error"))
        for marker, (code, advice) in JSON_LIMITS.items():
            if marker in problem:
                return ServiceError(
                    400,
                    code,
                    f"the request body {advice[0]} ({problem}); {advice[1]}",
                    [ErrorDetail(field="body", message=code.replace("_", " "))],
                ).response()
        return ServiceError(
            400,
            "malformed_json",
            f"the request body is not valid JSON ({ctx.get('error', 'parse error')}); "
            "send a JSON object with Content-Type: application/json",
        ).response()
    body = getattr(exc, "body", None)
    details = [_validation_detail(e, body) for e in errors[:100]]
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        for index in {d.curve_index for d in details if d.curve_index is not None}:
            field = next(d.field for d in details if d.curve_index == index)
            metrics.curve_rejected(field)
    shown = "; ".join(d.message for d in details[:3])
    more = f" (and {len(errors) - 3} more problems)" if len(errors) > 3 else ""
    return ServiceError(422, "invalid_request", shown + more, details).response()


async def _service_error_handler(request: Request, exc: ServiceError):
    return exc.response()


async def _http_error_handler(request: Request, exc: StarletteHTTPException):
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = str(exc.detail) if exc.detail else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = f"there is no endpoint at {request.url.path}; see /docs for the API"
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the API"
    return ServiceError(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        message,
        headers=getattr(exc, "headers", None),
    ).response()


async def _unexpected_error_handler(request: Request, exc: Exception):
    """A bug answered without its traceback: the request id leads to the server's log."""
    LOGGER.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    request_id = getattr(request.state, "request_id", None)
    return ServiceError(
        500,
        "internal_error",
        f"the service failed on this request ({type(exc).__name__}); report its request id "
        f"({request_id}, also in the X-Request-ID header) to the operator",
    ).response()


def install_error_handlers(app: FastAPI) -> None:
    """Answer every client error with an :class:`ErrorResponse`, and every unexpected error
    with a 500 of the same shape that carries no traceback."""
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
    app.add_exception_handler(ServiceError, _service_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed request body"},
    401: {"model": ErrorResponse, "description": "an API key is required"},
    403: {"model": ErrorResponse, "description": "the API key is not valid here"},
    408: {"model": ErrorResponse, "description": "scoring took longer than the request limit"},
    413: {"model": ErrorResponse, "description": "body, curve count or curve length too large"},
    415: {"model": ErrorResponse, "description": "unsupported upload format"},
    422: {"model": ErrorResponse, "description": "invalid light curve or parameter"},
}
"""The error answers the scoring endpoints document in the OpenAPI schema."""
