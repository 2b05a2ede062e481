"""Hostile requests to a live server: the structural corpus of the fuzz benchmark, with bombs
sized for small limits, a seeded concurrent mix of good and hostile requests, the upload
limits, unfoldable curves, and the security basics (CORS, request ids, keys kept out of logs).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import random
import tempfile
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.hostile_corpus import Limits, good_request, hostile_corpus
from tests.service_helpers import curve_payload, live_server

LIMITS = Limits(
    max_body_bytes=4 << 20,
    max_curves_per_request=20,
    max_points_per_curve=300,
    max_upload_rows=1000,
    max_upload_expanded_bytes=1 << 20,
    max_reconstruct_phases=100,
)


@pytest.fixture(scope="module")
def small_limits(small_model_dir):
    with live_server(
        model=str(small_model_dir),
        **dataclasses.asdict(LIMITS),
        admin_key="the-admin-key",
    ) as server:
        yield server


@pytest.fixture(scope="module")
def corpus():
    return hostile_corpus(LIMITS, seed=3)


def _upload_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("lcvade-upload-*")}


def _assert_error_body(response: httpx.Response, name: str) -> None:
    assert response.headers["content-type"].startswith("application/json"), name
    error = response.json()["error"]
    assert error["code"] and error["message"], name
    assert "Traceback" not in response.text and 'File "' not in response.text, name


def test_every_corpus_request_gets_its_documented_answer(small_limits, corpus):
    dirs = _upload_dirs()
    wrong = []
    with httpx.Client(base_url=small_limits.url, timeout=60) as client:
        for hostile in corpus:
            response = hostile.send(client)
            if response.status_code not in hostile.expected:
                wrong.append(f"{hostile.name}: {response.status_code} {response.text[:200]}")
            if response.status_code >= 400:
                _assert_error_body(response, hostile.name)
            assert response.headers.get("x-request-id"), hostile.name
    assert not wrong, "\n".join(wrong)
    assert len(corpus) >= 55
    assert _upload_dirs() <= dirs  # every upload's temporary files are gone
    assert httpx.get(f"{small_limits.url}/readyz").json()["status"] == "ready"


def test_deep_nesting_is_a_400_that_names_the_problem(small_limits):
    body = b"[" * 100_000 + b"]" * 100_000
    response = httpx.post(
        f"{small_limits.url}/v1/score", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "json_too_deep"
    assert "nests arrays and objects too deeply" in error["message"]


def test_concurrent_good_and_hostile_requests(small_limits, corpus):
    """16 clients, each a seeded mix of good requests (one in three) and hostile ones."""
    pool = [h for h in corpus if len(h.content or b"") < (1 << 20)]
    rng = np.random.default_rng(1)
    goods = [good_request(rng, f"mix-{i}") for i in range(16)]
    answers: list[tuple[bool, int, str]] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        chooser = random.Random(k)
        with httpx.Client(base_url=small_limits.url, timeout=120) as http:
            for _ in range(8):
                if chooser.random() < 1 / 3:
                    response = http.post(
                        "/v1/score",
                        content=goods[chooser.randrange(16)],
                        headers={"content-type": "application/json"},
                    )
                    answer = (True, response.status_code, "good")
                else:
                    hostile = pool[chooser.randrange(len(pool))]
                    response = hostile.send(http)
                    ok = response.status_code in hostile.expected
                    answer = (ok, response.status_code, hostile.name)
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(answers) == 16 * 8
    assert not [a for a in answers if a[1] >= 500]
    goods_answered = [a for a in answers if a[2] == "good"]
    assert goods_answered and all(status == 200 for _, status, _ in goods_answered)
    assert all(ok for ok, _, _ in answers), [a for a in answers if not a[0]]
    response = httpx.post(
        f"{small_limits.url}/v1/score",
        content=goods[0],
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200


# -- upload limits as for JSON ----------------------------------------------------------------
def _csv(rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["object_id", "time", "mag", "mag_err"])
    writer.writerows(rows)
    return out.getvalue().encode()


def _rows(name, time, mag, mag_err) -> list[tuple]:
    return [(name, t, m, e) for t, m, e in zip(time, mag, mag_err, strict=True)]


def test_upload_point_and_curve_limits_name_the_object(small_limits, test_curves):
    n = LIMITS.max_points_per_curve + 1
    long = _csv([("long-one", float(i), 15.0 + np.sin(i), 0.1) for i in range(n)])
    for path in ("/v1/score/upload", "/v1/parse"):
        response = httpx.post(f"{small_limits.url}{path}", files={"file": ("a.csv", long)})
        assert response.status_code == 413, response.text
        error = response.json()["error"]
        assert error["code"] == "too_many_points"
        assert error["details"][0]["curve_id"] == "long-one"
        assert f"has {n} points; at most {LIMITS.max_points_per_curve}" in error["message"]
    many = _csv([(f"o{k}", 1.0, 15.0, 0.1) for k in range(LIMITS.max_curves_per_request + 1)])
    response = httpx.post(f"{small_limits.url}/v1/score/upload", files={"file": ("m.csv", many)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_curves"
    # a JSON upload obeys the same limits
    body = {"time": list(range(n)), "mag": [15.0] * n, "mag_err": [0.1] * n, "id": "j"}
    files = {"file": ("c.json", json.dumps([body]).encode())}
    response = httpx.post(f"{small_limits.url}/v1/score/upload", files=files)
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_many_points"
    # within the limits, the same table scores
    rows = []
    for curve in test_curves[:3]:
        rows += _rows(curve.id, curve.time, curve.mag, curve.mag_err)
    response = httpx.post(
        f"{small_limits.url}/v1/score/upload", files={"file": ("ok.csv", _csv(rows))}, timeout=60
    )
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["results"]] == [c.id for c in test_curves[:3]]


def test_compressed_upload_within_the_limits_is_scored(small_limits, test_curves):
    import gzip

    curve = test_curves[0]
    rows = _rows(curve.id, curve.time, curve.mag, curve.mag_err)
    files = {"file": ("c.csv.gz", gzip.compress(_csv(rows)))}
    response = httpx.post(f"{small_limits.url}/v1/score/upload", files=files, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["id"] == curve.id


# -- curves that cannot be folded ---------------------------------------------------------------
def test_unfoldable_curves_are_rejected_with_a_reason(service, test_curves):
    good = curve_payload(test_curves[0], with_period=False)
    n = len(good["time"])
    cases = {
        "zero-baseline": ({"time": [58000.0] * n}, "period", "send the period"),
        "constant": ({"mag": [15.0] * n}, "mag", "magnitudes are constant"),
        "two-times": ({"time": [1.0, 9.0] * (n // 2) + [1.0] * (n % 2)}, "time", "distinct"),
    }
    for name, (change, field, message) in cases.items():
        body = {"light_curves": [{**good, **change, "id": name}]}
        response = httpx.post(f"{service.url}/v1/score", json=body, timeout=60)
        assert response.status_code == 422, (name, response.text)
        detail = response.json()["error"]["details"][0]
        assert detail["field"] == field and detail["curve_id"] == name
        assert message in detail["message"]

    rows = []
    for name, (change, _, _) in cases.items():
        curve = {**good, **change}
        rows += _rows(name, curve["time"], curve["mag"], curve["mag_err"])
    ok = test_curves[1]
    rows += _rows(ok.id, ok.time, ok.mag, ok.mag_err)
    response = httpx.post(
        f"{service.url}/v1/score/upload",
        params={"on_invalid": "skip"},
        files={"file": ("t.csv", _csv(rows))},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [r["id"] for r in result["results"]] == [ok.id]
    rejected = {r["id"]: r for r in result["rejected"]}
    assert set(rejected) == set(cases)
    for name, (_, field, message) in cases.items():
        assert rejected[name]["field"] == field and message in rejected[name]["reason"]


# -- security basics -----------------------------------------------------------------------------
def test_cors_is_off_unless_configured(service, small_model_dir):
    preflight = {
        "origin": "https://evil.example",
        "access-control-request-method": "POST",
    }
    response = httpx.options(f"{service.url}/v1/score", headers=preflight)
    assert "access-control-allow-origin" not in response.headers
    response = httpx.get(f"{service.url}/healthz", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers
    with live_server(model=str(small_model_dir), cors_origins="https://broker.example") as server:
        allowed = {**preflight, "origin": "https://broker.example"}
        response = httpx.options(f"{server.url}/v1/score", headers=allowed)
        assert response.headers["access-control-allow-origin"] == "https://broker.example"
        response = httpx.options(f"{server.url}/v1/score", headers=preflight)
        assert "access-control-allow-origin" not in response.headers


def test_request_ids_are_echoed_or_made(service):
    response = httpx.get(f"{service.url}/healthz", headers={"x-request-id": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    made = httpx.get(f"{service.url}/healthz", headers={"x-request-id": "a\tb"})
    assert (
        made.headers["x-request-id"] not in ("", "a\tb") and len(made.headers["x-request-id"]) == 32
    )
    error = httpx.post(f"{service.url}/v1/score", content=b"{", headers={"x-request-id": "e-1"})
    assert error.status_code == 400 and error.headers["x-request-id"] == "e-1"


def test_keys_never_reach_the_logs(small_limits, test_curves, caplog):
    secret = "the-admin-key"
    wrong = "wrong-key-7f3a9c"
    url = small_limits.url
    with caplog.at_level(logging.DEBUG):
        # one reload with the right key (it loads the model again), refusals with a wrong one
        response = httpx.post(f"{url}/v1/models/reload", headers={"x-api-key": secret}, timeout=300)
        assert response.status_code == 200, response.text
        for key in (secret, wrong):
            for headers in ({"x-api-key": key}, {"authorization": f"Bearer {key}"}):
                if key == wrong:
                    response = httpx.post(f"{url}/v1/models/reload?api_key={key}", headers=headers)
                    assert response.status_code == 403
                httpx.post(
                    f"{url}/v1/score?key={key}",
                    json={"light_curves": [curve_payload(test_curves[0])]},
                    headers=headers,
                    timeout=60,
                )
    served = [r for r in caplog.records if r.name.startswith(("lcvade", "uvicorn"))]
    assert len(served) >= 8  # a request line for each request, at least
    text = "\n".join(r.getMessage() + str(r.exc_info or "") for r in served)
    assert secret not in text and wrong not in text


def test_metric_labels_stay_bounded_whatever_the_client_sends(small_limits, test_curves):
    url = small_limits.url
    # methods the HTTP parser knows but the service does not serve (others never reach it)
    for k, method in enumerate(("PROPFIND", "MKCOL", "UNLOCK")):
        assert httpx.request(method, f"{url}/healthz").status_code == 405
        curve = {**curve_payload(test_curves[0]), f"extra_field_{k}": 1}
        response = httpx.post(f"{url}/v1/score", json={"light_curves": [curve]}, timeout=60)
        assert response.status_code == 422
    text = httpx.get(f"{url}/metrics").text
    assert 'method="other"' in text
    assert "PROPFIND" not in text and "extra_field" not in text
    assert 'lcvade_curves_rejected_total{reason="other"}' in text
