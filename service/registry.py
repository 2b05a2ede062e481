"""The model being served, and its atomic replacement by a new version.

A :class:`ModelHandle` is an immutable loaded model (a :class:`lcvade.Scorer`) plus what
the API reports about it.  Every request takes the current handle once, at its start, and
uses only that one; a reload loads and warms the new model completely on the side, then
swaps the registry's reference in one assignment.  Requests already running keep their old
handle and finish on it; the old model is freed, here and in the model worker processes
(:mod:`service.model_workers`), when the last of them is done.  A model that
cannot be read, does not fit its manifest, or gives non-finite scores on the warm-up curves
is refused with :class:`ModelRejected` and the current model keeps serving.

On the CPU the model is loaded row invariant and checked to be so on this machine
(:func:`row_count_matters`): its passes then have as many rows as they have curves.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import lcvade
from lcvade.checkpoint import CheckpointError
from lcvade.lightcurve import LightCurve
from lcvade.scorer import Scorer, resolve_device, resolve_model_path
from models.errors import LCVaDEError
from service.model_workers import ModelSource, ModelWorkerError, ModelWorkers
from service.passes import (
    configure_determinism,
    length_bucket,
    rows_change_scores,
    score_in_passes,
)
from service.schemas import ModelInfo, ModelRef
from service.settings import ServiceSettings

CPU_PASS_ROWS = 32
"""Default most rows of a pass on the CPU, where passes have as many rows as curves."""
CPU_FILLED_PASS_ROWS = 4
"""Default rows of every pass on a CPU whose kernels make scores depend on the row count."""
GPU_PASS_ROWS = 32
"""Default rows of every pass on a GPU: kernels there are chosen by batch size, and a
32-row pass costs about as much as a one-row pass."""
LOGGER = logging.getLogger("lcvade.service")
DIGEST_KEYS = ("data_digest", "training_data_digest", "dataset_digest", "digest")


class ModelRejected(LCVaDEError):
    """A model directory cannot be served; the message says why."""


@dataclass(frozen=True, eq=False)
class ModelHandle:
    """One loaded, warmed-up model (compared and hashed by identity)."""

    scorer: Scorer
    """The service's own copy, on the CPU: description, calibration and reconstructions."""
    key: int
    """The model's key in the model worker processes, which run its passes."""
    device: str
    """Where the model workers run it."""
    path: Path
    loaded_at: str
    load_seconds: float
    rows: int
    """Most rows of a pass; with ``fill_rows``, the rows of every pass."""
    fill_rows: bool
    """Every pass is filled up to ``rows`` rows (the model's scores depend on the row count)."""

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.scorer.name, version=self.scorer.version)

    def info(self) -> ModelInfo:
        manifest = self.scorer.manifest
        training = dict(manifest.training)
        digest = next((str(training[k]) for k in DIGEST_KEYS if k in training), None)
        return ModelInfo(
            name=manifest.name,
            version=manifest.version,
            classes=list(manifest.class_names),
            bands=None if manifest.config.bands is None else list(manifest.config.bands),
            hyperparameters=manifest.config.model_dump(mode="json"),
            calibrated=self.scorer.calibration is not None,
            calibration_size=manifest.calibration_size,
            training=training,
            training_data_digest=digest,
            created=manifest.created,
            code_version=manifest.code_version,
            weights_sha256=manifest.weights_sha256,
            device=self.device,
            pass_rows=self.rows,
            pass_rows_fixed=self.fill_rows,
            loaded_at=self.loaded_at,
        )


def warmup_curves(scorer: Scorer, copies: int = 1) -> list[LightCurve]:
    """Synthetic sinusoids in the model's bands: ``copies`` different ones (by amplitude and
    phase) for every pass length the service can use, shortest length first."""
    config = scorer.config
    lengths = sorted(
        {
            length_bucket(n, config.max_points)
            for n in range(config.min_points, config.max_points + 1)
        }
    )
    bands = config.bands or [None]
    curves = []
    for n in lengths:
        per_band = max(config.min_points, n // len(bands))
        t = np.tile(np.linspace(0.0, 30.0, per_band), len(bands))
        band = None if bands == [None] else np.repeat(np.asarray(bands, dtype=object), per_band)
        for copy in range(copies):
            mag = 15.0 + (0.3 + 0.02 * copy) * np.sin(2 * np.pi * t / 0.7 + 0.37 * copy)
            curves.append(LightCurve(t, mag, np.full(t.size, 0.02), band=band, period=0.7))
    return curves


def read_scorer(settings: ServiceSettings) -> tuple[Scorer, Path]:
    """Load the configured model on the CPU: the service's own copy."""
    try:
        path = resolve_model_path(settings.model)
        scorer = lcvade.load(path, device="cpu", p_value_threshold=settings.p_value_threshold)
    except (CheckpointError, ValueError, RuntimeError, OSError) as exc:
        raise ModelRejected(str(exc)) from exc
    return scorer, path


def warm_up(scorer: Scorer, rows: int, fill_rows: bool) -> None:
    """One pass of every length the service uses; refuses a model with non-finite outputs.

    Runs in a model worker process (it calls the model), as does the function below.
    """
    configure_determinism(scorer.device)
    curves = warmup_curves(scorer)
    periods = [c.period for c in curves]
    try:
        ias, probs = score_in_passes(scorer, curves, periods, rows, fill_rows=fill_rows)
    except (RuntimeError, ValueError) as exc:
        raise ModelRejected(f"the model failed its warm-up forward pass: {exc}") from exc
    if not (np.all(np.isfinite(ias)) and np.all(np.isfinite(probs))):
        raise ModelRejected("the model gives non-finite scores on clean warm-up curves")


def warmup_curves_by_length(scorer: Scorer, copies: int) -> dict[int, list[LightCurve]]:
    """:func:`warmup_curves` grouped by the pass length that scores them."""
    max_points = scorer.config.max_points
    by_length: dict[int, list[LightCurve]] = {}
    for curve in warmup_curves(scorer, copies):
        by_length.setdefault(length_bucket(len(curve), max_points), []).append(curve)
    return by_length


def row_count_matters(scorer: Scorer, rows: int) -> bool:
    """Whether the model's scores here depend on the rows of a pass of up to ``rows`` rows."""
    if not scorer.row_invariant:
        return True
    return rows_change_scores(scorer, warmup_curves_by_length(scorer, copies=rows))


Runner = Callable[..., Awaitable[Any]]
HANDLE_KEYS = itertools.count(1)


async def load_into_workers(
    settings: ServiceSettings, scorer: Scorer, path: Path, workers: ModelWorkers
) -> tuple[int, str, int, bool]:
    """Load the model into every model worker and warm it up there.

    Returns its key, device, the rows of a pass and whether passes are filled to that.
    """
    device = resolve_device(settings.device)
    on_gpu = device.type == "cuda"
    source = ModelSource(
        path=str(path),
        device=str(device),
        p_value_threshold=settings.p_value_threshold,
        row_invariant=not on_gpu,
    )
    key = next(HANDLE_KEYS)
    try:
        digests = await workers.load(key, source)
    except ModelWorkerError as exc:
        raise ModelRejected(f"a model worker could not load the model: {exc}") from exc
    try:
        if any(d != scorer.manifest.weights_sha256 for d in digests):
            raise ModelRejected("the model directory changed while it was being loaded")
        rows = settings.max_batch or (GPU_PASS_ROWS if on_gpu else CPU_PASS_ROWS)
        await workers.run_on_each(key, warm_up, rows, on_gpu)
        fill_rows = on_gpu or await workers.run(0, key, row_count_matters, rows)
    except ModelWorkerError as exc:
        workers.drop(key)
        message = exc.message if exc.kind == ModelRejected.__name__ else str(exc)
        raise ModelRejected(message) from exc
    except BaseException:
        workers.drop(key)
        raise
    if fill_rows and not on_gpu:
        rows = settings.max_batch or CPU_FILLED_PASS_ROWS
        LOGGER.warning(
            "scores on this CPU depend on the number of rows of a pass: every pass is "
            "filled up to %d rows",
            rows,
        )
    return key, str(device), rows, fill_rows


async def build_handle(
    settings: ServiceSettings, in_thread: Runner, workers: ModelWorkers
) -> ModelHandle:
    """Read the model in a worker thread, load and warm it up in the model workers.

    The workers free their copies when the handle is gone (the last request using it done).
    """
    start = time.perf_counter()
    scorer, path = await in_thread(read_scorer, settings)
    key, device, rows, fill_rows = await load_into_workers(settings, scorer, path, workers)
    handle = ModelHandle(
        scorer=scorer,
        key=key,
        device=device,
        path=path,
        loaded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        load_seconds=time.perf_counter() - start,
        rows=rows,
        fill_rows=fill_rows,
    )
    weakref.finalize(handle, workers.drop, key)
    return handle


class ModelRegistry:
    """Holds the current :class:`ModelHandle`; reloads are serialised and atomic."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._current: ModelHandle | None = None
        self._reload_lock = asyncio.Lock()
        self.on_swap: list[Callable[[ModelHandle], None]] = []

    @property
    def ready(self) -> bool:
        return self._current is not None

    @property
    def current(self) -> ModelHandle:
        handle = self._current
        if handle is None:
            raise RuntimeError("no model is loaded yet")
        return handle

    def _install(self, handle: ModelHandle) -> None:
        self._current = handle
        for callback in self.on_swap:
            callback(handle)

    async def load_initial(self, in_thread: Runner, workers: ModelWorkers) -> ModelHandle:
        handle = await build_handle(self.settings, in_thread, workers)
        self._install(handle)
        return handle

    async def reload(
        self, in_thread: Runner, workers: ModelWorkers
    ) -> tuple[ModelHandle, ModelHandle]:
        """Load the model directory again and swap it in; returns (previous, new).

        Raises :class:`ModelRejected` (and keeps the current model) when the new one fails.
        """
        async with self._reload_lock:
            previous = self.current
            handle = await build_handle(self.settings, in_thread, workers)
            self._install(handle)
            return previous, handle
