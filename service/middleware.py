"""The request envelope: body-size limit, request ids, one log line and metrics per request.

A plain ASGI middleware (no body buffering): a declared ``Content-Length`` above the limit is
answered 413 before anything is read; a chunked body is counted as it streams and cut off
with 413 as soon as it passes the limit.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ErrorDetail, ServiceError
from service.metrics import ServiceMetrics

LOGGER = logging.getLogger("lcvade.service.requests")


def _too_large(limit: int) -> ServiceError:
    return ServiceError(
        413,
        "body_too_large",
        f"the request body is larger than the limit of {limit} bytes; send fewer curves "
        "per request (or raise LCVADE_MAX_BODY_BYTES)",
        [ErrorDetail(field="body", message=f"more than {limit} bytes")],
    )


class RequestEnvelope:
    """Wraps the app; see the module docstring."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: ServiceMetrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = given_id if given_id.isprintable() and given_id else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _too_large(self.max_body_bytes)
            return message

        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await _too_large(self.max_body_bytes).response()(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive_wrapper, send_wrapper)
        except ServiceError as exc:  # the size limit, raised where no handler caught it
            if exc.status != 413 or started:
                raise
            await exc.response()(scope, receive, send_wrapper)
        finally:
            self._record(scope, request_id, status, time.perf_counter() - start)

    def _record(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.request_done(template, method, status, seconds)
        if not LOGGER.isEnabledFor(logging.INFO):
            return
        curves = (scope.get("state") or {}).get("curves")
        LOGGER.info(
            json.dumps(
                {
                    "event": "request",
                    "request_id": request_id,
                    "method": method,
                    "route": template,
                    "path": scope.get("path"),
                    "status": status,
                    "curves": curves,
                    "latency_ms": round(seconds * 1000.0, 3),
                }
            )
        )
