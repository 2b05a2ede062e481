"""Model worker processes: calls, errors, a process that dies, and models freed after use."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from service.model_workers import ModelSource, ModelWorkerError, ModelWorkerLost, ModelWorkers
from service.passes import score_in_passes
from tests.service_helpers import curve_payload, live_server


def _weights_digest(scorer) -> str:
    return scorer.manifest.weights_sha256


def _pid(scorer) -> int:
    return os.getpid()


def _die(scorer) -> None:
    os._exit(3)


def _fail(scorer) -> None:
    raise ValueError("bad input for this model")


def _ias(scorer, curves) -> np.ndarray:
    return score_in_passes(scorer, curves, [c.period for c in curves], 32, fill_rows=False)[0]


def test_workers_load_run_fail_and_come_back(small_model_dir, test_curves):
    source = ModelSource(str(small_model_dir), "cpu", 0.01, row_invariant=True)
    workers = ModelWorkers(workers=2)

    async def scenario() -> None:
        digests = await workers.load(7, source)
        assert len(digests) == 2 and len(set(digests)) == 1
        assert await workers.run_on_each(7, _weights_digest) == digests
        pids = await workers.run_on_each(7, _pid)
        assert len(set(pids)) == 2 and os.getpid() not in pids
        first = await workers.run(0, 7, _ias, test_curves[:5])
        # Both processes hold the same model and compute the same bits.
        assert np.array_equal(await workers.run(1, 7, _ias, test_curves[:5]), first)

        with pytest.raises(ModelWorkerError, match="ValueError: bad input") as error:
            await workers.run(1, 7, _fail)
        assert error.value.kind == "ValueError"
        assert await workers.run(1, 7, _pid) == pids[1]  # an error does not end the process

        # A call is made again on a new process once; one that ends that one too is lost.
        with pytest.raises(ModelWorkerLost, match="model worker 0 stopped during a call, twice"):
            await workers.run(0, 7, _die)
        # The next call starts a new process, which loads the model again.
        assert await workers.run(0, 7, _pid) not in pids
        assert np.array_equal(await workers.run(0, 7, _ias, test_curves[:5]), first)

        workers.drop(7)
        with pytest.raises(ModelWorkerError, match="KeyError"):
            await workers.run(0, 7, _pid)

    try:
        asyncio.run(scenario())
    finally:
        workers.shutdown()
    assert workers.pids() == [None, None]


def test_killed_worker_processes_are_replaced_and_their_passes_made_again(
    small_model_dir, test_curves
):
    body = {"light_curves": [curve_payload(c) for c in test_curves * 100]}  # 3,000 curves
    with live_server(model=str(small_model_dir)) as server:
        workers = server.app.state.pipeline.model_workers
        start = time.perf_counter()
        before = httpx.post(f"{server.url}/v1/score", json=body, timeout=120).json()
        took = time.perf_counter() - start
        pids = workers.pids()
        assert len(pids) == os.cpu_count() and None not in pids
        with ThreadPoolExecutor(1) as client:
            answer = client.submit(httpx.post, f"{server.url}/v1/score", json=body, timeout=120)
            time.sleep(took / 2)  # the request's passes are under way
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            assert not answer.done()
            answer = answer.result()
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"] == before["results"]
        assert None not in workers.pids() and set(workers.pids()).isdisjoint(pids)


def test_a_reloaded_model_is_freed_in_the_workers(small_model_dir, test_curves):
    with live_server(model=str(small_model_dir), admin_key="admin-secret") as server:
        workers = server.app.state.pipeline.model_workers
        registry = server.app.state.registry
        first = registry.current.key
        assert list(workers._models) == [first]  # noqa: SLF001 - what the workers must hold
        reload = httpx.post(
            f"{server.url}/v1/models/reload", headers={"X-API-Key": "admin-secret"}, timeout=120
        )
        assert reload.status_code == 200, reload.text
        gc.collect()
        assert list(workers._models) == [registry.current.key] != [first]  # noqa: SLF001
        body = {"light_curves": [curve_payload(test_curves[0])]}
        assert httpx.post(f"{server.url}/v1/score", json=body, timeout=60).status_code == 200
