"""The score record: its field order, its keyword-only fields, the types of its values."""

from __future__ import annotations

from dataclasses import fields
from typing import Literal

import pytest

from lcvade.score_record import (
    SCORE_RESULT_FIELDS,
    Explanation,
    ScoreResult,
    description,
    value_type,
)


def _result(**changes) -> ScoreResult:
    values = {
        "id": "a",
        "period": 0.5,
        "period_source": "given",
        "period_method": "given",
        "ias": -3.0,
        "anomaly_score": 3.0,
        "percentile": 40.0,
        "p_value": 0.4,
        "is_anomaly": False,
        "predicted_class": "A",
        "class_probabilities": {"A": 0.9, "B": 0.1},
    }
    return ScoreResult(**values | changes)


def test_the_record_is_in_the_order_of_the_batch_output():
    canonical = (
        "id period period_source period_method period_confidence ias anomaly_score "
        "percentile p_value is_anomaly predicted_class class_probabilities bands_read "
        "explanation"
    )
    assert [f.name for f in SCORE_RESULT_FIELDS] == canonical.split()
    result = _result(bands_read={"V": "I"})
    assert list(result.to_dict()) == [f.name for f in SCORE_RESULT_FIELDS]
    assert result.to_dict()["period_confidence"] is None
    assert result.to_dict()["bands_read"] == {"V": "I"}


def test_fields_are_keyword_only_so_a_new_order_cannot_misplace_values():
    with pytest.raises(TypeError):
        ScoreResult("a", 0.5, "given", "given")  # type: ignore[misc]


def test_descriptions_are_kept_with_the_fields():
    by_name = {f.name: f for f in SCORE_RESULT_FIELDS}
    assert description(by_name["anomaly_score"]) == "-IAS"
    assert "false-alarm probability" in description(by_name["period_confidence"])
    assert "q(y|z,f)" in description(by_name["predicted_class"])
    undocumented = [
        f.name for f in (*SCORE_RESULT_FIELDS, *fields(Explanation)) if not description(f)
    ]
    assert undocumented == []  # every field the REST schema and the batch docs show is described


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (str, str),
        (float | None, float),
        (bool | None, bool),
        (Literal["given", "estimated"], str),
        (dict[str, float], dict),
        (dict[str, str] | None, dict),
    ],
)
def test_value_type_takes_none_out(annotation, expected):
    assert value_type(annotation) is expected


@pytest.mark.parametrize("annotation", [int | str, Literal["a", 1]])
def test_value_type_refuses_several_types(annotation):
    with pytest.raises(TypeError):
        value_type(annotation)
