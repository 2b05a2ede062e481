"""Every kind of bad input gets a 4xx JSON answer naming the curve and the field; limits hold."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from tests.service_helpers import curve_payload, live_server


def _good(test_curves, i: int = 0) -> dict:
    return curve_payload(test_curves[i])


def _post(url: str, body, **kwargs) -> httpx.Response:
    if not isinstance(body, (dict, list)):  # raw bytes, or a generator of chunks
        headers = {"content-type": "application/json"}
        return httpx.post(f"{url}/v1/score", content=body, headers=headers, timeout=60, **kwargs)
    return httpx.post(f"{url}/v1/score", json=body, timeout=60, **kwargs)


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]


def _mutated(test_curves, change) -> dict:
    bad = _good(test_curves, 1)
    bad["id"] = "bad-one"
    change(bad)
    return {"light_curves": [_good(test_curves, 0), bad]}


def _set(field, index, value):
    def change(curve):
        curve[field][index] = value

    return change


BAD_CURVES = {
    "lengths differ": (lambda c: c["mag"].pop(), "mag", None),
    "nan mag": (_set("mag", 3, float("nan")), "mag", 3),
    "inf time": (_set("time", 5, float("inf")), "time", 5),
    "zero error": (_set("mag_err", 2, 0.0), "mag_err", 2),
    "negative error": (_set("mag_err", 4, -0.1), "mag_err", 4),
    "too few points": (
        lambda c: [c.__setitem__(k, c[k][:5]) for k in ("time", "mag", "mag_err")],
        "points",
        None,
    ),
    "zero period": (lambda c: c.__setitem__("period", 0.0), "period", None),
    "negative period": (lambda c: c.__setitem__("period", -2.5), "period", None),
    "nan period": (lambda c: c.__setitem__("period", float("nan")), "period", None),
    "two bands for a one-band model": (
        lambda c: c.__setitem__("band", ["g"] * 20 + ["r"] * (len(c["time"]) - 20)),
        "band",
        None,
    ),
    "band list too short": (lambda c: c.__setitem__("band", ["g"]), "band", None),
    "empty band name": (lambda c: c.__setitem__("band", [""] * len(c["time"])), "band", 0),
}


@pytest.mark.parametrize("case", sorted(BAD_CURVES))
def test_bad_curve_is_422_naming_curve_and_field(service, test_curves, case):
    change, field, point = BAD_CURVES[case]
    body = json.dumps(_mutated(test_curves, change), allow_nan=True)
    error = _error(_post(service.url, body), 422)
    [detail] = error["details"]
    assert detail["curve_index"] == 1
    assert detail["curve_id"] == "bad-one"
    assert detail["field"] == field
    assert detail["point_index"] == point
    assert "light_curves[1] (id 'bad-one')" in error["message"]
    assert field in error["message"] or (field == "points" and "points" in error["message"])


def test_unknown_band_of_a_multiband_model_names_the_band(tmp_path, test_curves):
    from tests.service_helpers import train_small_model

    model = train_small_model(tmp_path / "two-band", bands=["g", "r"], n_curves=30, epochs=1)
    with live_server(model=str(model)) as server:
        curve = _good(test_curves, 0)
        curve["band"] = ["g"] * 15 + ["i"] * (len(curve["time"]) - 15)
        error = _error(_post(server.url, {"light_curves": [curve]}), 422)
        detail = error["details"][0]
        assert detail["field"] == "band" and detail["point_index"] == 15
        assert "'i' is not one of this model's bands ['g', 'r']" in error["message"]
        curve["band"] = ["g"] * 15 + ["r"] * (len(curve["time"]) - 15)
        assert _post(server.url, {"light_curves": [curve]}).status_code == 200


def test_all_bad_curves_are_reported_together(service, test_curves):
    curves = [_good(test_curves, i) for i in range(4)]
    curves[1]["mag_err"][0] = -1.0
    curves[3]["period"] = -1.0
    error = _error(_post(service.url, {"light_curves": curves}), 422)
    assert [(d["curve_index"], d["field"]) for d in error["details"]] == [
        (1, "mag_err"),
        (3, "period"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"light_curves": [', 400, None),
        (b"[1, 2, 3]", 422, None),
        (b'{"curves": []}', 422, "light_curves"),
        (b'{"light_curves": [{"time": [1, 2], "mag": [1, 2]}]}', 422, "mag_err"),
        (b'{"light_curves": [{"time": "abc", "mag": [1], "mag_err": [1]}]}', 422, "time"),
        (b'{"light_curves": [{"time": [1, "x"], "mag": [1, 2], "mag_err": [1, 1]}]}', 422, "time"),
        (
            b'{"light_curves": [{"time": [1], "mag": [1], "mag_err": [1], "colour": 2}]}',
            422,
            "colour",
        ),
        (
            b'{"light_curves": [{"time": [1], "mag": [1], "mag_err": [1], "period": "x"}]}',
            422,
            "period",
        ),
        (b'{"light_curves": [], "fdr": 1.5}', 422, "fdr"),
    ],
)
def test_malformed_requests(service, body, status, field):
    error = _error(_post(service.url, body), status)
    assert error["message"]
    if field is not None:
        assert any(d["field"] == field for d in error["details"]), error
        assert field in error["message"]
    if b'"time": [1, "x"]' in body:
        assert error["details"][0]["curve_index"] == 0
        assert error["details"][0]["point_index"] == 1


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_curve_the_model_cannot_score_is_422(service, test_curves):
    curve = _good(test_curves, 0)
    curve["mag"] = (np.asarray(curve["mag"]) * 1e38).tolist()
    error = _error(_post(service.url, {"light_curves": [curve]}), 422)
    assert error["details"][0]["field"] == "mag"


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_unestimable_period_is_422(service):
    time = [-1e308, 1e308] * 6  # a baseline that overflows: no frequency grid fits it
    curve = {"id": "flat", "time": time, "mag": [1.0, 2.0] * 6, "mag_err": [0.1] * 12}
    error = _error(_post(service.url, {"light_curves": [curve]}), 422)
    assert error["details"][0]["field"] == "period"
    assert "send the period" in error["message"]


def test_reconstruct_rejects_bad_phases(service, test_curves):
    body = {"light_curve": _good(test_curves, 0), "phases": [0.2, 1.5]}
    response = httpx.post(f"{service.url}/v1/reconstruct", json=body)
    error = _error(response, 422)
    assert error["details"][0] == {
        "curve_index": None,
        "curve_id": None,
        "field": "phases",
        "point_index": 1,
        "message": "not in [0, 1]",
    }


def test_unreadable_upload_is_422(service):
    files = {"file": ("curves.parquet", b"this is not parquet")}
    error = _error(httpx.post(f"{service.url}/v1/score/upload", files=files), 422)
    assert "could not read" in error["message"] and error["details"][0]["field"] == "file"
    files = {"file": ("curves.csv", b"a,b\n1,2\n")}
    error = _error(httpx.post(f"{service.url}/v1/score/upload", files=files), 422)
    assert "lacks ['time', 'mag', 'mag_err']" in error["message"]
    assert "got ['a', 'b']" in error["message"]
    error = _error(httpx.post(f"{service.url}/v1/score/upload"), 422)
    assert error["details"][0]["field"] == "file"


def test_unknown_routes_and_methods_are_json(service):
    error = _error(httpx.get(f"{service.url}/v2/score"), 404)
    assert "/v2/score" in error["message"]
    error = _error(httpx.get(f"{service.url}/v1/score"), 405)
    assert "GET" in error["message"]


# -- limits -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited(small_model_dir):
    with live_server(
        model=str(small_model_dir),
        max_body_bytes=20_000,
        max_curves_per_request=3,
        max_points_per_curve=150,
    ) as server:
        yield server


def test_body_size_limit_is_413(limited, test_curves):
    big = {"light_curves": [_good(test_curves, i) for i in range(12)]}
    error = _error(_post(limited.url, big), 413)
    assert error["code"] == "body_too_large" and "20000 bytes" in error["message"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        data = json.dumps(big).encode()
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    error = _error(_post(limited.url, chunks()), 413)
    assert error["code"] == "body_too_large"


def test_curves_per_request_limit_is_413(limited, test_curves):
    short = [{**_good(test_curves, i), "time": [], "mag": [], "mag_err": []} for i in range(4)]
    error = _error(_post(limited.url, {"light_curves": short}), 413)
    assert error["code"] == "too_many_curves" and "at most 3" in error["message"]


def test_points_per_curve_limit_is_413(limited):
    n = 151
    curve = {"id": "long", "time": list(range(n)), "mag": [1.0] * n, "mag_err": [0.1] * n}
    error = _error(_post(limited.url, {"light_curves": [curve]}), 413)
    assert error["code"] == "too_many_points"
    assert error["details"][0]["curve_id"] == "long"


def test_request_time_limit_is_408(small_model_dir, test_curves):
    with live_server(model=str(small_model_dir), request_timeout_s=0.05) as server:
        body = {"light_curves": [curve_payload(c, with_period=False) for c in test_curves]}
        error = _error(_post(server.url, body), 408)
        assert error["code"] == "request_timeout" and "0.05 s" in error["message"]
        assert httpx.get(f"{server.url}/readyz").status_code == 200
