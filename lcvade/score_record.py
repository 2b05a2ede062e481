"""The score of one light curve: the record every output is derived from.

:class:`ScoreResult` is what :meth:`lcvade.Scorer.score` returns, and its fields are the one
declaration of a score: the REST schema of the service (``CurveScore``) is built from them,
with their descriptions and their order, and so are the columns of the batch-scoring
results (one column per scalar field, in field order).  Each field's ``description`` is kept
in its dataclass metadata (:func:`description`).

The order of the fields is the order of the batch output's columns, which CSV readers rely
on: the curve, its period, the score and its calibration, the class, then what was read and
why it scored as it did.
"""

from __future__ import annotations

import types
from dataclasses import Field, dataclass, field, fields
from typing import Any, Literal, Union, get_args, get_origin

DESCRIPTION = "description"


def documented(text: str, **options: Any) -> Any:
    """A dataclass field whose ``description`` is ``text`` (``options`` go to ``field``)."""
    return field(metadata={DESCRIPTION: text}, **options)


def description(f: Field) -> str | None:
    """The description of a record's field, or None for a field without one."""
    return f.metadata.get(DESCRIPTION)


def value_type(annotation: Any) -> Any:
    """The type of a field's values once None is taken out.

    ``float | None`` gives ``float``; a ``Literal`` of strings gives ``str``; a generic such
    as ``dict[str, float]`` gives its origin, ``dict``; any other type is itself.
    """
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        if len(kinds) != 1:
            raise TypeError(f"{annotation} is not one type or None")
        annotation = kinds[0]
    if get_origin(annotation) is Literal:
        kinds = {type(v) for v in get_args(annotation)}
        if len(kinds) != 1:
            raise TypeError(f"{annotation} mixes values of several types")
        return kinds.pop()
    return get_origin(annotation) or annotation


@dataclass(frozen=True)
class Explanation:
    """Why a curve scored as it did (:mod:`lcvade.explanation`).

    ``terms`` are the parts of the score, which add up to the IAS: ``latent`` and, for a
    model scoring with the feature term, one per feature of f.  ``typical``/``spread`` are
    their median and robust spread on the calibration inliers and ``deviation`` the term's
    distance from typical in spreads (all None for a model that does not keep them);
    ``dominant_term`` is the term furthest below typical.  The curve's period and amplitude
    are compared with those typical of the closest class, in that class's standard
    deviations of p(f|y); the amplitude is the 5-95 percentile range in magnitudes for the
    ``shape`` feature set and the standard deviation s for ``thesis``.
    """

    terms: dict[str, float] = documented(
        "the latent part sum_k q_k E_q[log p(z|y=k)] + h_q(z|x) ('latent') and, "
        "for a model scoring with the feature term, each feature's part "
        "sum_k q_k log p(f_j|y=k); they add up to ias"
    )
    typical: dict[str, float] | None = documented(
        "median of each term on the calibration inliers (null: not kept)"
    )
    spread: dict[str, float] | None = documented(
        "robust spread (1.4826 MAD) of each term on the calibration inliers"
    )
    deviation: dict[str, float] | None = documented(
        "(term - typical) / spread: how unusual each term is"
    )
    dominant_term: str | None = documented("the term furthest below its typical value")
    closest_class: str = documented("the class of highest q(y|z,f)")
    closest_class_probability: float = documented("q(y|z,f) of the closest class")
    period: float = documented("the curve's period, days")
    class_period: float = documented("the closest class's typical period, days")
    period_deviation: float = documented(
        "(log10 period - class mean) in the class's standard deviations of p(f|y)"
    )
    amplitude_feature: str = documented("the feature compared as the amplitude")
    amplitude: float = documented(
        "the curve's amplitude, mag (5-95 percentile range; thesis features: std)"
    )
    class_amplitude: float = documented("the closest class's typical amplitude, mag")
    amplitude_deviation: float = documented("in the class's standard deviations")
    summary: str = documented("the explanation in one line")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("terms", "typical", "spread", "deviation"):
            if out[name] is not None:
                out[name] = dict(out[name])
        return out


@dataclass(frozen=True, kw_only=True)
class ScoreResult:
    """The score of one light curve, field by field in the order of every output.

    Fields are keyword-only: their order is that of the outputs, not of a constructor.
    """

    id: str | None = documented("the curve's id as sent (null: none was given)")
    period: float = documented("period used for folding, days")
    period_source: Literal["given", "estimated"] = documented(
        "given (sent with the curve or in the object table) or estimated (searched)"
    )
    period_method: str = documented(
        "the period search's settings (see docs/period-search.md), or 'given'"
    )
    period_confidence: float | None = documented(
        "confidence of the estimated period: (1 - false-alarm probability of the "
        "periodogram peak) x the BIC weight of the chosen period against its aliases",
        default=None,
    )
    ias: float = documented("Information Anomaly Score, higher = more typical")
    anomaly_score: float = documented("-IAS")
    percentile: float | None = documented(
        "percent of the training inliers with IAS <= this one (null: uncalibrated)"
    )
    p_value: float | None = documented("conformal p-value; small = anomalous")
    is_anomaly: bool | None = documented(
        "the anomaly rule's verdict: p_value below the threshold, or a Benjamini-Hochberg "
        "discovery (null: uncalibrated model)"
    )
    predicted_class: str = documented("the class of highest q(y|z,f)")
    class_probabilities: dict[str, float] = documented(
        "q(y|z,f) of every class of the model; they add up to 1"
    )
    bands_read: dict[str, str] | None = documented(
        "the curve's bands the model read, each with the model band it was read "
        'as, e.g. {"V": "I"}; bands not listed were not read',
        default=None,
    )
    explanation: Explanation | None = documented("why the curve scored as it did", default=None)

    def to_dict(self) -> dict:
        """The fields as a plain dict (the class probabilities copied)."""
        out = {f.name: getattr(self, f.name) for f in SCORE_RESULT_FIELDS}
        out["class_probabilities"] = dict(self.class_probabilities)
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_dict()
        if self.bands_read is not None:
            out["bands_read"] = dict(self.bands_read)
        return out


SCORE_RESULT_FIELDS = fields(ScoreResult)
