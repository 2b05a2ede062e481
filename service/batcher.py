"""Micro-batching: concurrent requests share forward passes, run off the event loop.

Requests submit their prepared curves (validated, periods resolved) as one job.  A single
loop task waits until a model worker is free and the oldest pending job is ``max_wait_ms``
old (by default 0: no wait; jobs that arrive while the workers are busy are coalesced into
the next batch) or ``max_batch`` curves are pending, takes the pending jobs (up to
``max_batch`` curves, at least one job), cuts them into fixed-shape passes
(:mod:`service.passes`) and hands the passes to the model workers as they come free.

The workers are threads that make every model call, so the event loop never blocks on the
model.  On the CPU there is one per core, each running its passes on one intra-op thread:
passes of a few rows scale far better across cores side by side than split inside one pass.
Every pass has a fixed shape and a fixed thread count, so which worker runs it and what the
other rows hold never change a curve's result: results are bit-for-bit those of scoring the
request alone.  Large requests (at least ``large_rows`` curves) get passes of their own,
larger shape: a request's size decides the shape of its passes, never the other requests.
Jobs of different model versions (during a reload) are scored by their own model.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch

from lcvade.lightcurve import LightCurve
from service.metrics import ServiceMetrics
from service.passes import plan_passes, score_pass
from service.registry import ModelHandle

T = TypeVar("T")


class ModelWorkers:
    """The threads on which every model call runs, each with its own intra-op thread count."""

    def __init__(self, workers: int = 1, intra_op_threads: int = 1) -> None:
        self.workers = workers
        self._executor = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="lcvade-model",
            initializer=torch.set_num_threads,  # per calling thread with OpenMP builds
            initargs=(intra_op_threads,),
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


@dataclass
class _Job:
    handle: ModelHandle
    curves: Sequence[LightCurve]
    periods: np.ndarray
    future: asyncio.Future
    arrived: float = field(default_factory=time.monotonic)


class _Batch:
    """The jobs of one model and pass kind taken together, and their results as they come."""

    def __init__(self, handle: ModelHandle, jobs: list[_Job], rows: int) -> None:
        self.handle = handle
        self.jobs = jobs
        self.rows = rows
        self.curves = [c for job in jobs for c in job.curves]
        self.periods = np.concatenate([job.periods for job in jobs])
        self.ias = np.empty(len(self.curves))
        self.probs = np.empty((len(self.curves), handle.scorer.config.n_classes))
        max_points = handle.scorer.config.max_points
        self.passes = plan_passes([len(c) for c in self.curves], rows, max_points)
        self._left = len(self.passes)

    def pass_done(self, members: list[int], ias: np.ndarray, probs: np.ndarray) -> None:
        self.ias[members] = ias
        self.probs[members] = probs
        self._left -= 1
        if self._left == 0:
            offset = 0
            for job in self.jobs:
                n = len(job.curves)
                if not job.future.done():
                    job.future.set_result(
                        (self.ias[offset : offset + n], self.probs[offset : offset + n])
                    )
                offset += n


def _fail(jobs: Sequence[_Job], exc: BaseException) -> None:
    """Hand ``exc`` to every job whose request still waits."""
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(exc)


class BatcherClosed(RuntimeError):
    """The service is shutting down and takes no new work."""


class MicroBatcher:
    """Coalesces scoring jobs into shared forward passes; see the module docstring."""

    def __init__(
        self,
        model_workers: ModelWorkers,
        metrics: ServiceMetrics,
        *,
        max_batch: int,
        max_wait_ms: float,
    ) -> None:
        self.model_workers = model_workers
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._pending: deque[_Job] = deque()
        self._pending_curves = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._free_workers = asyncio.Semaphore(model_workers.workers)
        self._running: set[asyncio.Task] = set()
        self._closing = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        """Finish every pending job, then end the loop."""
        self._closing = True
        self._wakeup.set()
        self._full.set()
        if self._task is not None:
            await self._task
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def score(
        self, handle: ModelHandle, curves: Sequence[LightCurve], periods: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """IAS (N,) and q(y|z,f) (N, K) of ``curves`` scored by ``handle``'s model."""
        if self._closing:
            raise BatcherClosed("the service is shutting down")
        if not curves:
            return np.empty(0), np.empty((0, handle.scorer.config.n_classes))
        future = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(handle, curves, np.asarray(periods, float), future))
        self._pending_curves += len(curves)
        self._wakeup.set()
        if self._pending_curves >= self.max_batch:
            self._full.set()
        return await future

    def _take(self) -> list[_Job]:
        jobs: list[_Job] = []
        total = 0
        while self._pending:
            size = len(self._pending[0].curves)
            if jobs and total + size > self.max_batch:
                break
            job = self._pending.popleft()
            self._pending_curves -= size
            if job.future.done():  # the request gave up (timeout, disconnect)
                continue
            jobs.append(job)
            total += size
        return jobs

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            wait = self._pending[0].arrived + self.max_wait - time.monotonic()
            if wait > 0 and self._pending_curves < self.max_batch and not self._closing:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait)
            # Take the jobs only once a worker is free: what arrives meanwhile joins them.
            await self._free_workers.acquire()
            jobs = self._take()
            if jobs:
                await self._dispatch(jobs)
            else:
                self._free_workers.release()

    async def _dispatch(self, jobs: list[_Job]) -> None:
        """Hand every pass of ``jobs`` to a free worker; one worker is already held."""
        self.metrics.batch_size.observe(sum(len(j.curves) for j in jobs))
        self.metrics.batch_requests.observe(len(jobs))
        groups: dict[tuple[int, int], list[_Job]] = {}
        for job in jobs:
            rows = job.handle.rows_for(len(job.curves))
            groups.setdefault((id(job.handle), rows), []).append(job)
        held = True
        for (_, rows), group in groups.items():
            try:
                batch = _Batch(group[0].handle, group, rows)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                _fail(group, exc)
                continue
            for length, members in batch.passes:
                if not held:
                    await self._free_workers.acquire()
                held = False
                task = asyncio.get_running_loop().create_task(self._pass(batch, length, members))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        if held:
            self._free_workers.release()

    async def _pass(self, batch: _Batch, length: int, members: list[int]) -> None:
        """One forward pass on a worker; releases the worker it was given."""
        try:
            start = time.perf_counter()
            ias, probs = await self.model_workers.run(
                score_pass,
                batch.handle.scorer,
                [batch.curves[i] for i in members],
                [batch.periods[i] for i in members],
                batch.rows,
                length,
            )
            self.metrics.forward_seconds.observe(time.perf_counter() - start)
            batch.pass_done(members, ias, probs)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            _fail(batch.jobs, exc)
        finally:
            self._free_workers.release()
