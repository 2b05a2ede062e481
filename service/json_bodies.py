"""JSON request bodies parsed and validated in one pass by pydantic's own JSON parser.

FastAPI reads a JSON body with the standard library's parser into Python lists and dicts and
validates those afterwards; pydantic's parser validates while it parses, several times
faster on ``/v1/score`` bodies (long arrays of floats): time in which the event loop would
otherwise not serve requests.

A route declares such a body with ``openapi_extra=json_body_openapi(Model)`` (so the OpenAPI
contract is the same as for a typed body parameter), reads it with :func:`read_json_body`,
and the app lists the model with :func:`document_json_bodies`.  Validation errors are raised
as FastAPI's ``RequestValidationError`` with the usual ``("body", ...)`` locations, so they
reach the same 4xx handlers as every other route's.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from starlette.concurrency import run_in_threadpool

M = TypeVar("M", bound=BaseModel)
INLINE_BYTES = 256 * 1024
"""Bodies up to this size are validated on the event loop (a few milliseconds at most)."""
REF = "#/components/schemas/{model}"


def json_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route whose required JSON body is ``model``."""
    schema = {"$ref": REF.format(model=model.__name__)}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}, "required": True}}


def _as_python(raw: bytes) -> Any:
    """The body as Python objects, for error messages that quote it (None if not JSON).

    pydantic's parser bounds the nesting depth, where the standard library's would recurse
    until Python's own limit.
    """
    try:
        return from_json(raw)
    except ValueError:
        return None


async def read_json_body(request: Request, model: type[M]) -> M:
    """The request's body validated as ``model``; invalid bodies raise the usual 4xx errors.

    The parser refuses nesting deeper than its recursion limit (a 400 naming the depth), and
    numbers beyond the float range (a 400); values that parse but are out of range for a
    light curve (infinite, too large to fold) are answered 422 by the curve validation.
    """
    raw = await request.body()
    try:
        if len(raw) <= INLINE_BYTES:
            return model.model_validate_json(raw)
        # a large body is validated on a worker thread: the event loop keeps answering the
        # other requests (the validator takes turns with it on the interpreter lock)
        return await run_in_threadpool(model.model_validate_json, raw)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        if any(e["type"] == "json_invalid" for e in errors):
            raise RequestValidationError(errors, body=None) from None
        raise RequestValidationError(errors, body=_as_python(raw)) from None


def document_json_bodies(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add ``models`` (and the models they use) to the app's OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            definition = model.model_json_schema(ref_template=REF)
            for name, used in definition.pop("$defs", {}).items():
                components.setdefault(name, used)
            components.setdefault(model.__name__, definition)
        schema["components"]["schemas"] = dict(sorted(components.items()))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
