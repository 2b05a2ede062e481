"""Fixtures of the service tests: a small trained model, unseen curves, a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lcvade import LightCurve
from tests.service_helpers import LiveServer, live_server, synthetic_curves, train_small_model


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory) -> Path:
    """A trained, calibrated test model (version 1)."""
    return train_small_model(tmp_path_factory.mktemp("models") / "test-model", version="1")


@pytest.fixture(scope="session")
def test_curves() -> list[LightCurve]:
    """Curves never seen in training, with their true periods."""
    return synthetic_curves(30, seed=99)[0]


@pytest.fixture(scope="session")
def service(small_model_dir) -> Iterator[LiveServer]:
    """A server on the small model, shared by the tests that do not change its state.

    ``max_wait_ms=10`` makes the coalescing of concurrent requests certain even on a busy
    machine.
    """
    with live_server(model=str(small_model_dir), max_wait_ms=10.0) as server:
        yield server
