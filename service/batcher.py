"""Micro-batching: concurrent requests share forward passes, run off the event loop.

Requests submit their prepared curves (validated, periods resolved) as one job.  A single
loop task waits until the oldest pending job is ``max_wait_ms`` old (by default 0: no wait;
jobs that arrive while a pass runs are coalesced into the next) or ``max_batch`` curves
are pending, takes the pending jobs (up to ``max_batch`` curves, at least one job), and runs
them on the model thread -- one thread that makes every model call, so the event loop never
blocks on the model and model calls never overlap.  Jobs of different model versions (during
a reload) are scored by their own model.  Each curve is scored in a fixed-shape pass
(:mod:`service.passes`), so results are bit-for-bit those of scoring the request alone.
Large requests (at least ``large_rows`` curves) are scored in passes of their own, larger
shape, run with ``large_pass_threads`` intra-op threads: a request's size decides the shape
of its passes, never the other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
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
from service.passes import score_in_fixed_passes
from service.registry import ModelHandle

T = TypeVar("T")


class ModelThread:
    """The single thread on which every model call runs, with its own intra-op thread count."""

    def __init__(self, intra_op_threads: int = 1) -> None:
        self.intra_op_threads = intra_op_threads
        self._executor = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="lcvade-model",
            initializer=torch.set_num_threads,  # per calling thread with OpenMP builds
            initargs=(intra_op_threads,),
        )

    async def run(self, fn: Callable[..., T], *args: Any, threads: int | None = None) -> T:
        """``fn(*args)`` on the model thread; ``threads`` intra-op threads for this call."""
        call = fn if threads is None else functools.partial(self._with_threads, threads, fn)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call, *args)

    def _with_threads(self, threads: int, fn: Callable[..., T], *args: Any) -> T:
        torch.set_num_threads(threads)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(self.intra_op_threads)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


@dataclass
class _Job:
    handle: ModelHandle
    curves: Sequence[LightCurve]
    periods: np.ndarray
    future: asyncio.Future
    large: bool
    arrived: float = field(default_factory=time.monotonic)


class BatcherClosed(RuntimeError):
    """The service is shutting down and takes no new work."""


class MicroBatcher:
    """Coalesces scoring jobs into shared forward passes; see the module docstring."""

    def __init__(
        self,
        model_thread: ModelThread,
        metrics: ServiceMetrics,
        *,
        max_batch: int,
        max_wait_ms: float,
        large_pass_threads: int = 1,
    ) -> None:
        self.model_thread = model_thread
        self.large_pass_threads = large_pass_threads
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self._pending: deque[_Job] = deque()
        self._pending_curves = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
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

    async def score(
        self, handle: ModelHandle, curves: Sequence[LightCurve], periods: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """IAS (N,) and q(y|z,f) (N, K) of ``curves`` scored by ``handle``'s model."""
        if self._closing:
            raise BatcherClosed("the service is shutting down")
        if not curves:
            return np.empty(0), np.empty((0, handle.scorer.config.n_classes))
        future = asyncio.get_running_loop().create_future()
        large = handle.large_rows != handle.rows and len(curves) >= handle.large_rows
        self._pending.append(_Job(handle, curves, np.asarray(periods, float), future, large))
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
            jobs = self._take()
            if jobs:
                await self._execute(jobs)

    async def _execute(self, jobs: list[_Job]) -> None:
        self.metrics.batch_size.observe(sum(len(j.curves) for j in jobs))
        self.metrics.batch_requests.observe(len(jobs))
        groups: dict[tuple[int, bool], list[_Job]] = {}
        for job in jobs:
            groups.setdefault((id(job.handle), job.large), []).append(job)
        for (_, large), group in groups.items():
            handle = group[0].handle
            curves = [c for job in group for c in job.curves]
            periods = np.concatenate([job.periods for job in group])
            rows = handle.large_rows if large else handle.rows
            threads = self.large_pass_threads if large else None
            start = time.perf_counter()
            try:
                ias, probs = await self.model_thread.run(
                    score_in_fixed_passes, handle.scorer, curves, periods, rows, threads=threads
                )
            except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self.metrics.forward_seconds.observe(time.perf_counter() - start)
            offset = 0
            for job in group:
                n = len(job.curves)
                if not job.future.done():
                    job.future.set_result((ias[offset : offset + n], probs[offset : offset + n]))
                offset += n
