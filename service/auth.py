"""API keys: scoring is open unless ``LCVADE_API_KEYS`` is set; admin always needs its key.

A key is sent as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``.  No key gives 401
(with a ``WWW-Authenticate`` challenge), a wrong one 403.  Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.errors import ServiceError

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="an API key (or use a bearer token)"
)
BEARER = HTTPBearer(auto_error=False, description="an API key sent as a bearer token")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lcvade"'}


def presented_key(request: Request) -> str | None:
    """The key a request carries, if any."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _matches(key: str, accepted: Sequence[str]) -> bool:
    candidate = key.encode()
    found = False
    for valid in accepted:
        found |= hmac.compare_digest(candidate, valid.encode())
    return found


def check_key(request: Request, accepted: Sequence[str], what: str) -> None:
    """Raise 401/403 unless the request carries one of ``accepted``."""
    key = presented_key(request)
    if key is None:
        raise ServiceError(
            401,
            "missing_api_key",
            f"{what} needs an API key: send it as 'X-API-Key: <key>' or "
            "'Authorization: Bearer <key>'",
            headers=CHALLENGE,
        )
    if not _matches(key, accepted):
        raise ServiceError(403, "invalid_api_key", f"the API key given is not valid for {what}")


async def require_api_key(
    request: Request,
    _header: str | None = Security(API_KEY_HEADER),
    _bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
) -> None:
    """Dependency of the scoring endpoints (the parameters document the schemes)."""
    keys = [k.get_secret_value() for k in request.app.state.settings.api_keys]
    if keys:
        check_key(request, keys, "this endpoint")


async def require_admin_key(
    request: Request,
    _header: str | None = Security(API_KEY_HEADER),
    _bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
) -> None:
    """Dependency of the admin endpoints."""
    admin = request.app.state.settings.admin_key
    if admin is None:
        raise ServiceError(
            403,
            "admin_disabled",
            "admin endpoints are disabled: start the service with LCVADE_ADMIN_KEY set",
        )
    check_key(request, [admin.get_secret_value()], "this admin endpoint")
