"""Model workers: the processes that run every forward pass, each with its own interpreter.

Run as threads of the service's process, forward passes share the interpreter lock with the
event loop: a pass is a few hundred tensor operations, and after each one the worker thread
must take the lock back, waiting for whatever the event loop is doing.  Under load the passes
then took about twice their time alone while a quarter of the machine sat idle.  A worker
process has an interpreter of its own, so its passes compete with nothing but the CPU.

Every worker process holds the models it was told to load, each under the key of a
:class:`service.registry.ModelHandle`, read by the process itself from the model directory
(the weights' digest is compared with the service's own copy).  The service talks to a worker
over a pipe, one call at a time, from a thread of its own that waits on the pipe with the
interpreter lock released.  A call names a module-level function, which the worker applies
to the model of the given key: ``fn(scorer, *args)``.

A worker process that dies (killed, out of memory) is replaced by a new one, which loads the
models again, and the call it was running is made again there; a call that loses its worker
twice in a row fails with :class:`ModelWorkerLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

STOP_TIMEOUT_S = 10.0


class ModelWorkerLost(RuntimeError):
    """A model worker process ended while it ran a call."""


class ModelWorkerError(RuntimeError):
    """A call raised inside a model worker process: the exception's class name and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class ModelSource:
    """How a worker process loads a model: :func:`lcvade.load` with these arguments."""

    path: str
    device: str
    p_value_threshold: float
    row_invariant: bool

    def load(self):
        import lcvade

        return lcvade.load(
            self.path,
            device=self.device,
            p_value_threshold=self.p_value_threshold,
            row_invariant=self.row_invariant,
        )


def _serve(conn, intra_op_threads: int) -> None:
    """The loop of a worker process: one message in, one answer out, until told to stop."""
    import torch

    # The service decides when its workers stop (after the passes in flight): a Ctrl-C or a
    # SIGTERM sent to the whole process group must not end them first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    torch.set_num_threads(intra_op_threads)
    scorers: dict[int, Any] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the service is gone
            return
        if message is None:
            return
        kind, key, payload = message
        try:
            if kind == "load":
                scorers[key] = payload.load()
                result = scorers[key].manifest.weights_sha256
            elif kind == "drop":
                result = scorers.pop(key, None) is not None
            else:
                fn, args = payload
                result = fn(scorers[key], *args)
        except Exception as exc:  # noqa: BLE001 - reported to the service
            conn.send(("error", (type(exc).__name__, str(exc))))
        else:
            conn.send(("ok", result))


class _Worker:
    """One worker process and the thread of the service that talks to it."""

    def __init__(self, index: int, intra_op_threads: int, models: dict[int, ModelSource]):
        self.index = index
        self.intra_op_threads = intra_op_threads
        self.models = models  # shared with the other workers: what every process must hold
        self.thread = ThreadPoolExecutor(1, thread_name_prefix=f"lcvade-model-{index}")
        self.process = None
        self.conn = None

    # Everything below runs on ``self.thread``.
    def call(self, message: tuple) -> Any:
        """Send ``message`` and return the answer.

        A process found dead, before or during the call, is replaced and the call made once
        more (every call is a pure function of its arguments); a second loss is raised.
        """
        if self.process is None or not self.process.is_alive():
            self._start()
        try:
            return self._exchange(message)
        except ModelWorkerLost:
            self._start()
            return self._exchange(message)

    def _start(self) -> None:
        self._discard()
        context = multiprocessing.get_context("spawn")
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child_end, self.intra_op_threads),
            name=f"lcvade-model-{self.index}",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        for key, source in list(self.models.items()):
            self._exchange(("load", key, source))

    def _exchange(self, message: tuple) -> Any:
        try:
            self.conn.send(message)
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            self._discard()
            raise ModelWorkerLost(
                f"model worker {self.index} stopped during a call, twice in a row; it is "
                "started again on the next one"
            ) from exc
        if status == "error":
            raise ModelWorkerError(*value)
        return value

    def _discard(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.process is not None:
            self.process.join(timeout=0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self.process = self.conn = None

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(STOP_TIMEOUT_S)
        self._discard()


class ModelWorkers:
    """``workers`` model worker processes, each running its passes on ``intra_op_threads``."""

    def __init__(self, workers: int = 1, intra_op_threads: int = 1) -> None:
        self._models: dict[int, ModelSource] = {}
        self._workers = [_Worker(i, intra_op_threads, self._models) for i in range(workers)]
        self._stopped = False

    @property
    def workers(self) -> int:
        return len(self._workers)

    def pids(self) -> list[int | None]:
        """The process id of every worker (None: not started, or ended)."""
        return [
            w.process.pid if w.process is not None and w.process.is_alive() else None
            for w in self._workers
        ]

    async def _call(self, worker: int, message: tuple) -> Any:
        target = self._workers[worker]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(target.thread, target.call, message)

    async def run(self, worker: int, key: int, fn: Callable[..., T], *args: Any) -> T:
        """``fn(model, *args)`` on worker ``worker``, with the model loaded under ``key``."""
        return await self._call(worker, ("run", key, (fn, args)))

    async def run_on_each(self, key: int, fn: Callable[..., T], *args: Any) -> list[T]:
        """``fn(model, *args)`` on every worker."""
        return await asyncio.gather(*(self.run(w, key, fn, *args) for w in range(self.workers)))

    async def load(self, key: int, source: ModelSource) -> list[str]:
        """Load a model into every worker under ``key``; the weights' digest of each."""
        self._models[key] = source  # a worker started meanwhile loads it too
        try:
            return await asyncio.gather(
                *(self._call(w, ("load", key, source)) for w in range(self.workers))
            )
        except BaseException:
            self.drop(key)
            raise

    def drop(self, key: int) -> None:
        """Free the model of ``key`` in every worker, after the calls already queued."""
        if self._models.pop(key, None) is None or self._stopped:
            return
        for worker in self._workers:
            worker.thread.submit(_drop_quietly, worker, key)

    def shutdown(self) -> None:
        """Stop every process once its queued calls are done."""
        self._stopped = True
        for worker in self._workers:
            worker.thread.submit(worker.stop)
            worker.thread.shutdown(wait=True)


def _drop_quietly(worker: _Worker, key: int) -> None:
    if worker.process is not None and worker.process.is_alive():
        # A process that failed meanwhile is replaced by one that never loads ``key``.
        with contextlib.suppress(ModelWorkerLost, ModelWorkerError):
            worker.call(("drop", key, None))
