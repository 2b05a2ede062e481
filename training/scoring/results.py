"""Scoring a group of objects into result rows: one row per object, scored or rejected.

The row of a scored object carries what :meth:`lcvade.scorer.Scorer.score` computes -- the
period used (given, or estimated by the Lomb-Scargle search of :mod:`lcvade.period`), the IAS
of thesis eq. 9.12 and ``anomaly_score = -IAS``, its calibrated percentile and p-value, the
class posteriors q(y|z,f) -- and ``status = "ok"``.  An object that cannot be scored gets a
row with ``status = "rejected"`` and the ``reason``: rows in equal rows out.  ``notes``
says what was set aside on the way (skipped points, dropped bands), for either status.

The columns are derived from :class:`lcvade.ScoreResult`, field by field in its order
(:func:`field_columns`): a scalar field is one column typed by its values, the class
probabilities one column per class, and the explanation is flattened to the few columns a
table can hold.  The input's view of the object (``n_points``, ``bands``) follows its id, and
``status``, ``reason`` and ``notes`` close the row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import get_type_hints

import numpy as np
import pandas as pd
import pyarrow as pa

from lcvade.batching import bands_read, collate
from lcvade.explanation import LATENT_TERM
from lcvade.lightcurve import LightCurve
from lcvade.period_resolution import resolve_periods
from lcvade.process_memory import release_memory
from lcvade.score_record import SCORE_RESULT_FIELDS, ScoreResult, value_type
from lcvade.scorer import Scorer
from training.scoring.curves import BandPolicy, PreparedObject, prepare_objects

STATUS_OK = "ok"
STATUS_REJECTED = "rejected"

Column = tuple[str, pa.DataType]
# A scalar field of lcvade.ScoreResult is one column, of the Arrow type of its values.
ARROW_TYPES: dict[type, pa.DataType] = {str: pa.string(), float: pa.float64(), bool: pa.bool_()}
RENAMED = {"id": "object_id"}
# The columns of the batch alone: the input's view of the object, beside its id, and at the
# end whether it was scored.
OBJECT_COLUMNS: list[Column] = [("n_points", pa.int64()), ("bands", pa.string())]
STATUS_COLUMNS: list[Column] = [
    ("status", pa.string()),
    ("reason", pa.string()),
    ("notes", pa.string()),
]
# The explanation flattened to the columns a table can hold: the closest class, the dominant
# term, the latent term and the feature terms summed, the period and amplitude deviations,
# and the one-line summary (lcvade.explanation).
EXPLANATION_COLUMNS: list[Column] = [
    ("closest_class", pa.string()),
    ("dominant_term", pa.string()),
    ("term_latent", pa.float64()),
    ("term_features", pa.float64()),
    ("period_deviation", pa.float64()),
    ("amplitude_deviation", pa.float64()),
    ("explanation", pa.string()),
]


def _scalar_columns() -> dict[str, Column]:
    hints = get_type_hints(ScoreResult)
    kinds = {f.name: value_type(hints[f.name]) for f in SCORE_RESULT_FIELDS}
    return {
        name: (RENAMED.get(name, name), ARROW_TYPES[kind])
        for name, kind in kinds.items()
        if kind in ARROW_TYPES
    }


# {field: its column} for the scalar fields of the record, in the record's order
SCALAR_COLUMNS = _scalar_columns()

Progress = Callable[[int], None]


def probability_column(class_name: str) -> str:
    """The result column holding q(y = class_name | z, f)."""
    return f"prob_{class_name}"


def field_columns(class_names: Sequence[str]) -> dict[str, list[Column]]:
    """The columns of each field of :class:`lcvade.ScoreResult`, in the record's order.

    A scalar field is one column of its name (``id`` is ``object_id``) and of the Arrow type
    of its values (:data:`SCALAR_COLUMNS`); ``class_probabilities`` is one ``prob_<class>``
    column per class; ``bands_read`` one text column (``"V as I, r"``); ``explanation`` the
    flattening :data:`EXPLANATION_COLUMNS`.
    """
    flattened: dict[str, list[Column]] = {
        "class_probabilities": [(probability_column(c), pa.float64()) for c in class_names],
        "bands_read": [("bands_read", pa.string())],
        "explanation": EXPLANATION_COLUMNS,
    }
    out = {}
    for f in SCORE_RESULT_FIELDS:
        if f.name in SCALAR_COLUMNS:
            out[f.name] = [SCALAR_COLUMNS[f.name]]
        elif f.name in flattened:
            out[f.name] = flattened[f.name]
        else:
            raise TypeError(f"ScoreResult.{f.name} has no result column")
    return out


def result_schema(class_names: Sequence[str]) -> pa.Schema:
    """The Arrow schema of the result rows of a model with these classes: the columns of the
    record's fields in its order (:func:`field_columns`), the object's own columns after its
    id and the status columns at the end."""
    columns: list[Column] = []
    for name, own in field_columns(class_names).items():
        columns += own + (OBJECT_COLUMNS if name == "id" else [])
    return pa.schema(columns + STATUS_COLUMNS)


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


def record_cells(result: ScoreResult) -> dict[str, object]:
    """The columns of one scored row that hold the record :func:`field_columns` maps."""
    cells: dict[str, object] = {
        column: getattr(result, name) for name, (column, _) in SCALAR_COLUMNS.items()
    }
    cells.update({probability_column(name): p for name, p in result.class_probabilities.items()})
    cells["bands_read"] = ", ".join(
        name if name == model else f"{name} as {model}"
        for name, model in (result.bands_read or {}).items()
    )
    e = result.explanation
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
    searched_in = [prepared[i].period_curve for i in positions]  # every band of the object
    resolved = resolve_periods(searched_in, scorer.period_search, n_jobs=n_jobs)
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

    schema = result_schema(class_names)
    columns: dict[str, list] = {name: [None] * n for name in schema.names}
    for k, result in zip(scored, results, strict=True):
        for name, value in record_cells(result).items():
            columns[name][positions[k]] = value
    # every row, rejected ones too, names its object as the input did
    columns["object_id"] = [p.object_id for p in prepared]
    columns["n_points"] = [p.n_points for p in prepared]
    columns["bands"] = [p.bands for p in prepared]
    columns["status"] = [STATUS_REJECTED if r is not None else STATUS_OK for r in reasons]
    columns["reason"] = reasons
    columns["notes"] = [p.notes for p in prepared]
    if progress is not None:
        progress(n - len(searched))
    return pa.table(columns, schema=schema)


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
