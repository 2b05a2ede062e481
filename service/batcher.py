"""Micro-batching: concurrent requests share forward passes, run off the event loop.

Requests submit their prepared curves (validated, periods resolved) as one job, whose
curves join the queue of their model and length bucket (:mod:`service.passes`).  A single
loop task waits until a model worker is free, picks the queue whose first curve has waited
longest, lets it fill for up to ``max_wait_ms`` (by default 0: no wait; curves that arrive
while the workers are busy are coalesced into the next pass) or until it holds a full pass,
and hands the worker one pass of up to ``max_batch`` curves from it.  A pass is formed only
when a worker can run it, so it holds everything that has arrived by then; a job is answered
when the last of its curves is scored.

The workers are processes that make every model call (:mod:`service.model_workers`), so the
event loop never blocks on the model nor shares the interpreter lock with it.  On the CPU
there is one per core, each running its passes on one intra-op thread: passes of tens of
rows scale far better across cores side by side than split inside one pass.  Every pass has
a length fixed by its curves and a fixed thread count, and its row count either does not
matter (a row-invariant model) or is fixed, so which worker runs it and what the other rows
hold never change a curve's result: results are bit-for-bit those of scoring the request
alone.  Jobs of different model versions (during a reload) are
scored by their own model.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence

import numpy as np

from lcvade.lightcurve import LightCurve
from service.errors import ServiceError
from service.metrics import ServiceMetrics
from service.model_workers import ModelWorkerLost, ModelWorkers
from service.passes import length_bucket, rows_of_pass, score_pass
from service.registry import ModelHandle


class _Job:
    """One request's curves and their results as the passes that score them end."""

    def __init__(self, curves: Sequence[LightCurve], periods: np.ndarray, n_classes: int):
        self.curves = curves
        self.periods = periods
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.arrived = time.monotonic()
        self.ias = np.empty(len(curves))
        self.probs = np.empty((len(curves), n_classes))
        self.left = len(curves)

    def done(self, index: int, ias: float, probs: np.ndarray) -> None:
        self.ias[index] = ias
        self.probs[index] = probs
        self.left -= 1
        if self.left == 0 and not self.future.done():
            self.future.set_result((self.ias, self.probs))

    def fail(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


Entry = tuple[_Job, int]
"""A pending curve: its job and its index there."""


class BatcherClosed(RuntimeError):
    """The service is shutting down and takes no new work."""


class MicroBatcher:
    """Coalesces the curves of concurrent requests into shared forward passes; see the
    module docstring."""

    def __init__(
        self,
        model_workers: ModelWorkers,
        metrics: ServiceMetrics,
        *,
        max_wait_ms: float,
    ) -> None:
        self.model_workers = model_workers
        self.metrics = metrics
        self.max_wait = max_wait_ms / 1000.0
        # (model handle, bucket length) -> curves waiting, oldest first.
        self._queues: dict[tuple[ModelHandle, int], deque[Entry]] = {}
        self._arrival = asyncio.Event()
        self._free_workers: asyncio.Queue[int] = asyncio.Queue()
        for worker in range(model_workers.workers):
            self._free_workers.put_nowait(worker)
        self._running: set[asyncio.Task] = set()
        self._closing = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        """Finish every pending curve, then end the loop."""
        self._closing = True
        self._arrival.set()
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
        n_classes = handle.scorer.config.n_classes
        if not curves:
            return np.empty(0), np.empty((0, n_classes))
        job = _Job(curves, np.asarray(periods, float), n_classes)
        max_points = handle.scorer.config.max_points
        for i, curve in enumerate(curves):
            key = (handle, length_bucket(len(curve), max_points))
            self._queues.setdefault(key, deque()).append((job, i))
        self._arrival.set()
        return await job.future

    def _oldest_queue(self) -> tuple[ModelHandle, int] | None:
        """The queue whose first live curve has waited longest; drops given-up curves."""
        oldest, since = None, float("inf")
        for key, queue in list(self._queues.items()):
            while queue and queue[0][0].future.done():  # the request gave up
                queue.popleft()
            if not queue:
                del self._queues[key]
            elif queue[0][0].arrived < since:
                oldest, since = key, queue[0][0].arrived
        return oldest

    async def _fill(self, key: tuple[ModelHandle, int]) -> None:
        """Wait until the queue holds a full pass or its first curve is ``max_wait`` old."""
        rows = key[0].rows
        while not self._closing and len(self._queues.get(key, ())) < rows:
            left = self._queues[key][0][0].arrived + self.max_wait - time.monotonic()
            if left <= 0:
                return
            self._arrival.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrival.wait(), left)

    def _take(self, key: tuple[ModelHandle, int]) -> list[Entry]:
        queue = self._queues.get(key, deque())
        entries: list[Entry] = []
        while queue and len(entries) < key[0].rows:
            entry = queue.popleft()
            if not entry[0].future.done():
                entries.append(entry)
        if not queue:
            self._queues.pop(key, None)
        return entries

    async def _run(self) -> None:
        while True:
            key = self._oldest_queue()
            if key is None:
                if self._closing:
                    return
                self._arrival.clear()
                await self._arrival.wait()
                continue
            # Form the pass only once a worker is free: what arrives meanwhile joins it.
            worker = await self._free_workers.get()
            if self.max_wait > 0:
                await self._fill(key)
            entries = self._take(key)
            if not entries:
                self._free_workers.put_nowait(worker)
                continue
            task = asyncio.get_running_loop().create_task(self._pass(worker, key, entries))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _pass(self, worker: int, key: tuple[ModelHandle, int], entries: list[Entry]) -> None:
        """One forward pass on ``worker``; frees the worker at the end."""
        handle, length = key
        self.metrics.batch_size.observe(len(entries))
        self.metrics.batch_requests.observe(len({id(job) for job, _ in entries}))
        rows = rows_of_pass(len(entries), handle.rows, handle.fill_rows)
        try:
            start = time.perf_counter()
            ias, probs = await self.model_workers.run(
                worker,
                handle.key,
                score_pass,
                [job.curves[i] for job, i in entries],
                [job.periods[i] for job, i in entries],
                rows,
                length,
            )
            self.metrics.forward_seconds.observe(time.perf_counter() - start)
            for k, (job, i) in enumerate(entries):
                job.done(i, ias[k], probs[k])
        except ModelWorkerLost as exc:
            lost = ServiceError(503, "model_worker_lost", f"{exc}: send the request again")
            for job, _ in entries:
                job.fail(lost)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            for job, _ in entries:
                job.fail(exc)
        finally:
            self._free_workers.put_nowait(worker)
