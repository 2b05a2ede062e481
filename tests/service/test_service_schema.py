"""Property-based requests generated from the service's own OpenAPI schema (Schemathesis).

For every operation, a bounded, seeded number of schema-valid and schema-invalid requests go
to a live server; no answer may be a 5xx, every status code and body must be the documented
one, and schema-invalid requests must be rejected with a 4xx.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from lcvade.score_record import Explanation, ScoreResult, description

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES_PER_OPERATION = 25


def _run_operation(operation, mode: GenerationMode, base_url: str, failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case) -> None:
        try:
            case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=60)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(f"{operation.label} [{mode}]: {exc}")

    try:
        exercise()
    except Unsatisfiable:
        # An operation without parameters or body has no schema-invalid form to send.
        assert mode == GenerationMode.NEGATIVE, operation.label


# Fuzzed numbers near the float limits overflow inside NumPy; such curves are answered 422.
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_schema_fuzzing_finds_no_server_errors(service):
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"POST /v1/score", "POST /v1/score/upload", "POST /v1/reconstruct"} <= labels
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(operation, mode, service.url, failures)
    assert not failures, "\n\n".join(failures[:10])
    # The server is still healthy and scoring afterwards.
    assert httpx.get(f"{service.url}/readyz").json()["status"] == "ready"


def test_openapi_schema_documents_the_contract(service):
    schema = httpx.get(f"{service.url}/openapi.json").json()
    score = schema["paths"]["/v1/score"]["post"]
    assert {"200", "400", "401", "403", "408", "413", "422"} <= set(score["responses"])
    body = score["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ScoreRequest"
    }
    request = schema["components"]["schemas"]["ScoreRequest"]
    assert request["required"] == ["light_curves"]
    assert request["properties"]["light_curves"]["items"] == {
        "$ref": "#/components/schemas/LightCurveIn"
    }
    curve = schema["components"]["schemas"]["LightCurveIn"]
    assert curve["required"] == ["time", "mag", "mag_err"]
    assert curve["additionalProperties"] is False
    result = schema["components"]["schemas"]["CurveScore"]["properties"]
    for field in (
        "ias",
        "anomaly_score",
        "percentile",
        "p_value",
        "is_anomaly",
        "predicted_class",
        "class_probabilities",
        "period",
        "period_source",
        "period_method",
        "period_confidence",
    ):
        assert field in result
    assert "X-API-Key" in str(schema["components"]["securitySchemes"])
    components = schema["components"]["schemas"]
    _assert_documents(components, "CurveScore", ScoreResult)
    _assert_documents(components, "Explanation", Explanation)
    assert result["explanation"]["anyOf"][0] == {"$ref": "#/components/schemas/Explanation"}
    assert result["period_source"]["enum"] == ["given", "estimated"]
    assert result["is_anomaly"]["anyOf"] == [{"type": "boolean"}, {"type": "null"}]


def _assert_documents(components: dict, name: str, record: type) -> None:
    """The schema ``name`` has the record's fields, in its order, each with its description,
    and requires exactly the fields without a default."""
    schema = components[name]
    record_fields = dataclasses.fields(record)
    assert list(schema["properties"]) == [f.name for f in record_fields]
    for f in record_fields:
        assert schema["properties"][f.name].get("description") == description(f), f.name
    required = [f.name for f in record_fields if f.default is dataclasses.MISSING]
    assert schema["required"] == required
