"""API keys on the scoring endpoints, and the admin key on reload."""

from __future__ import annotations

import httpx
import pytest

from tests.service_helpers import curve_payload, live_server


@pytest.fixture(scope="module")
def guarded(small_model_dir):
    with live_server(
        model=str(small_model_dir), api_keys="key-one, key-two", admin_key="the-admin"
    ) as server:
        yield server


def _score(url: str, curve, headers=None) -> httpx.Response:
    body = {"light_curves": [curve_payload(curve)]}
    return httpx.post(f"{url}/v1/score", json=body, headers=headers or {}, timeout=60)


def test_scoring_is_open_without_configured_keys(service, test_curves):
    assert _score(service.url, test_curves[0]).status_code == 200


def test_scoring_needs_a_key_when_keys_are_set(guarded, test_curves):
    missing = _score(guarded.url, test_curves[0])
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "X-API-Key" in missing.json()["error"]["message"]
    wrong = _score(guarded.url, test_curves[0], {"X-API-Key": "key-three"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert _score(guarded.url, test_curves[0], {"X-API-Key": "key-two"}).status_code == 200
    bearer = {"Authorization": "Bearer key-one"}
    assert _score(guarded.url, test_curves[0], bearer).status_code == 200
    models = httpx.get(f"{guarded.url}/v1/models")
    assert models.status_code == 401
    # Operations endpoints stay open for probes and scrapers.
    assert httpx.get(f"{guarded.url}/readyz").status_code == 200
    assert httpx.get(f"{guarded.url}/metrics").status_code == 200


def test_reload_needs_the_admin_key(guarded):
    url = f"{guarded.url}/v1/models/reload"
    assert httpx.post(url).status_code == 401
    assert httpx.post(url, headers={"X-API-Key": "key-one"}).status_code == 403
    ok = httpx.post(url, headers={"Authorization": "Bearer the-admin"}, timeout=60)
    assert ok.status_code == 200, ok.text
    assert ok.json()["current"]["version"] == "1"


def test_reload_is_disabled_without_an_admin_key(service):
    response = httpx.post(f"{service.url}/v1/models/reload", headers={"X-API-Key": "anything"})
    assert response.status_code == 403
    assert "LCVADE_ADMIN_KEY" in response.json()["error"]["message"]
