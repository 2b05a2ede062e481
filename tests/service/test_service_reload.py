"""Reloading a new model version while clients score; refusing a corrupt one."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx
import numpy as np
import pytest

from tests.service_helpers import curve_payload, live_server, train_small_model

ADMIN = {"X-API-Key": "admin-secret"}


@pytest.fixture
def model_dir(small_model_dir, tmp_path):
    target = tmp_path / "served"
    shutil.copytree(small_model_dir, target)
    return target


@pytest.fixture(scope="module")
def version_two(tmp_path_factory):
    """Another model (other seed) saved as version 2 of the same name."""
    directory = tmp_path_factory.mktemp("v2") / "test-model"
    return train_small_model(directory, version="2", seed=1, n_curves=30, epochs=1)


def _version(url: str) -> str:
    return httpx.get(f"{url}/v1/models").json()["models"][0]["version"]


def test_reload_under_load_swaps_versions_without_failures(model_dir, test_curves, version_two):
    with live_server(model=str(model_dir), admin_key="admin-secret") as server:
        before = httpx.post(
            f"{server.url}/v1/score", json={"light_curves": [curve_payload(test_curves[0])]}
        ).json()["results"][0]
        stop = threading.Event()
        outcomes: list[tuple[float, float, int, str]] = []  # start, end, status, version

        def client(k: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                while not stop.is_set():
                    body = {"light_curves": [curve_payload(test_curves[k])]}
                    start = time.monotonic()
                    response = http.post("/v1/score", json=body)
                    version = response.json()["model"]["version"]
                    outcomes.append((start, time.monotonic(), response.status_code, version))

        def wait_for(n: int) -> None:
            while len(outcomes) < n:
                time.sleep(0.02)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for thread in threads:
            thread.start()
        wait_for(20)
        # Replace the directory's files with version 2, as a training job would.
        for name in ("model.safetensors", "manifest.json"):
            shutil.copy(version_two / name, model_dir / name)
        reload_start = time.monotonic()
        reload = httpx.post(f"{server.url}/v1/models/reload", headers=ADMIN, timeout=60)
        reload_end = time.monotonic()
        wait_for(len(outcomes) + 20)
        stop.set()
        for thread in threads:
            thread.join()

        assert reload.status_code == 200, reload.text
        assert reload.json()["previous"]["version"] == "1"
        assert reload.json()["current"]["version"] == "2"
        assert {status for _, _, status, _ in outcomes} == {200}
        assert all(v == "1" for _, end, _, v in outcomes if end < reload_start)
        assert all(v == "2" for start, _, _, v in outcomes if start > reload_end)
        assert sum(start > reload_end for start, _, _, _ in outcomes) >= 20
        after = httpx.post(
            f"{server.url}/v1/score", json={"light_curves": [curve_payload(test_curves[0])]}
        ).json()["results"][0]
        assert after["ias"] != before["ias"]  # version 2 really is another model
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'lcvade_model_info{device="cpu",name="test-model",version="2"} 1.0' in metrics
        assert 'version="1"' not in metrics.split("lcvade_model_info")[-1]


@pytest.mark.parametrize(
    "damage", ["truncated weights", "bad manifest", "missing weights", "other architecture"]
)
def test_corrupt_model_is_refused_and_the_old_one_keeps_serving(model_dir, test_curves, damage):
    with live_server(model=str(model_dir), admin_key="admin-secret") as server:
        body = {"light_curves": [curve_payload(c) for c in test_curves[:3]]}
        before = httpx.post(f"{server.url}/v1/score", json=body).json()
        weights = model_dir / "model.safetensors"
        if damage == "truncated weights":
            weights.write_bytes(weights.read_bytes()[:1000])
        elif damage == "bad manifest":
            (model_dir / "manifest.json").write_text('{"format": "lcvade-model", "format_v')
        elif damage == "other architecture":  # a manifest whose config the weights do not fit
            manifest = json.loads((model_dir / "manifest.json").read_text())
            manifest["config"]["channels"] = 16
            (model_dir / "manifest.json").write_text(json.dumps(manifest))
        else:
            weights.unlink()
        refused = httpx.post(f"{server.url}/v1/models/reload", headers=ADMIN, timeout=60)
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["code"] == "model_refused"
        assert "keeps serving" in error["message"]
        if damage == "truncated weights":
            assert "SHA-256" in error["message"]
        if damage == "other architecture":
            assert "does not fit the architecture" in error["message"]
        after = httpx.post(f"{server.url}/v1/score", json=body)
        assert after.status_code == 200
        assert after.json() == before
        assert _version(server.url) == "1"
        assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'lcvade_model_reloads_total{outcome="refused"} 1.0' in metrics


def test_results_of_a_reloaded_model_equal_a_fresh_server(model_dir, test_curves, version_two):
    body = {"light_curves": [curve_payload(c) for c in test_curves[:5]]}
    with live_server(model=str(version_two)) as fresh:
        expected = httpx.post(f"{fresh.url}/v1/score", json=body).json()
    with live_server(model=str(model_dir), admin_key="admin-secret") as server:
        for name in ("model.safetensors", "manifest.json"):
            shutil.copy(version_two / name, model_dir / name)
        assert httpx.post(f"{server.url}/v1/models/reload", headers=ADMIN, timeout=60).is_success
        got = httpx.post(f"{server.url}/v1/score", json=body).json()
    assert got == expected
    assert np.isfinite([r["ias"] for r in got["results"]]).all()
