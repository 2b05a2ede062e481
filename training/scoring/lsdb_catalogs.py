"""Scoring LSDB catalogs whose light curves are nested-pandas columns (Rubin's catalog stack).

In an LSDB catalog (HATS-partitioned by sky position) each row is an object and its light
curve is a *nested* column: per row, a small frame of observations.  The function
:func:`score_nested_partition` scores one partition -- a ``nested_pandas.NestedFrame`` -- and
returns one result row per object, with the index and the coordinates of the partition, so
``catalog.map_partitions(score_nested_partition, ...)`` (or :func:`score_catalog`) yields a
catalog of scores aligned with the input.  Objects are prepared and scored exactly as by
``lcvade score`` (:func:`training.scoring.results.score_rows`): same band policies, same
columns, rejected objects reported with their reason.

The model is loaded once per process (a worker of whatever Dask scheduler runs the catalog)
and kept for the following partitions.  Dask already runs partitions in parallel, so PyTorch
is set to ``torch_threads`` threads (default 1) in the process when the model is loaded.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lcvade.calibration import DEFAULT_P_VALUE_THRESHOLD
from lcvade.process_memory import limit_heap_growth
from lcvade.scorer import Scorer, load, resolve_model_path
from training.scoring.curves import BandPolicy
from training.scoring.inputs import map_bands
from training.scoring.photometry_rows import photometry_frame
from training.scoring.results import result_schema, results_to_pandas, score_rows

DEFAULT_FIELDS = {"time": "time", "mag": "mag", "mag_err": "mag_err", "band": "band"}


@functools.lru_cache(maxsize=4)
def cached_scorer(
    model: str,
    device: str = "auto",
    p_value_threshold: float = DEFAULT_P_VALUE_THRESHOLD,
    batch_size: int = 256,
    torch_threads: int | None = 1,
) -> Scorer:
    """The scorer of ``model``, loaded on the first call in this process only."""
    limit_heap_growth()
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    return load(model, device=device, p_value_threshold=p_value_threshold, batch_size=batch_size)


def _object_ids(partition: pd.DataFrame, id_column: str | None) -> np.ndarray:
    values = partition.index if id_column is None else partition[id_column]
    return np.asarray([str(v) for v in values], dtype=object)


def score_nested_partition(
    partition: pd.DataFrame,
    model: str | os.PathLike[str] = "default",
    *,
    lc_column: str = "lc",
    id_column: str | None = None,
    period_column: str | None = None,
    fields: Mapping[str, str] | None = None,
    keep_columns: tuple[str, ...] = ("ra", "dec"),
    band_map: Mapping[str, str] | None = None,
    policy: BandPolicy = BandPolicy(),
    device: str = "auto",
    p_value_threshold: float = DEFAULT_P_VALUE_THRESHOLD,
    batch_size: int = 256,
    n_jobs: int | None = 1,
    torch_threads: int | None = 1,
) -> pd.DataFrame:
    """Score every object (row) of a nested partition; one result row per input row.

    ``lc_column`` is the nested column of observations, whose sub-columns are named by
    ``fields`` (keys ``time``, ``mag``, ``mag_err`` and optionally ``band``; default: those
    names).  ``id_column`` gives the ``object_id`` (default: the index), ``period_column``
    known periods (missing or non-positive: searched).  ``keep_columns`` present in the
    partition (by default the coordinates LSDB needs) are copied to the result.
    """
    names = {**DEFAULT_FIELDS, **(fields or {})}
    scorer = cached_scorer(
        str(resolve_model_path(model)), device, p_value_threshold, batch_size, torch_threads
    )
    n = len(partition)
    positions = np.arange(n).astype(str).astype(object)
    if n and lc_column not in partition.columns:
        raise KeyError(f"the partition has no nested column {lc_column!r}")
    if n:
        nested = partition[lc_column]
        lengths = np.asarray(nested.nest.len(), dtype=np.int64)
        flat = nested.nest.to_flat()
        missing = [names[k] for k in ("time", "mag", "mag_err") if names[k] not in flat.columns]
        if missing:
            raise KeyError(
                f"the nested column {lc_column!r} lacks {missing}; map its sub-columns with "
                f"fields={{'time': ..., 'mag': ..., 'mag_err': ...}} (it has {list(flat.columns)})"
            )
        band = flat[names["band"]].to_numpy(dtype=object) if names["band"] in flat else None
        if band is not None and band_map:
            band = map_bands(band, band_map)
        photometry = photometry_frame(
            np.repeat(positions, lengths),
            flat[names["time"]].to_numpy(dtype=np.float64, na_value=np.nan),
            flat[names["mag"]].to_numpy(dtype=np.float64, na_value=np.nan),
            flat[names["mag_err"]].to_numpy(dtype=np.float64, na_value=np.nan),
            band,
        )
    else:
        photometry = photometry_frame([], [], [], [])
    periods = (
        pd.to_numeric(partition[period_column], errors="coerce").to_numpy(dtype=np.float64)
        if period_column is not None
        else np.full(n, np.nan)
    )
    objects = pd.DataFrame({"object_id": positions, "period": periods})
    table = score_rows(
        scorer,
        photometry,
        objects,
        policy,
        n_jobs=n_jobs,
        batch_size=batch_size,
        band_map=band_map,
    )
    results = results_to_pandas(table)
    results.index = results["object_id"].astype(int).to_numpy()
    results = results.sort_index()
    results["object_id"] = _object_ids(partition, id_column)
    results.index = partition.index
    kept = [c for c in keep_columns if c in partition.columns]
    return pd.concat([partition[kept], results], axis=1)


def result_meta(model: str | os.PathLike[str], partition_meta: pd.DataFrame, **kwargs: Any):
    """The empty frame describing :func:`score_nested_partition`'s output (Dask ``meta``)."""
    from lcvade.checkpoint import read_manifest

    manifest = read_manifest(resolve_model_path(model))
    empty = results_to_pandas(result_schema(manifest.class_names).empty_table())
    keep = [c for c in kwargs.get("keep_columns", ("ra", "dec")) if c in partition_meta.columns]
    empty.index = partition_meta.index[:0]
    return pd.concat([partition_meta[keep].iloc[:0], empty], axis=1)


def score_catalog(catalog: Any, model: str | os.PathLike[str] = "default", **kwargs: Any) -> Any:
    """A lazy LSDB catalog of scores: ``catalog.map_partitions(score_nested_partition)``.

    ``kwargs`` go to :func:`score_nested_partition`; compute the result (``.compute()``) or
    write it (``.to_hats(path)``) to run it on the active Dask scheduler.
    """
    model_path = str(Path(resolve_model_path(model)).resolve())
    meta = result_meta(model_path, catalog.meta, **kwargs)
    return catalog.map_partitions(score_nested_partition, model_path, meta=meta, **kwargs)
