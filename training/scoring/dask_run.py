"""Batch scoring on a Dask ``distributed`` cluster: one task per output part.

The model is loaded once per worker by a :class:`ScorerPlugin` (registered under a name made
from the model's weights digest and the scoring settings, so a worker that already holds the
model keeps it), never once per task.  Each worker runs one task at a time on one thread,
with PyTorch and the period search on one thread too, so N workers use N cores without
oversubscription.  A task reads its staged bucket and writes its part itself: the client only
schedules, and the output and staging directories must be on a file system the workers see
(always true for ``--scheduler local``; for a remote cluster, a shared file system).

The tasks run :func:`training.scoring.job.score_part`, the function the single-process run
uses, on the same buckets, so the rows and scores are the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from lcvade.checkpoint import Manifest
from lcvade.process_memory import limit_heap_growth
from lcvade.scorer import load
from training.scoring.job import PartTask, ScoreJobConfig, score_part


class ScorerPlugin(WorkerPlugin):
    """Loads the model into every worker once and keeps it there."""

    idempotent = True

    def __init__(
        self, model_dir: str, device: str, p_value_threshold: float, batch_size: int
    ) -> None:
        self.model_dir = model_dir
        self.device = device
        self.p_value_threshold = p_value_threshold
        self.batch_size = batch_size
        self.scorer = None
        self.loads = 0

    def setup(self, worker: Any) -> None:
        import torch

        limit_heap_growth()
        torch.set_num_threads(1)
        self.scorer = load(
            self.model_dir,
            device=self.device,
            p_value_threshold=self.p_value_threshold,
            batch_size=self.batch_size,
        )
        self.loads += 1


def plugin_name(manifest: Manifest, config: ScoreJobConfig) -> str:
    """The plugin name of a model and scoring settings."""
    return (
        f"lcvade-scorer-{manifest.weights_sha256[:16]}-{config.device}-"
        f"{config.p_value_threshold:g}-{config.batch_size}"
    )


def _score_part_on_worker(name: str, task: PartTask) -> dict[str, Any]:
    worker = get_worker()
    plugin = worker.plugins[name]
    done = score_part(plugin.scorer, task, n_jobs=1)
    return {**done, "worker": worker.address, "worker_model_loads": plugin.loads}


@contextmanager
def dask_client(scheduler: str, workers: int, client: Client | None = None) -> Iterator[Client]:
    """A client: ``client`` itself, a new LocalCluster (``"local"``), or one at an address.

    Clusters and clients opened here are closed on exit; a given ``client`` is left open.
    """
    if client is not None:
        yield client
        return
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster) as local:
            yield local
        return
    if scheduler in ("", "none"):
        raise ValueError("Dask scoring needs --scheduler local or a scheduler address")
    with Client(scheduler, timeout="30s") as remote:
        yield remote


def score_parts_on_dask(
    client: Client,
    model_dir: str | Path,
    manifest: Manifest,
    tasks: Sequence[PartTask],
    config: ScoreJobConfig,
    on_done: Callable[[dict[str, int]], None],
) -> None:
    """Run one task per part on ``client``'s cluster; ``on_done`` gets each finished part."""
    name = plugin_name(manifest, config)
    plugin = ScorerPlugin(
        str(Path(model_dir).resolve()), config.device, config.p_value_threshold, config.batch_size
    )
    client.register_plugin(plugin, name=name)
    futures = [
        client.submit(
            _score_part_on_worker,
            name,
            task,
            key=f"lcvade-part-{task.part}-{id(task)}",
            priority=task.n_objects,  # larger parts first, for an even finish
            pure=False,
        )
        for task in tasks
    ]
    for future in as_completed(futures):
        on_done(future.result())
