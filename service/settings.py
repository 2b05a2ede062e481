"""Settings of the scoring service, read from ``LCVADE_*`` environment variables.

Every field can be set as ``LCVADE_<FIELD>`` (e.g. ``LCVADE_MODEL=/models/v3``,
``LCVADE_MAX_BATCH=128``); the ``lcvade serve`` options (:data:`SERVE_FLAGS`, generated
from the fields) override the environment.  Keys and CORS origins are read from the
environment only, so that no secret stands on a command line.  ``LCVADE_API_KEYS`` is a
comma-separated list.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from lcvade.calibration import DEFAULT_P_VALUE_THRESHOLD
from lcvade.cli_options import ConfigFlag, FlagGroup
from lcvade.lightcurve import DEFAULT_MAX_POINTS

MIB = 1024 * 1024


class ServiceSettings(BaseSettings):
    """Configuration of one service process."""

    model_config = SettingsConfigDict(env_prefix="LCVADE_", extra="ignore", frozen=True)

    model: str = Field(
        default="default", description="model directory, or the name of a bundled model"
    )
    host: str = Field(default="127.0.0.1", description="interface to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port")
    device: str = Field(default="auto", description="auto, cpu or cuda:N")

    max_batch: int | None = Field(
        default=None,
        ge=1,
        description="most curves in one forward pass, the micro-batch (default 32). On the "
        "CPU a pass has as many rows as it has curves; where the row count would change "
        "scores (on a GPU, or on a CPU that fails the check at load) every pass has exactly "
        "this many rows (default 4 on such a CPU), short ones filled with copies, so that a "
        "curve's score never depends on its batch-mates",
    )
    max_wait_ms: float = Field(
        default=0.0,
        ge=0.0,
        description="longest wait for more requests before a micro-batch runs; with 0 a pass "
        "starts as soon as a model worker is free, and curves that arrive while the workers "
        "are busy are coalesced into the next pass",
    )
    model_workers: int | None = Field(
        default=None,
        ge=1,
        description="model worker processes that run forward passes side by side, each "
        "holding its own copy of the model (default: one per CPU core on the CPU, one on a "
        "GPU)",
    )
    model_threads: int = Field(
        default=1,
        ge=1,
        description="intra-op threads of every model worker; passes of tens of rows scale "
        "better on workers side by side than on threads inside one pass",
    )
    period_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="threads searching periods of curves sent without one",
    )

    max_body_bytes: int = Field(default=64 * MIB, ge=1024, description="largest request body")
    max_curves_per_request: int = Field(default=10_000, ge=1)
    max_points_per_curve: int = Field(default=DEFAULT_MAX_POINTS, ge=10)
    max_reconstruct_phases: int = Field(default=5_000, ge=1)
    max_upload_rows: int = Field(
        default=1_000_000,
        ge=10,
        description="most rows of an uploaded table, checked from its header or metadata (Parquet) "
        "or while counting its lines (CSV, ECSV) before it is parsed",
    )
    max_upload_expanded_bytes: int = Field(
        default=64 * MIB,
        ge=1024,
        description="largest size of an uploaded file once decompressed (.gz, .bz2, .xz) or, "
        "for Parquet, of its decoded data; checked while decompressing, never trusted from "
        "the file",
    )
    max_upload_compression_ratio: float = Field(
        default=100.0,
        ge=1.0,
        description="most bytes a compressed upload may expand to per compressed byte; "
        "photometry tables compress a few-fold, bombs a thousand-fold",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="origins allowed to call the API from a browser (comma-separated); empty = "
        "no CORS headers, browsers on other origins are refused",
    )
    request_timeout_s: float = Field(
        default=60.0, gt=0.0, description="longest time one scoring request may take"
    )

    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="keys accepted for the scoring endpoints; empty = scoring is open",
    )
    admin_key: SecretStr | None = Field(
        default=None, description="key for the admin endpoints; unset = they are disabled"
    )

    p_value_threshold: float = Field(
        default=DEFAULT_P_VALUE_THRESHOLD,
        gt=0.0,
        lt=1.0,
        description="is_anomaly = p_value < this",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warning or error"
    )
    graceful_shutdown_s: float = Field(
        default=30.0, ge=0.0, description="how long shutdown waits for requests in flight"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [key.strip() for key in value.split(",") if key.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
            return value
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {value!r}")


# The options of ``lcvade serve``: the settings of the process and its model workers.
SERVE_FLAGS = FlagGroup.of(
    ServiceSettings,
    "model",
    "host",
    "port",
    "device",
    "max_batch",
    "max_wait_ms",
    "model_workers",
    "model_threads",
    "period_workers",
    ConfigFlag("p_value_threshold", flag="--p-threshold"),
    "request_timeout_s",
    "log_level",
    "graceful_shutdown_s",
    key="service",
)
