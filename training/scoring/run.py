"""A batch-scoring run: inputs staged into buckets, each bucket scored into one output part.

``run_scoring(inputs, model, out)`` is what ``lcvade score`` does:

1. find the inputs (:mod:`training.scoring.inputs`) and decide the number of parts K, about
   ``objects / chunk_size``; record inputs, model and settings in ``OUT/_run.json``;
2. stage every row into bucket ``hash(object_id) mod K`` (:mod:`training.scoring.staging`), so each
   part holds whole objects and memory is bounded by the chunk size, not the input size;
3. score each bucket not yet finished -- here, or on a Dask cluster
   (:mod:`training.scoring.dask_run`) -- into ``OUT/part-XXXXX.parquet``
   (:mod:`training.scoring.results`, :mod:`training.scoring.output`);
4. set ``is_anomaly`` over the whole run (threshold or Benjamini-Hochberg), write
   ``_SUCCESS``, and assemble a single-file output if one was asked for.

A rerun with the same inputs, model and settings skips the parts that exist; a rerun with
different ones is refused rather than mixing two runs in one output.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from lcvade.calibration import AnomalyRule
from lcvade.checkpoint import read_manifest
from lcvade.process_memory import limit_heap_growth
from lcvade.scorer import load, resolve_model_path
from models.atomic_files import write_json_atomic
from models.errors import LCVaDEError
from training.scoring.inputs import InputSource, discover_inputs, estimate_objects, read_objects
from training.scoring.job import PartTask, ScoreJobConfig, score_part
from training.scoring.output import (
    SUCCESS_FILE,
    apply_anomaly_rule,
    assemble,
    finished_parts,
    is_single_file,
    note_new_parts,
    read_json,
    record_rule,
    summarize,
)
from training.scoring.results import Progress, result_schema
from training.scoring.staging import StagingWriter, staging_summary

RUN_FILE = "_run.json"
RUN_FORMAT = "lcvade-scores/1"
STAGING_DIR = "_staging"


class ScoreRunError(LCVaDEError):
    """A run cannot start or continue; the message says what to do."""


@dataclass(frozen=True)
class RunSummary:
    """The outcome of :func:`run_scoring`."""

    out: Path
    parts: int
    parts_scored: int
    rows: int
    ok: int
    rejected: int
    anomalies: int
    anomaly_rule: dict[str, Any]
    seconds: float
    staging_seconds: float = 0.0


def _score_here(
    model_dir: Path,
    tasks: Sequence[PartTask],
    config: ScoreJobConfig,
    progress: Progress,
    on_part: Callable[[dict[str, int]], None] | None,
) -> None:
    """Score the parts one after the other in this process."""
    import torch

    scorer = load(
        model_dir,
        device=config.device,
        p_value_threshold=config.p_value_threshold,
        batch_size=config.batch_size,
    )
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)  # the period search uses every core anyway
    try:
        for task in tasks:
            done = score_part(scorer, task, progress=progress)
            if on_part is not None:
                on_part(done)
    finally:
        torch.set_num_threads(threads)


def _fingerprint_objects(path: str | Path | None) -> dict[str, object] | None:
    return None if path is None else InputSource(Path(path), "table").fingerprint()


def _stage(
    sources: Sequence[InputSource],
    objects: str | Path | None,
    directory: Path,
    n_parts: int,
    config: ScoreJobConfig,
    progress: bool,
) -> dict[str, Any]:
    writer = StagingWriter(directory, n_parts, config.staging_buffer_rows)
    bar = tqdm(total=len(sources), unit="input", desc="staging", disable=not progress)
    with bar:
        for source in sources:
            for frame in source.frames(config.staging_buffer_rows, config.band_map, config.cuts):
                writer.add_photometry(frame)
            bar.update(1)
        if objects is not None:
            for frame in read_objects(objects, config.staging_buffer_rows):
                writer.add_objects(frame)
    return writer.close()


def _open_run_directory(
    directory: Path,
    identity: dict[str, Any],
    plan_parts: Callable[[], int],
    scored_rule: dict[str, float],
) -> int:
    """Create or check ``directory``; returns the number of parts of the run."""
    run = read_json(directory / RUN_FILE)
    if run is None:
        if directory.exists() and any(directory.iterdir()):
            raise ScoreRunError(
                f"{directory} exists and is not an lcvade score directory; choose another --out"
            )
        directory.mkdir(parents=True, exist_ok=True)
        n_parts = plan_parts()
        record_rule(directory, scored_rule, p_value_threshold=scored_rule["p_below"])
        write_json_atomic(directory / RUN_FILE, {**identity, "n_parts": n_parts})
        return n_parts
    changed = [key for key, value in identity.items() if run.get(key) != value]
    if changed:
        raise ScoreRunError(
            f"{directory} holds a run with different {', '.join(changed)}; pass --overwrite "
            "to start again, or choose another --out"
        )
    return int(run["n_parts"])


def _clear(directory: Path, out: Path | None) -> None:
    if directory.exists():
        if not (directory / RUN_FILE).is_file() and any(directory.iterdir()):
            raise ScoreRunError(
                f"{directory} is not an lcvade score directory; refusing to delete it"
            )
        shutil.rmtree(directory)
    if out is not None and out.exists():
        out.unlink()


def run_scoring(
    inputs: Sequence[str | Path],
    model: str | Path,
    out: str | Path,
    *,
    objects: str | Path | None = None,
    config: ScoreJobConfig | None = None,
    client: Any = None,
    overwrite: bool = False,
    progress: bool = True,
    on_part: Callable[[dict[str, int]], None] | None = None,
) -> RunSummary:
    """Score every object of ``inputs`` with ``model`` into ``out`` (see the module docstring).

    ``out`` ending in ``.parquet``/``.csv``/``.csv.gz`` is one file (parts are kept beside
    it in ``OUT.parts/`` until it is assembled); anything else is a directory of parts.
    ``client`` is an existing ``distributed.Client`` to run on (instead of
    ``config.scheduler``); ``on_part`` is called after each part is written.
    """
    started = time.perf_counter()
    limit_heap_growth()
    config = config or ScoreJobConfig()
    out = Path(out)
    single = is_single_file(out)
    directory = out.with_name(out.name + ".parts") if single else out
    sources = discover_inputs(inputs)
    model_dir = resolve_model_path(model)
    manifest = read_manifest(model_dir)
    if config.fdr is not None and manifest.calibration_size == 0:
        raise ScoreRunError(
            f"--fdr needs p-values, but the model {model_dir} has no IAS calibration"
        )
    if overwrite:
        _clear(directory, out if single else None)
    elif single and out.exists() and not directory.exists():
        raise ScoreRunError(f"{out} already exists; remove it or pass --overwrite")
    identity = {
        "format": RUN_FORMAT,
        "inputs": [s.fingerprint() for s in sources],
        "objects": _fingerprint_objects(objects),
        "model": {
            "name": manifest.name,
            "version": manifest.version,
            "weights_sha256": manifest.weights_sha256,
        },
        "settings": config.part_settings(),
    }

    def plan_parts() -> int:
        rows = config.staging_buffer_rows
        estimate = estimate_objects(sources, rows)
        if objects is not None:
            objects_table = InputSource(Path(objects), "table")
            estimate = max(estimate, objects_table.estimated_objects(rows))
        return max(1, math.ceil(estimate / config.chunk_size))

    scored_rule = AnomalyRule(config.p_value_threshold).record()
    n_parts = _open_run_directory(directory, identity, plan_parts, scored_rule)
    staging = directory / STAGING_DIR
    todo = sorted(set(range(n_parts)) - finished_parts(directory))
    staging_seconds = 0.0
    if todo:
        note_new_parts(directory, scored_rule)
        (directory / SUCCESS_FILE).unlink(missing_ok=True)
        staging_started = time.perf_counter()
        staged = staging_summary(staging) or _stage(
            sources, objects, staging, n_parts, config, progress
        )
        staging_seconds = time.perf_counter() - staging_started
        # largest parts first: on a cluster the last tasks to finish are then the small ones
        order = sorted(todo, key=lambda j: -staged["objects"][j])
        tasks = [
            PartTask(
                j,
                str(staging.resolve()),
                str(directory.resolve()),
                config.policy,
                config.batch_size,
                staged["objects"][j],
                tuple(sorted(config.band_map.items())),
            )
            for j in order
        ]
        total = sum(staged["objects"][j] for j in todo)
        with tqdm(total=total, unit="obj", desc="scoring", disable=not progress) as bar:
            if client is None and config.scheduler == "none":
                _score_here(model_dir, tasks, config, bar.update, on_part)
            else:
                from training.scoring.dask_run import dask_client, score_parts_on_dask

                def finished(done: dict[str, int]) -> None:
                    bar.update(staged["objects"][done["part"]])
                    if on_part is not None:
                        on_part(done)

                with dask_client(config.scheduler, config.workers, client) as dask:
                    score_parts_on_dask(dask, model_dir, manifest, tasks, config, finished)

    rule = apply_anomaly_rule(
        directory, n_parts, AnomalyRule(config.p_value_threshold, config.fdr).record()
    )
    totals = summarize(directory, n_parts)
    seconds = time.perf_counter() - started
    write_json_atomic(
        directory / SUCCESS_FILE,
        {
            **totals,
            "parts": n_parts,
            "parts_scored": len(todo),
            "anomaly_rule": rule,
            "seconds": seconds,
        },
    )
    shutil.rmtree(staging, ignore_errors=True)
    if single:
        assemble(directory, n_parts, out, result_schema(manifest.class_names))
        shutil.rmtree(directory)
    return RunSummary(
        out=out,
        parts=n_parts,
        parts_scored=len(todo),
        anomaly_rule=rule,
        seconds=seconds,
        staging_seconds=staging_seconds,
        **totals,
    )
