"""Scoring a group of objects into result rows: one row per object, scored or rejected.

The row of a scored object carries what :meth:`lcvade.scorer.Scorer.score` computes -- the
period used (given, or estimated by the Lomb-Scargle search of :mod:`lcvade.period`), the IAS
of thesis eq. 9.12 and ``anomaly_score = -IAS``, its calibrated percentile and p-value, the
class posteriors q(y|z,f) -- and ``status = "ok"``.  An object that cannot be scored gets a
row with ``status = "rejected"`` and the ``reason``: rows in equal rows out.  ``notes``
says what was set aside on the way (skipped points, dropped bands), for either status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from lcvade.batching import bands_read, collate
from lcvade.explanation import LATENT_TERM
from lcvade.lightcurve import LightCurve
from lcvade.period_resolution import resolve_periods
from lcvade.process_memory import release_memory
from lcvade.scorer import Scorer, ScoreResult
from training.scoring.curves import BandPolicy, PreparedObject, prepare_objects

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"
LEADING_COLUMNS = [
    ("object_id", pa.string()),
    ("n_points", pa.int64()),
    ("bands", pa.string()),
    ("period", pa.float64()),
    ("period_source", pa.string()),
    ("period_method", pa.string()),
    ("period_confidence", pa.float64()),
    ("ias", pa.float64()),
    ("anomaly_score", pa.float64()),
    ("percentile", pa.float64()),
    ("p_value", pa.float64()),
    ("is_anomaly", pa.bool_()),
    ("predicted_class", pa.string()),
]
# why each object scored as it did (lcvade.explanation) and which of its bands was read
EXPLANATION_COLUMNS = [
    ("bands_read", pa.string()),
    ("closest_class", pa.string()),
    ("dominant_term", pa.string()),
    ("term_latent", pa.float64()),
    ("term_features", pa.float64()),
    ("period_deviation", pa.float64()),
    ("amplitude_deviation", pa.float64()),
    ("explanation", pa.string()),
]
TRAILING_COLUMNS = [("status", pa.string()), ("reason", pa.string()), ("notes", pa.string())]

Progress = Callable[[int], None]


def probability_column(class_name: str) -> str:
    """The result column holding q(y = class_name | z, f)."""
    return f"prob_{class_name}"


def result_schema(class_names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of the result rows of a model with these classes."""
    probabilities = [(probability_column(c), pa.float64()) for c in class_names]
    return pa.schema(LEADING_COLUMNS + probabilities + EXPLANATION_COLUMNS + TRAILING_COLUMNS)


def results_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Result rows as a DataFrame; ``is_anomaly`` is a nullable boolean column."""
    return table.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)


def read_as_sent(
    curve: LightCurve, scorer: Scorer, band_map: Mapping[str, str] | None
) -> dict[str, str]:
    """The curve's bands the model reads, named as in the input before ``band_map``."""
    inverse: dict[str, list[str]] = {}
    for source, target in (band_map or {}).items():
        inverse.setdefault(target, []).append(source)
    read = bands_read(curve.bands, scorer.config)
    return {"/".join(sorted(inverse.get(n, [n]))): model for n, model in read.items()}


def explanation_cells(result: ScoreResult) -> dict[str, object]:
    """The explanation columns of one scored row."""
    e = result.explanation
    cells: dict[str, object] = {
        "bands_read": ", ".join(
            name if name == model else f"{name} as {model}"
            for name, model in (result.bands_read or {}).items()
        )
    }
    if e is None:
        return cells
    return cells | {
        "closest_class": e.closest_class,
        "dominant_term": e.dominant_term,
        "term_latent": e.terms[LATENT_TERM],
        "term_features": sum(v for k, v in e.terms.items() if k != LATENT_TERM),
        "period_deviation": e.period_deviation,
        "amplitude_deviation": e.amplitude_deviation,
        "explanation": e.summary,
    }


def _score_curves(
    scorer: Scorer,
    curves: Sequence[LightCurve],
    periods: np.ndarray,
    batch_size: int,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """IAS and q(y|z,f) per curve; a batch that fails is retried curve by curve.

    Curves are batched in order of (kept length, id): batches need little padding, and which
    curves share a batch -- which moves float32 scores in their last digits -- depends only
    on the set of curves, not on the order in which they were read.
    """
    n_classes = scorer.config.n_classes
    max_points = scorer.config.max_points
    ias = np.full(len(curves), np.nan)
    probs = np.full((len(curves), n_classes), np.nan)
    failures: dict[int, str] = {}
    order = sorted(
        range(len(curves)), key=lambda i: (min(len(curves[i]), max_points), curves[i].id or "")
    )
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        try:
            batch = collate([curves[i] for i in rows], periods[rows], scorer.config)
            ias[rows], probs[rows] = scorer.score_batch(batch)
        except (ValueError, RuntimeError):
            for i in rows:
                try:
                    single = collate([curves[i]], periods[i : i + 1], scorer.config)
                    ias[i : i + 1], probs[i : i + 1] = scorer.score_batch(single)
                except (ValueError, RuntimeError) as exc:
                    failures[i] = f"the model could not score this curve: {exc}"
        release_memory()
        if progress is not None:
            progress(len(rows))
    for i in np.flatnonzero(~np.isfinite(ias)):
        failures.setdefault(int(i), "the model gave a non-finite score for this curve")
    return ias, probs, failures


def score_prepared(
    scorer: Scorer,
    prepared: Sequence[PreparedObject],
    *,
    n_jobs: int | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    band_map: Mapping[str, str] | None = None,
) -> pa.Table:
    """The result rows (schema :func:`result_schema`) of prepared objects, in their order.

    ``n_jobs`` is the number of period-search threads (default: all CPUs); ``band_map`` is
    the rename the input's bands went through, so that ``bands_read`` names them as sent.
    """
    class_names = scorer.class_names
    n = len(prepared)
    reasons: list[str | None] = [p.reason for p in prepared]
    positions = [i for i, p in enumerate(prepared) if p.curve is not None]
    curves = [prepared[i].curve for i in positions]
    resolved = resolve_periods(curves, scorer.period_search, n_jobs=n_jobs)
    periods, sources, confidences = resolved.periods, resolved.sources, resolved.confidences
    period_failures = resolved.failures  # a rejected row with the reason
    searched = [k for k in range(len(curves)) if k not in period_failures]
    ias, probs, score_failures = _score_curves(
        scorer,
        [curves[k] for k in searched],
        periods[searched],
        batch_size or scorer.batch_size,
        progress,
    )
    failures = dict(period_failures)
    failures.update({searched[j]: why for j, why in score_failures.items()})
    scored = [k for k in searched if k not in failures]
    row_of_scored = {k: j for j, k in enumerate(searched)}
    take = [row_of_scored[k] for k in scored]
    results = scorer.results(
        [curves[k] for k in scored],
        ias[take],
        probs[take],
        periods[scored],
        [sources[k] for k in scored],
        [confidences[k] for k in scored],
        bands_read=[read_as_sent(curves[k], scorer, band_map) for k in scored],
    )
    for k, why in failures.items():
        reasons[positions[k]] = why

    columns: dict[str, list] = {name: [None] * n for name, _ in LEADING_COLUMNS}
    columns.update({probability_column(c): [None] * n for c in class_names})
    columns.update({name: [None] * n for name, _ in EXPLANATION_COLUMNS})
    columns["object_id"] = [p.object_id for p in prepared]
    columns["n_points"] = [p.n_points for p in prepared]
    columns["bands"] = [p.bands for p in prepared]
    for k, result in zip(scored, results, strict=True):
        row = positions[k]
        columns["period"][row] = result.period
        columns["period_source"][row] = result.period_source
        columns["period_method"][row] = result.period_method
        columns["period_confidence"][row] = result.period_confidence
        columns["ias"][row] = result.ias
        columns["anomaly_score"][row] = result.anomaly_score
        columns["percentile"][row] = result.percentile
        columns["p_value"][row] = result.p_value
        columns["is_anomaly"][row] = result.is_anomaly
        columns["predicted_class"][row] = result.predicted_class
        for name, value in result.class_probabilities.items():
            columns[probability_column(name)][row] = value
        for name, value in explanation_cells(result).items():
            columns[name][row] = value
    columns["status"] = [STATUS_REJECTED if r is not None else STATUS_OK for r in reasons]
    columns["reason"] = reasons
    columns["notes"] = [p.notes for p in prepared]
    if progress is not None:
        progress(n - len(searched))
    return pa.table(columns, schema=result_schema(class_names))


def score_rows(
    scorer: Scorer,
    photometry: pd.DataFrame,
    objects: pd.DataFrame | None = None,
    policy: BandPolicy = BandPolicy(),
    **options,
) -> pa.Table:
    """Prepare (:func:`training.scoring.curves.prepare_objects`) and score a group of objects.

    ``options`` go to :func:`score_prepared`.
    """
    prepared = prepare_objects(photometry, objects, scorer.config, policy)
    return score_prepared(scorer, prepared, **options)
