"""Request and response bodies of the service; the OpenAPI schema is built from these.

Light-curve fields are typed lists of numbers; everything the types cannot say (equal
lengths, finite values, positive errors, enough points, known bands, a positive period) is
checked by :class:`lcvade.LightCurve` so that error messages name the curve and the field.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from lcvade import score_record
from lcvade.score_record import description


class LightCurveIn(BaseModel):
    """One light curve: a point per (time, mag, mag_err[, band]) and optionally its period."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, max_length=256, description="identifier echoed in the result")
    time: list[float] = Field(description="observation times in days (e.g. MJD)")
    mag: list[float] = Field(description="magnitudes, one per time")
    mag_err: list[float] = Field(description="1-sigma magnitude errors (> 0), one per time")
    band: list[str] | None = Field(
        None, description="band name per point; omit for single-band curves"
    )
    period: float | None = Field(
        None,
        description="period in days; omitted = estimated by the period search "
        "(multi-band Lomb-Scargle, aliases resolved by a harmonic refit)",
    )


BandMap = dict[
    Annotated[str, Field(min_length=1, max_length=64)],
    Annotated[str, Field(min_length=1, max_length=64)],
]
BAND_MAP_FIELD = Field(
    None,
    max_length=64,
    description='rename the curves\' bands before scoring, e.g. {"V": "I"} to read V-band '
    "curves with a model of band I; bands not named are kept",
)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    light_curves: list[LightCurveIn] = Field(description="curves to score, results in order")
    band_map: BandMap | None = BAND_MAP_FIELD
    fdr: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="if given, is_anomaly controls the false-discovery rate at this level over "
        "the request's curves (Benjamini-Hochberg on the p-values)",
    )


class ModelRef(BaseModel):
    name: str
    version: str


class TermStatistic(BaseModel):
    median: float
    spread: float


def model_of(
    record: type,
    name: str,
    doc: str,
    nested: Mapping[type, type[BaseModel]] | None = None,
) -> type[BaseModel]:
    """A pydantic model named ``name`` with the fields of the dataclass ``record``.

    Names, order, types, defaults (a field without one is required) and descriptions are
    the record's; a dataclass named in ``nested`` is replaced by its model, alone or in a
    union (``Explanation | None``).  ``doc`` is the model's description in the OpenAPI schema.
    """
    nested = nested or {}

    def swap(annotation: Any) -> Any:
        if annotation in nested:
            return nested[annotation]
        if get_origin(annotation) in (Union, types.UnionType):
            return functools.reduce(operator.or_, [swap(a) for a in get_args(annotation)])
        return annotation

    hints = get_type_hints(record)
    definitions: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        default = ... if f.default is dataclasses.MISSING else f.default
        definitions[f.name] = (swap(hints[f.name]), Field(default, description=description(f)))
    return create_model(name, __doc__=doc, __module__=__name__, **definitions)


Explanation = model_of(
    score_record.Explanation,
    "Explanation",
    "Why the curve scored as it did: the terms of the score, which add up to the IAS.",
)

# The score of one curve, field by field as lcvade.ScoreResult declares it.
CurveScore = model_of(
    score_record.ScoreResult,
    "CurveScore",
    "The score of one curve (IAS of thesis eq. 9.12 and the posteriors q(y|z,f)).",
    nested={score_record.Explanation: Explanation},
)


class RejectedCurve(BaseModel):
    """A curve of an uploaded table that could not be scored, and why."""

    id: str
    field: str | None
    reason: str


class ScoreResponse(BaseModel):
    model: ModelRef
    anomaly_rule: str = Field(description="how is_anomaly was decided")
    results: list[CurveScore]
    rejected: list[RejectedCurve] = Field(
        default_factory=list, description="uploaded objects skipped with on_invalid=skip"
    )


class ParseResponse(BaseModel):
    """An uploaded table turned into the curves of a score request."""

    light_curves: list[LightCurveIn]
    rejected: list[RejectedCurve] = Field(default_factory=list)


class ReconstructRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    light_curve: LightCurveIn
    band_map: BandMap | None = BAND_MAP_FIELD
    phases: list[float] | None = Field(
        None, description="phases in [0, 1] where the GP is evaluated (default: 200 even phases)"
    )


class FoldedPoints(BaseModel):
    phase: list[float]
    mag: list[float]
    mag_err: list[float]
    band: list[str]


class BandCurve(BaseModel):
    """GP mean and std (magnitudes) of one band at the requested phases."""

    band: str
    mean: list[float]
    std: list[float]
    induction_mean: list[float]
    induction_std: list[float]


class ReconstructResponse(BaseModel):
    """The decoder's view of a folded curve (thesis eqs. 9.2-9.5), for plots.

    Phases are in the model's frame: folded with ``period`` and shifted so that maximum
    light lies at the model's anchor phase.
    """

    model: ModelRef
    id: str | None
    period: float
    period_source: Literal["given", "estimated"]
    observed: FoldedPoints
    phases: list[float]
    induction_phases: list[float]
    bands: list[BandCurve]


class ModelInfo(BaseModel):
    name: str
    version: str
    classes: list[str]
    bands: list[str] | None = Field(description="band names; null = one band of any name")
    hyperparameters: dict[str, Any]
    calibrated: bool
    calibration_size: int
    training: dict[str, Any]
    training_data_digest: str | None
    created: str
    code_version: str
    weights_sha256: str
    device: str
    pass_rows: int = Field(description="most rows of a forward pass of this model")
    pass_rows_fixed: bool = Field(
        description="every pass has exactly pass_rows rows, short ones filled with copies "
        "(false: a pass has as many rows as curves, the model's scores on this machine do "
        "not depend on the row count)"
    )
    loaded_at: str


class ModelList(BaseModel):
    models: list[ModelInfo]


class ReloadResponse(BaseModel):
    previous: ModelRef
    current: ModelRef
    load_seconds: float


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "loading"]
    model: ModelRef | None = None
    message: str | None = None


class ExampleSummary(BaseModel):
    name: str
    description: str
    points: int
    label: str | None = Field(None, description="the object's class in its source catalogue")


class ExampleList(BaseModel):
    examples: list[ExampleSummary]


class ExampleCurve(BaseModel):
    name: str
    description: str
    note: str | None = None
    light_curve: LightCurveIn
    label: str | None = Field(None, description="the object's class in its source catalogue")
    survey: str | None = None
    expected: Literal["ordinary", "anomaly"] | None = Field(
        None, description="the verdict a user expects: a known class, or an anomaly"
    )
    expected_class: str | None = Field(
        None,
        description="for an ordinary example, the class the bundled default model names for "
        "it (the class common to the catalogues, e.g. RRab for ASAS RR_Lyrae_FM)",
    )
    band_map: dict[str, str] | None = Field(
        None, description="the band map to send with the curve for the model being served"
    )
