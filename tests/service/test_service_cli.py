"""``lcvade serve`` as a real process: environment settings, request logs, graceful shutdown."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import torch

from tests.service_helpers import curve_payload, free_port

ROOT = Path(__file__).resolve().parents[2]


def _start(model_dir: Path, port: int, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LCVADE_MODEL": str(model_dir),
        "LCVADE_DEVICE": "cpu",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from lcvade.cli import main; main()", "serve", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _unboxed(text: str) -> str:
    """Error text without the box and line breaks of the terminal rendering."""
    return re.sub(r"[\u2500-\u257f\s]+", " ", text)


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stderr.read()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server never became ready")


def test_serve_reads_env_logs_requests_and_shuts_down_gracefully(small_model_dir, test_curves):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(small_model_dir, port, LCVADE_API_KEYS="env-key", LCVADE_MAX_WAIT_MS="1")
    try:
        _wait_ready(url, process)
        assert httpx.post(f"{url}/v1/score", json={"light_curves": []}).status_code == 401
        # A slow request (periods to search) is in flight when the server is told to stop.
        slow = {"light_curves": [curve_payload(c, with_period=False) for c in test_curves] * 2}
        answer: dict = {}

        def send() -> None:
            response = httpx.post(
                f"{url}/v1/score",
                json=slow,
                headers={"X-API-Key": "env-key", "X-Request-ID": "slow-one"},
                timeout=120,
            )
            answer["status"] = response.status_code
            answer["results"] = len(response.json().get("results", []))

        client = threading.Thread(target=send)
        client.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        client.join(timeout=120)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert answer == {"status": 200, "results": 2 * len(test_curves)}
    # uvicorn finishes its graceful shutdown, then lets SIGTERM end the process.
    assert process.returncode in (0, -signal.SIGTERM)
    stderr = process.stderr.read()
    assert "stopped: every request in flight was answered" in stderr
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    slow_log = next(entry for entry in logs if entry["request_id"] == "slow-one")
    assert slow_log["route"] == "/v1/score"
    assert slow_log["status"] == 200
    assert slow_log["curves"] == 2 * len(test_curves)
    assert slow_log["latency_ms"] > 0
    assert any(entry["status"] == 401 for entry in logs)


def _invoke(*args: str, **env: str):
    from typer.testing import CliRunner

    from lcvade.cli import _register_commands, app

    _register_commands()
    return CliRunner().invoke(app, ["serve", *args], env=env)


def test_serve_refuses_a_missing_model_clearly(tmp_path):
    result = _invoke("--model", str(tmp_path / "nothing-here"))
    assert result.exit_code == 2
    text = _unboxed(result.output)
    assert "no model directory at" in text and "LCVADE_MODEL" in text


def test_serve_refuses_an_unknown_device(small_model_dir):
    result = _invoke(LCVADE_MODEL=str(small_model_dir), LCVADE_DEVICE="tpu")
    assert result.exit_code == 2
    assert "device must be auto, cpu, cuda or cuda:N, got 'tpu'" in _unboxed(result.output)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_serve_refuses_cuda_where_there_is_none(small_model_dir):
    result = _invoke("--device", "cuda:0", LCVADE_MODEL=str(small_model_dir))
    assert result.exit_code == 2
    text = _unboxed(result.output)
    assert "CUDA is not available here" in text and "LCVADE_DEVICE" in text
