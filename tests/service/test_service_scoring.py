"""The scoring endpoints against the library, over real HTTP to a live uvicorn server."""

from __future__ import annotations

import asyncio
import gc
import io
import re

import httpx
import numpy as np
import pandas as pd
import pytest
import torch

import lcvade
from lcvade.calibration import benjamini_hochberg
from service.passes import length_bucket, score_in_passes
from tests.service_helpers import CLASS_NAMES, curve_payload, synthetic_curve
from training.scoring.results import field_columns
from training.scoring.run import run_scoring


@pytest.fixture(scope="module")
def library(small_model_dir) -> lcvade.Scorer:
    return lcvade.load(small_model_dir, device="cpu")


@pytest.fixture(scope="module")
def row_invariant_library(small_model_dir) -> lcvade.Scorer:
    """The model as the service loads it on the CPU."""
    return lcvade.load(small_model_dir, device="cpu", row_invariant=True)


def _score(url: str, curves, **extra) -> dict:
    body = {"light_curves": [curve_payload(c) for c in curves], **extra}
    response = httpx.post(f"{url}/v1/score", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_scores_match_the_library(service, library, test_curves):
    answer = _score(service.url, test_curves)
    expected = library.score(test_curves)
    assert answer["model"] == {"name": "test-model", "version": "1"}
    assert [r["id"] for r in answer["results"]] == [c.id for c in test_curves]
    got_ias = np.array([r["ias"] for r in answer["results"]])
    want_ias = np.array([r.ias for r in expected])
    # The service scores in fixed-shape passes, the library in one batch: float32 kernels
    # then differ in the last bits only.
    np.testing.assert_allclose(got_ias, want_ias, rtol=1e-5, atol=1e-4)
    for got, want in zip(answer["results"], expected, strict=True):
        assert got["anomaly_score"] == -got["ias"]
        assert got["period"] == want.period
        assert got["period_source"] == "given"
        assert got["period_confidence"] is None
        probs = np.array([got["class_probabilities"][k] for k in CLASS_NAMES])
        np.testing.assert_allclose(probs, list(want.class_probabilities.values()), atol=1e-4)
        if max(probs) - sorted(probs)[-2] > 1e-3:
            assert got["predicted_class"] == want.predicted_class
        # Calibration is applied to the service's own IAS exactly as the library does.
        assert got["p_value"] == float(library.calibration.p_value(got["ias"]))
        assert got["percentile"] == float(library.calibration.percentile(got["ias"]))
        assert got["is_anomaly"] == (got["p_value"] < 0.01)


def test_the_long_lived_heap_is_frozen_while_serving(service, test_curves):
    response = httpx.post(
        f"{service.url}/v1/score", json={"light_curves": [curve_payload(test_curves[0])]}
    )
    assert response.status_code == 200
    # The model, torch and the app sit in the permanent generation: the collector's full
    # passes do not walk them.
    assert gc.get_freeze_count() > 10_000


def test_estimated_periods_are_the_library_search(service, library, test_curves):
    curves = test_curves[:3]
    body = {"light_curves": [curve_payload(c, with_period=False) for c in curves]}
    answer = httpx.post(f"{service.url}/v1/score", json=body, timeout=60).json()
    without = [c.with_period(None) for c in curves]
    periods, sources, confidences = library.resolve_periods(without)
    for got, period, confidence in zip(answer["results"], periods, confidences, strict=True):
        assert got["period_source"] == "estimated"
        assert got["period"] == period
        assert got["period_confidence"] == confidence
        assert got["period_method"] == library.period_search.method


def test_concurrent_clients_get_exactly_the_sequential_results(service, test_curves):
    curves = (test_curves * 3)[:64]
    sequential = [_score(service.url, [c])["results"][0] for c in curves]

    def batches_run() -> float:
        text = httpx.get(f"{service.url}/metrics").text
        return float(re.search(r"^lcvade_batch_requests_count (\S+)$", text, re.M).group(1))

    before = batches_run()

    async def concurrently() -> list[dict]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:

            async def one(curve) -> dict:
                body = {"light_curves": [curve_payload(curve)]}
                response = await client.post("/v1/score", json=body)
                assert response.status_code == 200, response.text
                return response.json()["results"][0]

            return await asyncio.gather(*(one(c) for c in curves))

    concurrent = asyncio.run(concurrently())
    passes = batches_run() - before
    assert passes < len(curves), "the concurrent requests were never coalesced"
    assert concurrent == sequential


@pytest.mark.parametrize(
    "row_invariant, fill_rows, rows, threads",
    [(False, True, 8, 1), (False, True, 16, 2), (True, False, 32, 1), (True, False, 4, 1)],
)
def test_passes_do_not_depend_on_batch_mates(
    library, row_invariant_library, row_invariant, fill_rows, rows, threads
):
    scorer = row_invariant_library if row_invariant else library
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _check_passes(scorer, rows, fill_rows)
    finally:
        torch.set_num_threads(before)


def _check_passes(scorer, rows: int, fill_rows: bool) -> None:
    rng = np.random.default_rng(11)
    lengths = [12, 16, 17, 30, 33, 64, 65, 100, 128, 150, 200, 260, 400] * 3
    curves = [synthetic_curve(rng, i % 3, f"c{i}", n) for i, n in enumerate(lengths)]
    periods = [c.period for c in curves]

    def scored(members) -> tuple[np.ndarray, np.ndarray]:
        return score_in_passes(
            scorer,
            [curves[i] for i in members],
            [periods[i] for i in members],
            rows,
            fill_rows=fill_rows,
        )

    alone = [scored([i]) for i in range(len(curves))]
    together = scored(range(len(curves)))
    shuffled = rng.permutation(len(curves))
    mixed = scored(shuffled)
    # Without filling, the passes of these subsets have every row count from 2 to 27.
    subsets = [scored(shuffled[:k]) for k in range(2, len(curves), 5)]
    for i, (ias, probs) in enumerate(alone):
        assert ias[0] == together[0][i]
        assert np.array_equal(probs[0], together[1][i])
    assert np.array_equal(mixed[0], together[0][shuffled])
    for k, (ias, probs) in zip(range(2, len(curves), 5), subsets, strict=True):
        assert np.array_equal(ias, together[0][shuffled[:k]])
        assert np.array_equal(probs, together[1][shuffled[:k]])
    assert {length_bucket(n, 200) for n in lengths} == {16, 32, 64, 128, 200}


def test_a_curve_gets_the_same_bits_alone_in_a_large_request_and_under_load(
    service, row_invariant_library, test_curves
):
    large, small = test_curves[:20], test_curves[20:]
    alone = [_score(service.url, [c])["results"][0] for c in large]

    async def under_load() -> list[list[dict]]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:

            async def one(curves) -> list[dict]:
                body = {"light_curves": [curve_payload(c) for c in curves]}
                response = await client.post("/v1/score", json=body)
                assert response.status_code == 200, response.text
                return response.json()["results"]

            return await asyncio.gather(*(one(large) for _ in range(3)), *(one([c]) for c in small))

    answers = asyncio.run(under_load())
    # The service's passes have as many rows as curves (up to 32): the 20-curve requests
    # share passes of many sizes with the single curves, and every curve keeps its bits.
    assert answers[0] == answers[1] == answers[2] == alone
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as on a model worker
    try:
        ias, _ = score_in_passes(
            row_invariant_library, large, [c.period for c in large], 32, fill_rows=False
        )
        assert [r["ias"] for r in alone] == ias.tolist()
        for curve, answer in zip(small, answers[3:], strict=True):
            single, _ = score_in_passes(
                row_invariant_library, [curve], [curve.period], 32, fill_rows=False
            )
            assert answer[0]["ias"] == single[0]
    finally:
        torch.set_num_threads(before)


def test_fdr_flags_are_benjamini_hochberg(service, test_curves):
    # Shift some curves far from anything seen in training so that p-values are small.
    payloads = [curve_payload(c) for c in test_curves]
    for p in payloads[:8]:
        p["mag"] = (np.asarray(p["mag"]) + 5 * np.sin(np.asarray(p["time"]) * 7.1)).tolist()
    answer = httpx.post(
        f"{service.url}/v1/score", json={"light_curves": payloads, "fdr": 0.2}, timeout=60
    ).json()
    p_values = np.array([r["p_value"] for r in answer["results"]])
    flags = [r["is_anomaly"] for r in answer["results"]]
    assert flags == benjamini_hochberg(p_values, 0.2).tolist()
    assert "Benjamini-Hochberg" in answer["anomaly_rule"]
    assert min(p_values) < 0.05


def test_reconstruct_matches_the_library(service, library, test_curves):
    curve = test_curves[0]
    phases = [0.0, 0.1, 0.5, 0.9]
    body = {"light_curve": curve_payload(curve), "phases": phases}
    answer = httpx.post(f"{service.url}/v1/reconstruct", json=body, timeout=60).json()
    want = library.reconstruct(curve, phases)
    assert answer["period"] == curve.period and answer["period_source"] == "given"
    assert answer["phases"] == phases
    band = answer["bands"][0]
    np.testing.assert_allclose(band["mean"], want.mean[0], rtol=1e-6)
    np.testing.assert_allclose(band["std"], want.std[0], rtol=1e-6)
    np.testing.assert_allclose(band["induction_mean"], want.induction_mean[0], rtol=1e-6)
    assert len(band["induction_std"]) == len(answer["induction_phases"]) == 24
    assert len(answer["observed"]["phase"]) == len(curve)
    assert sorted(answer["observed"]["mag"]) == pytest.approx(sorted(curve.mag), abs=1e-4)


def _long_table(curves) -> pd.DataFrame:
    return pd.concat(
        [
            pd.DataFrame({"object_id": c.id, "mjd": c.time, "mag": c.mag, "magerr": c.mag_err})
            for c in curves
        ]
    )


@pytest.mark.parametrize("kind", ["csv", "parquet", "votable"])
def test_upload_scores_like_json(service, test_curves, kind, tmp_path):
    curves = test_curves[:4]
    table = _long_table(curves)
    objects = pd.DataFrame(
        {"object_id": [c.id for c in curves], "period": [c.period for c in curves]}
    )
    if kind == "csv":
        name, data = "curves.csv", table.to_csv(index=False).encode()
    elif kind == "parquet":
        name, data = "curves.parquet", table.to_parquet(index=False)
    else:
        from astropy.table import Table

        buffer = io.BytesIO()
        Table.from_pandas(table).write(buffer, format="votable")
        name, data = "curves.xml", buffer.getvalue()
    files = {
        "file": (name, data),
        "objects": ("objects.csv", objects.to_csv(index=False).encode()),
    }
    response = httpx.post(f"{service.url}/v1/score/upload", files=files, timeout=60)
    assert response.status_code == 200, response.text
    uploaded = response.json()["results"]
    direct = _score(service.url, curves)["results"]
    assert [r["id"] for r in uploaded] == [c.id for c in curves]
    for got, want in zip(uploaded, direct, strict=True):
        assert got["period"] == want["period"]
        assert got["ias"] == pytest.approx(want["ias"], rel=1e-6, abs=1e-6)


def test_upload_skip_lists_rejected_objects(service, test_curves):
    table = _long_table(test_curves[:2])
    short = pd.DataFrame({"object_id": "too-short", "mjd": [1.0, 2.0], "mag": 1.0, "magerr": 0.1})
    data = pd.concat([table, short]).to_csv(index=False).encode()
    strict = httpx.post(f"{service.url}/v1/score/upload", files={"file": ("t.csv", data)})
    assert strict.status_code == 422
    assert strict.json()["error"]["details"][0]["curve_id"] == "too-short"
    assert strict.json()["error"]["details"][0]["field"] == "points"
    lenient = httpx.post(
        f"{service.url}/v1/score/upload",
        params={"on_invalid": "skip"},
        files={"file": ("t.csv", data)},
        timeout=60,
    )
    assert lenient.status_code == 200
    body = lenient.json()
    assert [r["id"] for r in body["results"]] == [c.id for c in test_curves[:2]]
    assert [r["id"] for r in body["rejected"]] == ["too-short"]
    assert all(r["period_source"] == "estimated" for r in body["results"])


def test_parse_returns_the_curves_of_a_table(service, test_curves):
    data = _long_table(test_curves[:2]).to_csv(index=False).encode()
    body = httpx.post(f"{service.url}/v1/parse", files={"file": ("t.csv", data)}).json()
    assert [c["id"] for c in body["light_curves"]] == [c.id for c in test_curves[:2]]
    assert body["light_curves"][0]["time"] == pytest.approx(test_curves[0].time.tolist())


def test_model_endpoints_describe_the_model(service, small_model_dir):
    listing = httpx.get(f"{service.url}/v1/models").json()
    [info] = listing["models"]
    manifest = lcvade.read_manifest(small_model_dir)
    assert info["name"] == "test-model" and info["version"] == "1"
    assert info["classes"] == CLASS_NAMES
    assert info["bands"] is None
    assert info["hyperparameters"]["channels"] == 8
    assert info["training_data_digest"] == manifest.training["data_digest"]
    assert info["device"] == "cpu" and info["pass_rows"] == 32
    assert info["pass_rows_fixed"] is False  # the row-invariant model passes its check here
    assert info["calibrated"] and info["calibration_size"] == 120
    assert httpx.get(f"{service.url}/v1/models/test-model").json() == info
    missing = httpx.get(f"{service.url}/v1/models/other")
    assert missing.status_code == 404
    assert "test-model" in missing.json()["error"]["message"]


def test_health_readiness_and_metrics(service, test_curves):
    health = httpx.get(f"{service.url}/healthz", headers={"X-Request-ID": "probe-7"})
    assert health.json() == {"status": "ok"}
    assert health.headers["x-request-id"] == "probe-7"
    assert len(httpx.get(f"{service.url}/healthz").headers["x-request-id"]) == 32
    ready = httpx.get(f"{service.url}/readyz").json()
    assert ready["status"] == "ready" and ready["model"]["version"] == "1"
    _score(service.url, test_curves[:2])
    httpx.post(f"{service.url}/v1/score", json={"light_curves": [{"time": [1]}]})
    bad = curve_payload(test_curves[0])
    bad["mag_err"][0] = -1.0
    httpx.post(f"{service.url}/v1/score", json={"light_curves": [bad]})
    text = httpx.get(f"{service.url}/metrics").text
    assert re.search(
        r'lcvade_http_requests_total\{method="POST",route="/v1/score",status="200"\} [1-9]', text
    )
    assert re.search(
        r'lcvade_http_requests_total\{method="POST",route="/v1/score",status="422"\} [1-9]', text
    )
    assert 'lcvade_http_request_duration_seconds_bucket{le="0.1",method="POST"' in text
    assert float(re.search(r"^lcvade_curves_scored_total (\S+)$", text, re.M).group(1)) >= 2
    assert re.search(r"^lcvade_batch_curves_count [1-9]", text, re.M)
    assert 'lcvade_model_info{device="cpu",name="test-model",version="1"} 1.0' in text
    assert re.search(r'^lcvade_curves_rejected_total\{reason="mag_err"\} [1-9]', text, re.M)
    assert re.search(r'^lcvade_curves_rejected_total\{reason="mag"\} [1-9]', text, re.M)


def test_examples_are_served_in_the_model_bands(service):
    listed = httpx.get(f"{service.url}/v1/examples").json()["examples"]
    labels = {e["name"]: e["label"] for e in listed}
    assert labels == {
        "asas_classical_cepheid": "Classical_Cepheid",
        "asas_mira": "Mira",
        "asas_rr_lyrae_fm": "RR_Lyrae_FM",
        "asas_w_ursae_maj": "W_Ursae_Maj",
        "ztf_sn_ia": "SN Ia",
    }
    example = httpx.get(f"{service.url}/v1/examples/asas_mira").json()
    curve = example["light_curve"]
    assert example["expected"] == "ordinary" and example["survey"] == "ASAS"
    assert len(curve["time"]) == 310 and set(curve["band"]) == {"V"}
    body = {"light_curves": [curve], "band_map": example["band_map"]}
    answer = httpx.post(f"{service.url}/v1/score", json=body, timeout=60)
    assert answer.status_code == 200
    result = answer.json()["results"][0]
    assert result["period_source"] == "estimated"
    assert result["bands_read"] == {"V": "V"}  # a model of one unnamed band reads V as it is
    explanation = result["explanation"]
    assert explanation["closest_class"] == result["predicted_class"]
    assert sum(explanation["terms"].values()) == pytest.approx(result["ias"], abs=1e-6)
    assert httpx.get(f"{service.url}/v1/examples/nope").status_code == 404


def test_the_band_map_renames_bands_and_the_result_says_which_was_read(service, test_curves):
    curve = test_curves[0]
    body = {
        "light_curves": [
            {
                "time": curve.time.tolist(),
                "mag": curve.mag.tolist(),
                "mag_err": curve.mag_err.tolist(),
                "band": ["V"] * len(curve),
            }
        ],
        "band_map": {"V": "I"},
    }
    result = httpx.post(f"{service.url}/v1/score", json=body, timeout=60).json()["results"][0]
    assert result["bands_read"] == {"V": "I"}
    bad = httpx.post(f"{service.url}/v1/score", json={**body, "band_map": {"V": ""}})
    assert bad.status_code == 422 and "band_map" in bad.text


def test_a_rest_result_and_a_batch_row_agree_field_by_field(
    service, small_model_dir, test_curves, tmp_path
):
    """The same curves scored by the service and by ``lcvade score``: every field of the
    score record has the same value in the JSON result and in the row's columns."""
    curves = test_curves[:4]
    given = {c.id: c.period for c in curves[:2]}  # the others' periods are searched
    _long_table(curves).to_csv(tmp_path / "lc.csv", index=False)
    pd.DataFrame({"object_id": list(given), "period": list(given.values())}).to_csv(
        tmp_path / "objects.csv", index=False
    )
    run_scoring(
        [tmp_path / "lc.csv"],
        small_model_dir,
        tmp_path / "out.parquet",
        objects=tmp_path / "objects.csv",
        progress=False,
    )
    rows = pd.read_parquet(tmp_path / "out.parquet")
    payloads = [curve_payload(c, with_period=c.id in given) for c in curves]
    response = httpx.post(f"{service.url}/v1/score", json={"light_curves": payloads}, timeout=60)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["period_source"] for r in results] == ["given", "given", "estimated", "estimated"]

    def same(cell, value) -> bool:
        cell = cell.item() if isinstance(cell, np.generic) else cell
        if value is None:
            return cell is None or bool(pd.isna(cell))
        if isinstance(value, float):
            # the two paths batch curves differently: float32 scores differ in the last digits
            return cell == pytest.approx(value, rel=1e-5, abs=1e-6)
        return cell == value

    columns = field_columns(CLASS_NAMES)
    for result in results:
        assert list(result) == list(columns)  # the record's fields, in its order
        (row,) = [r for _, r in rows.iterrows() if r["object_id"] == result["id"]]
        assert row["status"] == "ok"
        for name, own in columns.items():
            cells = {column: row[column] for column, _ in own}
            value = result[name]
            if name == "class_probabilities":
                value = {f"prob_{k}": v for k, v in value.items()}
            elif name == "bands_read":
                value = {
                    "bands_read": ", ".join(
                        b if b == m else f"{b} as {m}" for b, m in value.items()
                    )
                }
            elif name == "explanation":
                latent = value["terms"]["latent"]
                value = {
                    "closest_class": value["closest_class"],
                    "dominant_term": value["dominant_term"],
                    "term_latent": latent,
                    "term_features": sum(value["terms"].values()) - latent,
                    "period_deviation": value["period_deviation"],
                    "amplitude_deviation": value["amplitude_deviation"],
                    "explanation": value["summary"],
                }
            else:
                value = {own[0][0]: value}
            assert cells.keys() == value.keys(), name
            for column, cell in cells.items():
                assert same(cell, value[column]), (result["id"], column, cell, value[column])
